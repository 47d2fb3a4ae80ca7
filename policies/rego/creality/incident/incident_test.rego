package creality.incident_test

import rego.v1

import data.lib.findings.text

import data.creality.incident

ir := {
	"plan_ref": "https://wiki/ir", "team": ["security-oncall"],
	"notify_template_fields": ["situation", "impact", "measures", "advice", "remedies"],
	"notify_channels": ["email", "public_notice"], "notify_sla_hours": 72,
	"regulator_procedures": [{"jurisdiction": "CN", "authority": "CAC"}, {"jurisdiction": "FR", "authority": "CNIL"}],
}

org(i) := {"name": "Creality", "incident_response": i}

good := {"organization": org(ir), "subject_jurisdictions": ["CN", "EU"], "systems": []}

test_complete_incident_response_passes if {
	count(incident.response_readiness(good)) == 0
	count(incident.notice_incomplete(good)) == 0
	count(incident.notification_readiness(good)) == 0
	count(incident.regulator_procedure_missing(good)) == 0
}

test_no_plan_no_team_no_owner if {
	inp := {"organization": org(object.remove(ir, ["plan_ref", "team"])), "systems": [{"id": "crm", "personal_data": true}]}
	count(incident.response_readiness(inp)) == 3
	gaps := [f | some f in incident.response_readiness(inp); f.verdict == "gap"]
	count(gaps) == 1
}

test_notice_without_advice_and_remedies if {
	r := incident.notice_incomplete({"organization": org(object.union(ir, {"notify_template_fields": ["situation", "impact", "measures"]}))})
	count(r) == 1
	contains(text(r[0]), "advice, remedies")
}

test_no_sla_no_public_notice if {
	r := incident.notification_readiness({"organization": org(object.union(object.remove(ir, ["notify_sla_hours"]), {"notify_channels": ["email"]}))})
	count(r) == 2
}

test_us_subjects_without_regulator_procedure if {
	r := incident.regulator_procedure_missing(object.union(good, {"subject_jurisdictions": ["CN", "EU", "US"]}))
	count(r) == 1
	r[0].attribute == "incident_response.regulator_procedures"
}
