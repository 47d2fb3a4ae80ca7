# METADATA
# scope: package
# title: Cross-border transfers — the orphan list of section III (III.1-III.3)
# description: >-
#   Read as the exceptions to a dropped data-localisation rule (interpretation.md 2.1): personal data goes abroad
#   only (1) where laws clearly provide for it, (2) with the user's consent, (3) for cross-border acts of
#   Creality Cloud, with adequate protection. A flow crosses a border when its destination's legal area differs
#   from its source's or from the people its source collects from (pre-joined: flow.crosses_border). Which legal
#   mechanism each law requires is the GDPR/PIPL overlays'; onward transfers are the lineage package's.
package creality.crossborder

import rego.v1

import data.creality.vocab
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.msg

personal_transfer(flow) if {
	flow.crosses_border == true
	some fi in flow.fields_info
	startswith(fi.category, "user.")
	not object.get(fi, "identifiability", "identified") in vocab.unlinkable
}

transfer(flow) := object.get(flow, "transfer", {})

mechanism(flow) := object.get(transfer(flow), "mechanism", "none")

where(flow) := sprintf("%s (%s) -> %s (%s)", [
	flow.from, object.get(flow.from_node, "jurisdiction", "?"),
	flow.to, object.get(flow.to_node, "jurisdiction", "?")])

# METADATA
# title: Cross-border flow of personal data without a transfer block
# description: >-
#   III.3: personal data provided abroad must be "protégées de manière adéquate". A flow that crosses a border
#   without any transfer block does not say on which ground it goes: a missing fact (verdict gap), reported as an
#   error as interpretation.md 2.1 says ("with no transfer block at all, is an error under III.3"): the rule knows
#   the data leaves its subjects' country, and mechanism none (the same fact stated) is an error too.
# custom:
#   clause: III.3
#   severity: error
#   verdict: gap
#   remediation: >-
#     Add a transfer block to the flow: the ground (legal_mandate, consent, contract_necessity or the legal
#     mechanism: scc, adequacy, pipl_standard_contract...) and its reference.
transfer_undeclared(inp) := [f |
	some flow in candidates.border_flows(inp)
	personal_transfer(flow)
	not flow.transfer
	f := finding("flow", flow.id, "to", msg(
		"flow %s takes personal data across a border, %s%s, but declares no transfer ground", [flow.id, where(flow), subjects_note(flow)]))
]

# The people whose border it is, when the source and destination are in the same legal area.
subjects_note(flow) := msg(" for its subjects in %s", [concat(", ", others)]) if {
	vocab.area(flow.from_node.jurisdiction) == vocab.area(flow.to_node.jurisdiction)
	others := [j |
		some j in object.get(flow.from_node, "subject_jurisdictions", [])
		vocab.area(j) != vocab.area(flow.to_node.jurisdiction)
	]
	count(others) > 0
} else := ""

# METADATA
# title: Cross-border flow of personal data with no transfer ground
# description: >-
#   III.1-III.3 are the only grounds the policy gives for sending personal data abroad. A crossing flow whose
#   transfer mechanism is none has none of them.
# custom:
#   clause: III.3
#   severity: error
#   verdict: violation
#   remediation: >-
#     Put a transfer ground in place (a legal mechanism, the user's consent to the transfer, or a legal mandate) and
#     record it in the transfer block, or keep the data in its legal area.
transfer_without_ground(inp) := [f |
	some flow in candidates.border_flows(inp)
	personal_transfer(flow)
	flow.transfer
	mechanism(flow) == "none"
	f := finding("flow", flow.id, "transfer.mechanism", msg(
		"flow %s takes personal data across a border, %s%s, with transfer mechanism none", [flow.id, where(flow), subjects_note(flow)]))
]

