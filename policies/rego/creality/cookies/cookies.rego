# METADATA
# scope: package
# title: Cookies and partners — trackers, cookie purposes, partner recipients (II.II, II.III, III.VII.1, III.VII.3)
# description: >-
#   What the policy says about cookies, SDKs and pixels (II.II, II.III), about the partners that set them
#   (non-personally-identifiable information only, their own policies), about counterparties (III.VII.1) and
#   cloud storage providers (III.VII.3). One-hop facts only: identifiers that reach a partner through internal
#   systems are judged by the lineage package.
package creality.cookies

import rego.v1

import data.creality.vocab
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.joined
import data.lib.findings.msg

# A partner the cookie clauses concern (vocab.cookie_partner: advertisers, analytics, and social/other partners that
# place trackers).
tracking_partner(p) if vocab.cookie_partner(p.node)

web_or_app(node) if node.kind in {"web", "app"}

# METADATA
# title: SDK or pixel flow from a site or app that does not register the partner as embedded
# description: >-
#   II.II.a: "nous ou nos partenaires tiers obtenions et utilisions vos informations par le biais de COOKIES".
#   Every tracker in a web site or app is registered as a partner embedded in it (partner.embedded_in), so the
#   cookie inventory and the consent banner know about it. An sdk flow from a site or app to a partner that does
#   not list that system is an undeclared tracker.
# custom:
#   clause: II.II.a
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Add the system to the partner's embedded_in and declare the cookies it sets, or remove the SDK/pixel.
unregistered_tracker(inp) := [f |
	some flow in candidates.flows_where(inp, "channel", ["sdk"])
	object.get(flow, "channel", "") == "sdk"
	web_or_app(flow.from_node)
	flow.to_node.type == "partner"
	not flow.from in object.get(flow.to_node, "embedded_in", [])
	f := finding("flow", flow.id, "to", msg(
		"flow %s runs %s's SDK/pixel in %s, but the partner does not list %s in embedded_in",
		[flow.id, flow.to, flow.from, flow.from]))
]

# METADATA
# title: Tracker embedded in a site or app with no declared data flow
# description: >-
#   II.II.a: a partner embedded in a web site or app obtains information through its cookies. Without a flow from
#   that system to the partner, the inventory does not say what it receives: a missing fact.
# custom:
#   clause: II.II.a
#   severity: warning
#   verdict: gap
#   remediation: >-
#     Declare a flow from the embedding system to the partner listing the fields its SDK, pixel or cookies collect.
embedded_without_flow(inp) := [f |
	some p in inp.partners
	some i
	sid := object.get(p, "embedded_in", [])[i]
	not sid in p.sources
	f := finding("partner", p.id, sprintf("embedded_in.%d", [i]), msg(
		"partner %s is embedded in %s, but no flow says what it collects there", [p.id, sid]))
]

# METADATA
# title: Cookie with no purpose
# description: >-
#   II.II.a and II.III: cookies are used for the purposes II.III lists (remember the user, analyse use, optimise
#   ads). A cookie with no purpose cannot be checked against them: a missing fact.
# custom:
#   clause: II.II.a
#   severity: warning
#   verdict: gap
#   remediation: >-
#     Set the cookie's purpose to the inventory purpose it serves.
cookie_without_purpose(inp) := [f |
	some p in inp.partners
	some c in object.get(p, "cookies_info", [])
	c.purpose_info == null
	f := finding("partner", p.id, c.path, msg(
		"cookie %s of %s has no purpose", [c.name, p.id]))
]

