# METADATA
# scope: package
# title: CNIL — retention of data collected by consent-exempt audience measurement
package cnil.audience

import rego.v1

import data.cnil.trackers
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.msg

max_days := 760 # 25 months

# The system uses an exempt audience-measurement cookie: first-party analytics fired before consent.
uses_exempt_measurement(system) if {
	trackers.french_audience(system)
	some pc in trackers.cookies(system)
	pc.cookie.fires_before_consent == true
	trackers.audience_measurement(pc.partner, pc.cookie)
}

# METADATA
# title: Exempt audience-measurement data kept longer than 25 months
# description: >-
#   Délibération 2020-091 art. 5: data collected by consent-exempt audience measurement is kept at most 25
#   months (760 days). Judged on the systems and partners (a hosted tool, whose contract sets its
#   `retention`) receiving COOKIE.ANALYTICS flows from an FR/EU web or app system that uses such a tracker;
#   indefinite or longer retention is a violation, none stated a gap.
# custom:
#   clause: CNIL.AUDIENCE_RETENTION
#   severity: error
#   verdict: violation
#   remediation: Set the analytics store's retention to 25 months or less (delete or aggregate older events).
audience_data_retention(inp) := [f |
	some system in inp.systems
	uses_exempt_measurement(system)
	some flow in candidates.flows_where(inp, "policy_purpose", ["COOKIE.ANALYTICS"])
	flow.purpose_info.policy_purpose == "COOKIE.ANALYTICS"
	not within_limit(flow.to_node.retention)
	f := with_key(retention_finding(flow), flow.id)
]

with_key(f, k) := object.union(f, {"key": k})

within_limit(r) if {
	r.days <= max_days
	not r.indefinite
}

retention_finding(flow) := finding(flow.to_node.type, flow.to, "retention", msg(
	"%s %s keeps exempt audience-measurement data from %s (flow %s) %s; the CNIL allows at most 25 months (760 days)",
	[kind_name(flow.to_node.type), flow.to, flow.from, flow.id, describe(flow.to_node.retention)],
)) if flow.to_node.retention != null

retention_finding(flow) := object.union(
	finding(flow.to_node.type, flow.to, "id", msg(
		"%s %s receives exempt audience-measurement data (flow %s) but states no retention",
		[kind_name(flow.to_node.type), flow.to, flow.id],
	)),
	{"verdict": "gap"},
) if flow.to_node.retention == null

describe(r) := msg("indefinitely", []) if r.indefinite == true

else := msg("%s days", [format_int(r.days, 10)]) if r.days

else := msg("for an unstated period", [])

# The receiving node's kind, a phrase of its own in the catalogue.
kind_name(type) := msg("system", []) if type == "system"

else := msg("partner", []) if type == "partner"

else := type
