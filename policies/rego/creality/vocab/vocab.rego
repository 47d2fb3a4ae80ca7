# METADATA
# scope: package
# title: Vocabulary of Creality's privacy policy
# description: >-
#   The data categories the policy discloses (section I, II.I, II.II, III.VII) and the purposes it declares
#   (section II), as data. Keys are fideslang data categories extended with the policy's own terms.
#   Coverage follows PoliCheck: an enumerated term is clear; a category covered only by a catch-all
#   ("et autres", "autres informations décrivant l'état de base") is vague; anything else is omitted.
package creality.vocab

import rego.v1

# Categories the policy names explicitly: category -> {term, clause, coverage}.
disclosed := {
	"user.behavior": {"term": "ACCESS.ORIGIN", "clause": "I.I", "coverage": "clear"},
	"user.contact.phone_number": {"term": "CONTACT.PHONE", "clause": "I.II.a", "coverage": "clear"},
	"user.unique_id": {"term": "ACCT.ID", "clause": "I.II.b", "coverage": "clear"},
	"user.account.username": {"term": "ACCT.ID", "clause": "I.II.b", "coverage": "clear"},
	"user.device.ip_address": {"term": "NET.IP", "clause": "I.II.b", "coverage": "clear"},
	"user.contact.email": {"term": "CONTACT.EMAIL", "clause": "I.II.b", "coverage": "clear"},
	"user.authorization.password": {"term": "CRED.PASSWORD", "clause": "I.II.b", "coverage": "clear"},
	"user.authorization.credentials": {"term": "CRED.SECURITY_ANSWER", "clause": "I.II.b", "coverage": "clear"},
	"user.behavior.browsing_history": {"term": "LOG.BROWSING", "clause": "I.II.1", "coverage": "clear"},
	"user.behavior.clickstream": {"term": "LOG.CLICK", "clause": "I.II.1", "coverage": "clear"},
	"user.telemetry": {"term": "LOG.SW_USAGE", "clause": "I.II.1", "coverage": "clear"},
	"user.device": {"term": "DEV.MODEL", "clause": "I.II.2", "coverage": "clear"},
	"user.device.device_id": {"term": "DEV.GUID", "clause": "I.II.2", "coverage": "clear"},
	"user.device.device_id.mac": {"term": "DEV.MAC", "clause": "I.II.2", "coverage": "clear"},
	"user.device.device_id.imei": {"term": "DEV.IMEI", "clause": "I.II.2", "coverage": "clear"},
	"user.device.device_id.imsi": {"term": "DEV.IMSI", "clause": "I.II.2", "coverage": "clear"},
	"user.device.device_id.android_id": {"term": "DEV.ANDROID_ID", "clause": "I.II.2", "coverage": "clear"},
	"user.device.device_id.idfa": {"term": "DEV.IDFA", "clause": "I.II.2", "coverage": "clear"},
	"user.device.installed_apps": {"term": "DEV.APP_LIST", "clause": "I.II.2", "coverage": "vague"},
	"user.device.cookie": {"term": "COOKIE.DATA", "clause": "II.II.a", "coverage": "clear"},
	"user.device.cookie_id": {"term": "COOKIE.ID", "clause": "II.II.a", "coverage": "clear"},
	"user.account.settings": {"term": "COOKIE.PREFS", "clause": "II.III.1", "coverage": "clear"},
	"user.privacy_preferences": {"term": "COOKIE.PREFS", "clause": "II.III.1", "coverage": "clear"},
	"user.content.private": {"term": "CONTENT.STORED", "clause": "II.I.2", "coverage": "clear"},
	"user.content.public": {"term": "CONTENT.SHARED", "clause": "II.I.2", "coverage": "clear"},
	"user.social": {"term": "CONTENT.SHARED", "clause": "II.I.2", "coverage": "clear"},
	"user.contact": {"term": "CONTACT.DETAILS", "clause": "III.VII.1", "coverage": "clear"},
	"user.contact.address": {"term": "CONTACT.POSTAL", "clause": "III.VII.1", "coverage": "clear"},
	"user.device.network": {"term": "NET.INFO", "clause": "III.VII.3", "coverage": "clear"},
	"user.device.carrier": {"term": "NET.CARRIER", "clause": "III.VII.3", "coverage": "clear"},
	"user.demographic.profile": {"term": "DERIVED.PROFILE", "clause": "II.IV.2.a", "coverage": "vague"},
	"user.behavior.access_origin": {"term": "ACCESS.ORIGIN", "clause": "I.I", "coverage": "clear"},
	"user.behavior.access_order": {"term": "ACCESS.ORDER", "clause": "I.I", "coverage": "clear"},
}

