# METADATA
# scope: package
# title: PIPL scope — Chinese residents' personal information, export, sensitive categories
package pipl.scope

import rego.v1

# PIPL Art. 4: anonymised information is not personal information (de-identified information still is).
non_personal := {"anonymous", "aggregate"}

cn_field(field) if {
	"CN" in object.get(field, "subject_jurisdictions", [])
	not object.get(field, "identifiability", "") in non_personal
}

cn_fields(flow) := [f.id | some f in flow.fields_info; cn_field(f)]

# cn_field inlined, and no list built (a function call per field costs regorus ~5 µs). Same conditions.
carries_cn_data(flow) if {
	some f in flow.fields_info
	"CN" in object.get(f, "subject_jurisdictions", [])
	not object.get(f, "identifiability", "") in non_personal
}

# Providing personal information outside the PRC (Art. 38): CN subjects' data sent to a destination
# outside CN, from China or straight from a collection point whose users include Chinese residents.
export(flow) if {
	flow.to_node.jurisdiction != "CN"
	leaves_china(flow)
	carries_cn_data(flow)
}

leaves_china(flow) if flow.from_node.jurisdiction == "CN"

leaves_china(flow) if "CN" in object.get(flow.from_node, "subject_jurisdictions", [])

transfer_of(flow) := object.get(flow, "transfer", {})

mechanism(flow) := object.get(transfer_of(flow), "mechanism", "none")

basis_kind(flow) := object.get(object.get(flow, "legal_basis", {}), "kind", "")

# A separate consent (单独同意) with the given scope.
separate(consent, scope) if {
	consent.mechanism == "separate"
	scope in consent.scope
}

# Sensitive personal information, PIPL Art. 28 (category prefixes).
sensitive_prefixes := [
	"user.biometric", "user.health_and_medical", "user.financial", "user.location",
	"user.government_id", "user.childrens", "user.criminal_history", "user.religious_belief",
]

# Categories only the national standard GB/T 35273 (annex B) lists as sensitive.
standard_only_prefixes := ["user.contact.phone_number", "user.authorization", "user.behavior.browsing_history"]

# category_facts(cat): the per-category facts PIPL rules read, through cat(x). As creality.vocab's: the embedded
# engine tabulates it once per distinct category and adds it to the input (input.category_facts[cat]["pipl.scope"]);
# without that table (tests, OPA) it is computed here. Same function, same value.
category_facts(cat) := {
	"sensitive": prefixed(cat, sensitive_prefixes),
	"standard_only": prefixed(cat, standard_only_prefixes),
}

prefixed(cat, prefixes) := true if has_prefix(cat, prefixes)

else := false

# cat(x): the PIPL category facts of a field (or of a field summary on a flow).
cat(x) := f if {
	f := input.category_facts[x.category]["pipl.scope"]
} else := category_facts(x.category)

has_prefix(category, prefixes) if {
	some p in prefixes
	startswith(category, p)
}
