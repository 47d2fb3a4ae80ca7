package creality.cookies_test

import rego.v1

import data.lib.findings.text

import data.creality.cookies

ads_purpose := {"id": "ad_targeting", "policy_purpose": "PARTNER.ADS"}

pa_purpose := {"id": "partner_analytics", "policy_purpose": "PARTNER.ANALYTICS"}

login_purpose := {"id": "remember_login", "policy_purpose": "COOKIE.IDENTITY"}

pay_purpose := {"id": "order_payment", "policy_purpose": "COUNTERPARTY"}

cookie(name, type, purpose, i) := {"name": name, "type": type, "purpose_info": purpose, "index": i, "path": sprintf("cookies.%d", [i])}

partner(id, role, cookies, extra) := object.union(
	{
		"id": id, "role": role, "embedded_in": ["web"], "sources": ["web"], "cookies": cookies, "cookies_info": cookies,
		"own_policy_url": "https://x/privacy", "node": {"role": role, "places_trackers": true, "operator": "third_party"},
	},
	extra,
)

tracker(name, type, technology, i) := {
	"name": name, "type": type, "technology": technology, "index": i, "path": sprintf("trackers.%d", [i]),
	"purpose_info": pa_purpose,
}

# ---- II.II.a
sdk_flow(embedded) := {
	"id": "web-pixel", "from": "web", "to": "adpixel", "channel": "sdk", "from_node": {"kind": "web"},
	"to_node": {"type": "partner", "role": "advertiser", "embedded_in": embedded},
}

test_sdk_of_unregistered_partner_is_flagged if {
	r := cookies.unregistered_tracker({"flows": [sdk_flow([])]})
	count(r) == 1
	r[0].attribute == "to"
}

test_sdk_of_registered_partner_passes if {
	count(cookies.unregistered_tracker({"flows": [sdk_flow(["web"])]})) == 0
}

test_embedded_partner_without_flow_is_a_gap if {
	p := partner("analytics-sdk", "analytics", [], {"embedded_in": ["web", "app"], "sources": ["web"]})
	r := cookies.embedded_without_flow({"partners": [p]})
	count(r) == 1
	r[0].attribute == "embedded_in.1"
}

test_cookie_without_purpose_is_a_gap if {
	p := partner("x", "analytics", [cookie("_x", "analytics", null, 0)], {})
	count(cookies.cookie_without_purpose({"partners": [p]})) == 1
	q := partner("x", "analytics", [cookie("_x", "analytics", pa_purpose, 0)], {})
	count(cookies.cookie_without_purpose({"partners": [q]})) == 0
}

# ---- II.II.b
test_tracker_without_cookies_is_vague if {
	count(cookies.tracking_without_cookies({"partners": [partner("fp", "advertiser", [], {})]})) == 1
}

test_payment_partner_without_cookies_passes if {
	count(cookies.tracking_without_cookies({"partners": [partner("pay", "payment", [], {})]})) == 0
}

# II.II.b, "contrôler ... par votre navigateur": a pixel alone or a fingerprint is nothing the user can refuse there;
# a local-storage key or an SDK identifier can be cleared or reset like a cookie.
test_partner_with_only_a_pixel_has_no_controllable_tracker if {
	p := partner("px", "advertiser", [tracker("px", "advertising", "pixel", 0)], {})
	count(cookies.tracking_without_cookies({"partners": [p]})) == 1
	q := partner("ls", "analytics", [tracker("ls", "analytics", "local_storage", 0)], {})
	count(cookies.tracking_without_cookies({"partners": [q]})) == 0
}

test_fingerprinting_script_is_vague_under_ii_ii_b if {
	p := partner("fp", "analytics", [cookie("_c", "analytics", pa_purpose, 0), tracker("fp", "analytics", "fingerprinting", 0)], {})
	r := cookies.fingerprinting_tracker({"partners": [p]})
	count(r) == 1
	r[0].attribute == "trackers.0.technology"
	count(cookies.tracking_without_cookies({"partners": [p]})) == 0
}

