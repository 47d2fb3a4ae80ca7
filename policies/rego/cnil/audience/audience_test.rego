package cnil.audience_test

import rego.v1

import data.lib.findings.text

import data.cnil.audience

exempt_cookie := {"name": "_pk_id", "type": "analytics", "index": 0, "path": "cookies.0", "first_party": true, "fires_before_consent": true, "max_age_days": 390, "purpose_info": {"policy_purpose": "COOKIE.ANALYTICS"}}

gated_cookie := object.union(exempt_cookie, {"fires_before_consent": false})

audience_site(cookie) := {"id": "web", "kind": "web", "subject_jurisdictions": ["FR"], "embedded_partners": [{"id": "matomo", "node": {"operator": "processor"}, "cookies": [cookie]}]}

audience_flow(retention) := {"id": "web-audience", "from": "web", "to": "stats", "purpose_info": {"policy_purpose": "COOKIE.ANALYTICS"}, "to_node": {"type": "system", "retention": retention}}

test_exempt_data_kept_three_years_is_flagged if {
	r := audience.audience_data_retention({"systems": [audience_site(exempt_cookie)], "flows": [audience_flow({"days": 1095})]})
	count(r) == 1
	r[0].subject.id == "stats"
	contains(text(r[0]), "1095 days")
}

test_indefinite_retention_is_flagged if {
	r := audience.audience_data_retention({"systems": [audience_site(exempt_cookie)], "flows": [audience_flow({"indefinite": true})]})
	count(r) == 1
}

test_unstated_retention_is_a_gap if {
	r := audience.audience_data_retention({"systems": [audience_site(exempt_cookie)], "flows": [audience_flow(null)]})
	r[0].verdict == "gap"
}

test_25_months_passes if {
	r := audience.audience_data_retention({"systems": [audience_site(exempt_cookie)], "flows": [audience_flow({"days": 760})]})
	count(r) == 0
}

test_consent_gated_analytics_is_not_limited_by_the_exemption if {
	r := audience.audience_data_retention({"systems": [audience_site(gated_cookie)], "flows": [audience_flow({"days": 1095})]})
	count(r) == 0
}

# Class 8 (issue 13): a hosted tool (a processor partner) keeps the audience data itself; its contract's retention
# (partner.retention) is judged like a system's, and a missing one is a gap, not a pass.
partner_flow(retention) := {"id": "web-audience", "from": "web", "to": "matomo", "purpose_info": {"policy_purpose": "COOKIE.ANALYTICS"}, "to_node": {"type": "partner", "retention": retention}}

test_hosted_tool_retention_is_judged if {
	count(audience.audience_data_retention({"systems": [audience_site(exempt_cookie)], "flows": [partner_flow({"days": 760})]})) == 0
	r := audience.audience_data_retention({"systems": [audience_site(exempt_cookie)], "flows": [partner_flow({"days": 1095})]})
	count(r) == 1
	r[0].subject == {"kind": "partner", "id": "matomo"}
	g := audience.audience_data_retention({"systems": [audience_site(exempt_cookie)], "flows": [partner_flow(null)]})
	g[0].verdict == "gap"
	g[0].subject.kind == "partner"
}
