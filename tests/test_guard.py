"""The embedded engine's builtin allow-list is tested, not declared: every builtin a policy may call on regorus is
evaluated on regorus and on real OPA, and the two must agree. Adding a builtin to guard.ALLOWED_BUILTINS without a
sample here fails the suite."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import POLICIES

from auditor.errors import Location, Problem
from auditor.policy import guard, load_pack
from auditor.policy.engine import normalise
from auditor.policy.reference_engine import available

if not available():
    pytest.fail("opa-golib-python-bindings is not installed; `make test` installs it", pytrace=False)

# One or more calls per allowed builtin, each with a deterministic value.
SAMPLES: dict[str, list[str]] = {
    "count": ["count([1, 2, 3])", 'count({"a": 1})', 'count("héllo")'],
    "sum": ["sum([1, 2.5, 3])"],
    "product": ["product([2, 3, 4])"],
    "max": ["max([3, 1, 2])"],
    "min": ['min(["b", "a"])'],
    "sort": ["sort([3, 1, 2])", 'sort({"b", "a"})'],
    "array.concat": ["array.concat([1], [2, 3])"],
    "array.reverse": ["array.reverse([1, 2, 3])"],
    "array.slice": ["array.slice([1, 2, 3, 4], 1, 3)", "array.slice([1, 2], 5, 9)"],
    "intersection": ["intersection({{1, 2}, {2, 3}})"],
    "union": ["union({{1}, {2}})"],
    "object.filter": ['object.filter({"a": 1, "b": 2}, ["a"])'],
    "object.get": ['object.get({"a": {"b": 1}}, ["a", "b"], 0)', 'object.get({"a": 1}, "z", "dflt")'],
    "object.keys": ['object.keys({"a": 1, "b": 2})'],
    "object.remove": ['object.remove({"a": 1, "b": 2}, ["a"])'],
    "object.subset": ['object.subset({"a": 1, "b": 2}, {"a": 1})'],
    "object.union": ['object.union({"a": 1, "n": {"x": 1}}, {"b": 2, "n": {"y": 2}})'],
    "object.union_n": ['object.union_n([{"a": 1}, {"a": 2, "b": 3}])'],
    "concat": ['concat(", ", ["a", "b"])', 'concat("", [])'],
    "contains": ['contains("abc", "b")'],
    "endswith": ['endswith("abc", "bc")'],
    "startswith": ['startswith("abc", "ab")'],
    "format_int": ["format_int(255, 16)", "format_int(10, 10)"],
    "indexof": ['indexof("abcb", "b")', 'indexof("abc", "z")'],
    "indexof_n": ['indexof_n("abcb", "b")'],
    "lower": ['lower("ÉAb")'],
    "upper": ['upper("éaB")'],
    "replace": ['replace("a-b-c", "-", "+")'],
    "split": ['split("a,b,,c", ",")'],
    "sprintf": [
        'sprintf("%s has %d items (%v)", ["box", 3, [1, "a"]])',
        'sprintf("(%s)", [concat(", ", ["a", "b"])])',
    ],
    "substring": ['substring("abcdef", 1, 3)', 'substring("abc", 1, -1)'],
    "trim": ['trim("xxaxx", "x")'],
    "trim_left": ['trim_left("xxa", "x")'],
    "trim_prefix": ['trim_prefix("prefix-a", "prefix-")'],
    "trim_right": ['trim_right("axx", "x")'],
    "trim_space": ['trim_space("  a \\t")'],
    "trim_suffix": ['trim_suffix("a.rego", ".rego")'],
    "strings.any_prefix_match": ['strings.any_prefix_match("user.contact", ["user.", "system."])'],
    "strings.any_suffix_match": ['strings.any_suffix_match("a.yaml", [".yml", ".yaml"])'],
    "strings.count": ['strings.count("banana", "an")'],
    "strings.replace_n": ['strings.replace_n({"a": "1", "b": "2"}, "abc")'],
    "strings.reverse": ['strings.reverse("abc")'],
    "abs": ["abs(-3)"],
    "ceil": ["ceil(1.2)"],
    "floor": ["floor(1.8)"],
    "round": ["round(1.5)", "round(-1.5)"],
    "numbers.range": ["numbers.range(1, 4)", "numbers.range(3, 1)"],
    "numbers.range_step": ["numbers.range_step(0, 10, 3)"],
    "to_number": ['to_number("12.5")', "to_number(true)"],
    "is_array": ["is_array([])"],
    "is_boolean": ["is_boolean(false)"],
    "is_null": ["is_null(null)"],
    "is_number": ["is_number(1)"],
    "is_object": ["is_object({})"],
    "is_set": ["is_set(set())"],
    "is_string": ['is_string("")'],
    "type_name": ['[type_name(1), type_name("a"), type_name([]), type_name({}), type_name(set()), type_name(null)]'],
    "regex.match": ['regex.match("^[a-z]+-\\\\d+$", "ab-12")', 'regex.match("^a$", "b")'],
    "regex.is_valid": ['regex.is_valid("[a-")', 'regex.is_valid("a+")'],
    "regex.split": ['regex.split("[,;]", "a,b;c")'],
    "regex.find_n": ['regex.find_n("[0-9]+", "a1b22c333", -1)'],
    "regex.replace": ['regex.replace("a1b22", "[0-9]+", "#")'],
    "json.marshal": ['json.marshal({"b": [1, "x"], "a": null})'],
    "json.unmarshal": ['json.unmarshal("{\\"a\\": [1, 2.5]}")'],
    "json.is_valid": ['json.is_valid("{")'],
    "base64.encode": ['base64.encode("héllo")'],
    "base64.decode": ['base64.decode("aGVsbG8=")'],
    "base64url.encode": ['base64url.encode("??>")'],
    "base64url.decode": ['base64url.decode("Pz8-")'],
    "hex.encode": ['hex.encode("ab")'],
    "hex.decode": ['hex.decode("6162")'],
    "urlquery.encode": ['urlquery.encode("a b&c")'],
    "urlquery.decode": ['urlquery.decode("a+b%26c")'],
    "semver.compare": ['semver.compare("1.2.3", "1.10.0")'],
    "semver.is_valid": ['semver.is_valid("1.2.3-rc.1")', 'semver.is_valid("1.2")'],
    "graph.reachable": ['graph.reachable({"a": ["b"], "b": ["c"], "c": [], "d": []}, ["a"])'],
    "print": ['true if print("gathered, never on stdout")'],
}


def test_every_allowed_builtin_has_a_sample() -> None:
    assert set(SAMPLES) == set(guard.ALLOWED_BUILTINS), set(SAMPLES) ^ set(guard.ALLOWED_BUILTINS)


def _module() -> tuple[str, list[str]]:
    names = []
    lines = ["package samples", "", "import rego.v1", ""]
    for builtin, calls in sorted(SAMPLES.items()):
        for i, call in enumerate(calls):
            name = f"{builtin.replace('.', '_')}_{i}"
            names.append(name)
            lines.append(f"{name} := {call}")
    return "\n".join(lines) + "\n", names


def test_allowed_builtins_give_the_same_values_on_regorus_and_real_opa(monkeypatch: pytest.MonkeyPatch) -> None:
    import opa_bindings
    import regorus

    text, names = _module()
    monkeypatch.setenv("RUST_BACKTRACE", "0")
    fast = regorus.Engine()
    fast.set_gather_prints(True)
    fast.add_policy("samples.rego", text)
    answer = json.loads(fast.eval_query_as_json("data.samples"))
    ours: dict[str, Any] = answer["result"][0]["expressions"][0]["value"]
    assert [line.split(": ", 1)[-1] for line in fast.take_prints()] == ["gathered, never on stdout"]
    ref = opa_bindings.OpaEngine()
    ref.print_handler = lambda _m, _l: None
    ref.add_policy("samples.rego", text)
    try:
        theirs = ref.eval_document("samples", None)
    finally:
        ref.close()
    # Sets come back as sorted arrays from both; numbers are compared after the engines' shared normalisation.
    differ = {n: (ours.get(n), theirs.get(n)) for n in names if normalise(ours.get(n)) != normalise(theirs.get(n))}
    assert not differ, differ
    assert len(theirs) == len(names)


def test_the_shipped_pack_passes_the_guard_and_calls_only_allowed_builtins() -> None:
    import regorus

    pack = load_pack(POLICIES)
    engine = regorus.Engine()
    for m in pack.modules:
        engine.add_policy(m.name, m.text)
        assert guard.check_source(m.name, m.text) == []
    assert guard.check_ast(json.loads(engine.get_ast_as_json()), {}) == []


# --- the text scan ----------------------------------------------------------------------------------------------------


def _character_loop(shown: str, text: str) -> list[Problem]:
    """guard._scan as it was written first, one character at a time: the regular-expression scan that replaced it
    (twice as fast; it was half of loading the pack on every run) must find exactly the same problems, at the same
    lines and columns."""
    problems: list[Problem] = []
    depth = weight = 0
    line, line_start = 1, 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line, line_start = line + 1, i + 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif c == '"':
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
        elif c == "`":
            i += 1
            while i < n and text[i] != "`":
                if text[i] == "\n":
                    line, line_start = line + 1, i + 1
                i += 1
        elif c in "[{":
            depth += 1
            weight += 1 << min(depth, 40)
            if depth > guard.MAX_NESTING or weight > guard.MAX_NESTING_WEIGHT:
                problems.append(Problem(Location(shown, line, i - line_start + 1), "nesting"))
                return problems
        elif c in "]}":
            depth = max(0, depth - 1)
        elif (c.isalpha() or c == "_") and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_.")):
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_."):
                j += 1
            name = text[i:j]
            k = j
            while k < n and text[k] in " \t":
                k += 1
            if name in guard.REFUSED_BUILTINS and k < n and text[k] == "(":
                problems.append(Problem(Location(shown, line, i - line_start + 1), name))
            i = j
            continue
        i += 1
    return problems


def _located(problems: list[Problem]) -> list[tuple[int, int, str]]:
    return [
        (p.location.line, p.location.column, "nesting" if "nest" in p.message else p.message.split()[0])
        for p in problems
    ]


PIECES = [
    *guard.REFUSED_BUILTINS, *(f"{name}(" for name in guard.REFUSED_BUILTINS), "(", " (", "\t(", "[", "]", "{", "}",
    "[" * 13, "{" * 7, "\n", "\r\n", "#", '"', '"x\n', "\\", '\\"', "\\\n", "`", "`\n`", ".", "_", "x", "é",
    "²", "1", " ", "\t", "a.", "count(", "input",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=60))
def test_the_text_scan_finds_what_the_character_loop_finds(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert _located(list(guard._scan("m.rego", text))) == _located(_character_loop("m.rego", text))


def test_the_text_scan_agrees_on_the_shipped_pack() -> None:
    for m in load_pack(POLICIES).modules:
        assert list(guard._scan(m.name, m.text)) == _character_loop(m.name, m.text) == []
