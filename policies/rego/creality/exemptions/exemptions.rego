# METADATA
# scope: package
# title: Exemptions from consent — the eleven circumstances of II.IV.3
# description: >-
#   A flow may rely on one of the eleven circumstances in which "votre autorisation n'est pas requise pour la
#   collecte" (legal_basis.kind exemption, legal_basis.exemption "II.IV.3(n)", legal_basis.evidence_ref). The
#   exemption covers collection only: never marketing, advertising or sale, and onward disclosure only where the
#   item implies a recipient (interpretation.md 2.6). Each item adds its own conditions.
package creality.exemptions

import rego.v1

import data.creality.vocab
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.and_join
import data.lib.findings.msg

exempt(flow) if flow.legal_basis.kind == "exemption"

item(flow) := object.get(flow.legal_basis, "exemption", "")

cites(flow, n) if {
	exempt(flow)
	item(flow) == sprintf("II.IV.3(%d)", [n])
}

valid_items := {sprintf("II.IV.3(%d)", [n]) | some n in numbers.range(1, 11)}

evidence(flow) := object.get(flow.legal_basis, "evidence_ref", "")

first_party_or_processor(flow) if flow.to_node.operator in {"first_party", "processor"}

# METADATA
# title: Exemption cited without naming the circumstance
# description: >-
#   A flow relying on an exemption must say which of the eleven circumstances of II.IV.3 applies
#   (legal_basis.exemption, "II.IV.3(1)" to "II.IV.3(11)").
# custom:
#   clause: II.IV.3
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Set legal_basis.exemption to the exact item relied on, or use consent or another basis.
exemption_unnamed(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	exempt(flow)
	not item(flow) in valid_items
	f := finding("flow", flow.id, "legal_basis", msg(
		"flow %s relies on an exemption from consent but names no circumstance of II.IV.3 (exemption: '%s')",
		[flow.id, item(flow)]))
]

# METADATA
# title: Exemption cited without evidence
# description: >-
#   An exemption is a claim that consent was not needed; the evidence that the circumstance holds (the authority's
#   request, the legitimate-interest or data-use agreement, the statute) must be referenced in
#   legal_basis.evidence_ref. Items (2) and (11), whose catalogue checks name the evidence (the legal provision
#   or the authority's request; the statute), have their own rules, which cite those items.
# custom:
#   clause: II.IV.3
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Reference the evidence for the exemption (request, agreement, assessment) in legal_basis.evidence_ref.
exemption_without_evidence(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	exempt(flow)
	item(flow) in valid_items
	not item(flow) in {"II.IV.3(2)", "II.IV.3(11)"}
	evidence(flow) == ""
	f := finding("flow", flow.id, "legal_basis", msg(
		"flow %s relies on exemption %s without evidence (legal_basis.evidence_ref)",
		[flow.id, item(flow)]))
]

# METADATA
# title: Exemption from consent cited for marketing, advertising, partner analytics or sale
# description: >-
#   II.IV.3 waives authorisation "pour la collecte". It never covers marketing messages, advertising, ad
#   measurement, partners' own analytics or commercial use of data: those need consent (II.IV.1.a) or a declared
#   purpose.
# custom:
#   clause: II.IV.3
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Collect consent for the marketing or advertising use and cite it; an exemption from consent cannot cover it.
exemption_for_marketing(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	exempt(flow)
	vocab.no_exemption_use(flow.purpose_info)
	f := finding("flow", flow.id, "legal_basis.exemption", msg(
		"flow %s cites exemption %s for purpose %s, %s; exemptions cover collection only",
		[flow.id, item(flow), flow.purpose, no_exemption_reason(flow.purpose_info)]))
]

no_exemption_reason(p) := msg("%s purpose (%s)", [use_kind(p.policy_purpose), p.policy_purpose]) if {
	vocab.no_exemption_use({"policy_purpose": p.policy_purpose})
} else := msg("whose data use %s is marketing or sales", [vocab.data_use(p)])

use_kind("PARTNER.ANALYTICS") := msg("a partner analytics", [])

use_kind("MKT.MESSAGES") := msg("a marketing", [])

use_kind("DEID.COMMERCIAL") := msg("a commercial", [])

use_kind(x) := msg("an advertising", []) if x in {"COOKIE.ADS", "PARTNER.ADS", "PARTNER.AD_MEASURE"}

