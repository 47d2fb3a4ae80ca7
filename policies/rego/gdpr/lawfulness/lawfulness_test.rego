package gdpr.lawfulness_test

import rego.v1

import data.lib.findings.text

import data.gdpr.lawfulness

eu := {"id": "app.email", "identifiability": "identified", "subject_areas": ["EU"]}

us := {"id": "app.email", "identifiability": "identified", "subject_areas": ["US"]}

lflow(basis, consent, fields) := {"id": "f", "legal_basis": basis, "consent_info": consent, "fields_info": fields}

test_declared_purpose_is_not_a_gdpr_basis if {
	r := lawfulness.flow_without_legal_basis({"flows": [lflow({"kind": "declared_purpose"}, null, [eu])]})
	count(r) == 1
	r[0].attribute == "legal_basis.kind"
}

test_missing_legal_basis_is_a_gap if {
	r := lawfulness.flow_without_legal_basis({"flows": [{"id": "f", "consent_info": null, "fields_info": [eu]}]})
	count(r) == 1
	r[0].verdict == "gap"
}

test_contract_basis_passes if {
	r := lawfulness.flow_without_legal_basis({"flows": [lflow({"kind": "contract"}, null, [eu])]})
	count(r) == 0
}

test_non_eu_data_is_out_of_scope if {
	r := lawfulness.flow_without_legal_basis({"flows": [lflow({"kind": "declared_purpose"}, null, [us])]})
	count(r) == 0
}

test_exemption_is_reported_for_review_with_its_mapping if {
	r := lawfulness.exemption_without_gdpr_basis({"flows": [lflow({"kind": "exemption", "exemption": "II.IV.3(8)"}, null, [eu])]})
	count(r) == 1
	contains(text(r[0]), "legitimate_interest")
	r2 := lawfulness.flow_without_legal_basis({"flows": [lflow({"kind": "exemption", "exemption": "II.IV.3(8)"}, null, [eu])]})
	count(r2) == 0
}

test_bundled_consent_is_not_a_gdpr_consent if {
	c := {"id": "c", "mechanism": "policy_acceptance"}
	r := lawfulness.invalid_consent_basis({"flows": [lflow({"kind": "consent", "consent": "c"}, c, [eu])]})
	count(r) == 1
}

test_consent_basis_without_consent_is_flagged if {
	r := lawfulness.invalid_consent_basis({"flows": [lflow({"kind": "consent"}, null, [eu])]})
	count(r) == 1
}

test_banner_consent_passes if {
	c := {"id": "c", "mechanism": "banner"}
	r := lawfulness.invalid_consent_basis({"flows": [lflow({"kind": "consent", "consent": "c"}, c, [eu])]})
	count(r) == 0
}
