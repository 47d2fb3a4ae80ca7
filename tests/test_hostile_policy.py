"""Hostile policies, as well as hostile inventories: a pack that would make an engine pass silently, hang or crash is
refused with a located exit 3 on every engine, for `check` and for `auditor test` — never a pass, never a crash
(issue 14). Each case is a tiny pack (one clause, the findings library, one rule module and its test) so that
every engine, the OPA server harness included, loads it in a moment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import MINIMAL, POLICIES
from tests.test_hostile import assert_tool_error, run_bounded, write

from auditor import pipeline
from auditor.errors import PolicyError
from auditor.lineage import analyse
from auditor.policy import Engine, load_pack, make_engine
from auditor.policy.reference_engine import available

if not available():
    pytest.fail("opa-golib-python-bindings is not installed; `make test` installs it", pytrace=False)

CLAUSES = """\
clauses:
  - id: I
    kind: disclosure
    checkability: machine
    summary_en: Every category collected is disclosed.
"""

RULE = """\
package creality.hostile

import rego.v1

import data.lib.findings.finding

# METADATA
# title: Hostile rule
# custom:
#   clause: I
#   severity: error
check(inp) := [f | some x in inp.fields; flagged(x); f := finding("field", x.id, "", "flagged")]

"""

TEST = """\
package creality.hostile_test

import rego.v1

import data.creality.hostile

test_check_runs if {
	count(hostile.check({"fields": [{"id": "a"}]})) >= 0
}
"""

# case -> (what follows RULE in hostile.rego, a word of the embedded engine's message, the line it must point at)
CASES: dict[str, tuple[str, str, int]] = {
    "unknown function in a dead branch": (
        'flagged(x) if {\n\tx.id == "never such an id"\n\tno_such.check(x)\n}\n',
        "unknown function no_such.check",
        16,
    ),
    "http.send": (
        "flagged(x) if not revoked(x)\n\n"
        'revoked(x) if http.send({"method": "get", "url": "http://127.0.0.1:9/revoked"}).body.revoked\n',
        "http.send is refused",
        16,
    ),
    "recursion through a function": (
        "flagged(x) if depth(1) > 0\n\ndepth(n) := depth(n + 1)\n",
        "recursion",
        16,
    ),
    "literals nested 40 deep": (f'flagged(x) if x.id in {"[" * 40}"a"{"]" * 40}\n', "nested 13 deep", 14),
    "module over the size limit": ("flagged(x) if false\n" + ("# " + "x" * 1000 + "\n") * 1100, "bytes", 1),
    "line over the length limit": (f'flagged(x) if x.id == "{"a" * 1100}"\n', "longer than", 14),
    "too many lines": ("flagged(x) if false\n" + "#\n" * 20_000, "more than 20,000 lines", 20_001),
    "conflicting rules": ("limit := 1\n\nlimit := 2\n\nflagged(x) if limit > 0\n", "conflict", 16),
    "unsafe variable": ("flagged(x) if x.id == y\n", "unsafe", 14),
}

LOCATED_IN_MODULE = re.compile(r"hostile\.rego:(\d+)(?::\d+)?: \S")


def tiny_pack(root: Path, hostile: str) -> Path:
    pack = root / "policies"
    write(
        pack,
        {
            "clauses.yaml": CLAUSES,
            "rego/lib/findings.rego": (POLICIES / "rego" / "lib" / "findings.rego").read_text(encoding="utf-8"),
            "rego/creality/hostile/hostile.rego": RULE + hostile,
            "rego/creality/hostile/hostile_test.rego": TEST,
        },
    )
    return pack


@pytest.fixture(scope="module")
def documents() -> tuple[list[str], list[str]]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        inv = pipeline.load([write(Path(d), {"a.yaml": MINIMAL})])
    return pipeline.partition_documents(inv, analyse(inv))


def _located(exc: PolicyError) -> list[int]:
    lines = [int(m.group(1)) for p in exc.problems if (m := LOCATED_IN_MODULE.search(str(p)))]
    assert lines, exc.lines()
    return lines


@pytest.mark.parametrize("case", list(CASES))
def test_check_refuses_a_hostile_policy_with_a_located_exit_3(case: str, tmp_path: Path) -> None:
    hostile, needle, line = CASES[case]
    pack = tiny_pack(tmp_path, hostile)
    inv = write(tmp_path / "inv", {"a.yaml": MINIMAL})
    # `auditor test` goes through the same load and the same engine checks; the CLI runs it for two cases (refused
    # by the text checks, and by the parsed-module checks), and every engine's run_tests is checked below.
    commands = (
        [["check", str(inv)], ["test"]]
        if case in ("http.send", "recursion through a function")
        else [["check", str(inv)]]
    )
    for command in commands:
        proc = run_bounded(*command, "--policy", str(pack), cwd=tmp_path, rlimit=False)
        located = assert_tool_error(proc, 3, needle)
        assert LOCATED_IN_MODULE.search(located) and f"hostile.rego:{line}:" in located, located


@pytest.mark.parametrize("case", list(CASES))
def test_every_engine_refuses_a_hostile_policy(
    case: str, tmp_path: Path, documents: tuple[list[str], list[str]], opa_url: str
) -> None:
    """The text checks refuse a pack before any engine sees it; the rest is refused by each engine, for an
    evaluation and for the pack's tests, at a line of the hostile module (real OPA reports only lines)."""
    hostile, _needle, _line = CASES[case]
    pack_dir = tiny_pack(tmp_path, hostile)
    try:
        pack = load_pack(pack_dir)
    except PolicyError as exc:  # the same for every engine: nothing was evaluated
        _located(exc)
        return
    docs, labels = documents
    engines: dict[str, Engine] = {
        "embedded": make_engine("embedded"),
        "reference": make_engine("reference"),
        "opa": make_engine("opa", opa_url=opa_url),
    }
    for name, engine in engines.items():
        with pytest.raises(PolicyError) as evaluated:
            engine.evaluate(pack, docs, labels)
        assert _located(evaluated.value), name
        with pytest.raises(PolicyError) as tested:
            engine.run_tests(pack)
        assert _located(tested.value), name


