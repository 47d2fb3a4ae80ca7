package creality.retention_test

import rego.v1

import data.lib.findings.text

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
	contains(text(r[0]), "processes_personal_data: false")
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

# ---- Class 5 (issue 13): "aussi longtemps que nécessaire aux fins décrites". Expected before running the tool: a
# clickstream store for service improvement (IMPROVE, at most 760 days) keeping data 3650 days without a legal
# reference is a III.0 warning that states both figures; the same with a legal_ref passes.
store(days, extra, purposes, categories) := object.union(
	{
		"id": "clickstream", "personal_data": true, "retention": {"days": days},
		"retention_basis": {"purposes": purposes, "categories": categories},
	},
	extra,
)

improve := {"id": "service_improvement", "policy_purpose": "IMPROVE"}

account := {"id": "account_management", "policy_purpose": "FACILITATE"}

test_ten_years_of_clickstream_is_a_warning_with_the_figures if {
	r := retention.retention_beyond_purposes({"systems": [store(3650, {}, [improve], ["user.behavior.clickstream"])]})
	count(r) == 1
	r[0].attribute == "retention.days"
	contains(text(r[0]), "3650 days")
	contains(text(r[0]), "at most 760 days")
}

test_a_legal_reference_allows_longer_retention if {
	s := store(3650, {}, [improve], ["user.behavior.clickstream"])
	with_ref := object.union(s, {"retention": {"days": 3650, "legal_ref": "Code de commerce L123-22"}})
	count(retention.retention_beyond_purposes({"systems": [with_ref]})) == 0
}

test_the_longest_purpose_sets_the_limit if {
	count(retention.retention_beyond_purposes({"systems": [store(1000, {}, [improve, account], ["user.behavior"])]})) == 0
	count(retention.retention_beyond_purposes({"systems": [store(1100, {}, [improve, account], ["user.behavior"])]})) == 1
}

test_a_sensitive_category_cap_lowers_the_limit if {
	r := retention.retention_beyond_purposes({"systems": [store(90, {}, [account], ["user.sensor"])]})
	count(r) == 1
	contains(text(r[0]), "user.sensor, kept at most 30 days")
	count(retention.retention_beyond_purposes({"systems": [store(30, {}, [account], ["user.sensor"])]})) == 0
}

test_only_anonymous_data_is_not_judged if {
	count(retention.retention_beyond_purposes({"systems": [store(3650, {}, [improve], [])]})) == 0
	count(retention.retention_unjudgeable({"systems": [store(3650, {}, [improve], [])]})) == 0
}

test_retention_with_no_declared_purpose_is_a_gap if {
	undeclared := {"id": "train_ai_models", "policy_purpose": null}
	r := retention.retention_unjudgeable({"systems": [store(540, {}, [undeclared], ["user.telemetry"])]})
	count(r) == 1
	count(retention.retention_beyond_purposes({"systems": [store(540, {}, [undeclared], ["user.telemetry"])]})) == 0
	count(retention.retention_unjudgeable({"systems": [store(540, {}, [improve], ["user.telemetry"])]})) == 0
}

test_indefinite_or_unstated_retention_is_left_to_the_other_rules if {
	indefinite := object.union(store(0, {}, [improve], ["user.behavior"]), {"retention": {"indefinite": true}})
	count(retention.retention_beyond_purposes({"systems": [indefinite]})) == 0
	unstated := object.remove(store(0, {}, [improve], ["user.behavior"]), ["retention"])
	count(retention.retention_beyond_purposes({"systems": [unstated]})) == 0
	count(retention.retention_unjudgeable({"systems": [unstated]})) == 0
}

# ---- Class 13 (issue 13): minimisation per flow. Expected before running the tool: a marketing flow (MKT.MESSAGES)
# carrying print statistics (user.telemetry) collects more than "vous envoyer des informations commerciales" needs: a
# III.IV warning on that field; the e-mail on the same flow passes; anonymous data and generic purposes are not judged.
mflow(pp, fields, node) := {
	"id": "segments", "purpose": "marketing_email", "purpose_info": {"id": "marketing_email", "policy_purpose": pp},
	"to_node": node, "fields_info": fields,
}

crm := {"type": "system", "role": "processor", "operator": "processor"}

fld(id, category, identifiability) := {"id": id, "category": category, "identifiability": identifiability}

test_marketing_flow_carrying_print_statistics_is_excess_collection if {
	fields := [fld("app.email", "user.contact.email", "identified"), fld("fw.print_stats", "user.telemetry", "pseudonymous")]
	r := retention.excess_on_flow({"flows": [mflow("MKT.MESSAGES", fields, crm)]})
	count(r) == 1
	r[0].attribute == "fields.1"
	contains(text(r[0]), "fw.print_stats")
}

test_anonymous_fields_and_generic_purposes_are_not_judged if {
	fields := [fld("stats", "user.telemetry", "aggregate")]
	count(retention.excess_on_flow({"flows": [mflow("MKT.MESSAGES", fields, crm)]})) == 0
	anything := [fld("fw.frame", "user.sensor", "pseudonymous")]
	count(retention.excess_on_flow({"flows": [mflow("FACILITATE", anything, crm)]})) == 0
	count(retention.excess_on_flow({"flows": [mflow(null, anything, crm)]})) == 0
}

test_identifier_to_a_cookie_partner_is_left_to_ii_iii_a if {
	email := [fld("app.email_hash", "user.contact.email", "pseudonymous")]
	adpixel := {"type": "partner", "role": "advertiser", "operator": "third_party"}
	count(retention.excess_on_flow({"flows": [mflow("PARTNER.AD_MEASURE", email, adpixel)]})) == 0
	count(retention.excess_on_flow({"flows": [mflow("PARTNER.AD_MEASURE", email, crm)]})) == 1
}

# The corpus' case (tests/scenarios v-iii-iv-flow-carries-unneeded): an update check needs the device and its
# software version, not print statistics or error logs.
test_update_check_carrying_print_statistics_is_excess_collection if {
	fields := [fld("fw.version", "user.device", "pseudonymous"), fld("fw.print_stats", "user.telemetry", "pseudonymous")]
	r := retention.excess_on_flow({"flows": [mflow("UPDATE", fields, crm)]})
	[x.attribute | some x in r] == ["fields.1"]
}
