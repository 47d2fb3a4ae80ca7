package gdpr.transfers_test

import rego.v1

import data.gdpr.transfers

eu_app := {"id": "app", "jurisdiction": "EU", "area": "EU", "subject_areas": ["EU"]}

dest_node(jur) := {"id": "dest", "jurisdiction": jur, "area": area(jur), "subject_areas": []}

area(jur) := "EU" if jur == "DE"

else := jur

email := {"id": "app.email", "identifiability": "identified", "subject_areas": ["EU"]}

tflow(to_jur, transfer) := {
	"id": "f1", "to": "dest", "trigger": "scheduled", "from_node": eu_app, "to_node": dest_node(to_jur),
	"fields_info": [email], "transfer": transfer, "separate_consent_info": null,
}

no_transfer_block(to_jur) := {
	"id": "f0", "to": "dest", "from_node": eu_app, "to_node": dest_node(to_jur),
	"fields_info": [email], "separate_consent_info": null,
}

scc_full := {"mechanism": "scc", "ref": "scc.pdf", "tia_ref": "tia.pdf", "frequency": "regular"}

test_missing_transfer_block_is_flagged if {
	r := transfers.transfer_without_safeguard({"flows": [no_transfer_block("CN")]})
	count(r) == 1
	r[0].attribute == "id"
}

test_pipl_mechanism_is_not_a_gdpr_ground if {
	r := transfers.transfer_without_safeguard({"flows": [tflow("CN", {"mechanism": "pipl_standard_contract", "ref": "x"})]})
	count(r) == 1
	r[0].attribute == "transfer.mechanism"
}

test_scc_with_tia_passes_every_rule if {
	inp := {"flows": [tflow("CN", scc_full)]}
	count(transfers.transfer_without_safeguard(inp)) == 0
	count(transfers.safeguard_without_tia(inp)) == 0
	count(transfers.safeguard_without_ref(inp)) == 0
}

test_flow_inside_the_eea_needs_no_transfer_block if {
	count(transfers.transfer_without_safeguard({"flows": [no_transfer_block("DE")]})) == 0
}

test_scc_without_tia_is_a_gap if {
	r := transfers.safeguard_without_tia({"flows": [tflow("CN", {"mechanism": "scc", "ref": "scc.pdf"})]})
	count(r) == 1
}

test_scc_without_ref_is_a_gap if {
	r := transfers.safeguard_without_ref({"flows": [tflow("CN", {"mechanism": "bcr", "tia_ref": "t"})]})
	count(r) == 1
}

test_adequacy_for_china_is_incorrect if {
	r := transfers.adequacy_without_decision({"flows": [tflow("CN", {"mechanism": "adequacy", "ref": "x"})]})
	count(r) == 1
}

test_adequacy_for_japan_and_uk_passes if {
	inp := {"flows": [tflow("JP", {"mechanism": "adequacy"}), tflow("GB", {"mechanism": "adequacy"})]}
	count(transfers.adequacy_without_decision(inp)) == 0
	count(transfers.transfer_without_safeguard(inp)) == 0
}

test_us_adequacy_needs_dpf_reference if {
	r := transfers.us_adequacy_without_dpf({"flows": [tflow("US", {"mechanism": "adequacy"})]})
	count(r) == 1
	r2 := transfers.adequacy_without_decision({"flows": [tflow("US", {"mechanism": "adequacy"})]})
	count(r2) == 0
}

test_us_adequacy_with_dpf_certification_passes if {
	r := transfers.us_adequacy_without_dpf({"flows": [tflow("US", {"mechanism": "adequacy", "ref": "DPF list: vendor"})]})
	count(r) == 0
}

test_derogation_for_scheduled_transfer_is_flagged if {
	r := transfers.derogation_for_regular_transfer({"flows": [tflow("CN", {"mechanism": "art49_contract", "frequency": "occasional"})]})
	count(r) == 1
}

test_derogation_without_frequency_is_flagged if {
	fl := object.union(tflow("CN", {"mechanism": "art49_contract"}), {"trigger": "user_action"})
	r := transfers.derogation_for_regular_transfer({"flows": [fl]})
	count(r) == 1
}

test_occasional_user_triggered_derogation_passes if {
	fl := object.union(tflow("CN", {"mechanism": "art49_contract", "frequency": "occasional"}), {"trigger": "user_action"})
	r := transfers.derogation_for_regular_transfer({"flows": [fl]})
	count(r) == 0
	r2 := transfers.transfer_without_safeguard({"flows": [fl]})
	count(r2) == 0
}

test_art49_consent_without_explicit_consent if {
	fl := tflow("CN", {"mechanism": "art49_consent", "frequency": "occasional"})
	r := transfers.derogation_consent_not_explicit({"flows": [fl]})
	count(r) == 1
}

test_art49_consent_with_explicit_cross_border_consent_passes if {
	c := {"id": "c", "mechanism": "separate", "scope": ["cross_border"]}
	fl := object.union(tflow("CN", {"mechanism": "art49_consent", "frequency": "occasional"}), {"separate_consent_info": c})
	r := transfers.derogation_consent_not_explicit({"flows": [fl]})
	count(r) == 0
}

test_bundled_consent_is_not_explicit if {
	c := {"id": "c", "mechanism": "policy_acceptance", "scope": ["cross_border"]}
	fl := object.union(tflow("CN", {"mechanism": "art49_consent", "frequency": "occasional"}), {"separate_consent_info": c})
	r := transfers.derogation_consent_not_explicit({"flows": [fl]})
	count(r) == 1
}
