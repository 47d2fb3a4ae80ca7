package creality.retention_test

import rego.v1

import data.creality.retention

sys(ret, extra) := object.union({"id": "s", "kind": "warehouse", "personal_data": true, "retention": ret}, extra)

test_indefinite_retention_is_a_violation if {
	r := retention.indefinite_retention({"systems": [sys({"indefinite": true}, {})]})
	count(r) == 1
	r[0].attribute == "retention.indefinite"
}

test_legal_hold_is_not_indefinite if {
	count(retention.indefinite_retention({"systems": [sys({"indefinite": true, "legal_ref": "Code art. 1"}, {})]})) == 0
}

test_finite_retention_passes if {
	inp := {"systems": [sys({"days": 365}, {})]}
	count(retention.indefinite_retention(inp)) == 0
	count(retention.retention_unknown(inp)) == 0
}

test_missing_retention_is_a_gap if {
	s := object.remove(sys({}, {"processes_personal_data": false}), ["retention"])
	r := retention.retention_unknown({"systems": [s]})
	count(r) == 1
	r[0].attribute == "id"
	contains(r[0].message, "processes_personal_data: false")
}

test_system_without_personal_data_needs_no_retention if {
	s := object.remove(sys({}, {"personal_data": false}), ["retention"])
	count(retention.retention_unknown({"systems": [s]})) == 0
}

test_dead_field if {
	count(retention.dead_field({"fields": [{"id": "app.imsi", "category": "user.device.device_id.imsi", "purposes": [], "flow_count": 0}]})) == 1
	count(retention.dead_field({"fields": [{"id": "app.model", "category": "user.device", "purposes": ["support"], "flow_count": 0}]})) == 0
}

test_unused_client_field if {
	f := {"id": "app.x", "category": "user.device", "purposes": ["support"], "flow_count": 0, "system": {"id": "app", "kind": "app"}}
	count(retention.unused_client_field({"fields": [f]})) == 1
	count(retention.unused_client_field({"fields": [object.union(f, {"flow_count": 1})]})) == 0
	count(retention.unused_client_field({"fields": [object.union(f, {"system": {"id": "acct", "kind": "backend"}})]})) == 0
}