# METADATA
# title: Tracking partner with no cookie the user can control
# description: >-
#   II.II.b: users "devriez ... avoir la possibilité de contrôler si et comment les COOKIES sont acceptés par votre
#   navigateur". A tracking partner embedded in a site or app that declares no tracker the user can clear or refuse
#   (a cookie, a local-storage key, an SDK identifier the app or OS settings reset) tracks by other means
#   (fingerprinting, pixels without storage, server-side) the browser cannot block. "Devriez" is a weak promise:
#   warning.
# custom:
#   clause: II.II.b
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Declare the cookies the partner sets; replace tracking the user cannot block with cookie-based,
#     consent-gated measurement.
tracking_without_cookies(inp) := [f |
	some p in inp.partners
	tracking_partner(p)
	count(object.get(p, "embedded_in", [])) > 0
	controllable := [c | some c in object.get(p, "cookies_info", []); technology(c) in controllable_technologies]
	count(controllable) == 0
	f := finding("partner", p.id, "embedded_in", msg(
		"tracking partner %s (%s) is embedded in %s but declares no cookie the user could refuse in the browser",
		[p.id, p.role, concat(", ", p.embedded_in)]))
]

# Trackers the browser's (or the app's and OS's) settings let the user clear or refuse.
controllable_technologies := {"cookie", "local_storage", "sdk_identifier"}

technology(c) := object.get(c, "technology", "cookie")

# METADATA
# title: Fingerprinting script the browser cannot refuse
# description: >-
#   II.II.b: users "devriez ... avoir la possibilité de contrôler si et comment les COOKIES sont acceptés par votre
#   navigateur". A fingerprinting script identifies the device from its attributes: no browser setting can refuse
#   or clear it, so the only control left is the consent it needs (CNIL.PRIOR_CONSENT). "Devriez" is a weak
#   promise: warning. Strictly necessary fingerprinting (fraud prevention) is outside the promise's spirit and not
#   reported.
# custom:
#   clause: II.II.b
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Replace the fingerprinting with a cookie or storage key the user can clear, or keep it to strictly necessary
#     uses (fraud prevention) and gate every other use behind consent.
fingerprinting_tracker(inp) := [f |
	some p in inp.partners
	some c in object.get(p, "cookies_info", [])
	technology(c) == "fingerprinting"
	c.type != "strictly_necessary"
	f := finding("partner", p.id, concat(".", [c.path, "technology"]), msg(
		"%s tracker %s of %s is a fingerprinting script: the user cannot refuse or clear it in the browser",
		[c.type, c.name, p.id]))
]

# METADATA
# title: Partner declaring trackers in no site or app
# description: >-
#   II.II.a: partners obtain information through cookies in Creality's sites and apps. A partner that declares
#   cookies or trackers but lists no system in embedded_in cannot be judged where it matters (the consent banner and
#   the CNIL checks are per site or app): a missing fact.
# custom:
#   clause: II.II.a
#   severity: warning
#   verdict: gap
#   remediation: >-
#     List the web sites and apps that load the partner's trackers in embedded_in.
trackers_not_embedded(inp) := [f |
	some p in inp.partners
	trackers := object.get(p, "cookies_info", [])
	count(trackers) > 0
	count(object.get(p, "embedded_in", [])) == 0
	f := finding("partner", p.id, split(trackers[0].path, ".")[0], msg(
		"partner %s declares trackers (%s) but embedded_in names no site or app that loads them",
		[p.id, concat(", ", [c.name | some c in trackers])]))
]

# METADATA
# title: Identity or preference cookie typed as a tracker
# description: >-
#   II.III.1 ("Se souvenir de votre identité"): cookies that recognise the user or keep preferences are
#   strictly necessary or preference cookies. A cookie for a COOKIE.IDENTITY or COOKIE.PREFS purpose typed
#   analytics or advertising contradicts its declared purpose.
# custom:
#   clause: II.III.1
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Fix the cookie's type if it only remembers identity or preferences; otherwise link it to its real purpose.
identity_cookie_typed_as_tracker(inp) := [f |
	some p in inp.partners
	some c in object.get(p, "cookies_info", [])
	c.purpose_info.policy_purpose in {"COOKIE.IDENTITY", "COOKIE.PREFS"}
	c.type in {"analytics", "advertising"}
	f := finding("partner", p.id, concat(".", [c.path, "type"]), msg(
		"cookie %s of %s serves %s (remember identity/preferences) but is typed %s",
		[c.name, p.id, c.purpose_info.id, c.type]))
]

