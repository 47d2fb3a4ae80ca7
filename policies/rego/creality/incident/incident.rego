# METADATA
# scope: package
# title: Security incident response (III.VII.2.a-d)
package creality.incident

import rego.v1

import data.creality.vocab
import data.lib.findings.finding
import data.lib.findings.msg
import data.lib.findings.text
import data.lib.findings.with_key

ir(org) := object.get(org, "incident_response", {})

# METADATA
# title: No incident response plan, team, or owner of a personal-data system
# description: >-
#   III.VII.2.a: classification standards and procedures for incidents and "une équipe spéciale d'intervention
#   d'urgence". Evidence: incident_response.plan_ref and a non-empty team; every personal-data system has an
#   owner_team to page (a system that names none is a gap, not an error).
# custom:
#   clause: III.VII.2.a
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Reference the incident response plan, list the response team, and assign an owner team to every
#     personal-data system.
response_readiness(inp) := array.concat(
	[f |
		org := inp.organization
		org != null
		some k in ["plan_ref", "team"]
		count(object.get(ir(org), k, [])) == 0
		f := with_key(finding("organization", "organization", ir_attr(org), msg("the incident response %s is missing", [k])), k)
	],
	[f |
		some s in inp.systems
		s.personal_data == true
		object.get(s, "owner_team", "") == ""
		f := object.union(
			finding("system", s.id, "id", msg("%s holds personal data but names no owner_team to respond to its incidents", [s.id])),
			{"verdict": "gap", "severity": "warning"},
		)
	],
)

ir_attr(org) := "incident_response" if org.incident_response

else := "name"

# METADATA
# title: Incident notice template missing required contents
# description: >-
#   III.VII.2.b: users are told "la situation de base et de l'impact possible de l'incident ..., des mesures
#   d'élimination ..., des suggestions ... ainsi que des mesures correctives". The template's fields include
#   situation, impact, measures, advice and remedies.
# custom:
#   clause: III.VII.2.b
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Add the missing sections to the breach-notification template (notify_template_fields).
notice_incomplete(inp) := [f |
	org := inp.organization
	org != null
	have := object.get(ir(org), "notify_template_fields", [])
	missing := [c | some c in vocab.notice_contents; not c in have]
	count(missing) > 0
	f := finding("organization", "organization", ir_attr(org), msg(
		"the incident notice template lacks %s", [concat(", ", missing)]))
]

# METADATA
# title: No notification delay or channels for affected users
# description: >-
#   III.VII.2.c: "Nous vous informerons sans délai ... par courrier, lettre, téléphone, notification push, etc. et
#   nous ferons une annonce ... lorsqu'il est difficile d'informer les personnes concernées une par une". The
#   organization sets notify_sla_hours, at least one individual channel, and public_notice as fallback.
# custom:
#   clause: III.VII.2.c
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Set a notification deadline (notify_sla_hours) and declare the notification channels, including an
#     individual channel and public_notice.
notification_readiness(inp) := [f |
	org := inp.organization
	org != null
	some problem in notification_problems(ir(org))
	f := with_key(finding("organization", "organization", ir_attr(org), problem), text(problem))
]

notification_problems(i) := [p |
	some p in [
		msg("no notification deadline is set (notify_sla_hours)", []),
		msg("no individual notification channel (email, sms, phone, letter, push) is declared", []),
		msg("no public-notice fallback is declared (notify_channels: public_notice)", []),
	]
	lacks(i, p.fmt)
]

lacks(i, p) if {
	startswith(p, "no notification deadline")
	object.get(i, "notify_sla_hours", null) == null
}

lacks(i, p) if {
	startswith(p, "no individual")
	count([c | some c in object.get(i, "notify_channels", []); c in vocab.individual_channels]) == 0
}

lacks(i, p) if {
	startswith(p, "no public-notice")
	not "public_notice" in object.get(i, "notify_channels", [])
}

# METADATA
# title: No regulator-reporting procedure for a jurisdiction whose residents' data is processed
# description: >-
#   III.VII.2.d: "nous ferons un rapport proactif ... comme l'exigent les autorités de régulation". Each subject
#   jurisdiction of the inventory (EU/EEA members counting as EU) has a regulator procedure.
# custom:
#   clause: III.VII.2.d
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Add a regulator-reporting procedure (authority, procedure_ref, deadline) for the jurisdiction.
regulator_procedure_missing(inp) := [f |
	org := inp.organization
	org != null
	covered := [vocab.area(p.jurisdiction) | some p in object.get(ir(org), "regulator_procedures", [])]
	some j in inp.subject_jurisdictions
	not vocab.area(j) in covered
	f := with_key(finding("organization", "organization", procedures_attr(org), msg(
		"data of people in %s is processed, but no procedure says how incidents are reported to its regulator", [j])), j)
]

procedures_attr(org) := "incident_response.regulator_procedures" if org.incident_response.regulator_procedures

else := ir_attr(org)
