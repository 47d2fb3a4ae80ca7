# METADATA
# scope: package
# title: GDPR Chapter V — transfers of EU subjects' data outside the EEA (Art. 44-46, 49)
package gdpr.transfers

import rego.v1

import data.gdpr.jurisdictions as j
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.msg

safeguards := {"scc", "bcr", "certification", "code_of_conduct"}

derogations := {"art49_consent", "art49_contract"}

# METADATA
# title: Transfer of EU subjects' data outside the EEA without an Art. 45/46 ground
# description: >-
#   A flow carrying EU/EEA subjects' personal data to a non-EEA destination needs adequacy, SCCs, BCRs,
#   an approved code of conduct or a certification (Art. 49 derogations are judged by GDPR.49). A missing
#   transfer block, `none`, or a mechanism of another law (PIPL, the policy's own `consent` or
#   `legal_mandate`) is not a GDPR safeguard.
# custom:
#   clause: GDPR.46
#   severity: error
#   verdict: violation
#   remediation: >-
#     Sign the 2021 SCCs (or rely on BCRs) with the importer, carry out a transfer impact assessment and record
#     both in the flow's transfer block (mechanism, ref, tia_ref); or keep the data in the EEA.
transfer_without_safeguard(inp) := [f |
	some flow in candidates.border_flows(inp)
	j.eu_transfer(flow)
	mech := j.mechanism(flow)
	not mech in safeguards
	not mech in derogations
	mech != "adequacy"
	f := finding("flow", flow.id, j.transfer_attr(flow), msg(
		"flow %s transfers EU subjects' data (%s) to %s (%s) with transfer mechanism '%s', not a GDPR ground",
		[flow.id, concat(", ", j.eu_fields(flow)), flow.to, flow.to_node.jurisdiction, mech],
	))
]

# METADATA
# title: Adequacy relied on for a country without an adequacy decision
# description: >-
#   `mechanism: adequacy` is valid only for a destination with a Commission adequacy decision (Art. 45).
#   China, for one, has none.
# custom:
#   clause: GDPR.46
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Use SCCs or BCRs with a transfer impact assessment for this destination, or keep the data in the EEA.
adequacy_without_decision(inp) := [f |
	some flow in candidates.border_flows(inp)
	j.eu_transfer(flow)
	j.mechanism(flow) == "adequacy"
	dest := flow.to_node.jurisdiction
	not dest in j.adequate
	dest != j.dpf_country
	f := finding("flow", flow.id, "transfer.mechanism", msg(
		"flow %s relies on adequacy for %s, which has no Commission adequacy decision",
		[flow.id, dest],
	))
]

# METADATA
# title: US adequacy claimed without the recipient's Data Privacy Framework certification
# description: >-
#   The EU-US Data Privacy Framework (Decision (EU) 2023/1795) covers only certified US recipients. The
#   inventory expresses the certification as `transfer.ref` on an `adequacy` transfer to the US (the DPF
#   list entry or the decision); without it, the US is treated as non-adequate.
# custom:
#   clause: GDPR.46
#   severity: error
#   verdict: gap
#   remediation: >-
#     Check the recipient on the DPF list and record its certification in transfer.ref, or sign SCCs with a
#     transfer impact assessment.
us_adequacy_without_dpf(inp) := [f |
	some flow in candidates.border_flows(inp)
	j.eu_transfer(flow)
	j.mechanism(flow) == "adequacy"
	flow.to_node.jurisdiction == j.dpf_country
	not j.transfer_of(flow).ref
	f := finding("flow", flow.id, "transfer.mechanism", msg(
		"flow %s relies on US adequacy but does not reference %s's Data Privacy Framework certification (transfer.ref)",
		[flow.id, flow.to],
	))
]

