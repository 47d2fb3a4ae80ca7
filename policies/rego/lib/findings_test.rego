package lib.findings_test

import rego.v1

import data.lib.findings

a := findings.msg("it is %s", ["a"])

b := findings.msg("it is %s", ["b"])

test_a_message_keeps_its_format_and_arguments if {
	m := findings.msg("flow %s sends %d fields (%s)", ["f", 2, b])
	m.text == "flow f sends 2 fields (it is b)"
	m.fmt == "flow %s sends %d fields (%s)"
	m.args == ["f", 2, b]
}

test_a_finding_of_a_message_carries_its_text_format_and_arguments if {
	f := findings.finding("flow", "f", "to", a)
	f == {"subject": {"kind": "flow", "id": "f"}, "attribute": "to", "message": "it is a", "fmt": "it is %s", "args": ["a"]}
	findings.finding("flow", "f", "", "plain") == {"subject": {"kind": "flow", "id": "f"}, "attribute": "", "message": "plain"}
}

test_and_join_keeps_every_phrase if {
	findings.and_join([a]) == a
	findings.and_join([a, b]).text == "it is a and it is b"
	findings.and_join([a, b, a]).text == "it is a and it is b and it is a"
	findings.and_join([a, b, a, b]).text == "it is a and it is b and it is a and it is b"
}

test_joined_lists_items_of_any_length if {
	j := findings.joined("; ", [a, "x", b])
	j.text == "it is a; x; it is b"
	j.items == [a, "x", b]
	findings.joined(", ", []).text == ""
}
