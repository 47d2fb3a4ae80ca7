package lib.findings_test

import rego.v1

import data.lib.findings

a := findings.msg("it is %s", ["a"])

b := findings.msg("it is %s", ["b"])

test_a_message_keeps_its_format_and_arguments if {
	m := findings.msg("flow %s sends %d fields (%s)", ["f", 2, b])
	m == {"fmt": "flow %s sends %d fields (%s)", "args": ["f", 2, b]}
	findings.text(m) == "flow f sends 2 fields (it is b)"
}

test_a_finding_of_a_message_carries_its_format_and_arguments if {
	f := findings.finding("flow", "f", "to", a)
	f == {"subject": {"kind": "flow", "id": "f"}, "attribute": "to", "fmt": "it is %s", "args": ["a"]}
	findings.text(f) == "it is a"
	g := findings.finding("flow", "f", "", "plain")
	g == {"subject": {"kind": "flow", "id": "f"}, "attribute": "", "message": "plain"}
	findings.text(g) == "plain"
}

test_and_join_keeps_every_phrase if {
	findings.and_join([a]) == a
	findings.text(findings.and_join([a, b])) == "it is a and it is b"
	findings.text(findings.and_join([a, b, a])) == "it is a and it is b and it is a"
	findings.text(findings.and_join([a, b, a, b])) == "it is a and it is b and it is a and it is b"
}

test_joined_lists_items_of_any_length if {
	j := findings.joined("; ", [a, "x", b])
	findings.text(j) == "it is a; x; it is b"
	j.items == [a, "x", b]
	findings.text(findings.joined(", ", [])) == ""
}

test_text_renders_phrases_four_levels_deep if {
	deep := findings.msg("1 (%s)", [findings.msg("2 (%s)", [findings.joined("; ", [findings.msg("3 %s", ["x"]), "y"])])])
	findings.text(deep) == "1 (2 (3 x; y))"
}