test_strictly_necessary_fingerprinting_is_not_reported if {
	p := partner("fraud", "payment", [tracker("dfp", "strictly_necessary", "fingerprinting", 0)], {})
	count(cookies.fingerprinting_tracker({"partners": [p]})) == 0
}

# ---- II.II.a: trackers declared nowhere cannot be judged per site
test_trackers_in_no_site_are_a_gap if {
	p := partner("x", "advertiser", [tracker("px", "advertising", "pixel", 0)], {"embedded_in": []})
	r := cookies.trackers_not_embedded({"partners": [p]})
	count(r) == 1
	r[0].attribute == "trackers"
	count(cookies.trackers_not_embedded({"partners": [partner("x", "advertiser", [tracker("px", "advertising", "pixel", 0)], {})]})) == 0
	count(cookies.trackers_not_embedded({"partners": [partner("y", "research_institute", [], {"embedded_in": []})]})) == 0
}

# ---- II.III.1-3
test_login_cookie_typed_advertising_is_incorrect if {
	p := partner("x", "other", [cookie("sid", "advertising", login_purpose, 0)], {})
	r := cookies.identity_cookie_typed_as_tracker({"partners": [p]})
	count(r) == 1
	r[0].attribute == "cookies.0.type"
}

test_login_cookie_strictly_necessary_passes if {
	p := partner("x", "other", [cookie("sid", "strictly_necessary", login_purpose, 0)], {})
	count(cookies.identity_cookie_typed_as_tracker({"partners": [p]})) == 0
}

test_analytics_cookie_for_ads_purpose_is_flagged if {
	p := partner("x", "analytics", [cookie("_il", "analytics", ads_purpose, 0)], {})
	count(cookies.analytics_cookie_purpose({"partners": [p]})) == 1
	q := partner("x", "analytics", [cookie("_il", "analytics", pa_purpose, 0)], {})
	count(cookies.analytics_cookie_purpose({"partners": [q]})) == 0
}

test_advertising_cookie_for_analytics_purpose_is_flagged if {
	p := partner("x", "advertiser", [cookie("_adp", "advertising", pa_purpose, 0)], {})
	count(cookies.advertising_cookie_purpose({"partners": [p]})) == 1
	q := partner("x", "advertiser", [cookie("_adp", "advertising", ads_purpose, 0)], {})
	count(cookies.advertising_cookie_purpose({"partners": [q]})) == 0
}

# ---- II.III.a
pflow(fields, purpose, sj) := to_partner({"role": "advertiser"}, fields, purpose, sj)

to_partner(node, fields, purpose, sj) := {
	"id": "f", "from": "web", "to": "p", "purpose": purpose.id, "purpose_info": purpose,
	"to_node": object.union({"type": "partner", "operator": "third_party", "places_trackers": false}, node),
	"fields_info": fields, "data_subject_jurisdictions": sj,
}

email := {"id": "web.email", "category": "user.contact.email", "origin": "web"}

cookie_id := {"id": "web.cid", "category": "user.device.cookie_id", "identifiability": "pseudonymous", "origin": "web"}

audience_purpose := {"id": "audience", "policy_purpose": "COOKIE.ANALYTICS"}

licensing := {"id": "stats_licensing", "policy_purpose": "DEID.COMMERCIAL"}

# Class 7 (issue 13): II.III.a speaks of "COOKIES placés par des annonceurs et d'autres partenaires". A market-research
# firm licensing aggregate statistics (role other or data_licensee, no tracker anywhere) is not such a partner; a
# role-`other` partner that is embedded in the site is.
test_partner_of_role_other_without_trackers_is_not_a_cookie_partner if {
	agg := {"id": "agg.stats", "category": "user.behavior", "identifiability": "aggregate", "origin": "web"}
	count(cookies.partner_flow_purpose({"flows": [to_partner({"role": "other"}, [agg], licensing, ["EU"])]})) == 0
	count(cookies.direct_id_to_partner({"flows": [to_partner({"role": "other"}, [email], licensing, ["EU"])]})) == 0
	count(cookies.partner_flow_purpose({"flows": [to_partner({"role": "data_licensee"}, [agg], licensing, ["EU"])]})) == 0
	# aggregate data is never a partner-purpose breach (test below): a pseudonymous id shows the role decides
	count(cookies.partner_flow_purpose({"flows": [to_partner({"role": "other"}, [cookie_id], licensing, ["EU"])]})) == 0
	count(cookies.partner_flow_purpose({"flows": [to_partner({"role": "data_licensee"}, [cookie_id], licensing, ["EU"])]})) == 0
}

