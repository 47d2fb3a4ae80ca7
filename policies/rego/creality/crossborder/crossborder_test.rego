package creality.crossborder_test

import rego.v1

import data.lib.findings.text

import data.creality.crossborder as cb

email := {"id": "app.email", "category": "user.contact.email", "identifiability": "identified"}

counts := {"id": "agg.counts", "category": "user.telemetry", "identifiability": "aggregate"}

sec_ok := {"tls_min": "1.2", "encryption_at_rest": true, "need_to_know": true}

xflow(crosses, fields, extra) := object.union(
	{
		"id": "f", "from": "account", "to": "warehouse", "from_name": "Account service",
		"from_node": {"jurisdiction": "EU"}, "to_node": {"jurisdiction": "CN"}, "crosses_border": crosses,
		"fields_info": fields, "from_security": sec_ok, "to_security": sec_ok, "separate_consent_info": null,
	},
	extra,
)

test_crossing_without_transfer_block_is_a_gap if {
	r := cb.transfer_undeclared({"flows": [xflow(true, [email], {})]})
	count(r) == 1
	r[0].attribute == "to"
}

test_domestic_flow_needs_no_transfer if {
	count(cb.transfer_undeclared({"flows": [xflow(false, [email], {})]})) == 0
}

test_aggregates_abroad_need_no_transfer if {
	count(cb.transfer_undeclared({"flows": [xflow(true, [counts], {})]})) == 0
}

test_mechanism_none_is_a_violation if {
	count(cb.transfer_without_ground({"flows": [xflow(true, [email], {"transfer": {"mechanism": "none"}})]})) == 1
	count(cb.transfer_without_ground({"flows": [xflow(true, [email], {"transfer": {"mechanism": "scc", "ref": "x"}})]})) == 0
}

test_cross_border_act_by_other_system_is_vague if {
	fl := xflow(true, [email], {"transfer": {"mechanism": "contract_necessity"}})
	count(cb.cross_border_act_not_creality_cloud({"flows": [fl]})) == 1
	cloud := object.union(fl, {"from_name": "Creality Cloud mobile app"})
	count(cb.cross_border_act_not_creality_cloud({"flows": [cloud]})) == 0
}

test_weaker_destination_is_flagged if {
	weak := {"tls_min": "1.0", "encryption_at_rest": false, "need_to_know": false}
	fl := xflow(true, [email], {"transfer": {"mechanism": "scc"}, "to_security": weak})
	r := cb.destination_weaker({"flows": [fl]})
	count(r) == 1
	contains(text(r[0]), "encryption_at_rest, need_to_know")
	not contains(text(r[0]), "tls")
}

test_equal_destination_passes if {
	count(cb.destination_weaker({"flows": [xflow(true, [email], {"transfer": {"mechanism": "scc"}})]})) == 0
}

test_legal_mandate_needs_provision if {
	count(cb.legal_mandate_without_ref({"flows": [xflow(true, [email], {"transfer": {"mechanism": "legal_mandate"}})]})) == 1
	count(cb.legal_mandate_without_ref({"flows": [xflow(true, [email], {"transfer": {"mechanism": "legal_mandate", "ref": "Law art. 1"}})]})) == 0
}

test_consent_transfer_needs_cross_border_consent if {
	none := xflow(true, [email], {"transfer": {"mechanism": "consent"}})
	count(cb.consent_transfer_without_consent({"flows": [none]})) == 1
	narrow := object.union(none, {"separate_consent_info": {"id": "c", "scope": ["processing"], "mechanism": "opt_in"}})
	count(cb.consent_transfer_without_consent({"flows": [narrow]})) == 1
	bundled := object.union(none, {"separate_consent_info": {"id": "c", "scope": ["cross_border"], "mechanism": "policy_acceptance"}})
	count(cb.consent_transfer_without_consent({"flows": [bundled]})) == 1
	good := object.union(none, {"separate_consent_info": {"id": "c", "scope": ["cross_border"], "mechanism": "separate"}})
	count(cb.consent_transfer_without_consent({"flows": [good]})) == 0
}

test_message_names_the_subjects_whose_border_is_crossed if {
	fl := xflow(true, [email], {"from_node": {"jurisdiction": "EU", "subject_jurisdictions": ["EU", "US"]}, "to_node": {"jurisdiction": "FR"}})
	r := cb.transfer_undeclared({"flows": [fl]})
	contains(text(r[0]), "for its subjects in US")
}