# METADATA
# title: Collection exemption used to disclose data to an outside recipient
# description: >-
#   Items (4) to (9) of II.IV.3 waive consent for collection and imply no outside recipient. A flow citing one of
#   them that sends data to a third party (neither Creality nor a processor) needs review.
# custom:
#   clause: II.IV.3
#   severity: warning
#   verdict: ambiguous
#   remediation: >-
#     Keep data collected under this exemption inside Creality and its processors, or document why the disclosure
#     is covered (and have the DPO confirm it).
exemption_disclosed_outside(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	some n in numbers.range(4, 9)
	cites(flow, n)
	not first_party_or_processor(flow)
	f := finding("flow", flow.id, "to", msg(
		"flow %s discloses data to %s (%s) under %s, which waives consent for collection only: needs review",
		[flow.id, flow.to, flow.to_node.operator, item(flow)]))
]

# authority_problems(flow): the conditions of items (1) and (3) that fail (an authority recipient, on request),
# each named, as vital_problems does.
authority_problems(flow) := array.concat(
	[p |
		flow.to_node.role != "authority"
		p := msg("the recipient %s is not an authority (role %s)", [flow.to, object.get(flow.to_node, "role", "none")])
	],
	[p |
		object.get(flow, "trigger", "") != "legal_request"
		p := msg("it is not made on request (trigger %s, expected legal_request)", [object.get(flow, "trigger", "none")])
	],
)

authority_findings(inp, n) := [f |
	some flow in inp.flows
	cites(flow, n)
	probs := authority_problems(flow)
	count(probs) > 0
	f := finding("flow", flow.id, "legal_basis.exemption", msg(
		"flow %s cites %s but %s", [flow.id, item(flow), and_join(probs)]))
]

# METADATA
# title: National-security exemption outside a request from an authority
# description: >-
#   II.IV.3(1) (national security and defence) implies a disclosure to the competent authority, on its request:
#   the recipient has role authority and the flow has trigger legal_request. Standing exports need review.
# custom:
#   clause: II.IV.3(1)
#   severity: warning
#   verdict: ambiguous
#   remediation: >-
#     Record the authority's request in legal_basis.evidence_ref, set trigger legal_request, and replace standing
#     exports with per-request disclosures.
national_security_exemption(inp) := authority_findings(inp, 1)

# METADATA
# title: Public-interest exemption with a recipient other than an authority
# description: >-
#   II.IV.3(2) (public safety, public health, major public interest) implies the competent authority as recipient;
#   other recipients need review.
# custom:
#   clause: II.IV.3(2)
#   severity: warning
#   verdict: ambiguous
#   remediation: >-
#     Restrict the recipients to the competent authority and record the legal ground in legal_basis.evidence_ref.
public_interest_exemption(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	cites(flow, 2)
	flow.to_node.role != "authority"
	not first_party_or_processor(flow)
	f := finding("flow", flow.id, "to", msg(
		"flow %s cites %s but sends data to %s (role %s), not an authority: needs review",
		[flow.id, item(flow), flow.to, object.get(flow.to_node, "role", "none")]))
]

# METADATA
# title: Public-interest exemption without the legal provision or request it rests on
# description: >-
#   II.IV.3(2) (public safety, public health, major public interest) holds only where a legal provision or an
#   authority's request makes the collection necessary: the flow's legal_basis.evidence_ref names it.
# custom:
#   clause: II.IV.3(2)
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Reference the legal provision or the authority's request in legal_basis.evidence_ref, or use another basis.
public_interest_without_evidence(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	cites(flow, 2)
	evidence(flow) == ""
	f := finding("flow", flow.id, "legal_basis", msg(
		"flow %s relies on exemption %s (public interest) without naming the legal provision or authority request (legal_basis.evidence_ref)",
		[flow.id, item(flow)]))
]

# METADATA
# title: Criminal-investigation exemption outside a request from an authority
# description: >-
#   II.IV.3(3) (criminal investigation, prosecution, trial, enforcement) covers answering an authority's warrant
#   or requisition: recipient with role authority, trigger legal_request.
# custom:
#   clause: II.IV.3(3)
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Attach the warrant or court-order reference, send only to the requesting authority and only per request.
criminal_investigation_exemption(inp) := authority_findings(inp, 3)

# METADATA
# title: Vital-interest exemption used routinely or without showing consent was impracticable
# description: >-
#   II.IV.3(4) covers protecting life or property "mais il est difficile d'obtenir votre consentement": the flow
#   states legal_basis.consent_impracticable true and is one-off (trigger incident or user_action).
# custom:
#   clause: II.IV.3(4)
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Document why consent could not be obtained (consent_impracticable), limit the flow to the incident, or ask
#     for consent.
vital_interest_exemption(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	cites(flow, 4)
	probs := vital_problems(flow)
	count(probs) > 0
	f := finding("flow", flow.id, "legal_basis.exemption", msg(
		"flow %s cites %s but %s", [flow.id, item(flow), and_join(probs)]))
]

