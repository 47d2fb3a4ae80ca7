# METADATA
# scope: package
# title: PIPL Art. 23 and 29 — separate consent for sharing with another handler and for sensitive data
package pipl.consent

import rego.v1

import data.lib.candidates
import data.lib.findings.finding
import data.lib.findings.msg
import data.pipl.scope

# Total (never undefined): real OPA turns `not f(g(x))` into false when g(x) is undefined.
consent_of(flow) := c if {
	scope.basis_kind(flow) == "consent"
	c := flow.consent_info
	c != null
} else := {}

# METADATA
# title: Chinese residents' data given to another handler without separate consent
# description: >-
#   Art. 23: providing personal information to another, independent handler (a third-party operator, not an
#   entrusted processor) needs the individual's separate consent: legal_basis consent citing a consent with
#   mechanism separate and scope sharing. Disclosures to authorities under a legal obligation are exempt.
# custom:
#   clause: PIPL.23
#   severity: error
#   verdict: violation
#   remediation: >-
#     Collect a separate consent naming the recipient before sharing, or restructure the relationship as
#     entrusted processing (a processor contract under Art. 21).
sharing_without_separate_consent(inp) := [f |
	some flow in inp.flows
	flow.to_node.operator == "third_party"
	scope.basis_kind(flow) != "legal_obligation"
	scope.carries_cn_data(flow)
	not scope.separate(consent_of(flow), "sharing")
	f := finding("flow", flow.id, "legal_basis", msg(
		"flow %s gives Chinese residents' data (%s) to the independent handler %s without a separate consent (mechanism separate, scope sharing)",
		[flow.id, concat(", ", scope.cn_fields(flow)), flow.to],
	))
]

# The ids of the fields of Chinese residents a flow carries whose category has the PIPL category fact `fact`
# ("sensitive" or "standard_only": scope.category_facts).
# The facts are bound before they are indexed by `fact`: regorus evaluates a call indexed by a variable,
# `scope.cat(fi)[fact]`, ~25 µs slower per item (docs/performance.md, session 7).
sensitive_fields(flow, fact) := [fi.id |
	some fi in flow.fields_info
	scope.cn_field(fi)
	facts := scope.cat(fi)
	facts[fact]
]

# The fields of Chinese residents the partition lists whose category has the PIPL category fact `fact`
# ("sensitive" or "standard_only", as sensitive_fields), none of whose purposes has a separate consent with scope
# sensitive: what the field-level rules report, a flow carrying them or not. Decided once per category.
unconsented_fields(inp, fact) := [field |
	some group in candidates.field_groups(inp, "category")
	facts := scope.cat(group[0])
	facts[fact]
	some field in group
	"CN" in object.get(field, "data_subject_areas", [])
	not object.get(field, "identifiability", "") in scope.non_personal
	not separate_for_a_purpose(field, "sensitive")
]

# A consent with mechanism separate and `what` in its scope, for one of the field's purposes.
separate_for_a_purpose(field, what) if {
	some info in object.get(field, "purposes_info", [])
	some consent in info.consents
	scope.separate(consent, what)
}

# METADATA
# title: Chinese residents' sensitive personal information processed without separate consent
# description: >-
#   Art. 28-29: sensitive personal information (biometrics, health, financial accounts, location tracking,
#   identity documents, minors' data...) is processed only with a separate consent: legal_basis consent
#   citing a consent with mechanism separate and scope sensitive.
# custom:
#   clause: PIPL.29
#   severity: error
#   verdict: violation
#   remediation: >-
#     Collect a separate consent for the sensitive data (explaining necessity and impact), record it with
#     scope sensitive and cite it in the flow; or stop processing that data.
sensitive_without_separate_consent(inp) := [f |
	some flow in inp.flows
	ids := sensitive_fields(flow, "sensitive")
	count(ids) > 0
	not scope.separate(consent_of(flow), "sensitive")
	f := finding("flow", flow.id, "fields", msg(
		"flow %s carries Chinese residents' sensitive personal information (%s) without a separate consent (scope sensitive)",
		[flow.id, concat(", ", ids)],
	))
]

# METADATA
# title: Chinese residents' sensitive personal information collected without separate consent
# description: >-
#   Art. 29: handling sensitive personal information, collecting and storing it included (Art. 4), needs a
#   separate consent, even when no flow carries it anywhere: a field of an Art. 28 category about Chinese
#   residents, none of whose purposes has a consent with mechanism separate and scope sensitive.
# custom:
#   clause: PIPL.29
#   severity: error
#   verdict: violation
#   remediation: >-
#     Collect a separate consent for the sensitive data (explaining necessity and impact) for the purpose the
#     field serves, record it with scope sensitive; or stop collecting the field.
sensitive_field_without_separate_consent(inp) := [f |
	some field in unconsented_fields(inp, "sensitive")
	f := finding("field", field.id, "category", msg(
		"field %s collects Chinese residents' sensitive personal information (%s) with no separate consent (scope sensitive) for any of its purposes",
		[field.id, field.category],
	))
]

# METADATA
# title: Data that GB/T 35273 treats as sensitive processed without separate consent
# description: >-
#   Phone numbers, credentials and browsing history are sensitive only under the national standard GB/T
#   35273 (annex B), not PIPL Art. 28's list: the missing separate consent is a warning.
# custom:
#   clause: PIPL.29
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Consider a separate consent for this data (GB/T 35273 §5.4), or document why it is not sensitive in
#     this context.
standard_sensitive_without_separate_consent(inp) := [f |
	some flow in inp.flows
	ids := sensitive_fields(flow, "standard_only")
	count(ids) > 0
	not scope.separate(consent_of(flow), "sensitive")
	f := finding("flow", flow.id, "fields", msg(
		"flow %s carries Chinese residents' data GB/T 35273 treats as sensitive (%s) without a separate consent",
		[flow.id, concat(", ", ids)],
	))
]

# METADATA
# title: Data that GB/T 35273 treats as sensitive collected without separate consent
# description: >-
#   The field-level counterpart of the warning above: a field of Chinese residents that only GB/T 35273 (annex B)
#   treats as sensitive (phone numbers, credentials, browsing history), none of whose purposes has a consent with
#   mechanism separate and scope sensitive, even when no flow carries it.
# custom:
#   clause: PIPL.29
#   severity: warning
#   verdict: vague
#   remediation: >-
#     Consider a separate consent for this data (GB/T 35273 §5.4) for the purpose the field serves, or document
#     why it is not sensitive in this context.
standard_sensitive_field_without_separate_consent(inp) := [f |
	some field in unconsented_fields(inp, "standard_only")
	f := finding("field", field.id, "category", msg(
		"field %s collects Chinese residents' data GB/T 35273 treats as sensitive (%s) with no separate consent for any of its purposes",
		[field.id, field.category],
	))
]
