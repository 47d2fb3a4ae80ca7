package creality.rights_test

import rego.v1

import data.creality.rights

sys(dsr, extra) := object.union(
	{
		"id": "s", "personal_data": true, "dsr": dsr, "held_collections": ["user_provided"], "own_collections": ["user_provided"],
		"held_identifiability": ["identified"], "outgoing_flow_count": 1,
	},
	extra,
)

all := {"access": true, "rectify": true, "delete": true, "propagates": true}

test_full_dsr_support_passes if {
	inp := {"systems": [sys(all, {})]}
	count(rights.dsr_unknown(inp)) == 0
	count(rights.dsr_incomplete(inp)) == 0
	count(rights.delete_without_exception(inp)) == 0
}

test_missing_dsr_block_is_a_gap if {
	count(rights.dsr_unknown({"systems": [object.remove(sys(all, {}), ["dsr"])]})) == 1
}

test_no_rectification_of_user_provided_data if {
	r := rights.dsr_incomplete({"systems": [sys(object.union(all, {"rectify": false}), {})]})
	count(r) == 1
	r[0].attribute == "dsr.rectify"
}

# Tricky compliant cases: observed data need not be rectifiable; de-identified stores cannot give access.
test_observed_data_needs_no_rectification if {
	s := sys(object.union(all, {"rectify": false}), {"held_collections": ["user_provided", "observed"], "own_collections": ["observed", "derived"]})
	count(rights.dsr_incomplete({"systems": [s]})) == 0
}

test_deidentified_store_needs_no_access if {
	s := sys(object.union(all, {"access": false, "rectify": false}), {"own_collections": ["derived"], "held_identifiability": ["aggregate", "deidentified"]})
	count(rights.dsr_incomplete({"systems": [s]})) == 0
}

test_no_propagation_with_onward_flows if {
	count(rights.dsr_incomplete({"systems": [sys(object.union(all, {"propagates": false}), {})]})) == 1
	count(rights.dsr_incomplete({"systems": [sys(object.union(all, {"propagates": false}), {"outgoing_flow_count": 0})]})) == 0
}

test_deletion_refused_needs_exception if {
	count(rights.delete_without_exception({"systems": [sys(object.union(all, {"delete": false}), {})]})) == 1
	count(rights.delete_without_exception({"systems": [sys(object.union(all, {"delete": false, "delete_exception_ref": "Tax code"}), {})]})) == 0
}

test_partner_without_access_path if {
	p := {"id": "p", "role": "advertiser", "received_fields": [{"id": "x", "category": "user.device.cookie_id", "identifiability": "pseudonymous"}]}
	count(rights.partner_without_access_path({"partners": [p]})) == 1
	count(rights.partner_without_access_path({"partners": [object.union(p, {"dsr_api": true})]})) == 0
	count(rights.partner_without_access_path({"partners": [object.union(p, {"role": "authority"})]})) == 0
}

test_contact_address if {
	count(rights.contact_mismatch({"organization": {"contact_email": "privacy@example.com"}})) == 1
	count(rights.contact_mismatch({"organization": {"contact_email": "cs@creality.com"}})) == 0
}

test_intake if {
	count(rights.intake_missing({"organization": {"dsr_intake": ["https://portal"]}})) == 1
	count(rights.intake_missing({"organization": {"dsr_intake": ["CS@creality.com"]}})) == 0
}

test_deidentification_step_needs_no_access if {
	s := sys(object.union(all, {"access": false}), {"deidentifies": true, "own_collections": ["derived"]})
	count(rights.dsr_incomplete({"systems": [s]})) == 0
}