test_partner_of_role_other_placing_trackers_is_a_cookie_partner if {
	node := {"role": "other", "places_trackers": true}
	count(cookies.direct_id_to_partner({"flows": [to_partner(node, [email], ads_purpose, ["EU"])]})) == 1
	count(cookies.partner_flow_purpose({"flows": [to_partner(node, [cookie_id], licensing, ["EU"])]})) == 1
	social := {"role": "social", "places_trackers": true}
	count(cookies.direct_id_to_partner({"flows": [to_partner(social, [email], ads_purpose, ["EU"])]})) == 1
}

# Class 8: a hosted audience-measurement tool (processor, COOKIE.ANALYTICS) acts as Creality (II.III.2); a third
# party for the same purpose, or the processor for its own ad purposes, is still II.III.a's partner.
test_processor_hosting_creality_audience_measurement_is_not_judged_by_ii_iii_a if {
	tool := {"role": "analytics", "operator": "processor", "places_trackers": true}
	flow := to_partner(tool, [cookie_id], audience_purpose, ["EU"])
	count(cookies.partner_flow_purpose({"flows": [flow]})) == 0
	count(cookies.pseudonymous_id_to_partner({"flows": [flow]})) == 0
	third := to_partner({"role": "analytics", "operator": "third_party"}, [cookie_id], audience_purpose, ["EU"])
	count(cookies.partner_flow_purpose({"flows": [third]})) == 1
	count(cookies.pseudonymous_id_to_partner({"flows": [to_partner(tool, [cookie_id], ads_purpose, ["EU"])]})) == 1
}

test_email_straight_to_advertiser_is_incorrect if {
	r := cookies.direct_id_to_partner({"flows": [pflow([{"id": "web.email", "category": "user.contact.email", "origin": "web"}], ads_purpose, ["EU"])]})
	count(r) == 1
	r[0].attribute == "fields.0"
}

test_relayed_identifier_is_left_to_lineage if {
	r := cookies.direct_id_to_partner({"flows": [pflow([{"id": "app.email_hash", "category": "user.contact.email", "origin": "app"}], ads_purpose, ["EU"])]})
	count(r) == 0
}

test_aggregate_counts_to_advertiser_pass if {
	fi := {"id": "agg.n", "category": "user.unique_id", "identifiability": "aggregate", "origin": "web"}
	count(cookies.direct_id_to_partner({"flows": [pflow([fi], ads_purpose, ["EU"])]})) == 0
}

test_cookie_id_of_eu_subjects_to_advertiser_is_a_warning if {
	fi := {"id": "web.cid", "category": "user.device.cookie_id", "identifiability": "pseudonymous", "origin": "web"}
	count(cookies.pseudonymous_id_to_partner({"flows": [pflow([fi], ads_purpose, ["EU"])]})) == 1
	count(cookies.pseudonymous_id_to_partner({"flows": [pflow([fi], ads_purpose, ["US"])]})) == 0
	count(cookies.direct_id_to_partner({"flows": [pflow([fi], ads_purpose, ["EU"])]})) == 0
}

test_partner_flow_for_other_purpose_is_flagged if {
	fi := {"id": "web.cid", "category": "user.device.cookie_id"}
	count(cookies.partner_flow_purpose({"flows": [pflow([fi], {"id": "support", "policy_purpose": "FACILITATE"}, [])]})) == 1
	count(cookies.partner_flow_purpose({"flows": [pflow([fi], ads_purpose, [])]})) == 0
}

