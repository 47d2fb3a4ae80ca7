package cnil.trackers_test

import rego.v1

import data.lib.findings.text

import data.cnil.trackers

ads := {"name": "_adp", "type": "advertising", "index": 0, "path": "cookies.0", "first_party": true, "fires_before_consent": true, "max_age_days": 90, "purpose_info": {"policy_purpose": "PARTNER.ADS"}}

necessary := {"name": "__fraud", "type": "strictly_necessary", "index": 1, "path": "cookies.1", "fires_before_consent": true, "max_age_days": 365}

audience := {"name": "_pk_id", "type": "analytics", "index": 0, "path": "cookies.0", "first_party": true, "fires_before_consent": true, "max_age_days": 390, "purpose_info": {"policy_purpose": "COOKIE.ANALYTICS"}}

processor := {"operator": "processor"}

third_party := {"operator": "third_party"}

banner_ok := {"reject_first_layer": true, "silence_means_refusal": true, "choice_ttl_days": 180}

site(kind, sj, node, cookies, banner) := {
	"id": "web", "kind": kind, "subject_jurisdictions": sj, "consent_banner": banner,
	"embedded_partners": [{"id": "p", "node": node, "cookies": cookies}],
}

test_advertising_cookie_before_consent_is_flagged if {
	r := trackers.tracker_before_consent({"systems": [site("web", ["EU"], third_party, [ads], banner_ok)]})
	count(r) == 1
	r[0].subject.kind == "partner"
	r[0].attribute == "cookies.0.fires_before_consent"
}

test_strictly_necessary_cookie_before_consent_passes if {
	r := trackers.tracker_before_consent({"systems": [site("web", ["FR"], third_party, [necessary], banner_ok)]})
	count(r) == 0
}

test_exempt_audience_measurement_before_consent_passes if {
	r := trackers.tracker_before_consent({"systems": [site("web", ["FR"], processor, [audience], banner_ok)]})
	count(r) == 0
}

test_audience_cookie_of_a_third_party_is_not_exempt if {
	r := trackers.tracker_before_consent({"systems": [site("web", ["FR"], third_party, [audience], banner_ok)]})
	count(r) == 1
}

test_us_only_site_is_out_of_scope if {
	r := trackers.tracker_before_consent({"systems": [site("web", ["US"], third_party, [ads], banner_ok)]})
	count(r) == 0
}

test_unknown_consent_state_is_a_gap if {
	c := object.remove(ads, ["fires_before_consent"])
	r := trackers.tracker_consent_state_unknown({"systems": [site("app", ["EU"], third_party, [c], banner_ok)]})
	count(r) == 1
	count(trackers.tracker_consent_state_unknown({"systems": [site("app", ["EU"], third_party, [ads], banner_ok)]})) == 0
}

test_banner_without_first_layer_reject if {
	b := object.union(banner_ok, {"reject_first_layer": false})
	r := trackers.banner_refusal_not_easy({"systems": [site("web", ["EU"], third_party, [ads], b)]})
	count(r) == 1
	r[0].attribute == "consent_banner.reject_first_layer"
}

test_missing_banner_is_two_gaps if {
	r := trackers.banner_refusal_not_easy({"systems": [site("web", ["EU"], third_party, [ads], null)]})
	count(r) == 2
	r[0].verdict == "gap"
}

test_compliant_banner_or_only_necessary_cookies_pass if {
	count(trackers.banner_refusal_not_easy({"systems": [site("web", ["EU"], third_party, [ads], banner_ok)]})) == 0
	count(trackers.banner_refusal_not_easy({"systems": [site("web", ["EU"], third_party, [necessary], null)]})) == 0
}

test_exempt_cookie_living_two_years_is_flagged if {
	c := object.union(audience, {"max_age_days": 730})
	r := trackers.exempt_cookie_lifetime({"systems": [site("web", ["FR"], processor, [c], banner_ok)]})
	count(r) == 1
	r[0].attribute == "cookies.0.max_age_days"
	count(trackers.tracker_before_consent({"systems": [site("web", ["FR"], processor, [c], banner_ok)]})) == 0
}

test_exempt_cookie_within_13_months_passes if {
	count(trackers.exempt_cookie_lifetime({"systems": [site("web", ["FR"], processor, [audience], banner_ok)]})) == 0
}

test_exempt_cookie_without_lifetime_is_a_gap if {
	c := object.remove(audience, ["max_age_days"])
	r := trackers.exempt_cookie_lifetime({"systems": [site("web", ["FR"], processor, [c], banner_ok)]})
	r[0].verdict == "gap"
}

test_consented_cookie_living_two_years_is_a_warning if {
	c := object.union(ads, {"fires_before_consent": false, "max_age_days": 730})
	r := trackers.consented_cookie_lifetime({"systems": [site("web", ["FR"], third_party, [c], banner_ok)]})
	count(r) == 1
}