# Catch-all passages: "et autres" (I.II.1), "autres informations décrivant l'état de base" (I.II.2),
# "les informations que vous stockez" (II.I.2). Below one of these, or below another named category, an
# unnamed category is covered only vaguely (PoliCheck: the policy term is broader than the data).
catch_all := {
	"user.behavior": "I.II.1",
	"user.telemetry": "I.II.1",
	"user.device": "I.II.2",
	"user.content": "II.I.2",
	"user.authorization": "I.II.b",
	"user.account": "I.II.b",
}

# Categories that identify a person directly (PolicyLint: hashed or joinable forms count too).
direct_ids := {
	"user.contact.email",
	"user.contact.phone_number",
	"user.contact.address",
	"user.contact",
	"user.name",
	"user.unique_id",
	"user.account.username",
	"user.device.device_id.imei",
	"user.device.device_id.imsi",
	"user.device.device_id.mac",
	"user.government_id",
}

# Purposes the policy declares (the closed world of II.IV.2.e): id -> {clause, consent}.
policy_purposes := {
	"FACILITATE": {"clause": "I.a", "consent": false},
	"MKT.MESSAGES": {"clause": "II.IV.1.a", "consent": true},
	"IMPROVE": {"clause": "II.IV.2.b", "consent": false},
	"PERSONALIZE.XSERVICE": {"clause": "II.IV.2.a", "consent": false},
	"SURVEY": {"clause": "II.IV.2.b", "consent": false},
	"UPDATE": {"clause": "II.IV.2.c", "consent": false},
	"DEID.ANALYTICS": {"clause": "II.IV.2.d", "consent": false},
	"DEID.COMMERCIAL": {"clause": "II.IV.2.d", "consent": false},
	"COOKIE.IDENTITY": {"clause": "II.III.1", "consent": false},
	"COOKIE.PREFS": {"clause": "II.III.1", "consent": false},
	"COOKIE.ANALYTICS": {"clause": "II.III.2", "consent": false},
	"COOKIE.ADS": {"clause": "II.III.3", "consent": false},
	"PARTNER.ANALYTICS": {"clause": "II.III.a", "consent": false},
	"PARTNER.ADS": {"clause": "II.III.a", "consent": false},
	"PARTNER.AD_MEASURE": {"clause": "II.III.a", "consent": false},
	"CLOUD.STORAGE": {"clause": "III.VII.3", "consent": false},
	"COUNTERPARTY": {"clause": "III.VII.1", "consent": false},
	"SECURITY": {"clause": "II.IV.3(8)", "consent": false},
	"FAULT": {"clause": "II.IV.3(8)", "consent": false},
	"INCIDENT.NOTIFY": {"clause": "III.VII.2.c", "consent": false},
	"REGULATOR.REPORT": {"clause": "III.VII.2.d", "consent": false},
	"DSR": {"clause": "IV.a", "consent": false},
	"LEGAL.OBLIGATION": {"clause": "II.IV.3(11)", "consent": false},
	"RESEARCH": {"clause": "II.IV.3(10)", "consent": false},
}

# Consent mechanisms that are real consent (bundled acceptance and pre-ticked boxes are not: A.1 #11).
valid_mechanisms := {"opt_in", "separate", "banner"}

