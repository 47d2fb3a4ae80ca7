package gdpr.records_test

import rego.v1

import data.gdpr.records

org := {"name": "Creality", "contact_email": "cs@creality.com"}

full_org := object.union(org, {"address": "Shenzhen", "dpo": {"name": "DPO"}})

test_controller_without_address_and_dpo if {
	r := records.controller_details_missing({"organization": org, "subject_areas": ["EU"]})
	count(r) == 2
}

test_complete_controller_passes if {
	r := records.controller_details_missing({"organization": full_org, "subject_areas": ["EU"]})
	count(r) == 0
}

test_no_eu_subjects_no_ropa if {
	r := records.controller_details_missing({"organization": org, "subject_areas": ["CN"]})
	count(r) == 0
}

test_field_without_subjects if {
	fld := {"id": "app.email", "purposes": ["login"], "data_subject_areas": ["EU"]}
	r := records.field_record_incomplete({"fields": [fld]})
	count(r) == 1
	r[0].key == "subjects"
}

test_complete_or_anonymous_field_passes if {
	ok := {"id": "a", "purposes": ["login"], "subjects": ["customer"], "data_subject_areas": ["EU"]}
	anon := {"id": "b", "identifiability": "aggregate", "data_subject_areas": ["EU"]}
	r := records.field_record_incomplete({"fields": [ok, anon]})
	count(r) == 0
}

ropa_system(extra) := object.union({"id": "s", "data_subject_areas": ["EU"], "field_count": 1, "received_fields": []}, extra)

test_system_without_retention_or_baseline if {
	r := records.system_record_incomplete({"systems": [ropa_system({})]})
	count(r) == 2
}

test_system_with_retention_and_baseline_passes if {
	s := ropa_system({"retention": {"indefinite": false}, "security": {"baseline_ref": "cis.md"}})
	r := records.system_record_incomplete({"systems": [s]})
	count(r) == 0
}

test_system_without_data_is_not_in_the_record if {
	s := object.union(ropa_system({}), {"field_count": 0})
	r := records.system_record_incomplete({"systems": [s]})
	count(r) == 0
}
