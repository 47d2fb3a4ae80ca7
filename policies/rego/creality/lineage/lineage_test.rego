package creality.lineage_test

import rego.v1

import data.lib.findings.text

import data.creality.lineage

lin_adpixel := {"id": "adpixel", "role": "advertiser"}

lin_reach(category, identifiability, covered_by) := {
	"field": "app.email_hash", "index": 0, "category": category, "protection": "hashed_weak",
	"identifiability": identifiability, "hops": 4, "covered_by": covered_by,
	"path": ["app", "account", "warehouse", "reverse-etl", "adpixel"],
}

lin_ads := {"id": "ad_measurement", "policy_purpose": "PARTNER.AD_MEASURE"}

lin_flow_to(node, entries) := {
	"id": "reverse-etl-to-adpixel", "from": "reverse-etl", "to": node.id, "purpose": "ad_measurement", "to_node": node,
	"purpose_info": lin_ads, "lineage_reach": entries,
}

test_hashed_email_reaching_advertiser_through_warehouse_is_flagged_at_last_hop if {
	r1 := lineage.multi_hop_direct_identifier({"flows": [lin_flow_to(lin_adpixel, [lin_reach("user.contact.email", "pseudonymous", "consent")])]})
	count(r1) == 1
	r1[0].subject == {"kind": "flow", "id": "reverse-etl-to-adpixel"}
	r1[0].attribute == "fields.0"
	r1[0].key == "app.email_hash"
	r1[0].evidence == ["app", "account", "warehouse", "reverse-etl", "adpixel"]
	contains(text(r1[0]), "app -> account -> warehouse -> reverse-etl -> adpixel")
}

test_aggregate_identifier_category_does_not_reach_advertiser if {
	r2 := lineage.multi_hop_direct_identifier({"flows": [lin_flow_to(lin_adpixel, [lin_reach("user.contact.email", "aggregate", "none")])]})
	count(r2) == 0
}

test_non_identifying_category_reaching_advertiser_passes if {
	r3 := lineage.multi_hop_direct_identifier({"flows": [lin_flow_to(lin_adpixel, [lin_reach("user.demographic.profile", "pseudonymous", "none")])]})
	count(r3) == 0
}

# Class 7 (issue 13): a partner of role other that places no tracker (a data licensee) is not one of II.III.a's
# "annonceurs et ... autres partenaires"; with a tracker in the site, it is.
test_direct_identifier_reaching_a_non_tracking_other_partner_is_not_ii_iii_a if {
	licensee := {"id": "market-research", "role": "other", "places_trackers": false}
	count(lineage.multi_hop_direct_identifier({"flows": [lin_flow_to(licensee, [lin_reach("user.contact.email", "identified", "none")])]})) == 0
	tracking := {"id": "social-widget", "role": "other", "places_trackers": true}
	count(lineage.multi_hop_direct_identifier({"flows": [lin_flow_to(tracking, [lin_reach("user.contact.email", "identified", "none")])]})) == 1
}

test_direct_identifier_reaching_cloud_storage_is_not_a_sharing_finding if {
	lin_storage := {"id": "object-lin_storage", "role": "cloud_storage"}
	r4 := lineage.multi_hop_direct_identifier({"flows": [lin_flow_to(lin_storage, [lin_reach("user.contact.email", "identified", "declared_purpose")])]})
	count(r4) == 0
}

test_uncovered_transitive_recipient_is_flagged if {
	r5 := lineage.transitive_undeclared_recipient({"flows": [lin_flow_to(lin_adpixel, [lin_reach("user.contact.email", "pseudonymous", "none")])]})
	count(r5) == 1
	r5[0].key == "app.email_hash"
	contains(text(r5[0]), "reaches advertiser adpixel through 4 hops for purpose ad_measurement")
}

# Issue 13 class 1: the first hop, from the system that declares the field, is judged the same way.
test_uncovered_first_hop_from_the_declaring_system_is_flagged if {
	hop := object.union(lin_reach("user.contact.email", "identified", "none"), {"hops": 1, "path": ["app", "adpixel"], "declared_here": true})
	r := lineage.transitive_undeclared_recipient({"flows": [lin_flow_to(lin_adpixel, [hop])]})
	count(r) == 1
	contains(text(r[0]), "app.email_hash is sent to advertiser adpixel for purpose ad_measurement")
	# ... while the II.III.a identifier at the first hop is the direct rule's (creality.cookies.direct_id_to_partner)
	count(lineage.multi_hop_direct_identifier({"flows": [lin_flow_to(lin_adpixel, [hop])]})) == 0
}

# A flow whose own purpose the policy does not declare is reported once, by purposes.undeclared_purpose_flow.
test_undeclared_purpose_of_the_delivering_flow_is_left_to_the_flow_rule if {
	fl := object.union(lin_flow_to(lin_adpixel, [lin_reach("user.contact.email", "pseudonymous", "none")]), {"purpose_info": {"id": "x", "policy_purpose": null}})
	count(lineage.transitive_undeclared_recipient({"flows": [fl]})) == 0
}

# Issue 13 class 2: a field the flow's source neither declares nor receives arrives through an implied hop; the
# identifier is judged (II.III.a) and the missing path is a located gap.
test_identifier_through_an_implied_hop_is_flagged_and_the_hop_named if {
	implied := object.union(lin_reach("user.unique_id", "identified", "consent"), {
		"field": "account.user_id", "hops": 2, "path": ["account", "app", "adpixel"], "implied": ["account", "app"],
	})
	r := lineage.multi_hop_direct_identifier({"flows": [lin_flow_to(lin_adpixel, [implied])]})
	count(r) == 1
	endswith(text(r[0]), "account -> app -> adpixel (no flow declares account -> app)")
}

