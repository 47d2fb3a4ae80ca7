# METADATA
# scope: package
# title: Purposes — use limitation and the closed world of declared purposes (I.a, II.IV.2.e)
package creality.purposes

import rego.v1

import data.creality.vocab
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.msg

# METADATA
# title: Personal data collected for no purpose
# description: >-
#   Section I data is collected "principalement pour faciliter l'utilisation des services": every field
#   must be collected for at least one declared purpose.
# custom:
#   clause: I.a
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Add the purposes the field serves under `purposes`, or stop collecting it.
field_without_purpose(inp) := [f |
	some field in inp.fields
	count(object.get(field, "purposes", [])) == 0
	f := finding("field", field.id, "id", msg("field %s is collected for no purpose", [field.id]))
]

# METADATA
# title: Data used for a purpose the policy does not declare, without prior consent
# description: >-
#   II.IV.2.e: "Nous vous demanderons votre consentement au préalable si vos informations sont utilisées
#   à d'autres fins non spécifiées". A flow carrying personal data (not only anonymous or aggregate data) whose
#   purpose is not one the policy declares needs a real consent (opt-in, separate or banner — not policy acceptance
#   or a pre-ticked box) for that purpose. A flow citing a II.IV.3 exemption is judged by the exemption validator.
# custom:
#   clause: II.IV.2.e
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Map the purpose to a purpose the policy declares (`policy_purpose`), or collect a prior opt-in consent
#     for it and cite it in the flow's `legal_basis.consent`.
undeclared_purpose_flow(inp) := [f |
	some flow in inp.flows
	not vocab.declared(flow.purpose_info)
	not flow_consented(flow)
	not exempted(flow)
	carries_personal(flow)
	f := finding("flow", flow.id, "purpose", msg(
		"flow %s sends data to %s for purpose %s, which the policy does not declare, without prior consent",
		[flow.id, flow.to, flow.purpose]))
]

# METADATA
# title: Field collected for an undeclared purpose without prior consent
# description: >-
#   II.IV.2.e applies at collection too: a personal-data field whose purposes include one the policy does not
#   declare needs a real consent for that purpose — unless every flow using the field for that purpose cites a
#   II.IV.3 exemption, which is then judged where it is cited (the same clause, the same verdict at both levels).
#   Anonymous and aggregate data is not "vos informations".
# custom:
#   clause: II.IV.2.e
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Map the purpose to a declared policy purpose, or collect a prior opt-in consent for it.
undeclared_purpose_field(inp) := [f |
	some field in inp.fields
	infos := object.get(field, "purposes_info", [])
	some i
	p := infos[i]
	# vocab.declared(p) inlined (most are declared: the cheapest test first). object.get, not p.policy_purpose:
	# real OPA evaluates a ref's index before the `not`, so an absent policy_purpose would fail the whole body.
	not vocab.policy_purposes[object.get(p, "policy_purpose", null)]
	linkable_personal(field)
	exempted_purposes := object.get(field, "exempted_purposes", [])
	not vocab.consented(p.consents, p.id)
	not p.id in exempted_purposes
	f := finding("field", field.id, sprintf("purposes.%d", [i]), msg(
		"field %s is collected for purpose %s, which the policy does not declare, without prior consent",
		[field.id, p.id]))
]

# linkable_personal(x): personal data that still singles a person out (II.IV.2.e "vos informations"; anonymous and
# aggregate data are outside it, interpretation.md 2.4). A field without a category or identifiability counts.
linkable_personal(x) if {
	startswith(object.get(x, "category", "user."), "user.")
	not object.get(x, "identifiability", "identified") in vocab.unlinkable
}

carries_personal(flow) if {
	some fi in flow.fields_info
	linkable_personal(fi)
}

flow_consented(flow) if {
	flow.consent_info.purpose == flow.purpose
	flow.consent_info.mechanism in vocab.valid_mechanisms
}

# A flow citing an exemption from consent (II.IV.3) is judged by the exemptions package, not as missing consent.
exempted(flow) if flow.legal_basis.kind == "exemption"

basis(flow) := object.get(flow, "legal_basis", {})

mkt(flow) if flow.purpose_info.policy_purpose == "MKT.MESSAGES"

