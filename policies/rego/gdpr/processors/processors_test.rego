package gdpr.processors_test

import rego.v1

import data.gdpr.processors

eu_field := {"id": "app.email", "subject_areas": ["EU"]}

test_processor_without_dpa if {
	p := {"id": "p", "role": "analytics", "operator": "processor", "received_fields": [eu_field]}
	r := processors.processor_without_dpa({"partners": [p]})
	count(r) == 1
}

test_cloud_storage_role_without_operator_is_a_processor if {
	p := {"id": "p", "role": "cloud_storage", "received_fields": [eu_field]}
	count(processors.processor_without_dpa({"partners": [p]})) == 1
}

test_processor_with_dpa_passes if {
	p := {"id": "p", "role": "analytics", "operator": "processor", "dpa_ref": "dpa.pdf", "received_fields": [eu_field]}
	count(processors.processor_without_dpa({"partners": [p]})) == 0
}

test_independent_third_party_is_out_of_scope if {
	p := {"id": "p", "role": "payment", "operator": "third_party", "received_fields": [eu_field]}
	count(processors.processor_without_dpa({"partners": [p]})) == 0
}

test_processor_without_eu_data_is_out_of_scope if {
	p := {"id": "p", "role": "processor", "received_fields": [{"id": "x", "subject_areas": ["CN"]}]}
	count(processors.processor_without_dpa({"partners": [p]})) == 0
}

# Issue 13 class 9(b): a hosted CRM is a processor too; its DPA is on the system.
test_processor_run_system_without_dpa if {
	crm := {"id": "crm", "operator": "processor", "personal_data": true, "data_subject_areas": ["EU", "US"]}
	r := processors.processor_system_without_dpa({"systems": [crm]})
	count(r) == 1
	r[0].subject == {"kind": "system", "id": "crm"}
	count(processors.processor_system_without_dpa({"systems": [object.union(crm, {"dpa_ref": "dpa.pdf"})]})) == 0
	count(processors.processor_system_without_dpa({"systems": [object.union(crm, {"data_subject_areas": ["US"]})]})) == 0
	count(processors.processor_system_without_dpa({"systems": [object.union(crm, {"operator": "first_party"})]})) == 0
}
