package creality.purposes_test

import rego.v1

import data.lib.findings.text

import data.creality.purposes

declared := {"id": "support", "policy_purpose": "FACILITATE", "consents": []}

undeclared(consents) := {"id": "train_ai", "consents": consents}

opt_in := {"id": "c1", "purpose": "train_ai", "mechanism": "opt_in", "channels": []}

bundled := {"id": "c2", "purpose": "train_ai", "mechanism": "policy_acceptance", "channels": []}

test_field_without_purpose if {
	r := purposes.field_without_purpose({"fields": [{"id": "app.imsi", "category": "user.device", "purposes": []}]})
	count(r) == 1
	r[0].subject.id == "app.imsi"
}

test_field_with_purpose_passes if {
	r := purposes.field_without_purpose({"fields": [{"id": "a", "purposes": ["support"]}]})
	count(r) == 0
}

test_undeclared_purpose_without_consent_is_flagged if {
	inp := {"fields": [{"id": "fw.cam", "purposes": ["support", "train_ai"], "purposes_info": [declared, undeclared([])]}]}
	r := purposes.undeclared_purpose_field(inp)
	count(r) == 1
	r[0].attribute == "purposes.1"
}

test_undeclared_purpose_with_opt_in_consent_passes if {
	inp := {"fields": [{"id": "fw.cam", "purposes": ["train_ai"], "purposes_info": [undeclared([opt_in])]}]}
	r1 := purposes.undeclared_purpose_field(inp)
	count(r1) == 0
}

test_bundled_policy_acceptance_is_not_consent if {
	inp := {"fields": [{"id": "fw.cam", "purposes": ["train_ai"], "purposes_info": [undeclared([bundled])]}]}
	r2 := purposes.undeclared_purpose_field(inp)
	count(r2) == 1
}

frames := {"id": "fw.cam", "category": "user.sensor", "identifiability": "pseudonymous"}

test_flow_for_undeclared_purpose_without_consent if {
	flow := {"id": "f1", "to": "ml", "purpose": "train_ai", "purpose_info": undeclared([]), "consent_info": null, "fields_info": [frames]}
	r3 := purposes.undeclared_purpose_flow({"flows": [flow]})
	count(r3) == 1
}

# Issue 13 class 11: "vos informations" — aggregate statistics for an undeclared purpose are judged the same way at
# the flow and at the field: not personal data, no II.IV.2.e finding at either level.
test_aggregate_data_for_undeclared_purpose_is_not_judged_at_any_level if {
	stats := {"id": "agg.stats", "category": "user.telemetry", "identifiability": "aggregate"}
	flow := {"id": "f1", "to": "buyer", "purpose": "train_ai", "purpose_info": undeclared([]), "consent_info": null, "fields_info": [stats]}
	count(purposes.undeclared_purpose_flow({"flows": [flow]})) == 0
	field := object.union(stats, {"purposes": ["train_ai"], "purposes_info": [undeclared([])]})
	count(purposes.undeclared_purpose_field({"fields": [field]})) == 0
	ops := {"id": "x.ops", "category": "system.operations", "purposes": ["train_ai"], "purposes_info": [undeclared([])]}
	count(purposes.undeclared_purpose_field({"fields": [ops]})) == 0
}

# Issue 13 class 11: a field collected for an undeclared purpose that every flow using it for that purpose covers
# with a II.IV.3 exemption (judged there by the exemption validator) is not reported again at the field.
test_field_used_only_under_an_exemption_is_judged_where_the_exemption_is_cited if {
	field := {"id": "acct.email", "category": "user.contact.email", "purposes": ["support", "train_ai"], "purposes_info": [declared, undeclared([])]}
	count(purposes.undeclared_purpose_field({"fields": [field]})) == 1
	exempted := object.union(field, {"exempted_purposes": ["train_ai"]})
	count(purposes.undeclared_purpose_field({"fields": [exempted]})) == 0
}

test_flow_citing_matching_consent_passes if {
	flow := {"id": "f1", "to": "ml", "purpose": "train_ai", "purpose_info": undeclared([opt_in]), "consent_info": opt_in}
	r4 := purposes.undeclared_purpose_flow({"flows": [flow]})
	count(r4) == 0
}

test_flow_for_declared_purpose_passes if {
	flow := {"id": "f2", "to": "crm", "purpose": "support", "purpose_info": declared, "consent_info": null}
	r5 := purposes.undeclared_purpose_flow({"flows": [flow]})
	count(r5) == 0
}

test_flow_citing_exemption_is_left_to_the_exemption_rules if {
	flow := {
		"id": "f9", "to": "uni", "purpose": "research", "purpose_info": undeclared([]), "consent_info": null,
		"legal_basis": {"kind": "exemption", "exemption": "II.IV.3(10)"},
	}
	count(purposes.undeclared_purpose_flow({"flows": [flow]})) == 0
}