# prefixes(cat): "a.b.c" -> ["a.b", "a"] (strict ancestors, nearest first)
prefixes(cat) := [p |
	parts := split(cat, ".")
	some i in numbers.range(count(parts) - 1, 1)
	p := concat(".", array.slice(parts, 0, i))
]

# coverage(cat): {"level": clear|vague|omitted, "clause": id}
coverage(cat) := {"level": d.coverage, "clause": d.clause} if {
	d := disclosed[cat]
} else := {"level": "vague", "clause": c} if {
	cs := [c | some p in prefixes(cat); c := ancestor_clause(p)]
	count(cs) > 0
	c := cs[0]
} else := {"level": "omitted", "clause": "I"}

ancestor_clause(p) := catch_all[p]

# category_facts(cat): every per-category fact the rules read, in one object. Rules read it through cat(x): the
# embedded engine tabulates it once per distinct category of the inventory and adds the facts of a partition's
# categories to its input, input.category_facts[cat]["creality.vocab"] (regorus does not memoise function calls:
# docs/performance.md); without that table (tests, OPA) it is computed here. Same function, same value.
category_facts(cat) := {
	"coverage": coverage(cat),
	"sensitive": is_sensitive(cat),
	"needed_for": needed_for(cat),
	"fault_allowed": within(cat, fault_allowed),
}

# within(cat, roots): whether cat is one of the roots or below one (in_any), as a value.
within(cat, roots) := true if in_any(cat, roots)

else := false

# needed_for(cat): the policy purposes whose needs (purpose_needs) include the category, in the table's order.
needed_for(cat) := [pp | some pp, roots in purpose_needs; in_any(cat, roots)]

is_sensitive(cat) := true if sensitive(cat)

else := false

# cat(x): the category facts of a field (or of a field summary on a flow, a partner, a lineage path).
cat(x) := f if {
	f := input.category_facts[x.category]["creality.vocab"]
} else := category_facts(x.category)

ancestor_clause(p) := disclosed[p].clause if not catch_all[p]

# personal(field): fields holding data about people (fideslang `user.*` categories); `system.*` is not.
personal(field) if startswith(field.category, "user.")

# declared(purpose_info): the purpose is one the policy declares.
declared(p) if policy_purposes[p.policy_purpose]

# consented(consents, purpose_id): a real consent for exactly this purpose exists.
consented(consents, purpose_id) if {
	some c in consents
	c.purpose == purpose_id
	c.mechanism in valid_mechanisms
}

# ---------------------------------------------------------------- added for the policy pack's areas

# I.I: the "non-identity" access data (origin/referrer and access order).
access_terms := {"user.behavior.access_origin", "user.behavior.access_order"}

# identifying_direct_id(x): a direct identifier that still identifies: not aggregated away, not tokenised. A plain,
# encrypted or weakly hashed e-mail is still the e-mail, whatever identifiability it states (docs/inventory.md,
# `hashed_weak`). The lineage's `identifies()` (src/auditor/lineage/propagate.py) is the same definition.
identifying_direct_id(x) if {
	direct_ids[x.category]
	not object.get(x, "identifiability", "identified") in unlinkable
	not object.get(x, "protection", "plain") == "tokenized"
}

# carried(flow, i): the field at position i of the flow as it travels there. A field a de-identification step
# upstream lowered (the lineage's lineage_lowered) is de-identified, whatever the system declaring it says.
carried(flow, i) := object.union(fi, {"identifiability": "deidentified"}) if {
	fi := flow.fields_info[i]
	i in object.get(flow, "lineage_lowered", [])
	fi.identifiability in {"identified", "pseudonymous"}
} else := flow.fields_info[i]

# Identifiability levels that no longer single out a person (II.IV.2.d, II.IV.3(10)); "deidentified" is still
# personal data (interpretation.md 2.4).
unlinkable := {"anonymous", "aggregate"}

deidentified_levels := {"deidentified", "anonymous", "aggregate"}

# Credentials (I.II.b; III.I.b: salted slow hash only).
credentials := {"user.authorization.password", "user.authorization.credentials"}

