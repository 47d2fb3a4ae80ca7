# METADATA
# scope: package
# title: GDPR territorial facts — the EEA, the adequacy decisions, personal data
# description: >-
#   Small lookup sets only (regopy scans collections on every lookup). The facts each flow carries
#   (`fields_info[].subject_jurisdictions`, `data_subject_jurisdictions`) are pre-joined in Python
#   (src/auditor/policy/inputs.py) or refined by the lineage stage.
package gdpr.jurisdictions

import rego.v1

# The EU/EEA: "EU" stands for the whole area (docs/inventory.md §5), plus every member state and the
# three EEA EFTA states.
eea := {
	"EU", "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
	"LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
}

# Commission adequacy decisions (GDPR Art. 45) in force: Andorra, Argentina, Canada (commercial
# organisations), Faroe Islands, Guernsey, Israel, Isle of Man, Japan, Jersey, New Zealand, Republic of
# Korea, Switzerland, United Kingdom, Uruguay. The United States is adequate only for recipients certified
# under the EU-US Data Privacy Framework (Decision (EU) 2023/1795): see dpf_country.
adequate := {"AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "CH", "GB", "UY"}

dpf_country := "US"

in_eea(j) if j in eea

# Identifiability levels that are not personal data (GDPR recital 26; PIPL Art. 4 "anonymised").
non_personal := {"anonymous", "aggregate"}

personal(field) if not object.get(field, "identifiability", "") in non_personal

# `subject_areas` / `area` are pre-joined in Python (EEA member codes -> "EU"): testing `"EU" in areas` on a short
# array is linear, where `j in eea` rebuilds and scans a 31-member set on every call in regopy.
eu_field(field) if {
	"EU" in object.get(field, "subject_areas", [])
	personal(field)
}

# Ids of the personal fields of EU/EEA data subjects a flow carries.
eu_fields(flow) := [f.id | some f in flow.fields_info; eu_field(f)]

# eu_field inlined, and no list built: this runs for every flow of several rules, and a function call costs
# regorus ~5 µs (docs/performance.md). Same conditions as eu_field.
carries_eu_data(flow) if {
	some f in flow.fields_info
	"EU" in object.get(f, "subject_areas", [])
	not object.get(f, "identifiability", "") in non_personal
}

# A transfer (Chapter V): EU-subject personal data sent outside the EEA, across a border — the
# destination's jurisdiction differs from the sender's (this includes onward transfers, e.g. CN -> US),
# or the data leaves a collection point whose users are in the EEA. The cheap tests on the flow come first.
eu_transfer(flow) if {
	flow.to_node.area != "EU"
	crosses(flow)
	carries_eu_data(flow)
}

crosses(flow) if flow.to_node.area != flow.from_node.area

crosses(flow) if "EU" in object.get(flow.from_node, "subject_areas", [])

transfer_of(flow) := object.get(flow, "transfer", {})

mechanism(flow) := object.get(transfer_of(flow), "mechanism", "none")

# The YAML node a transfer finding points at: the mechanism, else the flow's id (no transfer block).
transfer_attr(flow) := "transfer.mechanism" if {
	"mechanism" in object.keys(transfer_of(flow))
} else := "id"
