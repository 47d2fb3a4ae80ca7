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

flows := [
	{"id": "a", "legal_basis": {"kind": "exemption"}},
	{"id": "b", "legal_basis": {"kind": "consent"}},
	{"id": "c", "legal_basis": {"kind": "exemption"}},
]

test_flows_where_uses_the_groups if {
	inp := {"flows": flows, "candidates": {"flows_by": {"basis": {"exemption": [0, 2], "consent": [1]}}}}
	[f.id | some f in candidates.flows_where(inp, "basis", ["exemption"])] == ["a", "c"]
	[f.id | some f in candidates.flows_where(inp, "basis", ["consent", "exemption"])] == ["b", "a", "c"]
	candidates.flows_where(inp, "basis", ["contract"]) == []
}

test_flows_where_without_groups_is_every_flow if {
	candidates.flows_where({"flows": flows}, "basis", ["exemption"]) == flows
}

test_fields_where_uses_the_groups if {
	fields := [{"id": "x", "collection": "observed"}, {"id": "y", "collection": "user_provided"}]
	inp := {"fields": fields, "candidates": {"fields_by": {"collection": {"observed": [0], "user_provided": [1]}}}}
	candidates.fields_where(inp, "collection", ["observed"]) == [{"id": "x", "collection": "observed"}]
	candidates.fields_where({"fields": fields}, "collection", ["observed"]) == fields
}

test_field_groups_use_the_groups if {
	fields := [{"id": "x", "category": "a"}, {"id": "y", "category": "b"}, {"id": "z", "category": "a"}]
	inp := {"fields": fields, "candidates": {"fields_by": {"category": {"a": [0, 2], "b": [1]}}}}
	candidates.field_groups(inp, "category") == [[fields[0], fields[2]], [fields[1]]]
	candidates.field_groups({"fields": fields}, "category") == [[fields[0]], [fields[1]], [fields[2]]]
}
