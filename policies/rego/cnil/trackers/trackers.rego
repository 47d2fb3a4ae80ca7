# METADATA
# scope: package
# title: CNIL trackers — prior consent, refusal as easy as acceptance, lifetime, choice memory
# description: >-
#   Loi Informatique et Libertés art. 82, CNIL délibérations 2020-091 (guidelines) and 2020-092
#   (recommendation). Scope: web and app systems whose users are in France (FR) or the EU (EU includes
#   France). Art. 82 concerns every tracker, whatever its technology: cookies, local-storage keys, SDK
#   identifiers, pixels and fingerprinting (guidelines 2020-091 art. 1). Trackers of both partner keys
#   (`cookies`, `trackers`) come pre-joined on the system as `embedded_partners[].cookies[]` (with their
#   `technology`, their `path` in the partner and their purpose's facts); findings point at the tracker.
package cnil.trackers

import rego.v1

import data.lib.findings.finding
import data.lib.findings.msg

french_audience(system) if {
	system.kind in {"web", "app"}
	some j in object.get(system, "subject_jurisdictions", [])
	j in {"FR", "EU"}
}

# Trackers that need consent unless exempt (strictly necessary and UI-preference cookies are exempt).
consent_types := {"analytics", "advertising"}

# A tracker needs consent by what it does, not by its label: typed analytics or advertising, or serving an analytics
# or advertising purpose whatever its type (a visitor id labelled strictly necessary is still an analytics tracker).
consent_tracker(c) if c.type in consent_types

consent_tracker(c) if c.purpose_info.policy_purpose in {
	"COOKIE.ANALYTICS", "COOKIE.ADS", "PARTNER.ANALYTICS", "PARTNER.ADS", "PARTNER.AD_MEASURE",
}

max_exempt_days := 395 # 13 months

# The exemption conditions of audience measurement other than lifetime (délibération 2020-091 art. 5):
# first-party, anonymous statistics for the publisher only (a COOKIE.ANALYTICS purpose), no transfer to a
# third party (the partner setting it acts as a processor). A fingerprint is never exempt: it cannot be
# limited to 13 months nor cleared by the user.
audience_measurement(partner, cookie) if {
	cookie.type == "analytics"
	technology(cookie) != "fingerprinting"
	cookie.first_party == true
	cookie.purpose_info.policy_purpose == "COOKIE.ANALYTICS"
	partner.node.operator != "third_party"
}

# An analytics tracker that may fire before consent: audience measurement within the 13-month lifetime (a
# pixel stores nothing, so has no lifetime to exceed).
exempt(partner, cookie) if {
	audience_measurement(partner, cookie)
	cookie.max_age_days <= max_exempt_days
}

exempt(partner, cookie) if {
	audience_measurement(partner, cookie)
	technology(cookie) == "pixel"
}

technology(c) := object.get(c, "technology", "cookie")

# What a tracker is, for messages: "cookie", "local-storage key", "SDK identifier", "pixel", "fingerprinting script"
# (each a phrase of the catalogue).
what(c) := msg("cookie", []) if technology(c) == "cookie"

else := msg("local-storage key", []) if technology(c) == "local_storage"

else := msg("SDK identifier", []) if technology(c) == "sdk_identifier"

else := msg("pixel", []) if technology(c) == "pixel"

else := msg("fingerprinting script", []) if technology(c) == "fingerprinting"

else := msg("tracker", [])

# Technologies with a lifetime (a pixel or a fingerprint has none).
stored(c) if technology(c) in {"cookie", "local_storage", "sdk_identifier"}

# Predicates, not `not x.y <= n` inline: real OPA makes the latter undefined when x.y is missing.
within_exempt_lifetime(cookie) if cookie.max_age_days <= max_exempt_days

remembers_briefly(banner) if banner.choice_ttl_days <= 183

cookies(system) := [{"partner": p, "cookie": c} |
	some p in system.embedded_partners
	some c in p.cookies
]

# concat, not sprintf: regopy 1.5.2 quotes a string literal passed as a function argument under %s.
attr(c, key) := concat(".", [c.path, key])

