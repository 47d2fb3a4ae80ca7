# METADATA
# scope: package
# title: GDPR Art. 27 and 33 — EU representative, breach notification to the supervisory authority
package gdpr.organization

import rego.v1

import data.gdpr.jurisdictions as j
import data.lib.findings.finding
import data.lib.findings.msg

eu_subjects(inp) if "EU" in inp.subject_areas

# METADATA
# title: Controller outside the EU without an EU representative
# description: >-
#   Art. 3(2) and 27: a controller not established in the Union that offers goods or services to people in
#   the Union designates in writing a representative in the Union, reachable by data subjects and
#   authorities (a name and an e-mail or address in organization.eu_representative).
# custom:
#   clause: GDPR.27
#   severity: error
#   verdict: gap
#   remediation: >-
#     Designate an EU representative in writing and record its name, e-mail and address in
#     organization.eu_representative (and publish it in the policy).
no_eu_representative(inp) := [f |
	org := inp.organization
	org != null
	not j.in_eea(object.get(org, "jurisdiction", ""))
	eu_subjects(inp)
	not reachable_representative(org)
	f := finding("organization", "organization", "jurisdiction", msg(
		"the controller is established in %s and collects data from people in the EU, but names no EU representative (organization.eu_representative)",
		[object.get(org, "jurisdiction", msg("an unstated jurisdiction", []))],
	))
]

reachable_representative(org) if {
	rep := org.eu_representative
	rep.name
	some k in ["email", "address"]
	rep[k]
}

procedures(org) := object.get(object.get(org, "incident_response", {}), "regulator_procedures", [])

eu_procedures(org) := [p | some p in procedures(org); j.in_eea(p.jurisdiction)]

deadline(org, p) := object.get(p, "deadline_hours", object.get(object.get(org, "incident_response", {}), "notify_sla_hours", null))

# METADATA
# title: No procedure to notify an EU supervisory authority of a breach within 72 hours
# description: >-
#   Art. 33(1): a breach is notified to the competent supervisory authority within 72 hours of awareness.
#   With EU/EEA data subjects, organization.incident_response.regulator_procedures has an EU (or EEA
#   country) entry whose deadline_hours (or, failing it, notify_sla_hours) is at most 72.
# custom:
#   clause: GDPR.33
#   severity: error
#   verdict: violation
#   remediation: >-
#     Add an EU supervisory-authority notification procedure (lead authority or CNIL) with a deadline of 72
#     hours or less to the incident response plan.
no_72h_breach_notification(inp) := [f |
	org := inp.organization
	org != null
	eu_subjects(inp)
	not notifies_within_72h(org)
	f := breach_finding(org)
]

notifies_within_72h(org) if {
	some p in eu_procedures(org)
	d := deadline(org, p)
	d != null
	d <= 72
}

breach_finding(org) := object.union(
	finding("organization", "organization", "incident_response", "the incident response plan has no procedure to notify an EU supervisory authority (regulator_procedures with an EU or EEA jurisdiction)"),
	{"verdict": "gap"},
) if count(eu_procedures(org)) == 0

breach_finding(org) := finding("organization", "organization", "incident_response.regulator_procedures", "the EU supervisory-authority notification procedure has no deadline of 72 hours or less (GDPR Art. 33)") if {
	count(eu_procedures(org)) > 0
}