# Categories treated as sensitive (GB/T 35273 annex, GDPR Art. 9 and CLAUSES.md B.1 "GB/T-S"): must sit in systems
# encrypted at rest (III.I.b).
sensitive_prefixes := [
	"user.authorization", "user.financial", "user.government_id", "user.biometric", "user.health_and_medical",
	"user.location.precise", "user.behavior.browsing_history", "user.contact.phone_number", "user.sensor",
]

sensitive(cat) if {
	some p in sensitive_prefixes
	in_tree(cat, p)
}

# in_tree(cat, root): cat is root or below it.
# One body, not two (cat == root; below root): regorus evaluates every body of a function on each call.
in_tree(cat, root) if startswith(concat("", [cat, "."]), concat("", [root, "."]))

# Pseudonymous identifiers: not direct identifiers, but personal data in EU law (pseudonymous_ids_are_pii,
# interpretation.md 2.11).
pseudonymous_ids := {
	"user.device.cookie_id", "user.device.device_id", "user.device.device_id.android_id", "user.device.device_id.idfa",
	"user.unique_id.pseudonymous", "user.device.ip_address",
}

# II.III.a's partners: "COOKIES placés par des annonceurs et d'autres partenaires", which get only
# non-personally-identifiable information. Advertisers and analytics partners are such partners by role; a social
# or `other` partner only when it places trackers (embedded in a site or app, or declaring cookies or trackers:
# the partition's `places_trackers`). A firm licensing aggregate statistics or receiving server-side reports is not
# a cookie partner (issue 13, class 7). `tracking_roles` is the candidate superset for lib.candidates.
tracking_roles := {"advertiser", "analytics", "social", "other"}

always_tracking_roles := {"advertiser", "analytics"}

cookie_partner(node) if node.role in always_tracking_roles

cookie_partner(node) if {
	node.role in {"social", "other"}
	node.places_trackers == true
}

# Creality's own cookie purposes (II.III.1-3). A processor that hosts one of them (a hosted audience-measurement
# tool for COOKIE.ANALYTICS) acts as Creality (interpretation.md 2.3): its flows are II.III.2's, not II.III.a's.
first_party_cookie_purposes := {"COOKIE.IDENTITY", "COOKIE.PREFS", "COOKIE.ANALYTICS", "COOKIE.ADS"}

acts_as_creality(flow) if {
	flow.to_node.operator == "processor"
	flow.purpose_info.policy_purpose in first_party_cookie_purposes
}

# partner_cookie_flow(flow): a flow II.III.a judges — to a cookie partner, not on Creality's behalf.
partner_cookie_flow(flow) if {
	cookie_partner(flow.to_node)
	not acts_as_creality(flow)
}

partner_purposes := {"PARTNER.ANALYTICS", "PARTNER.ADS", "PARTNER.AD_MEASURE"}

# Purposes an exemption from consent never covers (II.IV.3 covers collection only: interpretation.md 2.6).
marketing_purposes := {"MKT.MESSAGES", "COOKIE.ADS", "PARTNER.ADS", "PARTNER.AD_MEASURE", "DEID.COMMERCIAL"}

marketing_use(p) if p.policy_purpose in marketing_purposes

# Purposes no II.IV.3 exemption covers: marketing, advertising and sale, and partners' analytics (a disclosure to
# third parties for their own analysis, not a collection). The lineage's coverage defers to this (one definition).
no_exemption_use(p) if marketing_use(p)

no_exemption_use(p) if p.policy_purpose == "PARTNER.ANALYTICS"

marketing_use(p) if startswith(data_use(p), "marketing")

marketing_use(p) if startswith(data_use(p), "sales")

analytics_use(p) if p.policy_purpose in {"COOKIE.ANALYTICS", "PARTNER.ANALYTICS", "DEID.ANALYTICS", "IMPROVE"}

analytics_use(p) if startswith(data_use(p), "analytics")

# data_use(p): the purpose's fideslang data use, "" when it has none (the purpose facts carry the key as null then:
# startswith(null, ...) is a type error on OPA).
data_use(p) := x if {
	x := object.get(p, "data_use", "")
	is_string(x)
} else := ""