# ---- II.III.b
test_partner_without_own_policy_is_flagged if {
	p := partner("x", "advertiser", [cookie("_a", "advertising", ads_purpose, 0)], {"own_policy_url": ""})
	count(cookies.partner_without_own_policy({"partners": [p]})) == 1
	q := partner("x", "advertiser", [cookie("_a", "advertising", ads_purpose, 0)], {})
	count(cookies.partner_without_own_policy({"partners": [q]})) == 0
}

# ---- II.III.c
site(banner, ctype) := object.union(
	{"id": "web", "kind": "web", "embedded_partners": [{"id": "p", "cookies": [{"name": "c", "type": ctype}]}]},
	banner,
)

test_site_with_ad_cookie_and_no_banner_is_flagged if {
	count(cookies.no_choice_mechanism({"systems": [site({}, "advertising")]})) == 1
}

test_strictly_necessary_cookie_needs_no_banner if {
	count(cookies.no_choice_mechanism({"systems": [site({}, "strictly_necessary")]})) == 0
}

test_site_with_banner_passes if {
	count(cookies.no_choice_mechanism({"systems": [site({"consent_banner": {"reject_first_layer": true}}, "advertising")]})) == 0
}

# ---- III.VII.1
cflow(trigger, fields) := {"id": "ship", "to": "carrier", "to_node": {"role": "counterparty"}, "trigger": trigger, "fields_info": fields}

test_carrier_gets_name_address_contact_on_order if {
	fs := [{"id": "a", "category": "user.name"}, {"id": "b", "category": "user.contact.address"}, {"id": "c", "category": "user.contact.phone_number"}, {"id": "d", "category": "system.operations"}]
	count(cookies.counterparty_beyond_contact({"flows": [cflow("user_action", fs)]})) == 0
}

test_scheduled_counterparty_export_with_history_is_flagged if {
	fs := [{"id": "a", "category": "user.contact.address"}, {"id": "h", "category": "user.behavior.purchase_history"}]
	r := cookies.counterparty_beyond_contact({"flows": [cflow("scheduled", fs)]})
	count(r) == 2
}

# ---- III.VII.3
sflow(fields) := {"id": "store", "to": "s3", "to_node": {"role": "cloud_storage"}, "fields_info": fields}

test_storage_with_media_and_device_data_passes if {
	fs := [{"id": "m", "category": "user.content.private"}, {"id": "d", "category": "user.device.carrier"}]
	count(cookies.cloud_storage_beyond_allowed({"flows": [sflow(fs)]})) == 0
}

test_storage_with_email_is_flagged if {
	fs := [{"id": "m", "category": "user.content.private"}, {"id": "e", "category": "user.contact.email"}]
	r := cookies.cloud_storage_beyond_allowed({"flows": [sflow(fs)]})
	count(r) == 1
	r[0].attribute == "fields.1"
}

test_order_reference_to_carrier_is_only_vague if {
	fs := [{"id": "a", "category": "user.contact.address"}, {"id": "o", "category": "user.behavior.purchase_history"}]
	r := cookies.counterparty_beyond_contact({"flows": [cflow("user_action", fs)]})
	count(r) == 1
	r[0].severity == "warning"
	r[0].verdict == "vague"
}

test_unstated_protection_is_shown_not_an_error if {
	fi := {"id": "web.email", "category": "user.contact.email", "origin": "web", "protection": null, "identifiability": null}
	r := cookies.direct_id_to_partner({"flows": [pflow([fi], ads_purpose, ["EU"])]})
	count(r) == 1
	contains(text(r[0]), "(not stated)")
}