# METADATA
# title: Non-essential tracker set before the user consents
# description: >-
#   Art. 82: no advertising tracker, and no analytics tracker outside the audience-measurement exemption
#   (first party, COOKIE.ANALYTICS purpose, no third-party recipient), may be set or read before consent.
#   An exempt-looking analytics cookie that only fails the 13-month lifetime is reported by the lifetime rule.
# custom:
#   clause: CNIL.PRIOR_CONSENT
#   severity: error
#   verdict: violation
#   remediation: >-
#     Block the tracker until the consent platform records a positive choice (tag-manager consent mode or
#     script gating), or make it an exempt first-party audience-measurement cookie.
tracker_before_consent(inp) := [f |
	some system in inp.systems
	french_audience(system)
	some pc in cookies(system)
	c := pc.cookie
	consent_tracker(c)
	c.fires_before_consent == true
	not audience_measurement(pc.partner, c)
	f := with_system(
		finding("partner", pc.partner.id, attr(c, "fires_before_consent"), msg(
			"%s %s %s of %s fires before consent on %s (users in France/EU)",
			[c.type, what(c), c.name, pc.partner.id, system.id],
		)),
		system.id,
	)
]

# The same partner cookie embedded in two systems gives one finding per system.
with_system(f, sid) := object.union(f, {"key": sid})

# METADATA
# title: Tracker consent state not stated
# description: >-
#   Whether an analytics or advertising cookie fires before consent (fires_before_consent) is the fact
#   CNIL.PRIOR_CONSENT needs; missing, it cannot pass.
# custom:
#   clause: CNIL.PRIOR_CONSENT
#   severity: warning
#   verdict: gap
#   remediation: State fires_before_consent for the cookie (check with the browser's network panel before any choice).
tracker_consent_state_unknown(inp) := [f |
	some system in inp.systems
	french_audience(system)
	some pc in cookies(system)
	c := pc.cookie
	consent_tracker(c)
	not "fires_before_consent" in object.keys(c)
	f := with_system(
		finding("partner", pc.partner.id, attr(c, "name"), msg("%s %s of %s does not state fires_before_consent", [what(c), c.name, pc.partner.id])),
		system.id,
	)
]

# METADATA
# title: Consent banner without a first-layer "refuse all" or reading silence as consent
# description: >-
#   Délibération 2020-091 art. 2: refusing must be as easy as accepting — a "refuse all" choice on the
#   banner's first layer (consent_banner.reject_first_layer) and silence or closing read as refusal
#   (consent_banner.silence_means_refusal), on every FR/EU web or app system embedding consent-requiring
#   trackers. false is a violation; an unstated value is a gap.
# custom:
#   clause: CNIL.REJECT_ALL
#   severity: error
#   verdict: violation
#   remediation: >-
#     Add a "Tout refuser" button next to "Tout accepter" on the banner's first screen and set no
#     non-essential cookie when the banner is ignored or closed.
banner_refusal_not_easy(inp) := [f |
	some system in inp.systems
	french_audience(system)
	needs_banner(system)
	banner := banner_of(system)
	some key in ["reject_first_layer", "silence_means_refusal"]
	object.get(banner, key, null) != true
	f := banner_finding(system, banner, key)
]

banner_of(system) := b if {
	b := system.consent_banner
	is_object(b)
} else := {}

# Only trackers that need consent need the banner: a site whose sole analytics tracker is exempt audience
# measurement does not (the user's right to object is the policy's II.III.c choice mechanism).
needs_banner(system) if {
	some pc in cookies(system)
	consent_tracker(pc.cookie)
	not exempt(pc.partner, pc.cookie)
}

banner_finding(system, banner, key) := object.union(
	finding("system", system.id, concat(".", ["consent_banner", key]), msg("system %s: consent_banner.%s is false", [system.id, key])),
	{"key": key},
) if banner[key] == false

banner_finding(system, banner, key) := object.union(
	finding("system", system.id, "consent_banner", msg("system %s embeds consent-requiring trackers but does not state consent_banner.%s", [system.id, key])),
	{"key": key, "verdict": "gap"},
) if not key in object.keys(banner)

