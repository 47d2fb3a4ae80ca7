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
