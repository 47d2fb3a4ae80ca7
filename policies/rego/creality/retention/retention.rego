# METADATA
# scope: package
# title: Retention and minimisation (III.0, III.IV)
package creality.retention

import rego.v1

import data.creality.vocab
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.joined
import data.lib.findings.msg

# METADATA
# title: Personal data kept indefinitely
# description: >-
#   III.0: information is kept "aussi longtemps que nécessaire aux fins décrites ... et aussi longtemps que
#   l'exigent les lois". Indefinite retention is neither.
# custom:
#   clause: III.0
#   severity: error
#   verdict: violation
#   remediation: >-
#     Set a retention period in days from the system's purposes (retention.days), or cite the law that requires
#     keeping the data longer (retention.legal_ref).
indefinite_retention(inp) := [f |
	some s in inp.systems
	s.personal_data == true
	object.get(object.get(s, "retention", {}), "indefinite", false) == true
	object.get(s.retention, "legal_ref", "") == ""
	f := finding("system", s.id, "retention.indefinite", msg("%s keeps personal data indefinitely", [s.id]))
]

# METADATA
# title: Personal-data system with no retention period
# description: >-
#   III.0 can be checked only if each system holding personal data states its retention (days or the law that sets
#   it). A system with no retention block, or one with neither days nor legal_ref, is a missing fact (verdict gap).
#   It is reported as an error, as interpretation.md section 1 and the catalogue's III.0 check say: retention is
#   the policy's one promise about keeping data, and data with no stated end is kept as if indefinitely. A system
#   declared as not processing personal data that holds some is called out in the message.
# custom:
#   clause: III.0
#   severity: error
#   verdict: gap
#   remediation: >-
#     Add a retention block (retention.days, or retention.legal_ref) to the system; correct
#     processes_personal_data if it is wrong.
retention_unknown(inp) := [f |
	some s in inp.systems
	s.personal_data == true
	r := object.get(s, "retention", {})
	object.get(r, "indefinite", false) != true
	object.get(r, "days", null) == null
	object.get(r, "legal_ref", "") == ""
	f := finding("system", s.id, retention_attr(s), msg("%s holds personal data but states no retention period%s", [s.id, declared_note(s)]))
]

retention_attr(s) := "retention" if s.retention

else := "id"

declared_note(s) := msg(" (it is declared processes_personal_data: false, yet holds personal data)", []) if {
	object.get(s, "processes_personal_data", null) == false
}

else := ""

# retention_judgement(s): what III.0 can say about the stated `retention.days` of a personal-data system kept without
# a legal reference: the limits of its purposes and the caps of its sensitive categories (facts pre-joined in
# Python: `retention_basis`).
retention_judgement(s) := j if {
	s.personal_data == true
	r := object.get(s, "retention", {})
	is_number(object.get(r, "days", null))
	object.get(r, "indefinite", false) != true
	object.get(r, "legal_ref", "") == ""
	basis := object.get(s, "retention_basis", {"purposes": [], "categories": []})
	count(basis.categories) > 0
	limits := [{"id": p.id, "policy_purpose": p.policy_purpose, "days": d} |
		some p in basis.purposes
		d := vocab.retention_max_days[p.policy_purpose]
	]
	caps := [{"category": c, "days": cap.days, "anchor": cap.anchor} |
		some c in basis.categories
		below := concat("", [c, "."]) # vocab.in_tree(c, root) inlined: c is root or below it
		some root, cap in vocab.category_retention_caps
		startswith(below, concat("", [root, "."]))
	]
	j := {"days": r.days, "limits": limits, "caps": caps}
}

# bound(j): the longest purpose limit, lowered by the shortest category cap.
bound(j) := min([max([l.days | some l in j.limits]), min([c.days | some c in j.caps])]) if {
	count(j.limits) > 0
	count(j.caps) > 0
} else := max([l.days | some l in j.limits]) if {
	count(j.limits) > 0
} else := min([c.days | some c in j.caps]) if {
	count(j.caps) > 0
}

# METADATA
# title: Personal data kept longer than its purposes need, without a legal reference
# description: >-
#   III.0: information is kept "aussi longtemps que nécessaire aux fins décrites ... et aussi longtemps que l'exigent
#   les lois". Each policy purpose has a maximum reasonable retention (vocab.retention_max_days, anchored on the
#   CNIL's 25 months for audience data and 13 months for trackers), and some sensitive categories a shorter cap
#   (vocab.category_retention_caps). A system keeping personal data longer than the longest of its purposes allows
#   (or longer than a cap of a category it holds) needs the law that requires it (retention.legal_ref). The figures
#   are a judgement: warning, with both figures.
# custom:
#   clause: III.0
#   severity: warning
#   verdict: violation
#   remediation: >-
#     Shorten retention.days to what the purposes need (delete or aggregate older records), or cite the law that
#     requires keeping the data longer in retention.legal_ref.
retention_beyond_purposes(inp) := [f |
	some s in inp.systems
	j := retention_judgement(s)
	limit := bound(j)
	j.days > limit
	f := finding("system", s.id, "retention.days", msg(
		"%s keeps personal data %d days without a legal reference (retention.legal_ref), beyond the %d days its data allows: %s%s",
		[s.id, j.days, limit, describe_limits(j), describe_caps(j, limit)]))
]