# vital_problems(flow): the conditions of II.IV.3(4) that fail, each named (never one that holds).
vital_problems(flow) := array.concat(
	[p |
		not object.get(flow.legal_basis, "consent_impracticable", false) == true
		p := msg("does not state that consent could not be obtained (consent_impracticable: %s)", [object.get(flow.legal_basis, "consent_impracticable", null)])
	],
	[p |
		not object.get(flow, "trigger", "") in {"incident", "user_action"}
		p := msg("is not one-off (trigger %s; incident or user_action expected)", [object.get(flow, "trigger", null)])
	],
)

collection_findings(inp, n, wanted) := [f |
	some flow in inp.flows
	cites(flow, n)
	some i
	fi := flow.fields_info[i]
	object.get(fi, "collection", "") != wanted
	f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"flow %s cites %s but carries %s, collected as %s, not %s",
		[flow.id, item(flow), fi.id, object.get(fi, "collection", "(unknown)"), wanted]))
]

# METADATA
# title: Made-public exemption for data the user did not make public
# description: >-
#   II.IV.3(5) covers "les informations collectées [qui] sont rendues publiques par vous-même": every field of the
#   flow has collection public_by_user.
# custom:
#   clause: II.IV.3(5)
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Remove the non-public fields from the flow or find another basis for them.
self_published_exemption(inp) := collection_findings(inp, 5, "public_by_user")

# METADATA
# title: Lawful-public-source exemption for data not from a public source
# description: >-
#   II.IV.3(6) covers "informations légalement divulguées publiquement": every field of the flow has collection
#   public_record.
# custom:
#   clause: II.IV.3(6)
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Remove the fields that do not come from a lawful public source, or find another basis for them.
public_record_exemption(inp) := collection_findings(inp, 6, "public_record")

# METADATA
# title: Contract exemption for a purpose the contract does not need
# description: >-
#   II.IV.3(7) covers what is "nécessaires à la signature des contrats que vous avez demandés": the flow's purpose
#   is core (purpose.core true: order, payment, delivery, account) and neither marketing nor analytics.
# custom:
#   clause: II.IV.3(7)
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Cite the exemption only for flows needed to perform the user's order or account; use consent for the rest.
contract_exemption(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	cites(flow, 7)
	probs := contract_problems(flow.purpose_info)
	count(probs) > 0
	f := finding("flow", flow.id, "purpose", msg(
		"flow %s cites %s for purpose %s, which is not needed to perform a contract the user asked for: %s",
		[flow.id, item(flow), flow.purpose, and_join(probs)]))
]

# contract_problems(p): why a purpose is not one a requested contract needs, each reason named.
contract_problems(p) := array.concat(
	array.concat(
		[x | not object.get(p, "core", null) == true; x := msg("it is not core (purpose.core: %s)", [object.get(p, "core", null)])],
		[x | vocab.marketing_use(p); x := msg("it is a marketing purpose", [])],
	),
	[x | vocab.analytics_use(p); x := msg("it is an analytics purpose", [])],
)

# METADATA
# title: Security-and-faults exemption used beyond security and fault handling
# description: >-
#   II.IV.3(8) covers what is "nécessaires pour préserver la sécurité et la stabilité des opérations ..., telles que
#   la recherche et la gestion des défaillances": a SECURITY or FAULT purpose, carrying device, log and network data
#   only.
# custom:
#   clause: II.IV.3(8)
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Restrict the flow to fault and security handling with device, log and network fields; use another basis for
#     the rest.
security_exemption(inp) := array.concat(
	[f |
		some flow in candidates.flows_where(inp, "basis", ["exemption"])
		cites(flow, 8)
		not flow.purpose_info.policy_purpose in vocab.fault_purposes
		f := finding("flow", flow.id, "purpose", msg(
			"flow %s cites %s for purpose %s, whose policy purpose is %s, not security or fault handling (SECURITY, FAULT)",
			[flow.id, item(flow), flow.purpose, object.get(flow.purpose_info, "policy_purpose", null)]))
	],
	[f |
		some flow in candidates.flows_where(inp, "basis", ["exemption"])
		cites(flow, 8)
		some i
		fi := flow.fields_info[i]
		not vocab.cat(fi).fault_allowed # not vocab.in_any(fi.category, vocab.fault_allowed), tabulated
		f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
			"flow %s cites %s but carries %s (%s), not device, log or network data",
			[flow.id, item(flow), fi.id, fi.category]))
	],
)

