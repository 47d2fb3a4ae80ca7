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
