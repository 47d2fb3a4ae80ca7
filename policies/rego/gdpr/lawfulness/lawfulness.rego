# METADATA
# scope: package
# title: GDPR Art. 6 — a legal basis for every flow of EU subjects' data
package gdpr.lawfulness

import rego.v1

import data.gdpr.jurisdictions as j
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.msg

gdpr_bases := {"consent", "contract", "legal_obligation", "vital_interest", "public_interest", "legitimate_interest"}

# Consent mechanisms that can be a freely given, specific, informed and unambiguous affirmative act
# (Art. 4(11), 7): never acceptance of the policy or a pre-ticked box.
valid_consent := {"opt_in", "separate", "banner"}

# The GDPR basis each consent exemption of the policy (II.IV.3) most plausibly maps to — for the
# reviewer; the mapping is an interpretation (docs/interpretation.md), not a conclusion.
exemption_basis := {
	"II.IV.3(1)": msg("legal_obligation or public_interest (national security is largely outside the GDPR, Art. 2(2))", []),
	"II.IV.3(2)": msg("public_interest or vital_interest", []),
	"II.IV.3(3)": msg("legal_obligation (Art. 6(1)(c)), for a request binding under EU or member-state law", []),
	"II.IV.3(4)": msg("vital_interest", []),
	"II.IV.3(5)": msg("legitimate_interest (data made public by the user, Art. 9(2)(e) for special categories)", []),
	"II.IV.3(6)": msg("legitimate_interest", []),
	"II.IV.3(7)": msg("contract", []),
	"II.IV.3(8)": msg("legitimate_interest (with a legitimate-interest assessment)", []),
	"II.IV.3(9)": msg("legitimate_interest", []),
	"II.IV.3(10)": msg("public_interest or legitimate_interest with Art. 89 safeguards", []),
	"II.IV.3(11)": msg("legal_obligation", []),
}

basis_kind(flow) := object.get(object.get(flow, "legal_basis", {}), "kind", "")

# METADATA
# title: Flow of EU subjects' data without a GDPR legal basis
# description: >-
#   Art. 6(1): every processing of EU subjects' personal data rests on consent, contract, legal obligation,
#   vital interests, public interest or legitimate interests. `declared_purpose` (the policy declares the
#   purpose) is not a GDPR basis; a missing `legal_basis` is a gap. Exemptions are reported apart, for review.
# custom:
#   clause: GDPR.6
#   severity: error
#   verdict: violation
#   remediation: >-
#     Record the GDPR legal basis of the flow in legal_basis.kind (with the consent id, or the evidence
#     reference such as a legitimate-interest assessment).
flow_without_legal_basis(inp) := [f |
	some flow in inp.flows
	kind := basis_kind(flow)
	not kind in gdpr_bases
	kind != "exemption"
	j.carries_eu_data(flow)
	f := missing_basis(flow, kind)
]

missing_basis(flow, "") := object.union(
	finding("flow", flow.id, "id", msg("flow %s carries EU subjects' data (%s) with no legal_basis", [flow.id, concat(", ", j.eu_fields(flow))])),
	{"verdict": "gap"},
)

missing_basis(flow, kind) := finding("flow", flow.id, "legal_basis.kind", msg(
	"flow %s carries EU subjects' data under '%s', which is not one of the six legal bases of GDPR Art. 6(1)",
	[flow.id, kind],
)) if kind != ""

# METADATA
# title: Flow of EU subjects' data relying on a policy exemption instead of a GDPR basis
# description: >-
#   The policy's consent exemptions (II.IV.3) come from Chinese law (PIPL Art. 13 / GB/T 35273 §5.6); under
#   the GDPR the flow still needs an Art. 6 basis. The finding names the basis the exemption most plausibly
#   maps to, for a reviewer to confirm and record.
# custom:
#   clause: GDPR.6
#   severity: warning
#   verdict: ambiguous
#   remediation: >-
#     Confirm the GDPR basis (the finding suggests one) and record it in legal_basis.kind, keeping the
#     exemption's evidence in legal_basis.evidence_ref.
exemption_without_gdpr_basis(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	basis_kind(flow) == "exemption"
	j.carries_eu_data(flow)
	ex := object.get(flow.legal_basis, "exemption", "")
	f := finding("flow", flow.id, "legal_basis.kind", msg(
		"flow %s carries EU subjects' data under the policy exemption %s; its GDPR basis is probably %s: confirm and record it",
		[flow.id, ex, object.get(exemption_basis, ex, msg("to be decided", []))],
	))
]

# METADATA
# title: GDPR consent basis resting on an invalid consent
# description: >-
#   A consent basis must cite a consent that is a clear affirmative act (Art. 4(11), 7): opt-in, separate
#   or a cookie banner — never acceptance of the privacy policy or a pre-ticked box.
# custom:
#   clause: GDPR.6
#   severity: error
#   verdict: violation
#   remediation: >-
#     Collect an unbundled opt-in consent for this purpose and cite it in legal_basis.consent, or rely on
#     another Art. 6 basis that fits.
invalid_consent_basis(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["consent"])
	basis_kind(flow) == "consent"
	j.carries_eu_data(flow)
	not valid_consent_cited(flow)
	f := finding("flow", flow.id, "legal_basis", msg("flow %s relies on consent, but %s", [flow.id, consent_problem(flow)]))
]

valid_consent_cited(flow) if flow.consent_info.mechanism in valid_consent

consent_problem(flow) := msg("consent %s is obtained by %s, not a GDPR consent", [flow.consent_info.id, flow.consent_info.mechanism]) if {
	flow.consent_info != null
} else := msg("it cites no consent (legal_basis.consent)", [])