# ---- Class 6 (issue 13): "que vous téléchargez" (III.VII.3). Expected before running the tool: a printer camera's
# time-lapse frames pushed on a schedule and stored at the cloud provider are not content the user uploads: an
# III.VII.3 error on the storage flow; a model the user uploads (trigger user_action) passes; an unstated trigger is
# a gap.
storage_flow(uploads) := {"id": "to-storage", "to": "s3", "to_node": {"role": "cloud_storage"}, "content_uploads": uploads}

upload(collection, trigger) := {
	"index": 0, "id": "fw.timelapse", "collection": collection, "origin": "firmware",
	"uploads": [{"flow": "fw-timelapse", "trigger": trigger}],
}

test_scheduled_camera_frames_in_cloud_storage_are_not_uploads if {
	r := cookies.content_not_uploaded_by_user({"flows": [storage_flow([upload("user_stored", "scheduled")])]})
	count(r) == 1
	r[0].attribute == "fields.0"
	contains(text(r[0]), "fw-timelapse: trigger scheduled")
	count(cookies.content_not_uploaded_by_user({"flows": [storage_flow([upload("user_stored", "continuous")])]})) == 1
}

test_automatically_captured_content_is_not_an_upload if {
	count(cookies.content_not_uploaded_by_user({"flows": [storage_flow([upload("observed", "user_action")])]})) == 1
}

test_user_uploaded_model_passes if {
	count(cookies.content_not_uploaded_by_user({"flows": [storage_flow([upload("user_stored", "user_action")])]})) == 0
	count(cookies.content_not_uploaded_by_user({"flows": [storage_flow([upload("derived", "scheduled")])]})) == 0
}

test_unstated_upload_trigger_is_a_gap if {
	r := cookies.content_not_uploaded_by_user({"flows": [storage_flow([upload("user_stored", "")])]})
	count(r) == 1
	r[0].verdict == "gap"
	r[0].severity == "warning"
}

test_counterparty_flow_without_trigger_is_a_gap_not_a_violation if {
	r := cookies.counterparty_beyond_contact({"flows": [object.remove(cflow("user_action", []), ["trigger"])]})
	count(r) == 1
	r[0].verdict == "gap"
	r[0].attribute == "to"
}

# II.I.2 "les informations partagées que vous fournissez à d'autres parties": the user's own model, sent to the print
# farm they ordered from, by their own action, is that sharing; the same file pushed on a schedule, or data the
# user never provided, is not.
test_user_content_sent_to_the_chosen_counterparty_on_order_passes if {
	model := {"id": "app.model", "category": "user.content.private", "collection": "user_stored"}
	count(cookies.counterparty_beyond_contact({"flows": [cflow("user_action", [model])]})) == 0
	count(cookies.counterparty_beyond_contact({"flows": [cflow("scheduled", [model])]})) == 2
	derived := object.union(model, {"collection": "derived"})
	count(cookies.counterparty_beyond_contact({"flows": [cflow("user_action", [derived])]})) == 1
}

# II.III.a is about what cookies "collectent ... vous concernant": aggregate statistics given to an advertiser for
# campaign planning are II.IV.2.d's, not a partner-purpose breach.
test_aggregate_statistics_to_an_advertiser_are_not_a_partner_purpose_breach if {
	agg := {"id": "stats", "category": "user.behavior", "identifiability": "aggregate"}
	count(cookies.partner_flow_purpose({"flows": [pflow([agg], licensing, [])]})) == 0
	count(cookies.partner_flow_purpose({"flows": [pflow([cookie_id], licensing, [])]})) == 1
}

# II.III.1: a visitor id typed strictly necessary that serves partner analytics is mislabelled.
test_analytics_tracker_typed_strictly_necessary_is_incorrect if {
	p := partner("wa", "analytics", [cookie("_wa_vid", "strictly_necessary", pa_purpose, 2)], {})
	r := cookies.tracker_typed_as_necessary({"partners": [p]})
	count(r) == 1
	r[0].attribute == "cookies.2.type"
	q := partner("pay", "payment", [cookie("__fraud", "strictly_necessary", pay_purpose, 0)], {})
	count(cookies.tracker_typed_as_necessary({"partners": [q]})) == 0
}
