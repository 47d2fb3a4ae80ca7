# METADATA
# scope: package
# title: GDPR Art. 30(1) — can the record of processing activities be produced from the inventory?
# description: >-
#   Each RoPA column the inventory cannot fill is a gap. Columns (d) recipients and (e) transfer
#   countries are always derivable from flows (every endpoint has a kind and a jurisdiction); a missing
#   transfer mechanism is reported once, by GDPR.46, not again here.
package gdpr.records

import rego.v1

import data.gdpr.jurisdictions as j
import data.lib.findings.finding
import data.lib.findings.msg

eu_system(system) if {
	"EU" in system.data_subject_areas
	system.field_count + count(system.received_fields) > 0
}

# METADATA
# title: "RoPA (a): controller identity and contact details incomplete"
# description: >-
#   Art. 30(1)(a) needs the controller's name and contact details (address included) and the DPO's.
# custom:
#   clause: GDPR.30.1
#   severity: error
#   verdict: gap
#   remediation: Fill organization.address and organization.dpo (name and e-mail).
controller_details_missing(inp) := [f |
	org := inp.organization
	org != null
	"EU" in inp.subject_areas
	some key in ["address", "dpo"]
	not org[key]
	f := object.union(
		finding("organization", "organization", "name", msg("organization.%s is missing: RoPA column (a) cannot be filled", [key])),
		{"key": key},
	)
]

# METADATA
# title: "RoPA (b)/(c): EU subjects' field without purposes or categories of data subjects"
# description: >-
#   Art. 30(1)(b) and (c) need the purposes and the categories of data subjects of every personal field
#   about EU/EEA subjects (`purposes`, `subjects`).
# custom:
#   clause: GDPR.30.1
#   severity: error
#   verdict: gap
#   remediation: List the field's purposes and the categories of data subjects (customer, visitor...) it concerns.
field_record_incomplete(inp) := [f |
	some field in inp.fields
	"EU" in field.data_subject_areas
	some key in ["purposes", "subjects"]
	count(object.get(field, key, [])) == 0
	j.personal(field)
	f := object.union(
		finding("field", field.id, "id", msg("field %s (EU subjects) has no %s: RoPA column %s cannot be filled", [field.id, key, column[key]])),
		{"key": key},
	)
]

column := {"purposes": "(b)", "subjects": "(c)"}

# METADATA
# title: "RoPA (f)/(g): no retention period or security description for a system holding EU subjects' data"
# description: >-
#   Art. 30(1)(f) and (g) ask, "where possible", for the erasure time limits (retention.days, indefinite or
#   legal_ref) and a description of the Art. 32 security measures (security.baseline_ref).
# custom:
#   clause: GDPR.30.1
#   severity: warning
#   verdict: gap
#   remediation: >-
#     State the system's retention (retention.days or the legal reference) and reference its security
#     baseline in security.baseline_ref.
system_record_incomplete(inp) := [f |
	some system in inp.systems
	eu_system(system)
	some key in ["retention", "security"]
	not described(system, key)
	f := object.union(
		finding("system", system.id, "id", msg("system %s holds EU subjects' data but its %s is not described: RoPA column %s", [system.id, key, sys_column[key]])),
		{"key": key},
	)
]

sys_column := {"retention": "(f)", "security": "(g)"}

described(system, "retention") if {
	r := object.get(system, "retention", {})
	some k in ["days", "indefinite", "legal_ref"]
	r[k] != null
}

described(system, "security") if system.security.baseline_ref