# ---- II.IV.1.a marketing consent
mkt_purpose := {"id": "marketing_email", "policy_purpose": "MKT.MESSAGES", "data_use": "marketing.communications.email"}

mkt_consent(mech, chans, wd) := {
	"id": "c-mkt", "purpose": "marketing_email", "mechanism": mech, "channels": chans, "withdrawal": wd,
}

mkt_flow(basis, consent, channel) := {
	"id": "campaign", "to": "messaging", "purpose": "marketing_email", "purpose_info": mkt_purpose,
	"legal_basis": basis, "consent_info": consent, "channel": channel, "to_node": {"operator": "processor"},
	"fields_info": [{"id": "app.email", "category": "user.contact.email"}],
}

good_mkt := mkt_flow({"kind": "consent", "consent": "c-mkt"}, mkt_consent("opt_in", ["email"], true), "email")

test_marketing_on_legitimate_interest_is_flagged if {
	r := purposes.marketing_without_consent({"flows": [mkt_flow({"kind": "legitimate_interest"}, null, "email")]})
	count(r) == 1
	r[0].attribute == "legal_basis"
}

test_marketing_with_opt_in_per_channel_passes if {
	inp := {"flows": [good_mkt]}
	count(purposes.marketing_without_consent(inp)) == 0
	count(purposes.marketing_bundled_consent(inp)) == 0
	count(purposes.marketing_channel_not_consented(inp)) == 0
	count(purposes.marketing_consent_not_withdrawable(inp)) == 0
	count(purposes.marketing_contact_to_third_party(inp)) == 0
}

test_marketing_under_policy_acceptance_is_bundled if {
	fl := mkt_flow({"kind": "consent", "consent": "c-mkt"}, mkt_consent("policy_acceptance", ["sms"], false), "sms")
	r := purposes.marketing_bundled_consent({"flows": [fl]})
	count(r) == 1
	r[0].attribute == "legal_basis.consent"
	count(purposes.marketing_consent_not_withdrawable({"flows": [fl]})) == 1
}

test_email_consent_does_not_cover_sms if {
	fl := mkt_flow({"kind": "consent", "consent": "c-mkt"}, mkt_consent("opt_in", ["email"], true), "sms")
	r := purposes.marketing_channel_not_consented({"flows": [fl]})
	count(r) == 1
	r[0].attribute == "channel"
}

test_batch_feed_into_crm_is_not_judged_on_channel if {
	fl := mkt_flow({"kind": "consent", "consent": "c-mkt"}, mkt_consent("opt_in", ["email"], true), "batch")
	count(purposes.marketing_channel_not_consented({"flows": [fl]})) == 0
}

# ---- II.IV.1.b
test_contact_to_third_party_advertiser_for_marketing if {
	fl := object.union(good_mkt, {"to": "brand-partner", "to_node": {"operator": "third_party"}})
	r := purposes.marketing_contact_to_third_party({"flows": [fl]})
	count(r) == 1
	r[0].attribute == "fields.0"
}

# ---- II.IV.2.a
perso := {"id": "personalization", "policy_purpose": "PERSONALIZE.XSERVICE"}

test_personalisation_between_first_party_systems_passes if {
	fl := {"id": "p1", "to": "recsys", "purpose": "personalization", "purpose_info": perso, "consent_info": null, "to_node": {"operator": "first_party"}}
	count(purposes.personalisation_to_third_party({"flows": [fl]})) == 0
}

test_personalisation_reaching_third_party_is_flagged if {
	fl := {"id": "p2", "to": "social", "purpose": "personalization", "purpose_info": perso, "consent_info": null, "to_node": {"operator": "third_party"}}
	count(purposes.personalisation_to_third_party({"flows": [fl]})) == 1
}

# ---- II.IV.2.b
survey := {"id": "survey", "policy_purpose": "SURVEY"}

test_survey_by_third_party_is_vague if {
	fl := {"id": "s1", "to": "panel", "purpose": "survey", "purpose_info": survey, "to_node": {"operator": "third_party"}}
	count(purposes.survey_by_third_party({"flows": [fl]})) == 1
}

test_survey_by_processor_passes if {
	fl := {"id": "s1", "to": "forms", "purpose": "survey", "purpose_info": survey, "to_node": {"operator": "processor"}}
	count(purposes.survey_by_third_party({"flows": [fl]})) == 0
}

# ---- II.IV.2.c
upd := {"id": "fw", "policy_purpose": "UPDATE"}

test_update_with_device_data_passes if {
	fl := {"id": "u1", "purpose_info": upd, "fields_info": [{"id": "fw.model", "category": "user.device"}, {"id": "fw.ver", "category": "system.operations"}]}
	count(purposes.update_beyond_device_data({"flows": [fl]})) == 0
}

test_update_with_email_is_flagged if {
	fl := {"id": "u1", "purpose_info": upd, "fields_info": [{"id": "fw.model", "category": "user.device"}, {"id": "a.email", "category": "user.contact.email"}]}
	r := purposes.update_beyond_device_data({"flows": [fl]})
	count(r) == 1
	r[0].attribute == "fields.1"
}