# METADATA
# title: Consent-exempt audience-measurement cookie living longer than 13 months
# description: >-
#   Délibération 2020-091 art. 5: an audience-measurement cookie set without consent may live at most 13
#   months (395 days); beyond that it is not exempt and must wait for consent. An unstated lifetime is a gap.
# custom:
#   clause: CNIL.COOKIE_LIFETIME
#   severity: error
#   verdict: violation
#   remediation: >-
#     Configure the cookie's lifetime to 13 months or less (not extended on new visits), or gate it behind
#     consent.
exempt_cookie_lifetime(inp) := [f |
	some system in inp.systems
	french_audience(system)
	some pc in cookies(system)
	c := pc.cookie
	c.fires_before_consent == true
	audience_measurement(pc.partner, c)
	stored(c)
	not within_exempt_lifetime(c)
	f := with_system(lifetime_finding(pc.partner, c, system), system.id)
]

lifetime_finding(partner, c, system) := finding("partner", partner.id, attr(c, "max_age_days"), msg(
	"audience-measurement cookie %s of %s fires before consent on %s and lives %d days (CNIL exemption: at most 395)",
	[c.name, partner.id, system.id, c.max_age_days],
)) if c.max_age_days

lifetime_finding(partner, c, system) := object.union(
	finding("partner", partner.id, attr(c, "name"), msg(
		"audience-measurement cookie %s of %s fires before consent on %s but states no max_age_days",
		[c.name, partner.id, system.id],
	)),
	{"verdict": "gap"},
) if not "max_age_days" in object.keys(c)

# METADATA
# title: Tracker lifetime beyond the 13 months the CNIL recommends
# description: >-
#   Outside the exemption, the CNIL still treats 13 months as the maximum reasonable lifetime of a tracker
#   (its 2013 recommendation, carried into the 2020 guidelines for consent validity): an analytics or
#   advertising cookie set after consent on an FR/EU system and living longer is a warning.
# custom:
#   clause: CNIL.COOKIE_LIFETIME
#   severity: warning
#   verdict: violation
#   remediation: Shorten the cookie's lifetime to 13 months (395 days) or less in the vendor's configuration.
consented_cookie_lifetime(inp) := [f |
	some system in inp.systems
	french_audience(system)
	some pc in cookies(system)
	c := pc.cookie
	consent_tracker(c)
	c.fires_before_consent == false
	stored(c)
	c.max_age_days > max_exempt_days
	f := with_system(
		finding("partner", pc.partner.id, attr(c, "max_age_days"), msg(
			"%s %s %s of %s lives %d days on %s, beyond the 13 months (395 days) the CNIL recommends",
			[c.type, what(c), c.name, pc.partner.id, c.max_age_days, system.id],
		)),
		system.id,
	)
]

# METADATA
# title: Consent choice remembered longer than about six months, or for an unstated time
# description: >-
#   Recommendation 2020-092: keep the user's choice (consent or refusal) about six months (183 days)
#   before asking again. A longer memory is a warning (a recommendation), an unstated one a gap.
# custom:
#   clause: CNIL.CHOICE_TTL
#   severity: warning
#   verdict: violation
#   remediation: Set the banner to store the consent or refusal for about six months, then ask again.
choice_memory(inp) := [f |
	some system in inp.systems
	french_audience(system)
	needs_banner(system)
	banner := banner_of(system)
	not remembers_briefly(banner)
	f := ttl_finding(system, banner)
]

ttl_finding(system, banner) := finding("system", system.id, "consent_banner.choice_ttl_days", msg(
	"system %s keeps the consent choice %d days (CNIL: about 183)",
	[system.id, banner.choice_ttl_days],
)) if banner.choice_ttl_days

ttl_finding(system, banner) := object.union(
	finding("system", system.id, "consent_banner", msg("system %s does not state how long the consent choice is kept (consent_banner.choice_ttl_days)", [system.id])),
	{"verdict": "gap"},
) if not "choice_ttl_days" in object.keys(banner)