describe_limits(j) := msg("its purposes need at most %d days (%s)", [
	max([l.days | some l in j.limits]),
	joined(", ", [msg("%s: %s %d days", [l.id, l.policy_purpose, l.days]) | some l in j.limits]),
]) if {
	count(j.limits) > 0
} else := msg("none of its purposes is one the policy declares", [])

describe_caps(j, limit) := msg("; %s", [joined("; ", [msg("it holds %s, kept at most %d days (%s)", [c.category, c.days, c.anchor]) |
	some c in j.caps
	c.days == limit
])]) if {
	some cap in j.caps
	cap.days == limit
} else := ""

# METADATA
# title: Retention period that no declared purpose can justify
# description: >-
#   III.0 judges retention against "les fins décrites dans la présente politique". A personal-data system that
#   states a retention period but holds its data for no purpose the policy declares (none mapped to a
#   policy_purpose) cannot be judged: a missing fact, not a pass.
# custom:
#   clause: III.0
#   severity: warning
#   verdict: gap
#   remediation: >-
#     Map the purposes the system's data serves to purposes the policy declares (purposes[].policy_purpose), or cite
#     the law that sets the retention (retention.legal_ref).
retention_unjudgeable(inp) := [f |
	some s in inp.systems
	j := retention_judgement(s)
	count(j.limits) == 0
	count(j.caps) == 0
	f := finding("system", s.id, "retention.days", msg(
		"%s keeps personal data %d days, but none of its purposes is one the policy declares: III.0 cannot judge the period",
		[s.id, j.days]))
]

# METADATA
# title: Dead field - personal data collected for no purpose
# description: >-
#   III.IV: "toutes les mesures raisonnables et réalisables ... pour qu'aucune information non pertinente ne soit
#   collectée". A personal-data field with no purpose is collected for nothing. Best effort ("mesures
#   raisonnables"): warning.
# custom:
#   clause: III.IV
#   severity: warning
#   verdict: violation
#   remediation: >-
#     Stop collecting the field, or document the purpose that uses it.
dead_field(inp) := [f |
	some field in inp.fields
	count(object.get(field, "purposes", [])) == 0
	vocab.personal(field)
	f := finding("field", field.id, "id", msg(
		"field %s is collected for no purpose%s", [field.id, flow_note(field)]))
]

flow_note(field) := msg(" and no flow carries it", []) if object.get(field, "flow_count", 0) == 0

else := msg(" although %d flow(s) carry it", [field.flow_count])

# METADATA
# title: Flow carrying data its purpose does not need
# description: >-
#   III.IV: "toutes les mesures raisonnables et réalisables ... pour qu'aucune information non pertinente ne soit
#   collectée". A flow moves data for one purpose; a linkable personal-data field whose category that purpose does
#   not need (vocab.purpose_needs: marketing needs contact and device data, not print statistics; service
#   improvement needs usage data, not the e-mail) is collected there beyond its purpose. Direct identifiers on a flow
#   to a cookie partner are II.III.a's error, not repeated here. Best effort ("mesures raisonnables"): warning.
# custom:
#   clause: III.IV
#   severity: warning
#   verdict: violation
#   remediation: >-
#     Drop the field from the flow, or send it under the purpose that needs it (its own flow, its own legal basis).
excess_on_flow(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", object.keys(vocab.purpose_needs))
	pp := flow.purpose_info.policy_purpose
	vocab.purpose_needs[pp]
	some i
	fi := flow.fields_info[i]
	startswith(fi.category, "user.")
	not object.get(fi, "identifiability", "identified") in vocab.unlinkable
	not pp in vocab.cat(fi).needed_for # not vocab.in_any(fi.category, vocab.purpose_needs[pp]), tabulated
	not ii_iii_a_identifier(flow, fi)
	# Every argument is a string here (ids, a category startswith() accepted, the purpose purpose_info resolved,
	# a key of purpose_needs): vocab.t, a call per argument (~6 µs each in regorus), would print them unchanged.
	f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"flow %s carries %s (%s) for %s (%s), which does not need that category",
		[flow.id, fi.id, fi.category, flow.purpose, pp]))
]

ii_iii_a_identifier(flow, fi) if {
	vocab.direct_ids[fi.category]
	vocab.partner_cookie_flow(flow)
}

# METADATA
# title: Field collected on a device that never leaves it
# description: >-
#   III.IV: a personal-data field that a client collection point (app, firmware) collects but that no flow sends
#   to any Creality system is collected with no visible use. It may be used locally: information, not a finding of
#   non-compliance.
# custom:
#   clause: III.IV
#   severity: info
#   verdict: vague
#   remediation: >-
#     Stop collecting the field on the device, or declare the flow or local use that needs it.
unused_client_field(inp) := [f |
	some field in inp.fields
	object.get(field.system, "kind", "") in vocab.client_kinds
	vocab.personal(field)
	count(object.get(field, "purposes", [])) > 0
	object.get(field, "flow_count", 0) == 0
	f := finding("field", field.id, "id", msg(
		"field %s is collected by %s for %s, but no flow uses it", [field.id, field.system.id, concat(", ", field.purposes)]))
]
