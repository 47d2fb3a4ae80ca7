package creality.security_test

import rego.v1

import data.lib.findings.text

import data.creality.security

full := {
	"tls_min": "1.2", "encryption_at_rest": true, "isolation": "tenant", "mfa_admin": true, "need_to_know": true,
	"access_groups": ["identity-oncall"], "monitoring": true, "audit_log": true,
	"backup": {"enabled": true, "encrypted": true}, "baseline_ref": "https://wiki/baseline",
}

store(sec) := {"id": "account", "kind": "backend", "personal_data": true, "security": sec}

app(sec) := {"id": "app", "kind": "app", "personal_data": true, "security": sec}

good := {"systems": [store(full)], "fields": [], "flows": []}

test_fully_secured_store_passes if {
	count(security.baseline_missing(good)) == 0
	count(security.weak_transport(good)) == 0
	count(security.tls_unknown(good)) == 0
	count(security.unencrypted_at_rest(good)) == 0
	count(security.not_isolated(good)) == 0
	count(security.access_control(good)) == 0
	count(security.broad_access(good)) == 0
	count(security.confidentiality_and_audit(object.union(good, {"organization": null}))) == 0
}

test_client_app_is_not_judged_as_a_store if {
	inp := {"systems": [app({"tls_min": "1.2"})], "fields": [], "flows": []}
	count(security.access_control(inp)) == 0
	count(security.not_isolated(inp)) == 0
	count(security.baseline_missing(inp)) == 0
}

test_store_without_baseline_and_backup if {
	r := security.baseline_missing({"systems": [store(object.remove(full, ["baseline_ref", "backup"]))]})
	count(r) == 2
	gaps := [x | some x in r; x.verdict == "gap"]
	count(gaps) == 1
	r2 := security.baseline_missing({"systems": [store(object.union(full, {"backup": {"enabled": false}}))]})
	count(r2) == 1
	r2[0].attribute == "security.backup.enabled"
}

test_user_id_join_key_is_the_expected_pseudonym if {
	count(security.raw_join_key({"fields": [{"id": "a.uid", "category": "user.unique_id", "join_key": true}]})) == 0
}

test_tls_1_0_and_plain_flow_are_flagged if {
	inp := {
		"systems": [store(object.union(full, {"tls_min": "1.0"}))],
		"flows": [{"id": "f", "tls": false, "fields_info": [{"id": "a", "category": "system.operations"}, {"id": "b", "category": "user.device"}]}],
	}
	r := security.weak_transport(inp)
	count(r) == 2
}

test_unknown_tls_is_a_gap if {
	count(security.tls_unknown({"systems": [store(object.remove(full, ["tls_min"]))]})) == 1
}

test_unsalted_password_is_an_error if {
	count(security.weak_credentials({"fields": [{"id": "a.pw", "category": "user.authorization.password", "protection": "hashed_weak"}]})) == 1
	count(security.weak_credentials({"fields": [{"id": "a.pw", "category": "user.authorization.password", "protection": "hashed_salted"}]})) == 0
}

test_sensitive_field_in_unencrypted_store if {
	fld := {"id": "s.phone", "category": "user.contact.phone_number", "protection": "plain", "system": {"id": "account", "kind": "backend"}}
	count(security.unencrypted_at_rest({"systems": [store(object.union(full, {"encryption_at_rest": false}))], "fields": [fld]})) == 1
	count(security.unencrypted_at_rest({"systems": [store(full)], "fields": [fld]})) == 0
}

test_unencrypted_backup_is_flagged if {
	count(security.unencrypted_at_rest({"systems": [store(object.union(full, {"backup": {"enabled": true, "encrypted": false}}))], "fields": []})) == 1
}

test_isolation_none_is_violation_and_missing_is_gap if {
	r1 := security.not_isolated({"systems": [store(object.union(full, {"isolation": "none"}))]})
	count(r1) == 1
	not r1[0].verdict
	r2 := security.not_isolated({"systems": [store(object.remove(full, ["isolation"]))]})
	r2[0].verdict == "gap"
}

test_mixed_deidentified_store if {
	mixed := {"deidentified": ["t"], "deidentified_count": 1, "identified": ["u", "v"], "identified_count": 12}
	r := security.mixed_deidentified_store({"systems": [object.union(store(full), {"lineage_mixed": mixed})]})
	count(r) == 1
	contains(text(r[0]), "(t) next to identified data (u, v and 10 more)")
	count(security.mixed_deidentified_store({"systems": [store(full)]})) == 0
	# a client collection point holds the user's own data on the device
	count(security.mixed_deidentified_store({"systems": [object.union(app(full), {"lineage_mixed": mixed})]})) == 0
}