# METADATA
# title: Safeguarded transfer without a transfer impact assessment
# description: >-
#   After Schrems II (CJEU C-311/18), SCCs, BCRs, codes and certifications need a transfer impact
#   assessment of the destination's law and practice; the inventory references it in `transfer.tia_ref`.
# custom:
#   clause: GDPR.46
#   severity: error
#   verdict: gap
#   remediation: >-
#     Carry out the transfer impact assessment for this importer and destination, adopt supplementary
#     measures where needed, and reference it in transfer.tia_ref.
safeguard_without_tia(inp) := [f |
	some flow in candidates.border_flows(inp)
	j.eu_transfer(flow)
	j.mechanism(flow) in safeguards
	not j.transfer_of(flow).tia_ref
	f := finding("flow", flow.id, "transfer", msg(
		"flow %s transfers EU subjects' data to %s (%s) under %s without a transfer impact assessment (transfer.tia_ref)",
		[flow.id, flow.to, flow.to_node.jurisdiction, j.mechanism(flow)],
	))
]

# METADATA
# title: Safeguarded transfer without a reference to the instrument
# description: >-
#   The signed SCCs, the approved BCRs, the code or the certificate must be referenced in `transfer.ref`.
# custom:
#   clause: GDPR.46
#   severity: error
#   verdict: gap
#   remediation: Record the reference of the signed SCCs, BCR approval, code or certificate in transfer.ref.
safeguard_without_ref(inp) := [f |
	some flow in candidates.border_flows(inp)
	j.eu_transfer(flow)
	j.mechanism(flow) in safeguards
	not j.transfer_of(flow).ref
	f := finding("flow", flow.id, "transfer", msg(
		"flow %s relies on %s but references no instrument (transfer.ref)",
		[flow.id, j.mechanism(flow)],
	))
]

# METADATA
# title: Art. 49 derogation used for a regular or continuous transfer
# description: >-
#   Derogations are exceptions for occasional, non-repetitive transfers (EDPB Guidelines 2/2018): the
#   transfer must state `frequency: occasional` and must not be scheduled or continuous.
# custom:
#   clause: GDPR.49
#   severity: error
#   verdict: violation
#   remediation: >-
#     Put regular transfers under SCCs or BCRs with a transfer impact assessment (GDPR.46); keep Art. 49 for
#     one-off transfers.
derogation_for_regular_transfer(inp) := [f |
	some flow in candidates.border_flows(inp)
	j.eu_transfer(flow)
	j.mechanism(flow) in derogations
	not occasional(flow)
	f := finding("flow", flow.id, "transfer.mechanism", msg(
		"flow %s relies on the derogation %s for a transfer that is not occasional (frequency %s, trigger %s)",
		[
			flow.id, j.mechanism(flow), object.get(j.transfer_of(flow), "frequency", msg("not stated", [])),
			object.get(flow, "trigger", msg("not stated", [])),
		],
	))
]

occasional(flow) if {
	j.transfer_of(flow).frequency == "occasional"
	not object.get(flow, "trigger", "") in {"scheduled", "continuous"}
}

# METADATA
# title: Art. 49(1)(a) derogation without an explicit, informed consent to the transfer
# description: >-
#   `art49_consent` needs the data subject's explicit consent to the transfer after being told of its
#   risks: `transfer.separate_consent` must cite a consent with mechanism opt_in or separate whose scope
#   includes cross_border.
# custom:
#   clause: GDPR.49
#   severity: error
#   verdict: violation
#   remediation: >-
#     Collect an explicit consent to the transfer (informing of the absence of safeguards), record it with
#     scope cross_border and cite it in transfer.separate_consent.
derogation_consent_not_explicit(inp) := [f |
	some flow in candidates.border_flows(inp)
	j.eu_transfer(flow)
	j.mechanism(flow) == "art49_consent"
	not explicit_transfer_consent(flow)
	f := finding("flow", flow.id, "transfer.mechanism", msg(
		"flow %s relies on Art. 49(1)(a) consent but cites no explicit consent to the transfer (opt_in or separate, scope cross_border)",
		[flow.id],
	))
]

explicit_transfer_consent(flow) if {
	c := flow.separate_consent_info
	c.mechanism in {"opt_in", "separate"}
	"cross_border" in c.scope
}
