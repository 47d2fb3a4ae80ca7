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

test_child_of_named_account_id_is_vague_other if {
	r := disclosure.vague_other({"fields": [mkfield("x.token", "user.unique_id.pseudonymous")]})
	count(r) == 1
	r3 := disclosure.undisclosed_category({"fields": [mkfield("x.token", "user.unique_id.pseudonymous")]})
	count(r3) == 0
}

test_uploaded_model_files_vague_under_content if {
	r := disclosure.vague_other({"fields": [mkfield("cloud.model", "user.content.model_file")]})
	count(r) == 1
}