cookie_purpose_findings(inp, type, allowed, clause_text) := [f |
	some p in inp.partners
	some c in object.get(p, "cookies_info", [])
	c.type == type
	c.purpose_info != null
	not c.purpose_info.policy_purpose in allowed
	f := finding("partner", p.id, concat(".", [c.path, "purpose"]), msg(
		"%s cookie %s of %s serves %s (policy purpose %s), not a purpose %s declares for such cookies",
		[type, c.name, p.id, c.purpose_info.id, object.get(c.purpose_info, "policy_purpose", "none"), clause_text]))
]

# METADATA
# title: Tracking cookie labelled strictly necessary or preferences
# description: >-
#   II.III.1 ("Se souvenir de votre identité") is what strictly necessary and preference cookies are for:
#   recognising the user, keeping stated preferences. A tracker with such a type that serves analytics or advertising
#   (a COOKIE.ANALYTICS, COOKIE.ADS or PARTNER.* purpose) is labelled as what it is not, and the label is what lets
#   it fire before consent (CNIL.PRIOR_CONSENT judges it on its purpose).
# custom:
#   clause: II.III.1
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Type the tracker by what it does (analytics or advertising) and gate it behind consent; keep strictly_necessary
#     for authentication, security, the cart and the consent choice itself.
tracker_typed_as_necessary(inp) := [f |
	some p in inp.partners
	some c in object.get(p, "cookies_info", [])
	c.type in {"strictly_necessary", "preferences"}
	c.purpose_info.policy_purpose in tracking_cookie_purposes
	f := finding("partner", p.id, concat(".", [c.path, "type"]), msg(
		"%s %s of %s is typed %s but serves %s (%s): analytics or advertising, not remembering identity or preferences",
		[technology(c), c.name, p.id, c.type, c.purpose_info.id, c.purpose_info.policy_purpose]))
]

tracking_cookie_purposes := {"COOKIE.ANALYTICS", "COOKIE.ADS", "PARTNER.ANALYTICS", "PARTNER.ADS", "PARTNER.AD_MEASURE"}

# METADATA
# title: Analytics cookie for a purpose the cookie section does not declare
# description: >-
#   II.III.2: cookies may be used to "analyser votre façon d'utiliser nos services"; II.III.a lets partners
#   analyse use. An analytics cookie serving any other purpose is not covered.
# custom:
#   clause: II.III.2
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Link the analytics cookie to a COOKIE.ANALYTICS (or PARTNER.ANALYTICS) purpose, or remove it.
analytics_cookie_purpose(inp) := cookie_purpose_findings(
	inp, "analytics", {"COOKIE.ANALYTICS", "PARTNER.ANALYTICS", "PARTNER.AD_MEASURE"}, "II.III.2",
)

# METADATA
# title: Advertising cookie for a purpose the cookie section does not declare
# description: >-
#   II.III.3 ("Optimiser les publicités") and II.III.a (partners' interest-based ads and ad measurement) are the
#   only advertising purposes declared for cookies.
# custom:
#   clause: II.III.3
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Link the advertising cookie to a COOKIE.ADS (first party) or PARTNER.ADS / PARTNER.AD_MEASURE purpose, or
#     remove it.
advertising_cookie_purpose(inp) := cookie_purpose_findings(
	inp, "advertising", {"COOKIE.ADS", "PARTNER.ADS", "PARTNER.AD_MEASURE"}, "II.III.3",
)