# METADATA
# title: Marketing messages without a consent for that purpose
# description: >-
#   II.IV.1.a: "Si vous y consentez, nous pouvons ... vous envoyer des informations commerciales par courrier
#   électronique, SMS ou autre". A flow for a MKT.MESSAGES purpose must rely on a consent (legal_basis.kind
#   consent) given for that same purpose. The policy promises consent even where French soft opt-in would not
#   need it: the policy wins.
# custom:
#   clause: II.IV.1.a
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Collect an explicit opt-in for marketing messages, record it as a consent for this purpose, and cite it in
#     the flow's legal_basis.consent; stop the sending until then.
marketing_without_consent(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["MKT.MESSAGES"])
	mkt(flow)
	not consent_for_purpose(flow)
	f := finding("flow", flow.id, "legal_basis", msg(
		"flow %s sends data for marketing purpose %s without citing a consent for that purpose (legal basis: %s)",
		[flow.id, flow.purpose, object.get(basis(flow), "kind", "none")]))
]

consent_for_purpose(flow) if {
	basis(flow).kind == "consent"
	flow.consent_info.purpose == flow.purpose
}

# METADATA
# title: Marketing consent that is not a real consent (bundled acceptance or pre-ticked box)
# description: >-
#   II.IV.1.a needs the user's consent. Accepting the privacy policy (which IV.d makes a condition of using the
#   device) or a pre-ticked box is not consent (interpretation.md 2.8; GDPR Art. 4(11), CJEU Planet49); a banner
#   toggle is not a per-channel opt-in for messages either. Only opt_in or separate consents count here.
# custom:
#   clause: II.IV.1.a
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Replace the bundled consent with an unticked, per-channel opt-in (mechanism opt_in), keep its proof, and
#     re-ask the users concerned before sending again.
marketing_bundled_consent(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["MKT.MESSAGES"])
	mkt(flow)
	consent_for_purpose(flow)
	not flow.consent_info.mechanism in {"opt_in", "separate"}
	f := finding("flow", flow.id, "legal_basis.consent", msg(
		"flow %s relies on consent %s, obtained by %s: not a consent to marketing messages",
		[flow.id, flow.consent_info.id, flow.consent_info.mechanism]))
]

# METADATA
# title: Marketing message sent on a channel the consent does not cover
# description: >-
#   II.IV.1.a names the channels ("courrier électronique, SMS ou autre"): consent is per channel. A flow that
#   sends a message by email, SMS, push or phone needs a consent whose channels include that channel (or any).
#   Internal feeds (batch, api) that prepare a campaign are not judged on channel.
# custom:
#   clause: II.IV.1.a
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Collect a consent for this channel (add it to the consent's channels only if users really agreed to it), or
#     send on a channel they consented to.
marketing_channel_not_consented(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["MKT.MESSAGES"])
	mkt(flow)
	consent_for_purpose(flow)
	ch := object.get(flow, "channel", "")
	ch in vocab.message_channels
	chans := object.get(flow.consent_info, "channels", [])
	not ch in chans
	not "any" in chans
	f := finding("flow", flow.id, "channel", msg(
		"flow %s sends marketing by %s, but consent %s covers only %s",
		[flow.id, ch, flow.consent_info.id, concat(", ", chans)]))
]

# METADATA
# title: Marketing consent that cannot be withdrawn
# description: >-
#   A consent that "si vous y consentez" relies on must stay a choice: a marketing consent recorded with
#   withdrawal false does not let the user stop the messages, so every message after the user changed their mind is
#   sent without consent (GDPR Art. 7(3): withdrawing is as easy as consenting; the catalogue's check asks
#   withdrawal true): an error. A consent with no withdrawal fact is a gap, a warning (overridden per finding).
# custom:
#   clause: II.IV.1.a
#   severity: error
#   verdict: violation
#   remediation: >-
#     Offer an unsubscribe link or setting for the channel and record withdrawal true on the consent.
marketing_consent_not_withdrawable(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["MKT.MESSAGES"])
	mkt(flow)
	consent_for_purpose(flow)
	wd := object.get(flow.consent_info, "withdrawal", null)
	wd != true
	base := finding("flow", flow.id, "legal_basis.consent", withdrawal_message(flow, wd))
	f := withdrawal_verdict(base, wd)
]

withdrawal_message(flow, false) := msg(
	"flow %s relies on consent %s, which cannot be withdrawn (withdrawal: false)", [flow.id, flow.consent_info.id])

withdrawal_message(flow, null) := msg(
	"flow %s relies on consent %s; whether it can be withdrawn is not recorded (consent.withdrawal)",
	[flow.id, flow.consent_info.id])

