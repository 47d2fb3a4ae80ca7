"""The embedded engine's builtin allow-list is tested, not declared: every builtin a policy may call on regorus is
evaluated on regorus and on real OPA, and the two must agree. Adding a builtin to guard.ALLOWED_BUILTINS without a
sample here fails the suite."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.conftest import POLICIES

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