test_unmasked_email_is_flagged if {
	f := {"id": "a.email", "category": "user.contact.email", "masked_in_display": false, "masked_in_logs": true}
	r := security.unmasked_identifier({"fields": [f]})
	count(r) == 1
	r[0].attribute == "masked_in_display"
	count(security.unmasked_identifier({"fields": [object.union(f, {"masked_in_display": true})]})) == 0
}

test_raw_join_key_is_flagged if {
	count(security.raw_join_key({"fields": [{"id": "a.email", "category": "user.contact.email", "join_key": true}]})) == 1
	count(security.raw_join_key({"fields": [{"id": "d.tok", "category": "user.contact.email", "join_key": true, "protection": "tokenized"}]})) == 0
}

test_crm_without_mfa_is_an_error if {
	r := security.access_control({"systems": [store(object.union(full, {"mfa_admin": false}))]})
	count(r) == 1
	r[0].attribute == "security.mfa_admin"
}

test_classification_outside_scheme if {
	fs := [{"id": "a", "category": "user.contact.email", "classification": "secret"}, {"id": "b", "category": "user.device", "classification": "internal"}, {"id": "c", "category": "user.device"}]
	r := security.classification({"organization": null, "classification_scheme": ["internal", "confidential"], "fields": fs})
	count(r) == 2
}

test_organization_without_scheme_or_sdlc if {
	r := security.classification({"organization": {"name": "x"}, "fields": []})
	count(r) == 2
	count(security.classification({"organization": {"name": "x", "classification_scheme": ["a"], "secure_sdlc_ref": "r"}, "fields": []})) == 0
}

test_no_confidentiality_agreement_or_audit_log if {
	r := security.confidentiality_and_audit({"organization": {"name": "x"}, "systems": [store(object.union(full, {"audit_log": false}))]})
	count(r) == 2
}

test_broad_group_and_no_monitoring if {
	r := security.broad_access({"systems": [store(object.union(full, {"access_groups": ["All-Employees"], "monitoring": false}))]})
	count(r) == 2
}

test_partner_without_agreement if {
	p := {"id": "p", "role": "advertiser", "received_fields": [{"id": "x", "category": "user.device"}]}
	count(security.partner_without_agreement({"partners": [p]})) == 1
	count(security.partner_without_agreement({"partners": [object.union(p, {"dpa_ref": "c"})]})) == 0
	count(security.partner_without_agreement({"partners": [object.union(p, {"role": "authority"})]})) == 0
}

# Class 7 (issue 13): aggregate statistics are not "vos informations" (a research institute, a data licensee).
test_partner_receiving_only_aggregates_needs_no_agreement_under_iii_iii_b if {
	p := {"id": "p", "role": "data_licensee", "received_fields": [{"id": "x", "category": "user.telemetry", "identifiability": "aggregate"}]}
	count(security.partner_without_agreement({"partners": [p]})) == 0
}

# Class 9(b) (issue 13): the contract of a vendor-run system (a hosted CRM) is on the system.
test_vendor_run_system_without_agreement if {
	crm := {"id": "crm", "kind": "crm", "operator": "processor", "personal_data": true}
	r := security.system_without_agreement({"systems": [crm]})
	count(r) == 1
	r[0].attribute == "operator"
	count(security.system_without_agreement({"systems": [object.union(crm, {"dpa_ref": "https://legal/dpa"})]})) == 0
	count(security.system_without_agreement({"systems": [object.union(crm, {"operator": "first_party"})]})) == 0
	count(security.system_without_agreement({"systems": [object.union(crm, {"personal_data": false})]})) == 0
	count(security.system_without_agreement({"systems": [object.union(crm, {"operator": "third_party"})]})) == 1
}

# The scheme reaches the rule on the partition's system, where the input documents put it.
test_field_outside_the_scheme_carried_by_the_system if {
	fs := [{"id": "account.password_hash", "category": "user.authorization.password", "classification": "secret"}]
	inp := {"organization": null, "systems": [{"id": "account", "classification_scheme": ["internal", "confidential"]}], "fields": fs}
	r := security.classification(inp)
	count(r) == 1
	r[0].attribute == "classification"
}
