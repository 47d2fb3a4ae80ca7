# METADATA
# scope: package
# title: Lineage — what reaches whom through intermediate systems (II.III.a, II.IV.2.e, II.IV.2.d, III.3, IV.a)
# description: >-
#   Rules over the facts the lineage graph attaches to the flow that completes a path (its last hop):
#   lineage_reach (a field reaching a recipient outside Creality, with its path and coverage, from the first hop
#   on), lineage_borders (subjects' data crossing a border the flow's own endpoints do not show), lineage_rejoins
#   (de-identified data meeting an identifier), lineage_implied (a field a flow carries although its source neither
#   declares nor receives it) and lineage_cycle (a sync loop). An identifier the flow's source declares, sent
#   straight to a partner, is the direct rule's (creality.cookies.direct_id_to_partner).
package creality.lineage

import rego.v1

import data.creality.vocab
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.msg
import data.lib.findings.with_evidence
import data.lib.findings.with_key

# Candidate roles of II.III.a's partners (vocab.cookie_partner decides: a social or other partner only when it
# places trackers).
sharing_roles := vocab.tracking_roles

unlinkable := {"anonymous", "aggregate"}

# Transfer mechanisms that give adequate protection for the data of subjects of a legal area (III.3 "sous réserve
# des lois ... nationales"). Other subject jurisdictions: any declared mechanism other than none.
regimes := {
	"EU": {
		"adequacy", "scc", "bcr", "certification", "code_of_conduct", "art49_consent", "art49_contract",
		"legal_mandate", "consent",
	},
	"CN": {
		"cac_assessment", "pipl_standard_contract", "pipl_certification", "contract_necessity",
		"legal_mandate", "consent",
	},
}

consent_mechanisms := {"consent", "art49_consent"}

