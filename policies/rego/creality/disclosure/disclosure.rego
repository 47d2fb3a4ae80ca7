# METADATA
# scope: package
# title: Disclosure — what the policy says is collected (sections I, II.I, II.II, III.VII)
package creality.disclosure

import rego.v1

import data.creality.vocab
import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.msg

# METADATA
# title: Personal data collected that the policy never discloses
# description: >-
#   Section I lists what Creality collects. A field whose data category is neither named there (nor in
#   II.I, II.II or III.VII) nor covered by one of its catch-all passages is an omitted disclosure
#   (PoliCheck "omitted").
# custom:
#   clause: I
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Stop collecting the field, or map it to a category the policy discloses (check `category`), or have
#     the policy amended before collecting it.
undisclosed_category(inp) := [f |
	some group in candidates.field_groups(inp, "category")
	vocab.personal(group[0])
	vocab.cat(group[0]).coverage.level == "omitted"
	some field in group
	f := finding("field", field.id, "category", msg(
		"field %s collects %s, a category the privacy policy does not disclose",
		[field.id, field.category]))
]

# METADATA
# title: Browsing or log data covered only by "et autres"
# description: >-
#   I.II.1 names browsing history, software usage, clicks and operations, "et autres". Other behavioural
#   data is covered only vaguely: a DPO should confirm the disclosure is sufficient.
# custom:
#   clause: I.II.1
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Use a category the policy names (browsing history, click or operation data), or get the DPO to
#     confirm that the catch-all covers this field and record it.
vague_log_data(inp) := [f |
	some group in candidates.field_groups(inp, "category")
	cov := vocab.cat(group[0]).coverage
	cov.level == "vague"
	cov.clause == "I.II.1"
	some field in group
	f := finding("field", field.id, "category", msg(
		"field %s collects %s, disclosed only by the catch-all \"et autres\" of I.II.1",
		[field.id, field.category]))
]

# METADATA
# title: Device data covered only by the device catch-all
# description: >-
#   I.II.2 names model, MAC, OS, settings and device identifiers, then "autres informations décrivant
#   l'état de base". Unlisted device data (serial numbers, Wi-Fi SSID, installed apps) is vague.
# custom:
#   clause: I.II.2
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Map the field to a named device term, or get the DPO to confirm the catch-all covers it.
vague_device_data(inp) := [f |
	some group in candidates.field_groups(inp, "category")
	cov := vocab.cat(group[0]).coverage
	cov.level == "vague"
	cov.clause == "I.II.2"
	some field in group
	f := finding("field", field.id, "category", msg(
		"field %s collects %s, disclosed only by the device catch-all of I.II.2",
		[field.id, field.category]))
]

# METADATA
# title: Personal data covered only by a broader term of the policy
# description: >-
#   A category not named by the policy but below one it names (or below "informations que vous stockez")
#   is disclosed only vaguely (PoliCheck "vague"): the DPO should confirm the broader term is enough.
# custom:
#   clause: I
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Use the category the policy names, or get the DPO to confirm the broader term covers this field.
vague_other(inp) := [f |
	some group in candidates.field_groups(inp, "category")
	cov := vocab.cat(group[0]).coverage
	cov.level == "vague"
	not cov.clause in {"I.II.1", "I.II.2", "I.II.b"}
	some field in group
	f := finding("field", field.id, "category", msg(
		"field %s collects %s, disclosed only by the broader term of %s",
		[field.id, field.category, cov.clause]))
]

# METADATA
# title: Network-identity data covered only by "entre autres"
# description: >-
#   I.II.b lists account number, IP address, email, passphrases, passwords and security answers, "entre autres".
#   Other account or authorisation data (session tokens, login timestamps, API keys) is covered only vaguely.
# custom:
#   clause: I.II.b
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Map the field to a listed term (account id, password, security answer...) if it is one, or get the DPO to
#     confirm that "entre autres" covers it.
vague_identity_data(inp) := [f |
	some group in candidates.field_groups(inp, "category")
	cov := vocab.cat(group[0]).coverage
	cov.level == "vague"
	cov.clause == "I.II.b"
	some field in group
	f := finding("field", field.id, "category", msg(
		"field %s collects %s, disclosed only by the open list (\"entre autres\") of I.II.b",
		[field.id, field.category]))
]

# METADATA
# title: Access origin or order presented as non-identity data but stored per person
# description: >-
#   I.I presents the user's origin and access order as "informations non liées à l'identité personnelle", yet
#   mentions "l'enregistrement de l'origine de chaque utilisateur". A field of that kind that is identified,
#   pseudonymous or a join key is identity-linked data: the policy's framing is contradicted (needs review).
# custom:
#   clause: I.I
#   severity: warning
#   verdict: ambiguous
#   remediation: >-
#     Aggregate origin and access-order data before storing it (identifiability aggregate or anonymous), or treat
#     it as identity-linked data under I.II with its real identifiability and purposes.
identified_access_data(inp) := [f |
	some field in candidates.fields_where(inp, "category", vocab.access_terms)
	field.category in vocab.access_terms
	linked(field)
	f := finding("field", field.id, "identifiability", msg(
		"field %s (%s) is presented by I.I as non-identity information but is %s",
		[field.id, field.category, linkage(field)]))
]

