package creality.deidentification_test

import rego.v1

import data.lib.findings.text

import data.creality.deidentification as deid

analytics := {"id": "user_base_analytics", "policy_purpose": "DEID.ANALYTICS"}

commercial := {"id": "data_sales", "policy_purpose": "DEID.COMMERCIAL"}

dflow(purpose, to_node, fields) := {"id": "f", "to": "x", "purpose_info": purpose, "to_node": to_node, "fields_info": fields}

store := {"operator": "first_party", "deidentifies": false}

step := {"operator": "first_party", "deidentifies": true}

token := {"id": "deid.token", "category": "user.unique_id.pseudonymous", "identifiability": "deidentified", "protection": "tokenized"}

counts := {"id": "agg.counts", "category": "user.telemetry", "identifiability": "aggregate"}

email := {"id": "app.email", "category": "user.contact.email", "identifiability": "identified"}

# Tricky compliant case: de-identified aggregates into the analytics store.
test_deidentified_aggregates_pass if {
	count(deid.identified_data_in_deid_use({"flows": [dflow(analytics, store, [token, counts])]})) == 0
}

test_identified_email_in_analysis_is_incorrect if {
	r := deid.identified_data_in_deid_use({"flows": [dflow(analytics, store, [counts, email])]})
	count(r) == 1
	r[0].attribute == "fields.1"
	endswith(text(r[0]), "which allows de-identified data only: it is a direct identifier (user.contact.email, plain)")
}

test_pseudonymous_profile_in_analysis_names_its_identifiability if {
	profile := {"id": "app.profile", "category": "user.behavior", "identifiability": "pseudonymous"}
	r := deid.identified_data_in_deid_use({"flows": [dflow(analytics, store, [profile])]})
	count(r) == 1
	endswith(text(r[0]), "it is pseudonymous (user.behavior), not de-identified")
}

test_flow_into_the_deidentification_step_is_not_judged if {
	count(deid.identified_data_in_deid_use({"flows": [dflow(analytics, step, [email])]})) == 0
}

hashed_email := {"id": "x.email_hash", "category": "user.contact.email", "identifiability": "deidentified", "protection": "hashed_weak"}

# Issue 13 class 10: the real reason is that a weakly hashed e-mail is the e-mail, not an identifiability mismatch.
test_weakly_hashed_email_labelled_deidentified_is_named_a_direct_identifier if {
	r := deid.identified_data_in_deid_use({"flows": [dflow(analytics, store, [hashed_email])]})
	count(r) == 1
	contains(text(r[0]), "it is a direct identifier (user.contact.email, hashed_weak), whatever its stated identifiability (deidentified)")
	# ... and the commercial warning does not call it "only de-identified"
	count(deid.deidentified_commercial_outside({"flows": [dflow(commercial, {"operator": "third_party"}, [hashed_email])]})) == 0
	tokenised := object.union(hashed_email, {"protection": "tokenized"})
	count(deid.identified_data_in_deid_use({"flows": [dflow(analytics, store, [tokenised])]})) == 0
}

test_unknown_identifiability_is_a_gap if {
	fi := {"id": "x.events", "category": "user.telemetry", "identifiability": null}
	count(deid.deid_identifiability_unknown({"flows": [dflow(analytics, store, [fi])]})) == 1
	count(deid.deid_identifiability_unknown({"flows": [dflow(analytics, store, [counts])]})) == 0
}

test_deidentified_data_sold_outside_is_a_warning if {
	count(deid.deidentified_commercial_outside({"flows": [dflow(commercial, {"operator": "third_party"}, [token])]})) == 1
	count(deid.deidentified_commercial_outside({"flows": [dflow(commercial, {"operator": "third_party"}, [counts])]})) == 0
	count(deid.deidentified_commercial_outside({"flows": [dflow(commercial, store, [token])]})) == 0
}

# The lineage says which fields a de-identification step upstream lowered (lineage_lowered): the profile the app
# declares pseudonymous leaves the step de-identified, and the flow rules judge it as it travels, like the lineage.
test_field_lowered_by_a_step_upstream_is_judged_as_carried if {
	profile := {"id": "app.profile", "category": "user.behavior", "identifiability": "pseudonymous"}
	out := object.union(dflow(analytics, store, [counts, profile]), {"lineage_lowered": [1]})
	count(deid.identified_data_in_deid_use({"flows": [out]})) == 0
	count(deid.identified_data_in_deid_use({"flows": [dflow(analytics, store, [counts, profile])]})) == 1
	sold := object.union(dflow(commercial, {"operator": "third_party"}, [profile]), {"lineage_lowered": [0]})
	count(deid.deidentified_commercial_outside({"flows": [sold]})) == 1
	# an identifier is never lowered: the lineage does not list it, and a listed direct identifier stays one
	email_out := object.union(dflow(analytics, store, [email]), {"lineage_lowered": [0]})
	count(deid.identified_data_in_deid_use({"flows": [email_out]})) == 1
}

# Class 7 (issue 13): a data licensee may receive what II.IV.2.d allows: de-identified data. Aggregate statistics
# licensed to a market-research firm pass; identified data sold under another purpose does not, unless consented.
licensee_flow(purpose, fields, basis) := {
	"id": "to-licensee", "to": "market-research", "purpose": purpose.id, "purpose_info": purpose,
	"to_node": {"role": "data_licensee", "operator": "third_party"}, "fields_info": fields, "legal_basis": basis,
	"consent_info": {"id": "c", "purpose": purpose.id, "mechanism": "opt_in"},
}

test_aggregate_statistics_to_a_data_licensee_pass if {
	agg := {"id": "agg.stats", "category": "user.telemetry", "identifiability": "aggregate"}
	p := {"id": "stats_licensing", "policy_purpose": "DEID.COMMERCIAL"}
	count(deid.identified_data_to_licensee({"flows": [licensee_flow(p, [agg], {"kind": "declared_purpose"})]})) == 0
	count(deid.identified_data_in_deid_use({"flows": [licensee_flow(p, [agg], {"kind": "declared_purpose"})]})) == 0
}

test_identified_data_sold_to_a_data_licensee_is_incorrect if {
	email := {"id": "crm.email", "category": "user.contact.email", "identifiability": "identified"}
	p := {"id": "partnerships", "policy_purpose": "IMPROVE"}
	r := deid.identified_data_to_licensee({"flows": [licensee_flow(p, [email], {"kind": "legitimate_interest"})]})
	count(r) == 1
	r[0].attribute == "fields.0"
	count(deid.identified_data_to_licensee({"flows": [licensee_flow(p, [email], {"kind": "consent", "consent": "c"})]})) == 0
}
