package gdpr.jurisdictions_test

import rego.v1

import data.gdpr.jurisdictions as j

jnode(jur, sj) := {"id": "n", "jurisdiction": jur, "area": jur, "subject_jurisdictions": sj, "subject_areas": sj}

eu_field := {"id": "app.email", "identifiability": "identified", "subject_areas": ["EU", "US"]}

agg_field := {"id": "agg.count", "identifiability": "aggregate", "subject_areas": ["EU"]}

test_eu_to_cn_is_a_transfer if {
	j.eu_transfer({"from_node": jnode("EU", []), "to_node": jnode("CN", []), "fields_info": [eu_field]})
}

test_onward_cn_to_us_is_a_transfer if {
	j.eu_transfer({"from_node": jnode("CN", []), "to_node": jnode("US", []), "fields_info": [eu_field]})
}

test_collection_point_to_cn_is_a_transfer if {
	j.eu_transfer({"from_node": jnode("CN", ["EU", "CN"]), "to_node": jnode("CN", []), "fields_info": [eu_field]})
}

test_within_cn_onward_is_not_a_new_transfer if {
	not j.eu_transfer({"from_node": jnode("CN", []), "to_node": jnode("CN", []), "fields_info": [eu_field]})
}

test_inside_eea_is_not_a_transfer if {
	not j.eu_transfer({"from_node": jnode("EU", ["EU"]), "to_node": jnode("EU", []), "fields_info": [eu_field]})
}

test_aggregates_are_not_personal_data if {
	not j.eu_transfer({"from_node": jnode("EU", []), "to_node": jnode("CN", []), "fields_info": [agg_field]})
}
