package lib.candidates_test

import rego.v1

import data.lib.candidates

test_without_a_candidate_list_every_flow_is_a_candidate if {
	candidates.border_flows({"flows": [{"id": "a"}, {"id": "b"}]}) == [{"id": "a"}, {"id": "b"}]
}

test_with_a_candidate_list_only_those_flows if {
	inp := {"flows": [{"id": "a"}, {"id": "b"}, {"id": "c"}], "candidates": {"border_flows": [0, 2]}}
	candidates.border_flows(inp) == [{"id": "a"}, {"id": "c"}]
}

test_an_empty_candidate_list_means_none if {
	candidates.border_flows({"flows": [{"id": "a"}], "candidates": {"border_flows": []}}) == []
}
