# METADATA
# scope: package
# title: PIPL Art. 38, 39, 55 — providing Chinese residents' personal information abroad
package pipl.export

import rego.v1

import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.msg
import data.pipl.scope

pipl_mechanisms := {"cac_assessment", "pipl_standard_contract", "pipl_certification"}

export_attr(flow) := "transfer.mechanism" if "mechanism" in object.keys(scope.transfer_of(flow))

else := "id"

# METADATA
# title: Export of Chinese residents' data without a PIPL Art. 38 mechanism
# description: >-
#   Art. 38: CN subjects' personal information leaves China only after a CAC security assessment, under
#   the CAC standard contract, or with a PI protection certification. GDPR SCCs, adequacy or the policy's
#   own bases are not PIPL mechanisms. `contract_necessity` (2024 CAC provisions) is reported apart.
# custom:
#   clause: PIPL.38
#   severity: error
#   verdict: violation
#   remediation: >-
#     File the CAC standard contract (or pass the security assessment or certification) for the export and
#     record it in the flow's transfer block, or keep the data in China.
export_without_mechanism(inp) := [f |
	some flow in candidates.border_flows(inp)
	scope.export(flow)
	mech := scope.mechanism(flow)
	not mech in pipl_mechanisms
	mech != "contract_necessity"
	f := finding("flow", flow.id, export_attr(flow), msg(
		"flow %s exports Chinese residents' data (%s) to %s (%s) with transfer mechanism '%s', not a PIPL Art. 38 mechanism",
		[flow.id, concat(", ", scope.cn_fields(flow)), flow.to, flow.to_node.jurisdiction, mech],
	))
]

# METADATA
# title: PIPL export mechanism without a reference to the filing
# description: The CAC assessment, the filed standard contract or the certificate is referenced in transfer.ref.
# custom:
#   clause: PIPL.38
#   severity: error
#   verdict: gap
#   remediation: Record the reference of the CAC filing, assessment or certificate in transfer.ref.
export_mechanism_without_ref(inp) := [f |
	some flow in candidates.border_flows(inp)
	scope.export(flow)
	scope.mechanism(flow) in pipl_mechanisms
	not scope.transfer_of(flow).ref
	f := finding("flow", flow.id, "transfer", msg(
		"flow %s relies on %s but references no filing (transfer.ref)", [flow.id, scope.mechanism(flow)],
	))
]

# METADATA
# title: Export relying on contract necessity — verify the 2024 CAC exemption conditions
# description: >-
#   The CAC Provisions on Promoting and Regulating Cross-Border Data Flows (March 2024) exempt exports
#   necessary to perform a contract with the individual; their conditions are not verified here.
# custom:
#   clause: PIPL.38
#   severity: warning
#   verdict: ambiguous
#   remediation: >-
#     Document why the export is necessary for the contract and that the volumes and data stay within the
#     2024 exemption, or use the standard contract.
export_on_contract_necessity(inp) := [f |
	some flow in candidates.border_flows(inp)
	scope.export(flow)
	scope.mechanism(flow) == "contract_necessity"
	f := finding("flow", flow.id, "transfer.mechanism", msg(
		"flow %s exports Chinese residents' data relying on contract necessity: check the 2024 CAC exemption conditions", [flow.id],
	))
]

# METADATA
# title: Export of Chinese residents' data without their separate consent
# description: >-
#   Art. 39: the individual is told the overseas recipient's identity and contact, purposes, categories and
#   how to exercise rights, and gives a separate consent — transfer.separate_consent citing a consent with
#   mechanism separate and scope cross_border. With a contract or legal-obligation basis (Art. 13), the
#   missing consent is a warning for review (see the warning rule).
# custom:
#   clause: PIPL.39
#   severity: error
#   verdict: violation
#   remediation: >-
#     Add a dedicated consent screen for the export naming the overseas recipient, record it as a consent
#     (mechanism separate, scope cross_border) and cite it in transfer.separate_consent.
export_without_separate_consent(inp) := [f |
	some flow in candidates.border_flows(inp)
	scope.export(flow)
	not scope.separate(flow.separate_consent_info, "cross_border")
	f := consent_finding(flow)
]

non_consent_bases := {"contract", "legal_obligation"}

consent_finding(flow) := finding("flow", flow.id, export_attr(flow), msg(
	"flow %s exports Chinese residents' data to %s without a separate consent to the export (transfer.separate_consent)",
	[flow.id, flow.to],
)) if not scope.basis_kind(flow) in non_consent_bases

consent_finding(flow) := object.union(
	finding("flow", flow.id, export_attr(flow), msg(
		"flow %s exports Chinese residents' data under %s without a separate consent: review whether Art. 39 notice and consent are still needed",
		[flow.id, scope.basis_kind(flow)],
	)),
	{"severity": "warning", "verdict": "ambiguous"},
) if scope.basis_kind(flow) in non_consent_bases

# METADATA
# title: Export without a PI protection impact assessment
# description: >-
#   Art. 55(4) and 56: a personal information protection impact assessment is carried out before providing
#   personal information abroad and kept three years; the inventory references it in transfer.tia_ref.
# custom:
#   clause: PIPL.55
#   severity: error
#   verdict: gap
#   remediation: >-
#     Carry out the PI protection impact assessment for the export, keep it at least three years, and
#     reference it in transfer.tia_ref.
export_without_impact_assessment(inp) := [f |
	some flow in candidates.border_flows(inp)
	scope.export(flow)
	not scope.transfer_of(flow).tia_ref
	f := finding("flow", flow.id, export_attr(flow), msg(
		"flow %s exports Chinese residents' data to %s without a PI protection impact assessment (transfer.tia_ref)",
		[flow.id, flow.to],
	))
]
