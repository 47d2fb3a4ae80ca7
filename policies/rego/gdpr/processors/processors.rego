# METADATA
# scope: package
# title: GDPR Art. 28 — processors bound by a data processing agreement
package gdpr.processors

import rego.v1

import data.gdpr.jurisdictions as j
import data.lib.findings.finding
import data.lib.findings.msg

processor_roles := {"processor", "cloud_storage", "payment"}

# An explicit operator decides; without one, the role does (cloud storage, payment, "processor").
processor(partner) if partner.operator == "processor"

processor(partner) if {
	not partner.operator
	partner.role in processor_roles
}

# METADATA
# title: Processor receiving EU subjects' data without a data processing agreement
# description: >-
#   Art. 28(3): processing by a processor is governed by a contract. Every partner acting as a processor
#   that receives EU/EEA subjects' personal data references its DPA in `dpa_ref`. Independent third
#   parties are outside Art. 28. Systems run by a processor are the next rule's.
# custom:
#   clause: GDPR.28
#   severity: error
#   verdict: gap
#   remediation: >-
#     Sign an Art. 28 data processing agreement with the processor and record it in dpa_ref, or stop sending
#     it personal data.
processor_without_dpa(inp) := [f |
	some partner in inp.partners
	processor(partner)
	not partner.dpa_ref
	eu := [rf.id | some rf in partner.received_fields; j.eu_field(rf)]
	count(eu) > 0
	f := finding("partner", partner.id, "id", msg(
		"processor %s receives EU subjects' data (%s) with no data processing agreement (dpa_ref)", [partner.id, concat(", ", eu)],
	))
]

# METADATA
# title: Processor-run system holding EU subjects' data without a data processing agreement
# description: >-
#   Art. 28(3): a system Creality uses but a vendor runs (operator processor: a hosted CRM, a SaaS help desk)
#   is processing by a processor. When it holds EU/EEA subjects' personal data, the system references the DPA in
#   its `dpa_ref`.
# custom:
#   clause: GDPR.28
#   severity: error
#   verdict: gap
#   remediation: >-
#     Sign an Art. 28 data processing agreement with the vendor running the system and record it in the system's
#     dpa_ref, or stop keeping EU subjects' data there.
processor_system_without_dpa(inp) := [f |
	some s in inp.systems
	s.operator == "processor"
	s.personal_data == true
	"EU" in object.get(s, "data_subject_areas", [])
	not s.dpa_ref
	f := finding("system", s.id, "operator", msg(
		"system %s is run by a processor and holds EU subjects' data with no data processing agreement (dpa_ref)", [s.id],
	))
]
