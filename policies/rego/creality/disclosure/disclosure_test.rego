package creality.disclosure_test

import rego.v1

import data.creality.disclosure

mkfield(id, cat) := {"id": id, "category": cat, "purposes": ["p"]}

test_undisclosed_location_is_omitted if {
	r := disclosure.undisclosed_category({"fields": [mkfield("app.loc", "user.location.precise")]})
	count(r) == 1
	r[0].subject == {"kind": "field", "id": "app.loc"}
	r[0].attribute == "category"
}

test_disclosed_email_passes if {
	r := disclosure.undisclosed_category({"fields": [mkfield("app.email", "user.contact.email")]})
	count(r) == 0
}

test_non_personal_system_data_is_not_judged if {
	r := disclosure.undisclosed_category({"fields": [mkfield("crm.campaign", "system.operations")]})
	count(r) == 0
}

test_named_imei_is_clear_not_vague if {
	inp := {"fields": [mkfield("app.imei", "user.device.device_id.imei")]}
	r1 := disclosure.vague_device_data(inp)
	count(r1) == 0
	r2 := disclosure.undisclosed_category(inp)
	count(r2) == 0
}

test_serial_number_is_vague_device_data if {
	r := disclosure.vague_device_data({"fields": [mkfield("fw.serial", "user.device.serial_number")]})
	count(r) == 1
}

test_purchase_history_is_vague_log_data if {
	r := disclosure.vague_log_data({"fields": [mkfield("shop.orders", "user.behavior.purchase_history")]})
	count(r) == 1
}

# A child of the account number (I.II.b) is vague under I.II.b's "entre autres", not under the generic rule.
test_child_of_named_account_id_is_vague_identity_data if {
	r := disclosure.vague_identity_data({"fields": [mkfield("x.token", "user.unique_id.pseudonymous")]})
	count(r) == 1
	count(disclosure.vague_other({"fields": [mkfield("x.token", "user.unique_id.pseudonymous")]})) == 0
	r3 := disclosure.undisclosed_category({"fields": [mkfield("x.token", "user.unique_id.pseudonymous")]})
	count(r3) == 0
}

test_uploaded_model_files_vague_under_content if {
	r := disclosure.vague_other({"fields": [mkfield("cloud.model", "user.content.model_file")]})
	count(r) == 1
}

# ---- I.II.b open list
test_session_token_is_vague_identity_data if {
	r := disclosure.vague_identity_data({"fields": [mkfield("acct.session", "user.authorization.session_token")]})
	count(r) == 1
	r[0].attribute == "category"
	count(disclosure.vague_other({"fields": [mkfield("acct.session", "user.authorization.session_token")]})) == 0
}

test_listed_password_is_clear if {
	count(disclosure.vague_identity_data({"fields": [mkfield("acct.pw", "user.authorization.password")]})) == 0
}

# ---- I.I access origin framed as non-identity
test_per_user_origin_is_flagged if {
	fd := object.union(mkfield("web.ref", "user.behavior.access_origin"), {"identifiability": "pseudonymous"})
	r := disclosure.identified_access_data({"fields": [fd]})
	count(r) == 1
	r[0].attribute == "identifiability"
}

test_aggregate_origin_passes if {
	fd := object.union(mkfield("web.ref", "user.behavior.access_origin"), {"identifiability": "aggregate"})
	count(disclosure.identified_access_data({"fields": [fd]})) == 0
}

test_aggregate_origin_used_as_join_key_is_flagged if {
	fd := object.union(mkfield("web.ref", "user.behavior.access_order"), {"identifiability": "aggregate", "join_key": true})
	count(disclosure.identified_access_data({"fields": [fd]})) == 1
}

# ---- I.II.a phone number
test_phone_read_from_sim_is_vague if {
	fd := object.union(mkfield("app.msisdn", "user.contact.phone_number"), {"collection": "observed"})
	r := disclosure.phone_not_from_user({"fields": [fd]})
	count(r) == 1
	r[0].attribute == "collection"
}

test_phone_typed_by_user_passes if {
	fd := object.union(mkfield("app.phone", "user.contact.phone_number"), {"collection": "user_provided"})
	count(disclosure.phone_not_from_user({"fields": [fd]})) == 0
}

# ---- II.I.1 channels
test_bought_email_list_is_undeclared_channel if {
	fd := object.union(mkfield("crm.leads", "user.contact.email"), {"collection": "third_party"})
	count(disclosure.undeclared_channel({"fields": [fd]})) == 1
}

test_third_party_non_personal_data_passes if {
	fd := object.union(mkfield("crm.fx", "system.operations"), {"collection": "third_party"})
	count(disclosure.undeclared_channel({"fields": [fd]})) == 0
}

# ---- II.I.2 content channel
test_stored_email_is_content_mismatch if {
	fd := object.union(mkfield("lib.owner", "user.contact.email"), {"collection": "user_stored"})
	count(disclosure.content_channel_mismatch({"fields": [fd]})) == 1
}

test_stored_model_passes if {
	fd := object.union(mkfield("lib.model", "user.content.private"), {"collection": "user_stored"})
	count(disclosure.content_channel_mismatch({"fields": [fd]})) == 0
}

# ---- II.I.3 observed data
test_observed_email_is_vague if {
	fd := object.union(mkfield("app.acct_email", "user.contact.email"), {"collection": "observed"})
	r := disclosure.observed_non_log({"fields": [fd]})
	count(r) == 1
}

test_observed_device_and_ip_pass if {
	f1 := object.union(mkfield("app.model", "user.device"), {"collection": "observed"})
	f2 := object.union(mkfield("app.ip", "user.device.ip_address"), {"collection": "observed"})
	count(disclosure.observed_non_log({"fields": [f1, f2]})) == 0
}

# II.I.3: observed data that no term covers (camera frames) is omitted under II.I.3 as well as under I; observed
# device data passes, and an undisclosed category the user typed is I's only.
test_observed_data_no_term_covers_is_omitted_under_ii_i_3 if {
	camera := {"id": "fw.camera", "category": "user.sensor", "collection": "observed"}
	r := disclosure.observed_undisclosed({"fields": [camera]})
	count(r) == 1
	r[0].attribute == "collection"
	device := {"id": "fw.model", "category": "user.device", "collection": "observed"}
	count(disclosure.observed_undisclosed({"fields": [device]})) == 0
	typed := {"id": "web.name", "category": "user.name", "collection": "user_provided"}
	count(disclosure.observed_undisclosed({"fields": [typed]})) == 0
}
