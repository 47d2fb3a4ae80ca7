package gdpr.organization_test

import rego.v1

import data.gdpr.organization

cn_org := {"name": "Creality", "jurisdiction": "CN", "contact_email": "cs@creality.com"}

with_rep := object.union(cn_org, {"eu_representative": {"name": "Rep SARL", "email": "rep@example.eu"}})

test_non_eu_controller_with_eu_users_needs_representative if {
	r := organization.no_eu_representative({"organization": cn_org, "subject_areas": ["EU", "CN"]})
	count(r) == 1
}

test_representative_with_contact_passes if {
	r := organization.no_eu_representative({"organization": with_rep, "subject_areas": ["EU"]})
	count(r) == 0
}

test_representative_without_contact_is_flagged if {
	o := object.union(cn_org, {"eu_representative": {"name": "Rep"}})
	r := organization.no_eu_representative({"organization": o, "subject_areas": ["EU"]})
	count(r) == 1
}

test_eu_controller_needs_no_representative if {
	o := object.union(cn_org, {"jurisdiction": "FR"})
	r := organization.no_eu_representative({"organization": o, "subject_areas": ["EU"]})
	count(r) == 0
}

ir_plan(procs, sla) := {"incident_response": {"regulator_procedures": procs, "notify_sla_hours": sla}}

test_no_eu_procedure_is_a_gap if {
	o := object.union(cn_org, ir_plan([{"jurisdiction": "CN", "authority": "CAC", "deadline_hours": 24}], 72))
	r := organization.no_72h_breach_notification({"organization": o, "subject_areas": ["EU"]})
	count(r) == 1
	r[0].verdict == "gap"
}

test_96h_deadline_is_a_violation if {
	o := object.union(cn_org, ir_plan([{"jurisdiction": "FR", "authority": "CNIL", "deadline_hours": 96}], 24))
	r := organization.no_72h_breach_notification({"organization": o, "subject_areas": ["EU"]})
	count(r) == 1
	not r[0].verdict
}

test_72h_procedure_passes_and_falls_back_to_sla if {
	o1 := object.union(cn_org, ir_plan([{"jurisdiction": "EU", "authority": "CNIL", "deadline_hours": 72}], 200))
	count(organization.no_72h_breach_notification({"organization": o1, "subject_areas": ["EU"]})) == 0
	o2 := object.union(cn_org, ir_plan([{"jurisdiction": "EU", "authority": "CNIL"}], 48))
	count(organization.no_72h_breach_notification({"organization": o2, "subject_areas": ["EU"]})) == 0
}

test_no_eu_subjects_no_art33_check if {
	r := organization.no_72h_breach_notification({"organization": cn_org, "subject_areas": ["CN"]})
	count(r) == 0
}
