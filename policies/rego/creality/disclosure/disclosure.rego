# METADATA
# scope: package
# title: Disclosure — what the policy says is collected (sections I, II.I, II.II, III.VII)
package creality.disclosure

import rego.v1

import data.creality.vocab
import data.lib.findings.finding

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
	some field in inp.fields
	vocab.personal(field)
	vocab.coverage(field.category).level == "omitted"
	f := finding("field", field.id, "category", sprintf(
		"field %s collects %s, a category the privacy policy does not disclose",
		[field.id, field.category],
	))
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
	some field in inp.fields
	cov := vocab.coverage(field.category)
	cov.level == "vague"
	cov.clause == "I.II.1"
	f := finding("field", field.id, "category", sprintf(
		"field %s collects %s, disclosed only by the catch-all \"et autres\" of I.II.1",
		[field.id, field.category],
	))
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
	some field in inp.fields
	cov := vocab.coverage(field.category)
	cov.level == "vague"
	cov.clause == "I.II.2"
	f := finding("field", field.id, "category", sprintf(
		"field %s collects %s, disclosed only by the device catch-all of I.II.2",
		[field.id, field.category],
	))
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
	some field in inp.fields
	cov := vocab.coverage(field.category)
	cov.level == "vague"
	not cov.clause in {"I.II.1", "I.II.2"}
	f := finding("field", field.id, "category", sprintf(
		"field %s collects %s, disclosed only by the broader term of %s",
		[field.id, field.category, cov.clause],
	))
]