linked(field) if not object.get(field, "identifiability", "identified") in vocab.deidentified_levels

linked(field) if object.get(field, "join_key", false) == true

linkage(field) := msg("a join key", []) if object.get(field, "join_key", false) == true

else := object.get(field, "identifiability", msg("identified (no identifiability stated)", []))

# METADATA
# title: Phone number that is not the user's own, given by the user
# description: >-
#   I.II discloses "votre numéro de téléphone personnel", which Creality may collect or ask for. A phone number
#   read from the device or SIM, bought, or taken from the user's contacts is not what the policy describes.
# custom:
#   clause: I.II.a
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Ask the user for their phone number instead of reading or acquiring it, or have the policy disclose the other
#     source.
phone_not_from_user(inp) := [f |
	some field in candidates.fields_where(inp, "category", ["user.contact.phone_number"])
	field.category == "user.contact.phone_number"
	c := object.get(field, "collection", "user_provided")
	not c in {"user_provided", "derived"}
	f := finding("field", field.id, "collection", msg(
		"field %s holds a phone number obtained by collection '%s'; the policy discloses only the user's own number, given by the user",
		[field.id, c]))
]

# METADATA
# title: Personal data obtained through a channel the policy does not list
# description: >-
#   II.I lists three collection channels ("par exemple"): what the user provides, what the user shares or stores,
#   and what Creality observes. Personal data bought or received from third parties (data brokers, enrichment,
#   purchased lists) comes through an undeclared channel; the list is open, so this is a warning.
# custom:
#   clause: II.I.1
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Stop acquiring personal data from third parties, or have the policy declare that channel; fix
#     `collection` if it is wrong.
undeclared_channel(inp) := [f |
	some field in candidates.fields_where(inp, "collection", ["third_party"])
	vocab.personal(field)
	object.get(field, "collection", "") == "third_party"
	f := finding("field", field.id, "collection", msg(
		"field %s (%s) is obtained from a third party, a collection channel II.I does not list",
		[field.id, field.category]))
]

# METADATA
# title: Shared or stored content categorised outside user content
# description: >-
#   II.I.2 covers what users share with others and store in the services. A field collected that way but
#   categorised outside user.content.* / user.social is either mis-categorised or hides other data in a content
#   channel (needs review).
# custom:
#   clause: II.I.2
#   severity: warning
#   verdict: ambiguous
#   remediation: >-
#     Categorise shared or stored content under user.content.* (or user.social), or fix `collection` if the data
#     is not content the user shares or stores.
content_channel_mismatch(inp) := [f |
	some field in candidates.fields_where(inp, "collection", ["user_shared", "user_stored"])
	object.get(field, "collection", "") in {"user_shared", "user_stored"}
	not vocab.in_any(field.category, ["user.content", "user.social"])
	f := finding("field", field.id, "category", msg(
		"field %s is collected as %s content but categorised %s",
		[field.id, field.collection, field.category]))
]

# METADATA
# title: Data observed automatically that no term of the policy covers
# description: >-
#   II.I.3: "les informations que nous obtenons à votre sujet ... par exemple : les informations du journal, les
#   informations de l'appareil". Data Creality observes that neither the log and device terms of I.II.1 and I.II.2
#   nor any other passage covers (camera frames, precise location) is obtained through a channel the policy does not
#   describe: omitted, as the catalogue's II.I.3 check says (the category itself is also reported under I).
# custom:
#   clause: II.I.3
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Stop observing the data, or have the policy say that it is obtained (and what it is) before collecting it.
observed_undisclosed(inp) := [f |
	some group in candidates.field_groups(inp, "category")
	vocab.personal(group[0])
	vocab.cat(group[0]).coverage.level == "omitted"
	some field in group
	object.get(field, "collection", "") == "observed"
	f := finding("field", field.id, "collection", msg(
		"field %s (%s) is observed automatically, and nothing the policy says Creality obtains about users covers it",
		[field.id, field.category]))
]

# METADATA
# title: Data observed automatically that the policy presents as provided by the user
# description: >-
#   II.I.3 covers what Creality obtains about the user while the services are used: the log and device data of
#   I.II.1 and I.II.2 (and cookies, II.II). Other disclosed data (contact details, account data, content) observed
#   without the user providing it is covered only vaguely.
# custom:
#   clause: II.I.3
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Collect this data from the user rather than observing it, or have the policy say it is observed; fix
#     `collection` if it is wrong.
observed_non_log(inp) := [f |
	some field in candidates.fields_where(inp, "collection", ["observed"])
	vocab.personal(field)
	object.get(field, "collection", "") == "observed"
	cov := vocab.cat(field).coverage
	cov.level != "omitted"
	not cov.clause in {"I.I", "I.II.1", "I.II.2", "II.II.a", "III.VII.3"}
	not field.category in vocab.disclosed_observed
	f := finding("field", field.id, "collection", msg(
		"field %s (%s) is observed automatically; the policy discloses it (%s) as information the user provides",
		[field.id, field.category, cov.clause]))
]