# METADATA
# title: Direct identifier sent straight to an advertising or analytics partner
# description: >-
#   II.III.a: partner cookies "permettent de collecter des informations non personnellement identifiables". A flow
#   that hands a direct identifier (email, hashed email, phone, name, account id, address, IMEI, IMSI, MAC) that
#   its source system collected to an advertiser or analytics partner, or to a social or other partner that places
#   trackers (vocab.cookie_partner), contradicts that statement (identifiers relayed from upstream systems are the
#   lineage package's). A processor hosting Creality's own cookie purpose acts as Creality and is not judged here.
# custom:
#   clause: II.III.a
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Remove the identifier from the partner flow (a hashed email is still an email), or aggregate the data before
#     it leaves.
direct_id_to_partner(inp) := [f |
	some flow in candidates.flows_where(inp, "to_role", vocab.tracking_roles)
	vocab.partner_cookie_flow(flow)
	some i
	fi := flow.fields_info[i]
	vocab.direct_ids[fi.category]
	not object.get(fi, "identifiability", "identified") in vocab.unlinkable
	object.get(fi, "origin", flow.from) == flow.from
	f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"flow %s sends %s (%s, %s) to %s partner %s; partners may collect only non-personally-identifiable information",
		[flow.id, fi.id, fi.category, object.get(fi, "protection", "plain"), flow.to_node.role, flow.to]))
]

# METADATA
# title: Pseudonymous identifier of EU subjects sent to an advertising or analytics partner
# description: >-
#   Cookie ids, device and advertising ids and IP addresses are not direct identifiers, so the policy's
#   "non personnellement identifiables" is doubtful rather than false for them; for EU subjects they are personal
#   data (pseudonymous_ids_are_pii, on for EU subjects: interpretation.md 2.11), hence a warning.
# custom:
#   clause: II.III.a
#   severity: warning
#   verdict: ambiguous
#   remediation: >-
#     Make sure the partner flow is consent-gated and the identifier is the minimum needed (truncate IPs, rotate
#     ids); have the DPO confirm the policy's "non-identifiable" wording.
pseudonymous_id_to_partner(inp) := [f |
	some flow in candidates.flows_where(inp, "to_role", vocab.tracking_roles)
	vocab.partner_cookie_flow(flow)
	"EU" in object.get(flow, "data_subject_jurisdictions", [])
	some i
	fi := flow.fields_info[i]
	fi.category in vocab.pseudonymous_ids
	not object.get(fi, "identifiability", "identified") in vocab.unlinkable
	f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"flow %s sends %s (%s) of EU subjects to %s partner %s: personal data in EU law, not 'non-identifiable'",
		[flow.id, fi.id, fi.category, flow.to_node.role, flow.to]))
]

# METADATA
# title: Advertising or analytics partner receiving data for an undeclared purpose
# description: >-
#   II.III.a says what partner cookies are for: analysing use, interest-based ads, measuring ad effectiveness.
#   A flow to an advertiser or analytics partner, or to a social or other partner that places trackers, for any
#   other purpose is not covered. A processor hosting one of Creality's own cookie purposes (II.III.1-3, for example
#   COOKIE.ANALYTICS for a hosted audience-measurement tool) acts as Creality: those flows are II.III.2's. A flow
#   carrying only anonymous or aggregate data (campaign-planning statistics) is not what cookies "collect ... vous
#   concernant": II.IV.2.d judges it.
# custom:
#   clause: II.III.a
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Restrict the partner flow to PARTNER.ANALYTICS, PARTNER.ADS or PARTNER.AD_MEASURE purposes, or stop it.
partner_flow_purpose(inp) := [f |
	some flow in candidates.flows_where(inp, "to_role", vocab.tracking_roles)
	vocab.partner_cookie_flow(flow)
	not flow.purpose_info.policy_purpose in vocab.partner_purposes
	some fi in flow.fields_info
	linkable(fi)
	f := finding("flow", flow.id, "purpose", msg(
		"flow %s sends data to %s partner %s for purpose %s, not one II.III.a declares for partners",
		[flow.id, flow.to_node.role, flow.to, flow.purpose]))
]

linkable(fi) if {
	startswith(fi.category, "user.")
	not object.get(fi, "identifiability", "identified") in vocab.unlinkable
}