test_consented_cookie_within_13_months_passes if {
	c := object.union(ads, {"fires_before_consent": false, "max_age_days": 390})
	count(trackers.consented_cookie_lifetime({"systems": [site("web", ["FR"], third_party, [c], banner_ok)]})) == 0
}

test_choice_kept_a_year_is_flagged if {
	b := object.union(banner_ok, {"choice_ttl_days": 365})
	r := trackers.choice_memory({"systems": [site("web", ["EU"], third_party, [ads], b)]})
	count(r) == 1
}

test_choice_ttl_unstated_is_a_gap if {
	b := object.remove(banner_ok, ["choice_ttl_days"])
	r := trackers.choice_memory({"systems": [site("web", ["EU"], third_party, [ads], b)]})
	r[0].verdict == "gap"
}

test_six_month_choice_passes if {
	count(trackers.choice_memory({"systems": [site("web", ["EU"], third_party, [ads], banner_ok)]})) == 0
}

test_unstated_silence_rule_is_a_gap if {
	b := object.remove(banner_ok, ["silence_means_refusal"])
	r := trackers.banner_refusal_not_easy({"systems": [site("web", ["EU"], third_party, [ads], b)]})
	count(r) == 1
	r[0].attribute == "consent_banner"
	r[0].verdict == "gap"
}

# ---- Class 12 (issue 13): trackers are not only cookies. Art. 82 and guidelines 2020-091 art. 1 cover every
# technology, so an SDK identifier, a local-storage key, a pixel or a fingerprint set before consent is the same
# violation as a cookie; only the audience-measurement exemption and lifetimes depend on the technology.
mk_tracker(name, type, technology) := object.union(ads, {"name": name, "type": type, "technology": technology, "path": "trackers.0"})

test_non_cookie_trackers_before_consent_are_flagged if {
	some tech in ["local_storage", "sdk_identifier", "pixel", "fingerprinting"]
	r := trackers.tracker_before_consent({"systems": [site("app", ["EU"], third_party, [mk_tracker("t", "advertising", tech)], banner_ok)]})
	count(r) == 1
	r[0].attribute == "trackers.0.fires_before_consent"
}

test_every_non_cookie_technology_is_flagged if {
	flagged := [tech |
		some tech in ["local_storage", "sdk_identifier", "pixel", "fingerprinting"]
		count(trackers.tracker_before_consent({"systems": [site("app", ["EU"], third_party, [mk_tracker("t", "analytics", tech)], banner_ok)]})) == 1
	]
	flagged == ["local_storage", "sdk_identifier", "pixel", "fingerprinting"]
}

test_message_names_the_technology if {
	r := trackers.tracker_before_consent({"systems": [site("app", ["EU"], third_party, [mk_tracker("idfv", "analytics", "sdk_identifier")], banner_ok)]})
	contains(text(r[0]), "analytics SDK identifier idfv of p fires before consent")
}

test_fingerprinting_is_never_exempt_audience_measurement if {
	fp := object.union(audience, {"technology": "fingerprinting", "path": "trackers.0"})
	count(trackers.tracker_before_consent({"systems": [site("web", ["FR"], processor, [fp], banner_ok)]})) == 1
}

test_audience_pixel_is_exempt_without_a_lifetime if {
	px := object.remove(object.union(audience, {"technology": "pixel", "path": "trackers.0"}), ["max_age_days"])
	count(trackers.tracker_before_consent({"systems": [site("web", ["FR"], processor, [px], banner_ok)]})) == 0
	count(trackers.exempt_cookie_lifetime({"systems": [site("web", ["FR"], processor, [px], banner_ok)]})) == 0
}

test_exempt_measurement_alone_needs_no_refuse_all_banner if {
	count(trackers.banner_refusal_not_easy({"systems": [site("web", ["FR"], processor, [audience], {})]})) == 0
	count(trackers.choice_memory({"systems": [site("web", ["FR"], processor, [audience], {})]})) == 0
	count(trackers.banner_refusal_not_easy({"systems": [site("web", ["FR"], third_party, [audience], {})]})) == 2
}

# A tracker's label does not exempt it: a visitor id typed strictly_necessary that serves partner analytics and fires
# before consent is the same violation as an analytics cookie.
test_analytics_tracker_labelled_strictly_necessary_needs_consent if {
	mislabelled := object.union(necessary, {"purpose_info": {"policy_purpose": "PARTNER.ANALYTICS"}})
	count(trackers.tracker_before_consent({"systems": [site("web", ["FR"], third_party, [mislabelled], banner_ok)]})) == 1
	count(trackers.tracker_before_consent({"systems": [site("web", ["FR"], third_party, [necessary], banner_ok)]})) == 0
}