withdrawal_verdict(f, false) := f

withdrawal_verdict(f, null) := object.union(f, {"verdict": "gap", "severity": "warning"})

# The flow that *is* the message: a marketing flow on a channel that reaches the person (email, SMS, push, phone).
message_flow(flow) if {
	mkt(flow)
	object.get(flow, "channel", "") in vocab.message_channels
}

suppression(flow) := object.get(flow, "suppression", {})

# METADATA
# title: Marketing message sent without stating how withdrawals are honoured
# description: >-
#   II.IV.1.a: messages are sent "si vous y consentez"; once the user withdraws, the consent is gone. Whether a
#   message flow checks a withdrawal (suppression) list before sending, and how fast a withdrawal reaches it, is the
#   fact that answers "is the newsletter still sent after the user withdrew?" (flow.suppression: list_ref,
#   checked_before_send, propagation_hours). Missing, it cannot pass: a gap, one per missing fact.
# custom:
#   clause: II.IV.1.a
#   severity: warning
#   verdict: gap
#   remediation: >-
#     State on the message flow the suppression list the sender checks (suppression.list_ref), that every send is
#     checked against it (checked_before_send) and the longest delay for a withdrawal to reach it
#     (propagation_hours).
suppression_unknown(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["MKT.MESSAGES"])
	message_flow(flow)
	some key in ["list_ref", "checked_before_send", "propagation_hours"]
	not key in object.keys(suppression(flow))
	f := object.union(finding("flow", flow.id, suppression_attr(flow), msg(
		"flow %s sends marketing by %s but does not state suppression.%s: whether people who withdrew are still messaged is unknown",
		[flow.id, flow.channel, key])), {"key": key})
]

suppression_attr(flow) := "suppression" if flow.suppression

else := "channel"

# METADATA
# title: Marketing message not checked against the withdrawal list
# description: >-
#   II.IV.1.a: "Si vous y consentez, nous pouvons ... vous envoyer des informations commerciales". A message flow
#   whose sends are not checked against the suppression list (checked_before_send false) keeps messaging people who
#   withdrew their consent: a message without consent.
# custom:
#   clause: II.IV.1.a
#   severity: error
#   verdict: violation
#   remediation: >-
#     Make the sending tool filter every send through the suppression list (the CRM's unsubscribe list, the SMS
#     gateway's STOP list) and set checked_before_send true; stop the campaign until then.
suppression_not_checked(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["MKT.MESSAGES"])
	message_flow(flow)
	suppression(flow).checked_before_send == false
	f := finding("flow", flow.id, "suppression.checked_before_send", msg(
		"flow %s sends marketing by %s without checking the withdrawal list (checked_before_send: false): people who withdrew are still messaged",
		[flow.id, flow.channel]))
]

# METADATA
# title: Withdrawal reaching the marketing sender too slowly
# description: >-
#   II.IV.1.a: a message sent after the user withdrew is sent without consent. A withdrawal that takes longer than 48
#   hours to reach the list the sender checks lets scheduled campaigns reach people who withdrew
#   (vocab.max_withdrawal_propagation_hours; the figure is a judgement, docs/interpretation.md 2.20: warning).
# custom:
#   clause: II.IV.1.a
#   severity: warning
#   verdict: violation
#   remediation: >-
#     Sync withdrawals to the sender's suppression list at least daily (better: at once, through the tool's API), and
#     record the new delay in suppression.propagation_hours.
withdrawal_propagation_slow(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["MKT.MESSAGES"])
	message_flow(flow)
	hours := suppression(flow).propagation_hours
	hours > vocab.max_withdrawal_propagation_hours
	f := finding("flow", flow.id, "suppression.propagation_hours", msg(
		"flow %s sends marketing by %s, but a withdrawal takes up to %v hours to reach its suppression list (at most %d)",
		[flow.id, flow.channel, hours, vocab.max_withdrawal_propagation_hours]))
]