# III.0: "conservées aussi longtemps que nécessaire aux fins décrites". The longest retention each policy purpose
# reasonably needs, in days; beyond it a retention.legal_ref is required (docs/interpretation.md 2.21 gives each
# anchor). CNIL anchors: 25 months (760 days) for audience-measurement data and usage analytics, 13 months (395 days)
# for what trackers collect for advertising and identity; 3 years (1095) for customer and prospect data after the
# last contact (CNIL référentiel "gestion commerciale", 2021); 5 years (1825) for contract and legal records
# (limitation period, Code civil art. 2224, Code de commerce art. L110-4); 1 year (365) for security and fault logs
# (CNIL recommendation on logging, délibération 2021-122: 6 months to 1 year).
retention_max_days := {
	"FACILITATE": 1095,
	"MKT.MESSAGES": 1095,
	"IMPROVE": 760,
	"PERSONALIZE.XSERVICE": 760,
	"SURVEY": 760,
	"UPDATE": 760,
	"DEID.ANALYTICS": 760,
	"DEID.COMMERCIAL": 760,
	"COOKIE.IDENTITY": 395,
	"COOKIE.PREFS": 395,
	"COOKIE.ANALYTICS": 760,
	"COOKIE.ADS": 395,
	"PARTNER.ANALYTICS": 760,
	"PARTNER.ADS": 395,
	"PARTNER.AD_MEASURE": 395,
	"CLOUD.STORAGE": 1095,
	"COUNTERPARTY": 1825,
	"SECURITY": 365,
	"FAULT": 365,
	"INCIDENT.NOTIFY": 1825,
	"REGULATOR.REPORT": 1825,
	"DSR": 1825,
	"LEGAL.OBLIGATION": 1825,
	"RESEARCH": 760,
}

# III.IV (minimisation per flow): the data categories each policy purpose needs (category roots; below a root counts).
# A flow carrying linkable personal data of another category for that purpose collects more than its purpose needs.
# Purposes absent here are not judged by this table: FACILITATE is the policy's generic purpose for all of section I
# (I.a), DEID.* and RESEARCH are judged on identifiability (II.IV.2.d, II.IV.3(10)), and legal requests, regulator
# reports and DSR answers are scoped by the law or the request.
purpose_needs := {
	# II.IV.2.c "mises à jour logicielles": the device, its model and software version; not usage statistics or logs
	# (the II.IV.2.c rule also reports anything beyond device and telemetry data, as an incorrect use).
	"UPDATE": ["user.device"],
	# II.IV.1.a "informations relatives à votre appareil" read as "your information" (interpretation.md 2.12):
	# contact and device data, the account it belongs to and its language; profiles need II.IV.2.a.
	"MKT.MESSAGES": [
		"user.contact", "user.name", "user.unique_id", "user.account", "user.privacy_preferences", "user.device",
	],
	"IMPROVE": ["user.behavior", "user.telemetry", "user.device", "user.unique_id", "user.account"],
	"PERSONALIZE.XSERVICE": [
		"user.behavior", "user.telemetry", "user.device", "user.unique_id", "user.account", "user.demographic",
		"user.content", "user.privacy_preferences",
	],
	"SURVEY": ["user.contact", "user.name", "user.unique_id", "user.account", "user.content", "user.behavior"],
	"COOKIE.IDENTITY": ["user.unique_id", "user.account", "user.authorization", "user.device", "user.privacy_preferences"],
	"COOKIE.PREFS": ["user.account", "user.privacy_preferences", "user.device"],
	"COOKIE.ANALYTICS": ["user.behavior", "user.telemetry", "user.device"],
	"COOKIE.ADS": ["user.behavior", "user.telemetry", "user.device", "user.demographic", "user.unique_id", "user.account"],
	"PARTNER.ANALYTICS": ["user.behavior", "user.telemetry", "user.device"],
	"PARTNER.ADS": ["user.behavior", "user.telemetry", "user.device", "user.demographic"],
	"PARTNER.AD_MEASURE": ["user.behavior", "user.telemetry", "user.device", "user.demographic"],
	"CLOUD.STORAGE": ["user.content", "user.device", "user.unique_id", "user.account"],
	# III.VII.1: contact details (name included) and postal address, with the transaction and its payment.
	"COUNTERPARTY": [
		"user.contact", "user.name", "user.behavior.purchase_history", "user.financial", "user.unique_id",
		"user.account",
	],
	"SECURITY": ["user.device", "user.telemetry", "user.behavior", "user.unique_id", "user.account", "user.authorization"],
	"FAULT": ["user.device", "user.telemetry", "user.behavior", "user.unique_id"],
	# III.VII.2.c: reach the person (mail, phone, push token).
	"INCIDENT.NOTIFY": ["user.contact", "user.name", "user.unique_id", "user.account", "user.device"],
}