test_marketing_consent_without_withdrawal_fact_is_a_gap if {
	c := {"id": "c-mkt", "purpose": "marketing_email", "mechanism": "opt_in", "channels": ["email"]}
	r := purposes.marketing_consent_not_withdrawable({"flows": [mkt_flow({"kind": "consent"}, c, "email")]})
	count(r) == 1
	r[0].verdict == "gap"
	r[0].severity == "warning"
}

test_marketing_consent_that_cannot_be_withdrawn_keeps_the_rule_severity if {
	fl := mkt_flow({"kind": "consent", "consent": "c-mkt"}, mkt_consent("opt_in", ["email"], false), "email")
	r := purposes.marketing_consent_not_withdrawable({"flows": [fl]})
	count(r) == 1
	not r[0].severity
	not r[0].verdict
}

# ---- Class 9(a) (issue 13): "si vous y consentez" ends with the withdrawal. Expected before running the tool: a
# newsletter flow (MKT.MESSAGES, channel email) whose sends are not checked against the withdrawal list is an
# II.IV.1.a error; a withdrawal slower than 48 hours a warning with the figure; no suppression facts a gap per fact.
newsletter(suppression) := object.union(
	{
		"id": "newsletter", "to": "sender", "purpose": "marketing_email", "channel": "email",
		"purpose_info": {"id": "marketing_email", "policy_purpose": "MKT.MESSAGES"},
		"legal_basis": {"kind": "consent", "consent": "c"},
		"consent_info": {"id": "c", "purpose": "marketing_email", "mechanism": "opt_in", "channels": ["email"], "withdrawal": true},
	},
	suppression,
)

checked := {"suppression": {"list_ref": "https://wiki/suppression", "checked_before_send": true, "propagation_hours": 1}}

test_newsletter_checked_against_the_withdrawal_list_passes if {
	flows := [newsletter(checked)]
	count(purposes.suppression_unknown({"flows": flows})) == 0
	count(purposes.suppression_not_checked({"flows": flows})) == 0
	count(purposes.withdrawal_propagation_slow({"flows": flows})) == 0
}

test_newsletter_sent_without_checking_withdrawals_is_an_error if {
	unchecked := {"suppression": object.union(checked.suppression, {"checked_before_send": false})}
	r := purposes.suppression_not_checked({"flows": [newsletter(unchecked)]})
	count(r) == 1
	r[0].attribute == "suppression.checked_before_send"
}

test_slow_withdrawal_is_a_warning_with_the_figure if {
	slow := {"suppression": object.union(checked.suppression, {"propagation_hours": 72})}
	r := purposes.withdrawal_propagation_slow({"flows": [newsletter(slow)]})
	count(r) == 1
	contains(text(r[0]), "72 hours")
	edge := {"suppression": object.union(checked.suppression, {"propagation_hours": 48})}
	count(purposes.withdrawal_propagation_slow({"flows": [newsletter(edge)]})) == 0
}

test_missing_suppression_facts_are_gaps_not_passes if {
	r := purposes.suppression_unknown({"flows": [newsletter({})]})
	count(r) == 3
	r[0].attribute == "channel"
	partial := {"suppression": {"list_ref": "https://wiki/suppression"}}
	keys := [x.key | some x in purposes.suppression_unknown({"flows": [newsletter(partial)]})]
	keys == ["checked_before_send", "propagation_hours"]
}

test_internal_campaign_feed_is_not_a_message if {
	feed := object.union(newsletter({}), {"channel": "batch"})
	count(purposes.suppression_unknown({"flows": [feed]})) == 0
}

# II.IV.1.a by what a purpose does: a "satisfaction survey" whose data use is marketing e-mail, sent without a
# marketing consent, is a commercial message (the corpus' v-ii-iv-2-b-survey-with-offers); a real survey is not.
survey_flow(data_use, basis) := {
	"id": "survey-offers", "to": "sender", "purpose": "survey_offers", "channel": "email", "legal_basis": basis,
	"purpose_info": {"id": "survey_offers", "policy_purpose": "SURVEY", "data_use": data_use},
	"consent_info": {"id": "c", "purpose": "survey_offers", "mechanism": "opt_in", "channels": ["email"]},
}

test_marketing_relabelled_as_a_survey_needs_consent if {
	r := purposes.marketing_relabelled({"flows": [survey_flow("marketing.communications.email", {"kind": "legitimate_interest"})]})
	count(r) == 1
	r[0].attribute == "purpose"
	count(purposes.marketing_relabelled({"flows": [survey_flow("marketing.communications.email", {"kind": "consent", "consent": "c"})]})) == 0
	count(purposes.marketing_relabelled({"flows": [survey_flow("functional.service.improve", {"kind": "legitimate_interest"})]})) == 0
	count(purposes.marketing_relabelled({"flows": [survey_flow(null, {"kind": "legitimate_interest"})]})) == 0
}