# METADATA
# title: Cross-border act relied on by a system other than Creality Cloud
# description: >-
#   III.3 names only "Creality Cloud" as providing personal data abroad for cross-border acts. A contract-necessity
#   transfer by another system is covered only by analogy (interpretation.md 2.2).
# custom:
#   clause: III.3
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Document why the transfer is a cross-border act the user initiated, or have the policy name this service.
cross_border_act_not_creality_cloud(inp) := [f |
	some flow in candidates.border_flows(inp)
	personal_transfer(flow)
	mechanism(flow) == "contract_necessity"
	not contains(lower(object.get(flow, "from_name", "")), "creality cloud")
	f := finding("flow", flow.id, "transfer.mechanism", msg(
		"flow %s relies on a cross-border act, which III.3 grants Creality Cloud; %s is another system",
		[flow.id, flow.from]))
]

weaker(flow) := [w |
	some w in ["encryption_at_rest", "need_to_know"]
	weaker_on(flow.from_security, flow.to_security, w)
]

# TLS is not compared here: a destination below TLS 1.2 is reported once, on that system, by III.I.b.
weaker_on(src, dst, k) if {
	src[k] == true
	dst[k] == false
}

# METADATA
# title: Data sent abroad to a system with weaker protection than its source
# description: >-
#   III.3: "nous nous assurerons que vos informations personnelles sont protégées de manière adéquate". The
#   destination of a cross-border flow must not be weaker than the source on encryption at rest and need-to-know
#   access (a destination accepting TLS below 1.2 is reported once, on that system, under III.I.b).
# custom:
#   clause: III.3
#   severity: warning
#   verdict: violation
#   remediation: >-
#     Bring the destination system's security up to the source's (TLS 1.2+, encryption at rest, need-to-know
#     access) before sending data to it.
destination_weaker(inp) := [f |
	some flow in candidates.border_flows(inp)
	personal_transfer(flow)
	flow.from_security != null
	flow.to_security != null
	ws := weaker(flow)
	count(ws) > 0
	f := finding("flow", flow.id, "to", msg(
		"flow %s sends personal data abroad to %s, which is weaker than %s on %s",
		[flow.id, flow.to, flow.from, concat(", ", ws)]))
]

# METADATA
# title: Transfer on a legal mandate without the provision
# description: >-
#   III.1 "Des dispositions claires sont prévues par les lois et les règlements": a transfer on mechanism
#   legal_mandate must cite the provision (transfer.ref).
# custom:
#   clause: III.1
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Cite the legal provision that mandates the transfer in transfer.ref, or use another ground.
legal_mandate_without_ref(inp) := [f |
	some flow in candidates.flows_where(inp, "mechanism", ["legal_mandate"])
	mechanism(flow) == "legal_mandate"
	object.get(transfer(flow), "ref", "") == ""
	f := finding("flow", flow.id, "transfer.mechanism", msg(
		"flow %s goes abroad on a legal mandate but cites no provision (transfer.ref)", [flow.id]))
]

# METADATA
# title: Transfer on consent without a real consent to the transfer
# description: >-
#   III.2 "Nous avons obtenu votre autorisation et votre consentement": a transfer on mechanism consent or
#   art49_consent cites a consent (transfer.separate_consent) whose scope includes cross_border and which is a real
#   consent (not acceptance of the policy, not a pre-ticked box).
# custom:
#   clause: III.2
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Collect a consent to the transfer abroad (scope cross_border, opt-in or separate), record it and cite it in
#     transfer.separate_consent.
consent_transfer_without_consent(inp) := [f |
	some flow in candidates.flows_where(inp, "mechanism", ["consent", "art49_consent"])
	mechanism(flow) in {"consent", "art49_consent"}
	problem := consent_problem(flow.separate_consent_info)
	f := finding("flow", flow.id, consent_attr(flow), msg(
		"flow %s goes abroad on the user's consent, but %s", [flow.id, problem]))
]

consent_problem(null) := msg("cites no consent (transfer.separate_consent)", [])

consent_problem(c) := msg("consent %s does not cover transfers abroad (scope %s)", [c.id, concat(", ", c.scope)]) if {
	c != null
	not "cross_border" in c.scope
}

consent_problem(c) := msg("consent %s was obtained by %s, which is not consent", [c.id, c.mechanism]) if {
	c != null
	"cross_border" in c.scope
	not vocab.real_consent(c)
}

consent_attr(flow) := "transfer.separate_consent" if flow.separate_consent_info != null

else := "transfer.mechanism"