# METADATA
# title: Cookie-setting partner without its own privacy policy
# description: >-
#   II.III.b defers partner-cookie data to "leurs propres déclarations de protection des informations
#   personnelles". The statement the policy refers to must be on record: partner.own_policy_url.
# custom:
#   clause: II.III.b
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Record the URL of the partner's privacy policy in own_policy_url.
partner_without_own_policy(inp) := [f |
	some p in inp.partners
	trackers := object.get(p, "cookies_info", [])
	count(trackers) > 0
	object.get(p, "own_policy_url", "") == ""
	f := finding("partner", p.id, split(trackers[0].path, ".")[0], msg(
		"partner %s sets cookies but its own privacy policy (own_policy_url) is not recorded", [p.id]))
]

# METADATA
# title: Site or app embedding non-essential cookies without a choice mechanism
# description: >-
#   II.III.c: users can "refuser ou ... gérer les COOKIES par l'intermédiaire ... du mécanisme de sélection de
#   l'utilisateur". A web site or app embedding a partner with a cookie that is not strictly necessary needs a
#   consent banner (system.consent_banner).
# custom:
#   clause: II.III.c
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Deploy a consent management platform on the system and declare it as consent_banner.
no_choice_mechanism(inp) := [f |
	some s in inp.systems
	web_or_app(s)
	object.get(s, "consent_banner", null) == null
	names := [sprintf("%s (%s)", [p.id, c.name]) |
		some p in object.get(s, "embedded_partners", [])
		some c in p.cookies
		c.type != "strictly_necessary"
	]
	count(names) > 0
	f := finding("system", s.id, "id", msg(
		"%s embeds non-essential cookies %s but has no consent banner to refuse them",
		[s.id, concat(", ", names)]))
]

# METADATA
# title: Counterparty receiving data outside a user-initiated exchange
# description: >-
#   III.VII.1: users disclose "vos coordonnées ou votre adresse postale, à des contreparties" when they trade or
#   communicate through the services. A flow to a counterparty is user-initiated (trigger user_action) and carries
#   only contact details (name included) and the postal address.
# custom:
#   clause: III.VII.1
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Send counterparties only the contact and address fields needed for the order or message, and only when the
#     user initiates the exchange.
counterparty_beyond_contact(inp) := array.concat(
	[f |
		some flow in inp.flows
		flow.to_node.role == "counterparty"
		object.get(flow, "trigger", "") != "user_action"
		f := trigger_gap(flow, finding("flow", flow.id, trigger_attr(flow), msg(
			"flow %s sends data to counterparty %s %s",
			[flow.id, flow.to, trigger_text(flow)])))
	],
	[f |
		some flow in inp.flows
		flow.to_node.role == "counterparty"
		some i
		fi := flow.fields_info[i]
		startswith(fi.category, "user.")
		not vocab.in_any(fi.category, vocab.counterparty_allowed)
		not shared_by_the_user(flow, fi)
		f := transaction_vague(fi, finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
			"flow %s gives counterparty %s %s (%s); III.VII.1 covers contact details and postal address only",
			[flow.id, flow.to, fi.id, fi.category])))
	],
)

# An unstated trigger is a missing fact (gap, warning), not a violation: the rule cannot tell who started the flow.
trigger_gap(flow, f) := object.union(f, {"severity": "warning", "verdict": "gap"}) if {
	object.get(flow, "trigger", "") == ""
} else := f

trigger_attr(flow) := "trigger" if flow.trigger

else := "to"

trigger_text(flow) := msg("without a user action (trigger %s)", [flow.trigger]) if flow.trigger

else := msg("but does not state what triggers it (trigger): III.VII.1 covers exchanges the user starts", [])

# II.I.2 discloses "les informations partagées que vous fournissez à d'autres parties par le biais des services de
# Creality": content the user provided or stored, sent to the counterparty they chose by their own action (a model
# file for a print order), is that sharing (interpretation.md 2.18).
shared_by_the_user(flow, fi) if {
	flow.trigger == "user_action"
	vocab.in_tree(fi.category, "user.content")
	object.get(fi, "collection", "") in {"user_provided", "user_stored", "user_shared", "public_by_user"}
}

