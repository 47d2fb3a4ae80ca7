# METADATA
# scope: package
# title: Data-subject rights and the contact point (PRE.c, IV.a-c, III.VII.a)
package creality.rights

import rego.v1

import data.creality.vocab
import data.lib.findings.finding
import data.lib.findings.msg
import data.lib.findings.with_key

contact := "cs@creality.com"

dsr(s) := object.get(s, "dsr", {})

# Only de-identified, anonymous or aggregate data: nothing can be found per user (README, "Interpretation notes").
not_per_user(s) if {
	count(s.held_identifiability) > 0
	every i in s.held_identifiability {
		i in vocab.deidentified_levels
	}
}

# Correction is done where the user-provided data is declared (its system of record) and propagated from there.
user_provided(s) if "user_provided" in object.get(s, "own_collections", [])

# METADATA
# title: Personal-data system that does not state how it handles access, correction and deletion
# description: >-
#   IV.a: "le droit de demander l'accès, la correction et la suppression de toute information personnelle". A
#   system holding personal data with no dsr block does not say whether it honours them: a missing fact.
# custom:
#   clause: IV.a
#   severity: warning
#   verdict: gap
#   remediation: >-
#     Add a dsr block (access, rectify, delete, propagates) to the system.
dsr_unknown(inp) := [f |
	some s in inp.systems
	s.personal_data == true
	not s.dsr
	f := finding("system", s.id, "id", msg("%s holds personal data but does not state its data-subject request support (dsr)", [s.id]))
]

# METADATA
# title: Personal-data system that does not honour access, correction or propagation of deletions
# description: >-
#   IV.a: access, correction and deletion of any personal information. A system holding identifiable data gives
#   access; the system of record of data the user provided (where the field is declared) lets them correct it,
#   and downstream copies follow by propagation; a system whose data flows onward propagates deletions. Deletion
#   itself is IV.b. Stores of only de-identified data and de-identification steps need not give access; stores of
#   observed, derived or copied data need not give correction.
# custom:
#   clause: IV.a
#   severity: error
#   verdict: violation
#   remediation: >-
#     Implement the missing right for the system (self-service export, correction, deletion propagated to every
#     system the data was sent to).
dsr_incomplete(inp) := [f |
	some s in inp.systems
	s.personal_data == true
	s.dsr
	some right in missing_rights(s)
	f := with_key(finding("system", s.id, concat(".", ["dsr", right]), msg(
		"%s does not support %s (dsr.%s is not true)", [s.id, right_name[right], right])), right)
]

right_name := {
	"access": msg("access requests", []),
	"rectify": msg("correction of user-provided data", []),
	"propagates": msg("propagation of deletions downstream", []),
}

missing_rights(s) := [r |
	some r in ["access", "rectify", "propagates"]
	required(s, r)
	object.get(dsr(s), r, null) != true
]

required(s, "access") if {
	not not_per_user(s)
	not object.get(s, "deidentifies", false)
}

required(s, "rectify") if user_provided(s)

required(s, "propagates") if s.outgoing_flow_count > 0

# METADATA
# title: Deletion refused without a legal exception
# description: >-
#   IV.b: rights are "soumis à des exclusions et exceptions spécifiques en vertu des lois applicables". A
#   personal-data system that does not delete must cite the legal exception (dsr.delete_exception_ref).
# custom:
#   clause: IV.b
#   severity: error
#   verdict: violation
#   remediation: >-
#     Implement deletion, or cite the legal obligation that prevents it in dsr.delete_exception_ref.
delete_without_exception(inp) := [f |
	some s in inp.systems
	s.personal_data == true
	s.dsr
	object.get(dsr(s), "delete", null) != true
	object.get(dsr(s), "delete_exception_ref", "") == ""
	f := finding("system", s.id, "dsr", msg(
		"%s does not delete personal data on request and cites no legal exception (dsr.delete_exception_ref)", [s.id]))
]

# METADATA
# title: Partner holding personal data with no way to serve users' requests
# description: >-
#   III.VII.a: users can obtain their information "telles qu'elles sont collectées et traitées par nous ou par les
#   tiers qui coopèrent avec nous". A partner receiving personal data has a request API (dsr_api true) or a
#   contractual path (dpa_ref); authorities excepted.
# custom:
#   clause: III.VII.a
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Obtain an access/deletion API or a contractual access path from the partner and record it (dsr_api, dpa_ref).
partner_without_access_path(inp) := [f |
	some p in inp.partners
	p.role != "authority"
	object.get(p, "dsr_api", false) != true
	object.get(p, "dpa_ref", "") == ""
	personal := [r.id | some r in p.received_fields; startswith(r.category, "user."); not object.get(r, "identifiability", "identified") in vocab.unlinkable]
	count(personal) > 0
	f := finding("partner", p.id, "role", msg(
		"partner %s holds personal data (%s) but users' requests cannot reach it (no dsr_api, no dpa_ref)",
		[p.id, concat(", ", personal)]))
]

# METADATA
# title: Contact address is not the one the policy gives
# description: >-
#   PRE.c: "n'hésitez pas à nous contacter à l'adresse cs@creality.com". organization.contact_email is that
#   address.
# custom:
#   clause: PRE.c
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Set organization.contact_email to cs@creality.com, or update the policy if the contact point has changed.
contact_mismatch(inp) := [f |
	inp.organization != null
	lower(object.get(inp.organization, "contact_email", "")) != contact
	f := finding("organization", "organization", "contact_email", msg(
		"the contact address is '%s', the policy promises %s", [object.get(inp.organization, "contact_email", ""), contact]))
]

# METADATA
# title: The policy's request mailbox does not receive requests
# description: >-
#   IV.c: "vous pouvez nous envoyer un courriel à l'adresse cs@creality.com". organization.dsr_intake includes it.
# custom:
#   clause: IV.c
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Add cs@creality.com to organization.dsr_intake and route it to the team that handles requests.
intake_missing(inp) := [f |
	inp.organization != null
	intake := [lower(x) | some x in object.get(inp.organization, "dsr_intake", [])]
	not contact in intake
	f := finding("organization", "organization", dsr_attr(inp.organization), msg(
		"requests sent to %s are not part of the request intake (dsr_intake)", [contact]))
]

dsr_attr(org) := "dsr_intake" if org.dsr_intake

else := "contact_email"
