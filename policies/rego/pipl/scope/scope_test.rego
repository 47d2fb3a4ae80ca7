package pipl.scope_test

import rego.v1

import data.pipl.scope

cn := {"id": "fw.serial", "identifiability": "identified", "subject_jurisdictions": ["CN", "EU"]}

test_export_from_china_to_us if {
	scope.export({"from_node": {"jurisdiction": "CN"}, "to_node": {"jurisdiction": "US"}, "fields_info": [cn]})
}

test_export_from_a_collection_point_with_chinese_users if {
	fl := {"from_node": {"jurisdiction": "EU", "subject_jurisdictions": ["CN"]}, "to_node": {"jurisdiction": "EU"}, "fields_info": [cn]}
	scope.export(fl)
}

test_flow_inside_china_is_not_an_export if {
	not scope.export({"from_node": {"jurisdiction": "CN"}, "to_node": {"jurisdiction": "CN"}, "fields_info": [cn]})
}

test_anonymised_data_is_not_personal_information if {
	agg := object.union(cn, {"identifiability": "aggregate"})
	not scope.export({"from_node": {"jurisdiction": "CN"}, "to_node": {"jurisdiction": "US"}, "fields_info": [agg]})
}

test_sensitive_prefixes if {
	scope.has_prefix("user.location.precise", scope.sensitive_prefixes)
	not scope.has_prefix("user.contact.email", scope.sensitive_prefixes)
}