# The transaction itself (order reference, items) is implied by "lorsque vous effectuez des transactions" but not
# listed: vague (warning) rather than an error (interpretation.md 2.18).
transaction_vague(fi, f) := object.union(f, {"severity": "warning", "verdict": "vague"}) if {
	vocab.in_tree(fi.category, "user.behavior.purchase_history")
} else := f

# METADATA
# title: Cloud storage provider receiving data beyond media and device/network/carrier information
# description: >-
#   III.VII.3: for storing the images, audio and video uploaded to Creality Cloud, "les fournisseurs de services
#   tiers peuvent collecter des informations sur votre appareil, des informations liées au réseau et des
#   informations sur l'opérateur". Anything else (email, phone, account id, name) reaching them is undisclosed.
# custom:
#   clause: III.VII.3
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Keep account and contact data out of the storage provider's buckets; send it only uploaded media and
#     device/network/carrier metadata.
cloud_storage_beyond_allowed(inp) := [f |
	some flow in candidates.flows_where(inp, "to_role", ["cloud_storage"])
	flow.to_node.role == "cloud_storage"
	some i
	fi := flow.fields_info[i]
	startswith(fi.category, "user.")
	not vocab.in_any(fi.category, vocab.cloud_storage_allowed)
	f := finding("flow", flow.id, sprintf("fields.%d", [i]), msg(
		"flow %s stores %s (%s) at cloud provider %s; III.VII.3 discloses only media and device/network/carrier data",
		[flow.id, fi.id, fi.category, flow.to]))
]

# METADATA
# title: Content stored in the cloud that the user did not upload
# description: >-
#   III.VII.3 covers "les images et les contenus audio et vidéo que vous téléchargez sur Creality Cloud": content the
#   user uploads. Content on a cloud-storage flow (to a cloud_storage partner, or for a CLOUD.STORAGE purpose) that
#   reached Creality without a user action — pushed on a schedule or continuously by a device (a printer camera's
#   time-lapse frames), or captured automatically (collection observed) — is not the processing the clause discloses.
#   Judged on the flows that took each content field out of the system that collects it (`content_uploads`); an
#   unstated trigger there is a gap. Content Creality derives itself (collection derived) is not judged.
# custom:
#   clause: III.VII.3
#   severity: error
#   verdict: incorrect
#   remediation: >-
#     Upload content to cloud storage only when the user asks (trigger user_action), or disclose and obtain consent
#     for automatic capture and upload before enabling it (II.IV.2.e).
content_not_uploaded_by_user(inp) := [f |
	some flow in inp.flows
	some u in object.get(flow, "content_uploads", [])
	object.get(u, "collection", "") != "derived"
	problem := upload_problem(u)
	f := object.union(
		finding("flow", flow.id, sprintf("fields.%d", [u.index]), msg(
			"flow %s stores %s in the cloud, but %s: III.VII.3 covers content the user uploads",
			[flow.id, u.id, problem.phrase])),
		problem.override,
	)
]

# upload_problem(u): why a content field is not "que vous téléchargez", or a gap when the fact is missing.
upload_problem(u) := {"phrase": msg("it is captured automatically (collection observed)", []), "override": {}} if {
	u.collection == "observed"
} else := {"phrase": msg("it reaches Creality without a user action (%s)", [joined(", ", pushed)]), "override": {}} if {
	pushed := [msg("%s: trigger %s", [x.flow, x.trigger]) | some x in u.uploads; x.trigger != ""; x.trigger != "user_action"]
	count(pushed) > 0
} else := {"phrase": msg("what triggers its upload is not stated (%s)", [concat(", ", unstated)]), "override": {"severity": "warning", "verdict": "gap"}} if {
	unstated := [x.flow | some x in u.uploads; x.trigger == ""]
	count(unstated) > 0
}
