# METADATA
# scope: package
# title: Candidate lists — the items a family of rules needs to look at
# description: >-
#   regopy's cost is per item visited and per rule, so the partition input lists, for some families of rules, the
#   positions of the items that can possibly match (`input.candidates`, built in src/auditor/policy/inputs.py as a
#   superset of what the rules test: the rules keep every condition of their own). Without that list (a Rego test
#   with a literal input) every item is a candidate.
package lib.candidates

import rego.v1

# border_flows(inp): the flows whose destination may lie in another jurisdiction than their source or than the
# people their source collects from (unknown jurisdictions included) — every flow a transfer rule can concern.
border_flows(inp) := flows if {
	positions := inp.candidates.border_flows
	flows := [inp.flows[i] | some i in positions]
} else := inp.flows

# flows_where(inp, attribute, values): the flows whose `attribute` is one of `values` — attribute is one of
# "basis" (legal_basis.kind), "to_role" (to_node.role), "policy_purpose" (purpose_info.policy_purpose),
# "mechanism" (transfer.mechanism) or "channel"; the partition groups the positions of its flows by each
# (input.candidates.flows_by). Rules still test the value.
flows_where(inp, attribute, values) := flows if {
	groups := inp.candidates.flows_by[attribute]
	flows := [inp.flows[i] | some v in values; some i in object.get(groups, v, [])]
} else := inp.flows

# fields_where(inp, attribute, values): the fields whose `attribute` ("category" or "collection") is one of
# `values` (input.candidates.fields_by). Rules still test the value.
fields_where(inp, attribute, values) := fields if {
	groups := inp.candidates.fields_by[attribute]
	fields := [inp.fields[i] | some v in values; some i in object.get(groups, v, [])]
} else := inp.fields

# field_groups(inp, attribute): the partition's fields in groups sharing the value of `attribute` ("category" or
# "collection"), for rules whose decision depends on that value only: they decide once per group, then report
# each field of it. Without the groups, every field is a group of its own.
field_groups(inp, attribute) := groups if {
	by_value := inp.candidates.fields_by[attribute]
	groups := [[inp.fields[i] | some i in positions] | some positions in by_value]
} else := [[field] | some field in inp.fields]