test_flow_carrying_a_field_its_source_neither_holds_nor_receives_is_a_gap if {
	x := {"field": "account.user_id", "index": 2, "origin": "account", "fed_by_others": false}
	fl := {"id": "app-sdk", "from": "app", "to": "adpixel", "lineage_implied": [x]}
	r := lineage.implied_source({"flows": [fl]})
	count(r) == 1
	r[0].attribute == "fields.2"
	r[0].key == "account.user_id"
	r[0].evidence == ["account", "app"]
	text(r[0]) == "flow app-sdk carries field account.user_id that its source app neither holds nor receives (declared in account, and no flow brings it to app)"
	count(lineage.implied_source({"flows": [{"id": "app-sdk", "from": "app", "to": "adpixel"}]})) == 0
	looped := {"id": "crm-to-sync", "from": "crm", "to": "sync", "lineage_implied": [object.union(x, {"fed_by_others": true})]}
	r2 := lineage.implied_source({"flows": [looped]})
	endswith(text(r2[0]), "from where it is declared (account): the flows that bring it to crm come from systems that never receive it either")
}

test_transitive_recipient_covered_by_consent_or_exemption_passes if {
	entries := [lin_reach("user.demographic.profile", "pseudonymous", "consent"), lin_reach("user.telemetry", "aggregate", "exemption")]
	r6 := lineage.transitive_undeclared_recipient({"flows": [lin_flow_to(lin_adpixel, entries)]})
	count(r6) == 0
}

lin_border(subject, mechanism, separate) := {
	"subject": subject, "from": "CN", "to": "US", "mechanism": mechanism, "separate_consent": separate,
	"fields": ["firmware.printer_serial"], "path": ["firmware", "telemetry-ingest", "warehouse", "crm"],
}

lin_transfer_flow(borders) := {"id": "warehouse-to-crm", "to": "crm", "lineage_borders": borders}

test_onward_transfer_of_cn_subjects_under_scc_is_flagged if {
	r7 := lineage.onward_transfer_without_mechanism({"flows": [lin_transfer_flow([lin_border("CN", "scc", false)])]})
	count(r7) == 1
	r7[0].attribute == "transfer.mechanism"
	r7[0].key == "CN"
	r7[0].evidence == ["firmware", "telemetry-ingest", "warehouse", "crm"]
}

test_onward_transfer_without_any_mechanism_is_flagged if {
	r8 := lineage.onward_transfer_without_mechanism({"flows": [lin_transfer_flow([lin_border("US", null, false), lin_border("EU", "none", false)])]})
	count(r8) == 2
	contains(text(r8[0]), "(none declared)")
}

test_onward_transfer_with_mechanism_of_the_subjects_regime_passes if {
	borders := [lin_border("EU", "scc", false), lin_border("CN", "pipl_standard_contract", false), lin_border("US", "scc", false)]
	r9 := lineage.onward_transfer_without_mechanism({"flows": [lin_transfer_flow(borders)]})
	count(r9) == 0
}

test_consent_mechanism_needs_a_cross_border_consent if {
	r10 := lineage.onward_transfer_without_mechanism({"flows": [lin_transfer_flow([lin_border("CN", "consent", false)])]})
	count(r10) == 1
	r11 := lineage.onward_transfer_without_mechanism({"flows": [lin_transfer_flow([lin_border("CN", "consent", true)])]})
	count(r11) == 0
}

lin_rejoin := {
	"node": "recsys", "index": 1, "deidentified_by": "deid-pipeline",
	"fields": ["deid-pipeline.user_token"], "identifiers": ["account.user_id"],
	"identifier_flows": ["account-to-recsys"], "path": ["deid-pipeline", "aggregate-analytics", "recsys"],
}

test_reidentification_join_is_flagged_at_the_flow_bringing_the_deidentified_data if {
	r12 := lineage.reidentification_join({"flows": [{"id": "aggregate-to-recsys", "to": "recsys", "lineage_rejoins": [lin_rejoin]}]})
	count(r12) == 1
	r12[0].attribute == "fields.1"
	r12[0].key == "recsys"
	contains(text(r12[0]), "which also holds account.user_id (account-to-recsys)")
}

# Issue 13 class 1: the join at the first system after the de-identification step.
test_reidentification_at_the_first_system_after_the_step_names_a_declared_identifier if {
	j := object.union(lin_rejoin, {"node": "stats", "identifiers": ["stats.user_id"], "identifier_flows": [], "path": ["deid-pipeline", "stats"]})
	r := lineage.reidentification_join({"flows": [{"id": "deid-to-stats", "to": "stats", "lineage_rejoins": [j]}]})
	count(r) == 1
	contains(text(r[0]), "which also holds stats.user_id (declared or sent on there)")
}

test_deidentified_flow_without_rejoin_passes if {
	r13 := lineage.reidentification_join({"flows": [{"id": "deid-to-aggregate", "to": "aggregate-analytics"}]})
	count(r13) == 0
}

test_sync_loop_reported_once_at_closing_flow if {
	flows := [
		{"id": "crm-to-account", "to": "account", "lineage_cycle": {"path": ["account", "crm", "account"], "members": 2}},
		{"id": "account-to-crm", "to": "crm"},
	]
	r14 := lineage.sync_loop({"flows": flows})
	count(r14) == 1
	r14[0].subject.id == "crm-to-account"
	r14[0].evidence == ["account", "crm", "account"]
}