# METADATA
# title: Security-and-faults exemption relied on for Chinese subjects
# description: >-
#   II.IV.3(8) copies GB/T 35273; PIPL Art. 13, binding since 2021, has no counterpart for it. For data of people in
#   China it needs review: document a PIPL basis (usually contract necessity) or collect consent.
# custom:
#   clause: II.IV.3(8)
#   severity: warning
#   verdict: ambiguous
#   remediation: >-
#     For Chinese subjects, document the PIPL Art. 13 basis (contract necessity) in evidence_ref or collect consent.
security_exemption_cn_subjects(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	cites(flow, 8)
	"CN" in object.get(flow, "data_subject_jurisdictions", [])
	f := finding("flow", flow.id, "legal_basis.exemption", msg(
		"flow %s carries data of people in China under %s, which PIPL Art. 13 does not provide for: needs review",
		[flow.id, item(flow)]))
]

# METADATA
# title: News-reporting exemption cited by Creality
# description: >-
#   II.IV.3(9) "à des fins légitimes de diffusion d'informations" mistranslates GB/T 35273's "legitimate news
#   reporting". Creality is not a news organisation: any citation needs review (a DPO can waive the finding).
# custom:
#   clause: II.IV.3(9)
#   severity: warning
#   verdict: ambiguous
#   remediation: >-
#     Cite another basis (consent or a relevant exemption); the news-reporting exemption does not fit a
#     3D-printing company. If the DPO accepts it, record a waiver.
news_exemption(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	cites(flow, 9)
	f := finding("flow", flow.id, "legal_basis.exemption", msg(
		"flow %s cites %s (news reporting), which does not apply to Creality: needs review", [flow.id, item(flow)]))
]

# METADATA
# title: Research exemption for a recipient that is not a research institute or for identifiable data
# description: >-
#   II.IV.3(10) covers what academic research institutes need for public-interest statistical or academic research,
#   with de-identified results: the recipient has role research_institute and every field is de-identified,
#   anonymous or aggregate. Creality's own commercial research cannot cite it.
# custom:
#   clause: II.IV.3(10)
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Send only de-identified or aggregate data, and only to the research institute; use another basis for
#     in-house research.
research_exemption(inp) := array.concat(
	[f |
		some flow in candidates.flows_where(inp, "basis", ["exemption"])
		cites(flow, 10)
		flow.to_node.role != "research_institute"
		f := finding("flow", flow.id, "to", msg(
			"flow %s cites %s but %s is not a research institute (role %s)",
			[flow.id, item(flow), flow.to, object.get(flow.to_node, "role", "none")]))
	],
	[f |
		some flow in candidates.flows_where(inp, "basis", ["exemption"])
		cites(flow, 10)
		some i
		flow.fields_info[i]
		fi := vocab.carried(flow, i)
		not research_output(fi)
		f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
			"flow %s cites %s but carries %s, %s",
			[flow.id, item(flow), fi.id, not_research_output_reason(fi)]))
	],
)

# research_output(fi): de-identified results (II.IV.3(10) "dépersonnaliser les informations contenues dans les
# résultats"): de-identified, anonymous or aggregate, and not a direct identifier that still identifies.
research_output(fi) if {
	object.get(fi, "identifiability", "identified") in vocab.deidentified_levels
	not vocab.identifying_direct_id(fi)
}

not_research_output_reason(fi) := msg("a direct identifier (%s, %s) whatever its stated identifiability (%s)", [
	fi.category, object.get(fi, "protection", "plain"), fi.identifiability,
]) if {
	object.get(fi, "identifiability", "identified") in vocab.deidentified_levels
} else := msg("which is %s, not de-identified", [object.get(fi, "identifiability", msg("identified (not stated)", []))])

# METADATA
# title: Exemption for other legal circumstances without the statute
# description: >-
#   II.IV.3(11) "d'autres circonstances stipulées par les lois et règlements" is only as good as the provision it
#   cites: legal_basis.evidence_ref must name the statute and article.
# custom:
#   clause: II.IV.3(11)
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Cite the precise legal provision in legal_basis.evidence_ref, or use another basis.
other_legal_exemption(inp) := [f |
	some flow in candidates.flows_where(inp, "basis", ["exemption"])
	cites(flow, 11)
	evidence(flow) == ""
	f := finding("flow", flow.id, "legal_basis", msg(
		"flow %s cites %s without the statute it relies on (legal_basis.evidence_ref)", [flow.id, item(flow)]))
]
