# METADATA
# scope: package
# title: De-identification — preconditions for using "informations dépersonnalisées" (II.IV.2.d)
# description: >-
#   After de-identifying data "par des moyens techniques", Creality may use it to analyse its user base and for
#   commercial use. "Dépersonnaliser" is de-identification (去标识化), not anonymisation (interpretation.md 2.4).
#   These rules judge each DEID.* flow on its own fields; re-identification downstream is the lineage package's.
package creality.deidentification

import rego.v1

import data.creality.vocab
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.msg
import data.lib.findings.with_key

deid_purposes := {"DEID.ANALYTICS", "DEID.COMMERCIAL"}

deid_flow(flow) if flow.purpose_info.policy_purpose in deid_purposes

# The flow *into* a de-identification step carries identified data by design: judge downstream of it.
judged(flow) if {
	deid_flow(flow)
	not flow.to_node.deidentifies
}

# METADATA
# title: Identified data used for de-identified analysis or commercial use
# description: >-
#   II.IV.2.d allows "informations dépersonnalisées" only. A field on a DEID.ANALYTICS or DEID.COMMERCIAL flow
#   that is identified or pseudonymous, or is a direct identifier, has not been de-identified (flows into a
#   system that de-identifies are exempt: the step itself needs the input).
# custom:
#   clause: II.IV.2.d
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Route the data through a de-identification step (a system with deidentifies true) first, and drop direct
#     identifiers and join keys from the analysis flow.
identified_data_in_deid_use(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", deid_purposes)
	judged(flow)
	some i
	flow.fields_info[i]
	fi := vocab.carried(flow, i)
	startswith(fi.category, "user.")
	fi.identifiability != null
	not deidentified(fi)
	f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"flow %s uses %s for %s, which allows de-identified data only: %s",
		[flow.id, fi.id, flow.purpose_info.policy_purpose, not_deidentified_reason(fi)]))
]

deidentified(fi) if {
	fi.identifiability in vocab.deidentified_levels
	not direct_plain(fi)
}

# A direct identifier is de-identified only if tokenised or aggregated away.
direct_plain(fi) if vocab.identifying_direct_id(fi)

# not_deidentified_reason(fi): the real reason, not an identifiability mismatch when the field is a direct
# identifier it claims is de-identified (a weakly hashed e-mail is still the e-mail: docs/inventory.md).
not_deidentified_reason(fi) := msg("it is a direct identifier (%s, %s), whatever its stated identifiability (%s)", [
	fi.category, object.get(fi, "protection", "plain"), fi.identifiability,
]) if {
	direct_plain(fi)
	fi.identifiability in vocab.deidentified_levels
} else := msg("it is a direct identifier (%s, %s)", [fi.category, object.get(fi, "protection", "plain")]) if {
	direct_plain(fi)
} else := msg("it is %s (%s), not de-identified", [fi.identifiability, fi.category])

# METADATA
# title: De-identified data without a stated identifiability
# description: >-
#   II.IV.2.d can be checked only if each field on a DEID.* flow states its identifiability; a field that does not
#   is a missing fact.
# custom:
#   clause: II.IV.2.d
#   severity: warning
#   verdict: gap
#   remediation: >-
#     State the identifiability of the field (deidentified, anonymous, aggregate...).
deid_identifiability_unknown(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", deid_purposes)
	judged(flow)
	some i
	fi := flow.fields_info[i]
	startswith(fi.category, "user.")
	fi.identifiability == null
	f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"flow %s uses %s for %s, but its identifiability is not stated",
		[flow.id, fi.id, flow.purpose_info.policy_purpose]))
]

# METADATA
# title: Merely de-identified data used commercially outside Creality
# description: >-
#   De-identified data stays personal data (GB/T 35273, GDPR Recital 26). For commercial use that leaves Creality's
#   own systems the auditor expects anonymous or aggregate data: stricter than the literal text, hence a warning.
# custom:
#   clause: II.IV.2.d
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Aggregate or anonymise the data before it is sold or shared outside Creality.
deidentified_commercial_outside(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", deid_purposes)
	judged(flow)
	flow.purpose_info.policy_purpose == "DEID.COMMERCIAL"
	flow.to_node.operator != "first_party"
	some i
	flow.fields_info[i]
	fi := vocab.carried(flow, i)
	fi.identifiability == "deidentified"
	not direct_plain(fi) # not de-identified at all: identified_data_in_deid_use says so
	f := with_key(finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"flow %s sells or shares %s, only de-identified (still personal data), with %s",
		[flow.id, fi.id, flow.to])), "commercial")
]

# METADATA
# title: Identifiable data licensed or sold to a data licensee
# description: >-
#   II.IV.2.d is the only passage that lets Creality make commercial use of user data ("faire un usage commercial"),
#   and only of "informations dépersonnalisées". A data licensee (a market-research firm, a data buyer) that receives
#   identified or pseudonymous data, or a direct identifier, under any other purpose than DEID.* (which the rules
#   above judge) is sold personal data. A real consent to the flow's own purpose is the only other ground
#   (II.IV.2.e).
# custom:
#   clause: II.IV.2.d
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Send the licensee only anonymous or aggregate statistics (de-identify first, purpose DEID.COMMERCIAL), or
#     obtain the users' consent to this sharing and cite it on the flow.
identified_data_to_licensee(inp) := [f |
	some flow in candidates.flows_where(inp, "to_role", ["data_licensee"])
	flow.to_node.role == "data_licensee"
	not deid_flow(flow)
	not licensee_consented(flow)
	some i
	fi := flow.fields_info[i]
	startswith(fi.category, "user.")
	not deidentified(fi)
	f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"flow %s gives data licensee %s %s (%s, %s) for %s: II.IV.2.d allows commercial use of de-identified data only",
		[flow.id, flow.to, fi.id, fi.category, object.get(fi, "identifiability", msg("identifiability not stated", [])), flow.purpose]))
]

licensee_consented(flow) if {
	flow.legal_basis.kind == "consent"
	flow.consent_info.purpose == flow.purpose
	vocab.real_consent(flow.consent_info)
}
