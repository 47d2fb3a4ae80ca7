package pipl.export_test

import rego.v1

import data.pipl.export

cn := {"id": "fw.serial", "identifiability": "identified", "subject_jurisdictions": ["CN"]}

sep := {"id": "c", "mechanism": "separate", "scope": ["cross_border"]}

export_flow(transfer, consent, basis) := {
	"id": "f", "to": "crm", "from_node": {"jurisdiction": "CN"}, "to_node": {"jurisdiction": "US"},
	"fields_info": [cn], "transfer": transfer, "separate_consent_info": consent, "legal_basis": {"kind": basis},
}

compliant := export_flow({"mechanism": "pipl_standard_contract", "ref": "cac-filing-1", "tia_ref": "pia-1"}, sep, "consent")

test_scc_is_not_a_pipl_mechanism if {
	r := export.export_without_mechanism({"flows": [export_flow({"mechanism": "scc", "ref": "x"}, sep, "consent")]})
	count(r) == 1
}

test_missing_transfer_block_is_flagged if {
	fl := object.remove(compliant, ["transfer"])
	r := export.export_without_mechanism({"flows": [fl]})
	r[0].attribute == "id"
}

test_compliant_export_passes_every_rule if {
	inp := {"flows": [compliant]}
	count(export.export_without_mechanism(inp)) == 0
	count(export.export_mechanism_without_ref(inp)) == 0
	count(export.export_on_contract_necessity(inp)) == 0
	count(export.export_without_separate_consent(inp)) == 0
	count(export.export_without_impact_assessment(inp)) == 0
}

test_mechanism_without_ref_is_a_gap if {
	r := export.export_mechanism_without_ref({"flows": [export_flow({"mechanism": "cac_assessment"}, sep, "consent")]})
	count(r) == 1
}

test_contract_necessity_is_a_warning_not_an_error if {
	inp := {"flows": [export_flow({"mechanism": "contract_necessity", "tia_ref": "p"}, sep, "consent")]}
	count(export.export_without_mechanism(inp)) == 0
	count(export.export_on_contract_necessity(inp)) == 1
}

test_export_without_separate_consent if {
	r := export.export_without_separate_consent({"flows": [export_flow({"mechanism": "cac_assessment", "ref": "r"}, null, "consent")]})
	count(r) == 1
	not r[0].severity
}

test_opt_in_consent_is_not_separate if {
	c := {"id": "c", "mechanism": "opt_in", "scope": ["cross_border"]}
	r := export.export_without_separate_consent({"flows": [export_flow({"mechanism": "cac_assessment", "ref": "r"}, c, "consent")]})
	count(r) == 1
}

test_contract_basis_without_separate_consent_is_for_review if {
	r := export.export_without_separate_consent({"flows": [export_flow({"mechanism": "cac_assessment", "ref": "r"}, null, "contract")]})
	r[0].severity == "warning"
}

test_export_without_impact_assessment if {
	r := export.export_without_impact_assessment({"flows": [export_flow({"mechanism": "cac_assessment", "ref": "r"}, sep, "consent")]})
	count(r) == 1
}

test_flow_within_china_is_not_checked if {
	fl := object.union(export_flow({"mechanism": "none"}, null, "consent"), {"to_node": {"jurisdiction": "CN"}})
	count(export.export_without_mechanism({"flows": [fl]})) == 0
	count(export.export_without_impact_assessment({"flows": [fl]})) == 0
}