# METADATA
# title: Commercial messages declared under a purpose that needs no consent
# description: >-
#   II.IV.1.a: commercial messages by e-mail, SMS or push are sent "si vous y consentez". A message flow whose
#   purpose says, by its fideslang data use, that it is marketing communication (marketing.communications.*) but is
#   mapped to a policy purpose that needs no consent (a "survey" with discount offers under SURVEY, a paid-plan push
#   under UPDATE) is a commercial message relabelled: it needs the marketing consent all the same.
# custom:
#   clause: II.IV.1.a
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Map the purpose to MKT.MESSAGES and send only under a per-channel opt-in, or take the commercial content out
#     of the survey or update message.
marketing_relabelled(inp) := [f |
	some flow in inp.flows
	startswith(vocab.data_use(flow.purpose_info), "marketing.communications")
	not mkt(flow)
	object.get(flow, "channel", "") in vocab.message_channels
	not real_marketing_consent(flow)
	f := finding("flow", flow.id, "purpose", msg(
		"flow %s sends %s messages whose purpose %s is marketing (data_use %s) but is declared as %s, without a marketing consent",
		[flow.id, flow.channel, flow.purpose, vocab.data_use(flow.purpose_info), object.get(flow.purpose_info, "policy_purpose", "an undeclared purpose")]))
]

real_marketing_consent(flow) if {
	consent_for_purpose(flow)
	flow.consent_info.mechanism in {"opt_in", "separate"}
}

# METADATA
# title: Contact data given to a third party for marketing
# description: >-
#   II.IV.1.b: messages may promote "les biens et services ... de notre part ou de la part de tiers". Promoting
#   third parties' goods does not allow giving them the user's contact details: such messages are sent by
#   Creality or its processors.
# custom:
#   clause: II.IV.1.b
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Send third-party promotions from Creality's own or a processor's mailing system; remove contact fields from
#     the marketing flow to the third party.
marketing_contact_to_third_party(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["MKT.MESSAGES"])
	mkt(flow)
	flow.to_node.operator == "third_party"
	some i
	fi := flow.fields_info[i]
	vocab.in_tree(fi.category, "user.contact")
	f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"flow %s gives %s (%s) to third party %s for marketing purpose %s",
		[flow.id, fi.id, fi.category, flow.to, flow.purpose]))
]

# METADATA
# title: Cross-service personalisation that reaches a third party
# description: >-
#   II.IV.2.a: information from one Creality service may be used in other Creality services ("Creativity" is a
#   typo for Creality). Personalisation data reaching a system or partner run by a third party is outside that
#   permission (processors acting for Creality are inside it).
# custom:
#   clause: II.IV.2.a
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Keep cross-service personalisation inside Creality's systems and processors; obtain consent (II.IV.2.e) for
#     the third party or stop the flow.
personalisation_to_third_party(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["PERSONALIZE.XSERVICE"])
	flow.purpose_info.policy_purpose == "PERSONALIZE.XSERVICE"
	flow.to_node.operator == "third_party"
	not flow_consented(flow)
	f := finding("flow", flow.id, "to", msg(
		"flow %s uses data for cross-service personalisation at %s, which is run by a third party, not a Creality service",
		[flow.id, flow.to]))
]

# METADATA
# title: Survey run through a third party
# description: >-
#   II.IV.2.b: "nous pouvons vous faire participer à des enquêtes" to improve Creality's services. Surveys sent by
#   a third party for its own purposes are covered only vaguely (processors running the survey for Creality are
#   fine).
# custom:
#   clause: II.IV.2.b
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Run the survey with Creality's own tools or a processor under contract, or ask for consent to share the data.
survey_by_third_party(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["SURVEY"])
	flow.purpose_info.policy_purpose == "SURVEY"
	flow.to_node.operator == "third_party"
	f := finding("flow", flow.id, "to", msg(
		"flow %s sends survey data to third party %s; II.IV.2.b covers surveys by Creality",
		[flow.id, flow.to]))
]

# METADATA
# title: Software-update flow carrying more than device data
# description: >-
#   II.IV.2.c: information may be used "pour des mises à jour logicielles". An update check needs device data
#   (model, firmware version, settings); contact, account or content data on an update flow is beyond that purpose.
# custom:
#   clause: II.IV.2.c
#   severity: warning
#   verdict: incorrect
#   remediation: >-
#     Keep update flows to device and software data; send anything else under its own purpose.
update_beyond_device_data(inp) := [f |
	some flow in candidates.flows_where(inp, "policy_purpose", ["UPDATE"])
	flow.purpose_info.policy_purpose == "UPDATE"
	some i
	fi := flow.fields_info[i]
	startswith(fi.category, "user.")
	not vocab.in_any(fi.category, ["user.device", "user.telemetry"])
	f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"update flow %s carries %s (%s), which a software update does not need",
		[flow.id, fi.id, fi.category]))
]