# Sensitive categories with a shorter bound of their own, whatever the purpose: category root -> {days, anchor}.
category_retention_caps := {
	"user.sensor": {"days": 30, "anchor": "camera images: the CNIL's one month for video images"},
	"user.financial": {"days": 395, "anchor": "payment card data: 13 months for disputes, CNIL délibération 2018-303"},
	"user.behavior.browsing_history": {"days": 760, "anchor": "browsing history: the CNIL's 25 months for audience data"},
}

# Channels on which a commercial message reaches a person (II.IV.1.a "courrier électronique, SMS ou autre").
message_channels := {"email", "sms", "push", "phone"}

# The longest acceptable delay between a withdrawal and its presence in the suppression list a marketing sender
# checks (flow.suppression.propagation_hours). No text gives a figure for the EU: a message sent after the withdrawal
# is sent without consent (II.IV.1.a; GDPR Art. 7(3), 21(3)), and the only statutory delays (US CAN-SPAM, Canada's
# CASL: 10 business days) belong to opt-out regimes. 48 hours lets a daily sync from the preference centre to the
# sending tool run and be retried once; anything slower lets at least one more daily campaign reach someone who
# has withdrawn (docs/interpretation.md 2.20).
max_withdrawal_propagation_hours := 48

# What the cloud-storage provider may receive (III.VII.3): uploaded media + device, network and carrier data.
cloud_storage_allowed := ["user.content", "user.device"]

# What counterparties may receive (III.VII.1): "coordonnées" (contact details, which include the name a parcel is
# addressed to) and "adresse postale".
counterparty_allowed := ["user.contact", "user.name"]

# Fields II.IV.3(8) (security and faults) may carry: device, log and network data.
fault_allowed := ["user.device", "user.telemetry", "user.behavior", "system"]

fault_purposes := {"SECURITY", "FAULT"}

# System kinds that are server-side stores (isolation, access control, backups apply). Client collection points
# (app, firmware) hold data on the user's own device: interpretation.md 2.17.
store_kinds := {"backend", "datastore", "warehouse", "saas", "crm", "web"}

client_kinds := {"app", "firmware"}

# Access groups too broad for need-to-know (III.III.a).
broad_groups := {"all-employees", "all_employees", "everyone", "public", "anonymous", "all-staff", "all", "*"}

tls_ok := {"1.2", "1.3"}

# III.VII.2.b: what an incident notice must say.
notice_contents := ["situation", "impact", "measures", "advice", "remedies"]

individual_channels := {"email", "sms", "phone", "letter", "push"}

# EU/EEA members count as the legal area EU (docs/inventory.md section 5).
eea := {
	"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
	"NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "EU",
}

area(j) := "EU" if j in eea

area(j) := j if not j in eea

in_any(cat, roots) if {
	some r in roots
	in_tree(cat, r)
}

# real_consent(c): a consent record that is consent (not bundled acceptance, not pre-ticked).
real_consent(c) if c.mechanism in valid_mechanisms

# Disclosed categories that II.I.3 observation covers although section I lists them elsewhere (the IP address is
# network-identity data of I.II.b that is necessarily observed).
disclosed_observed := {"user.device.ip_address"}