def test_a_clean_tiny_pack_passes_on_every_engine(
    tmp_path: Path, documents: tuple[list[str], list[str]], opa_url: str
) -> None:
    """The cases above fail because of what they add, not because the tiny pack itself is broken."""
    pack = load_pack(tiny_pack(tmp_path, 'flagged(x) if x.id == "app.email"\n'))
    docs, labels = documents
    for name in ("embedded", "reference", "opa"):
        engine = make_engine(name, opa_url=opa_url)
        results = engine.evaluate(pack, docs, labels)
        assert sum(len(r["creality.hostile.check"]) for r in results) == 1, name
        assert [t.passed for t in engine.run_tests(pack)] == [True], name


def test_a_runtime_error_is_one_located_line_even_with_rust_backtrace_set(tmp_path: Path) -> None:
    """regorus appends a Rust backtrace to its errors when RUST_BACKTRACE is set (CI images often set it): the
    message must still be one located line, and nothing may reach stdout."""
    import os

    from tests.launcher import run_fresh

    pack = tiny_pack(tmp_path, "flagged(x) if to_number(x.id) > 0\n")
    inv = write(tmp_path / "inv", {"a.yaml": MINIMAL})
    proc = run_fresh(
        "check",
        str(inv),
        "--policy",
        str(pack),
        "--format",
        "json",
        cwd=tmp_path,
        env={**os.environ, "RUST_BACKTRACE": "full", "RUST_LIB_BACKTRACE": "1"},
    )
    assert proc.returncode == 3 and proc.stdout == "", proc.stderr
    first, summary = proc.stderr.strip().splitlines()
    assert "hostile.rego:14:" in first and "could not parse string as number" in first, first
    assert "(while evaluating system 'app')" in first
    assert summary == "auditor: 1 policy/engine error; exit 3"


UNPRINTABLE = {
    "a verb the renderer does not know": 'f := finding("field", x.id, "", msg("field %x of %s", [1, x.id]))',
    "more verbs than arguments": 'f := finding("field", x.id, "", msg("field %s of %s", [x.id]))',
    "neither a message nor a format": 'f := {"subject": {"kind": "field", "id": x.id}, "attribute": ""}',
}


@pytest.mark.parametrize("case", list(UNPRINTABLE))
def test_a_finding_whose_message_cannot_be_printed_is_a_located_policy_error(
    case: str, tmp_path: Path, documents: tuple[list[str], list[str]], opa_url: str
) -> None:
    """auditor prints a finding's message from the format and arguments the rule gives (lib.findings.msg): one it
    cannot print is the rule's error (exit 3, at the rule), on every engine — never a finding with no message."""
    pack_dir = tiny_pack(tmp_path, "")
    rule = RULE.replace(
        "import data.lib.findings.finding\n", "import data.lib.findings.finding\nimport data.lib.findings.msg\n"
    )
    rule = rule.replace('flagged(x); f := finding("field", x.id, "", "flagged")', UNPRINTABLE[case].join(["", ""]))
    assert UNPRINTABLE[case] in rule
    (pack_dir / "rego/creality/hostile/hostile.rego").write_text(rule, encoding="utf-8")
    pack = load_pack(pack_dir)
    docs, labels = documents
    for name in ("embedded", "reference", "opa"):
        with pytest.raises(PolicyError) as raised:
            make_engine(name, opa_url=opa_url).evaluate(pack, docs, labels)
        assert _located(raised.value) == [13], name  # the rule's head
        assert "creality.hostile.check" in str(raised.value.problems[0]), name
    inv = write(tmp_path / "inv", {"a.yaml": MINIMAL})
    assert_tool_error(run_bounded("check", str(inv), "--policy", str(pack_dir), cwd=tmp_path, rlimit=False), 3, "check")


def test_a_prestarted_embedded_engine_judges_the_pack_even_without_a_partition(tmp_path: Path) -> None:
    """`check` starts the embedded engine's workers before the first partition is built (``prestart``), so the
    pack is judged while the lineage is computed: a refused pack is an error even when no partition arrives, never
    an empty pass. Without ``prestart`` (a run reading results back) no worker starts for no partition."""
    hostile, _needle, line = CASES["unknown function in a dead branch"]
    pack = load_pack(tiny_pack(tmp_path, hostile))  # refused by the engine's own walk of the parsed modules
    engine = make_engine("embedded")
    with pytest.raises(PolicyError) as refused:
        list(engine.evaluate_iter(pack, iter(()), (), count=1, prestart=True))
    assert f"hostile.rego:{line}:" in "\n".join(refused.value.lines()), refused.value.lines()
    assert list(engine.evaluate_iter(pack, iter(()), (), count=1)) == []