# METADATA
# title: Direct identifier reaches an advertising or analytics partner through intermediate systems
# description: >-
#   II.III.a: partners' cookies collect "des informations non personnellement identifiables". A direct identifier
#   (email, hashed email, phone, name, account id, address, IMEI, IMSI, MAC) that reaches an advertiser, analytics
#   or other partner through a chain of internal systems (warehouse, reverse-ETL...), or from a system that sends it
#   without declaring or receiving it (an implied hop), breaks that promise as surely as a direct flow: no single
#   hop shows it, the lineage does.
# custom:
#   clause: II.III.a
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Remove the identifier from the flow that delivers it to the partner (and from the upstream hops that only
#     carry it there), or aggregate the data first; a hashed email is still an email.
multi_hop_direct_identifier(inp) := [f |
	some flow in candidates.flows_where(inp, "to_role", sharing_roles)
	vocab.partner_cookie_flow(flow)
	some r in object.get(flow, "lineage_reach", [])
	not object.get(r, "declared_here", false)
	vocab.direct_ids[r.category]
	not r.identifiability in unlinkable
	m := msg("%s (%s, %s) reaches %s partner %s through %s hops: %s%s", [
		r.field, r.category, object.get(r, "protection", "plain"), flow.to_node.role, flow.to,
		format_int(r.hops, 10), concat(" -> ", r.path), implied_note(r),
	])
	f := with_evidence(with_key(finding("flow", flow.id, sprintf("fields.%d", [r.index]), m), r.field), r.path)
]

# implied_note(r): the hop of a path that no flow declares (the field's source neither declares nor receives it).
implied_note(r) := msg(" (no flow declares %s -> %s)", [r.implied[0], r.implied[1]]) if {
	count(object.get(r, "implied", [])) == 2
} else := ""

# METADATA
# title: Recipient outside Creality reached for a purpose nothing covers
# description: >-
#   II.IV.2.e: information used for purposes the policy does not specify needs prior consent. A field that
#   reaches a recipient outside Creality — straight from the system that collects it or through internal
#   systems — for a purpose the field was never collected for, with no consent for that purpose on the delivering
#   flow and no exemption cited there, is sharing that no purpose covers. (A flow whose own purpose the policy does
#   not declare is reported once, by creality.purposes.undeclared_purpose_flow; anonymous and aggregate data is not
#   "vos informations".)
# custom:
#   clause: II.IV.2.e
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Add the purpose to the field's declared purposes if the policy really covers it, cite a consent for that
#     purpose on the delivering flow, or stop sending the field onward.
transitive_undeclared_recipient(inp) := [f |
	some flow in inp.flows
	vocab.declared(flow.purpose_info)
	some r in object.get(flow, "lineage_reach", [])
	r.covered_by == "none"
	m := msg(
		"%s%s for purpose %s, which no declared purpose of the field, no matching consent and no exemption covers: %s%s",
		[r.field, reach_words(r, flow), flow.purpose, concat(" -> ", r.path), implied_note(r)],
	)
	f := with_evidence(with_key(finding("flow", flow.id, sprintf("fields.%d", [r.index]), m), r.field), r.path)
]

reach_words(r, flow) := msg(" is sent to %s %s", [flow.to_node.role, flow.to]) if r.hops == 1

else := msg(" reaches %s %s through %s hops", [flow.to_node.role, flow.to, format_int(r.hops, 10)])

# METADATA
# title: Flow carrying a field its source neither holds nor receives
# description: >-
#   The inventory says a system sends a field that it does not declare and that no flow brings to it (an SDK fed
#   the account number after login, a job reading another system's table). The lineage assumes an undeclared path
#   from the system that declares the field, so the sharing rules still judge it where it travels; but requests to
#   access or delete the data (IV.a) cannot follow a path the inventory does not state: a missing fact.
# custom:
#   clause: IV.a
#   severity: warning
#   verdict: gap
#   remediation: >-
#     Declare the flow that brings the field to this system (from the system that declares it), or declare the
#     field in this system if it produces the value itself.
implied_source(inp) := [f |
	some flow in inp.flows
	some x in object.get(flow, "lineage_implied", [])
	m := msg(
		"flow %s carries field %s that its source %s neither holds nor receives%s",
		[flow.id, x.field, flow.from, implied_detail(x, flow)],
	)
	f := with_evidence(with_key(finding("flow", flow.id, sprintf("fields.%d", [x.index]), m), x.field), [x.origin, flow.from])
]

implied_detail(x, flow) := msg(
	" from where it is declared (%s): the flows that bring it to %s come from systems that never receive it either",
	[x.origin, flow.from],
) if {
	x.fed_by_others == true
} else := msg(" (declared in %s, and no flow brings it to %s)", [x.origin, flow.from])

# METADATA
# title: Onward transfer abroad without a mechanism valid for the data subjects
# description: >-
#   III.3: when personal information goes abroad it must be adequately protected under the policy and the law of
#   the people it is about. The lineage knows whose data a flow carries (the collection points upstream), so an
#   onward transfer — data already moved once, now crossing again — is judged against its subjects' regime: EU
#   subjects need an Art. 45-49 mechanism, CN subjects a PIPL one (CAC assessment, standard contract,
#   certification), others any declared mechanism.
# custom:
#   clause: III.3
#   severity: error
#   verdict: violation
#   remediation: >-
#     Put in place a transfer mechanism valid for these subjects on the flow that crosses the border (for CN
#     subjects a CAC standard contract or assessment, with separate consent), or keep their data out of the flow.
onward_transfer_without_mechanism(inp) := [f |
	some flow in inp.flows
	some b in object.get(flow, "lineage_borders", [])
	not mechanism_applies(b)
	m := msg("data of %s subjects (%s) goes %s -> %s with transfer mechanism %s, which is not valid for them: %s", [
		b.subject, concat(", ", b.fields), b.from, b.to, mechanism_name(b), concat(" -> ", b.path),
	])
	f := with_evidence(with_key(finding("flow", flow.id, "transfer.mechanism", m), b.subject), b.path)
]

mechanism_name(b) := b.mechanism if b.mechanism != null

mechanism_name(b) := msg("(none declared)", []) if b.mechanism == null

mechanism_applies(b) if {
	b.mechanism in regimes[b.subject]
	not b.mechanism in consent_mechanisms
}

mechanism_applies(b) if {
	b.mechanism in regimes[b.subject]
	b.mechanism in consent_mechanisms
	b.separate_consent == true
}

mechanism_applies(b) if {
	not regimes[b.subject]
	b.mechanism != null
	b.mechanism != "none"
}

# METADATA
# title: De-identified data re-joined with an identifier downstream
# description: >-
#   II.IV.2.d allows user-base analysis and commercial use of de-identified information only ("les informations
#   dépersonnalisées n'aideront pas à identifier votre identité"). De-identified data that reaches a system which
#   also holds an identifier (a join key or a direct identifier it receives, declares or sends on) is identified
#   again there — already at the first system after the de-identification step: it no longer holds.
# custom:
#   clause: II.IV.2.d
#   severity: error
#   verdict: violation
#   remediation: >-
#     Do not send de-identified data to a system that also receives the identifier it can be joined with; use
#     a token whose key stays inside the de-identification step, or treat the data as identified.
reidentification_join(inp) := [f |
	some flow in inp.flows
	some j in object.get(flow, "lineage_rejoins", [])
	m := msg("de-identified %s (from %s) reaches %s, which also holds %s%s: re-identified there; path %s", [
		concat(", ", j.fields), j.deidentified_by, j.node, concat(", ", j.identifiers), identifier_source(j),
		concat(" -> ", j.path),
	])
	f := with_evidence(with_key(finding("flow", flow.id, sprintf("fields.%d", [j.index]), m), j.node), j.path)
]

identifier_source(j) := concat("", [" (", concat(", ", j.identifier_flows), ")"]) if count(j.identifier_flows) > 0

else := msg(" (declared or sent on there)", [])

# METADATA
# title: Sync loop between systems
# description: >-
#   Data flows around a loop of systems (sync loop, bidirectional replication). The lineage terminates and
#   reports it once; a deletion (IV.a) propagated into the loop must not be re-synced back by it.
# custom:
#   clause: IV.a
#   severity: info
#   verdict: gap
#   remediation: >-
#     Check that deletions and corrections propagate around the loop without being re-synced, or make one
#     direction authoritative.
sync_loop(inp) := [f |
	some flow in inp.flows
	c := flow.lineage_cycle
	m := msg("flow %s closes a sync loop of %s systems: %s", [flow.id, format_int(c.members, 10), concat(" -> ", c.path)])
	f := with_evidence(finding("flow", flow.id, "to", m), c.path)
]
