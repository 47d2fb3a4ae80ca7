package creality.purposes_test

import rego.v1

import data.creality.purposes

declared := {"id": "support", "policy_purpose": "FACILITATE", "consents": []}

undeclared(consents) := {"id": "train_ai", "consents": consents}

opt_in := {"id": "c1", "purpose": "train_ai", "mechanism": "opt_in", "channels": []}

bundled := {"id": "c2", "purpose": "train_ai", "mechanism": "policy_acceptance", "channels": []}

test_field_without_purpose if {
	r := purposes.field_without_purpose({"fields": [{"id": "app.imsi", "category": "user.device", "purposes": []}]})
	count(r) == 1
	r[0].subject.id == "app.imsi"
}

test_field_with_purpose_passes if {
	r := purposes.field_without_purpose({"fields": [{"id": "a", "purposes": ["support"]}]})
	count(r) == 0
}

test_undeclared_purpose_without_consent_is_flagged if {
	inp := {"fields": [{"id": "fw.cam", "purposes": ["support", "train_ai"], "purposes_info": [declared, undeclared([])]}]}
	r := purposes.undeclared_purpose_field(inp)
	count(r) == 1
	r[0].attribute == "purposes.1"
}

test_undeclared_purpose_with_opt_in_consent_passes if {
	inp := {"fields": [{"id": "fw.cam", "purposes": ["train_ai"], "purposes_info": [undeclared([opt_in])]}]}
	r1 := purposes.undeclared_purpose_field(inp)
	count(r1) == 0
}

test_bundled_policy_acceptance_is_not_consent if {
	inp := {"fields": [{"id": "fw.cam", "purposes": ["train_ai"], "purposes_info": [undeclared([bundled])]}]}
	r2 := purposes.undeclared_purpose_field(inp)
	count(r2) == 1
}

test_flow_for_undeclared_purpose_without_consent if {
	flow := {"id": "f1", "to": "ml", "purpose": "train_ai", "purpose_info": undeclared([]), "consent_info": null}
	r3 := purposes.undeclared_purpose_flow({"flows": [flow]})
	count(r3) == 1
}

test_flow_citing_matching_consent_passes if {
	flow := {"id": "f1", "to": "ml", "purpose": "train_ai", "purpose_info": undeclared([opt_in]), "consent_info": opt_in}
	r4 := purposes.undeclared_purpose_flow({"flows": [flow]})
	count(r4) == 0
}

test_flow_for_declared_purpose_passes if {
	flow := {"id": "f2", "to": "crm", "purpose": "support", "purpose_info": declared, "consent_info": null}
	r5 := purposes.undeclared_purpose_flow({"flows": [flow]})
	count(r5) == 0
}
