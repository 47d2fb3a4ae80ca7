package pipl.consent_test

import rego.v1

import data.pipl.consent

cn_field(category) := {"id": "f.x", "category": category, "identifiability": "identified", "subject_jurisdictions": ["CN"]}

share_flow(category, operator, basis, c) := {
	"id": "f", "to": "ads", "to_node": {"operator": operator},
	"fields_info": [cn_field(category)], "legal_basis": basis, "consent_info": c,
}

sep(scope) := {"id": "c", "mechanism": "separate", "scope": scope}

test_sharing_with_third_party_without_separate_consent if {
	opt_in := {"id": "c", "mechanism": "opt_in", "scope": ["sharing"]}
	r := consent.sharing_without_separate_consent({"flows": [share_flow("user.contact.email", "third_party", {"kind": "consent"}, opt_in)]})
	count(r) == 1
}

test_sharing_with_separate_consent_passes if {
	r := consent.sharing_without_separate_consent({"flows": [share_flow("user.contact.email", "third_party", {"kind": "consent"}, sep(["sharing"]))]})
	count(r) == 0
}

test_entrusted_processor_and_authority_are_exempt if {
	r1 := consent.sharing_without_separate_consent({"flows": [share_flow("user.contact.email", "processor", {"kind": "contract"}, null)]})
	count(r1) == 0
	r2 := consent.sharing_without_separate_consent({"flows": [share_flow("user.contact.email", "third_party", {"kind": "legal_obligation"}, null)]})
	count(r2) == 0
}

test_non_chinese_subjects_are_out_of_scope if {
	fl := object.union(share_flow("user.contact.email", "third_party", {"kind": "contract"}, null), {"fields_info": [object.union(cn_field("user.contact.email"), {"subject_jurisdictions": ["EU"]})]})
	count(consent.sharing_without_separate_consent({"flows": [fl]})) == 0
}

test_location_without_separate_consent if {
	r := consent.sensitive_without_separate_consent({"flows": [share_flow("user.location.precise", "first_party", {"kind": "contract"}, null)]})
	count(r) == 1
}

test_location_with_sensitive_separate_consent_passes if {
	r := consent.sensitive_without_separate_consent({"flows": [share_flow("user.location.precise", "first_party", {"kind": "consent"}, sep(["sensitive"]))]})
	count(r) == 0
}

test_separate_consent_of_the_wrong_scope_is_not_enough if {
	r := consent.sensitive_without_separate_consent({"flows": [share_flow("user.biometric", "first_party", {"kind": "consent"}, sep(["sharing"]))]})
	count(r) == 1
}

test_phone_number_is_only_a_warning if {
	inp := {"flows": [share_flow("user.contact.phone_number", "first_party", {"kind": "contract"}, null)]}
	count(consent.sensitive_without_separate_consent(inp)) == 0
	count(consent.standard_sensitive_without_separate_consent(inp)) == 1
}

test_email_is_not_sensitive if {
	inp := {"flows": [share_flow("user.contact.email", "first_party", {"kind": "contract"}, null)]}
	count(consent.standard_sensitive_without_separate_consent(inp)) == 0
}

# A field as a system's partition lists it: who it concerns (data_subject_areas) and its purposes' consents.
kept_field(category, areas, consents) := {
	"id": "app-cn.x", "category": category, "identifiability": "identified", "data_subject_areas": areas,
	"purposes_info": [{"id": "security", "consents": consents}],
}

test_sensitive_field_kept_without_separate_consent if {
	r := consent.sensitive_field_without_separate_consent({"fields": [kept_field("user.biometric", ["CN"], [])]})
	count(r) == 1
	r[0].subject == {"kind": "field", "id": "app-cn.x"}
}

test_sensitive_field_with_separate_consent_for_a_purpose_passes if {
	inp := {"fields": [kept_field("user.biometric", ["CN", "EU"], [sep(["processing", "sensitive"])])]}
	count(consent.sensitive_field_without_separate_consent(inp)) == 0
}

test_sensitive_field_consent_of_another_mechanism_or_scope_is_not_enough if {
	opt_in := {"mechanism": "opt_in", "scope": ["sensitive"]}
	inp := {"fields": [kept_field("user.health_and_medical", ["CN"], [opt_in, sep(["sharing"])])]}
	count(consent.sensitive_field_without_separate_consent(inp)) == 1
}

test_sensitive_field_out_of_scope if {
	not_cn := kept_field("user.biometric", ["EU", "US"], [])
	anonymous := object.union(kept_field("user.location.precise", ["CN"], []), {"identifiability": "aggregate"})
	not_sensitive := kept_field("user.contact.email", ["CN"], [])
	count(consent.sensitive_field_without_separate_consent({"fields": [not_cn, anonymous, not_sensitive]})) == 0
}

test_standard_sensitive_field_is_a_warning_of_its_own if {
	inp := {"fields": [kept_field("user.behavior.browsing_history", ["CN"], [])]}
	count(consent.standard_sensitive_field_without_separate_consent(inp)) == 1
	count(consent.sensitive_field_without_separate_consent(inp)) == 0
	covered := {"fields": [kept_field("user.contact.phone_number", ["CN"], [sep(["sensitive"])])]}
	count(consent.standard_sensitive_field_without_separate_consent(covered)) == 0
}
