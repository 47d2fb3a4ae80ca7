# METADATA
# scope: package
# title: Retention and minimisation (III.0, III.IV)
package creality.retention

import rego.v1

import data.creality.vocab
import data.lib.findings.finding

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
	f := finding("system", s.id, "retention.indefinite", sprintf("%s keeps personal data indefinitely", [vocab.t(s.id)]))
]

# METADATA
# title: Personal-data system with no retention period
# description: >-
#   III.0 can be checked only if each system holding personal data states its retention (days or the law that sets
#   it). A system with no retention block, or one with neither days nor legal_ref, is a missing fact. A system
#   declared as not processing personal data that holds some is called out in the message.
# custom:
#   clause: III.0
#   severity: warning
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
	f := finding("system", s.id, retention_attr(s), sprintf("%s holds personal data but states no retention period%s", [vocab.t(s.id), vocab.t(declared_note(s))]))
]

retention_attr(s) := "retention" if s.retention

else := "id"

declared_note(s) := " (it is declared processes_personal_data: false, yet holds personal data)" if {
	object.get(s, "processes_personal_data", null) == false
}

else := ""

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
	vocab.personal(field)
	count(object.get(field, "purposes", [])) == 0
	f := finding("field", field.id, "id", sprintf(
		"field %s is collected for no purpose%s", [vocab.t(field.id), vocab.t(flow_note(field))]))
]

flow_note(field) := " and no flow carries it" if object.get(field, "flow_count", 0) == 0

else := sprintf(" although %d flow(s) carry it", [field.flow_count])

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
	vocab.personal(field)
	object.get(field.system, "kind", "") in vocab.client_kinds
	count(object.get(field, "purposes", [])) > 0
	object.get(field, "flow_count", 0) == 0
	f := finding("field", field.id, "id", sprintf(
		"field %s is collected by %s for %s, but no flow uses it", [vocab.t(field.id), vocab.t(field.system.id), vocab.t(concat(", ", field.purposes))]))
]
