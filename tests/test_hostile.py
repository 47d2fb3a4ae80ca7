"""Hostile input: every attack or accident ends in exit 2 or 3 with a located one-line message, in bounded time and
memory, never a traceback and never exit 0; the loader never raises anything but InputError (PRODUCT.md §8)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import MINIMAL, POLICIES, ROOT, SAMPLE
from tests.launcher import run_fresh

from auditor.errors import InputError
from auditor.inventory import loader

MEMORY_LIMIT = 3 * 1024**3  # address space of the CLI process: Python + the engine stay far below it
LOCATED = re.compile(r"^[^\s:][^:]*:\d+(:\d+)?: \S", re.M)


def run_bounded(
    *args: str, cwd: Path | None = None, timeout: float = 300, rlimit: bool = True
) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own with a timeout and bounded memory (a hang or a blow-up fails the test): a new
    process forked by this test process's launcher (tests/launcher.py: the interpreter and the imports are paid
    once). Runs that start the embedded engine cannot take an address-space rlimit (its allocator reserves address
    space up front): their peak RSS (the CLI's or its largest worker's) is checked afterwards instead."""
    ran = run_fresh(*args, cwd=cwd or ROOT, timeout=timeout, rlimits={"RLIMIT_AS": MEMORY_LIMIT} if rlimit else {})
    assert ran.peak_kib * 1024 < MEMORY_LIMIT, f"peak RSS {ran.peak_kib // 1024} MiB"
    return subprocess.CompletedProcess(["auditor", *args], ran.returncode, ran.stdout, ran.stderr)


def assert_tool_error(proc: subprocess.CompletedProcess[str], code: int, needle: str = "") -> str:
    """Exit ``code`` (2 or 3), a located ``file:line[:col]: message`` line, no traceback; returns that line."""
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    located = [m.group(0) for m in re.finditer(r"^.*$", proc.stderr, re.M) if LOCATED.match(m.group(0))]
    assert located, proc.stderr[-2000:]
    if needle:
        assert any(needle in line for line in located), located
    return located[0]


def write(d: Path, files: dict[str, str | bytes]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return d


# --- YAML-level attacks ------------------------------------------------------------------------------------------

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(9)
)

HOSTILE_FILES: dict[str, tuple[str | bytes, str]] = {
    "alias bomb": (ALIAS_BOMB, "alias"),
    "deep flow nesting": ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", "nesting"),
    "deep flow mapping": ("x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", "nesting"),
    "deep block nesting": ("".join(f"{' ' * i}k{i}:\n" for i in range(2_000)) + " " * 2_000 + "v\n", "nesting"),
    "file too large": ("# " + "x" * (65 * 1024 * 1024) + "\n", "exceeds"),
    "huge scalar": ("purposes:\n  - id: " + "a" * 3_000_000 + "\n", "exceeds"),
    "binary": (bytes(range(256)) * 64, "UTF-8"),
    "latin-1": ("purposes:\n  - id: caf\u00e9\n".encode("latin-1"), "UTF-8"),
    "NUL byte": ("purposes:\n  - id: a\x00b\n", "NUL"),
    "python object tag": ("x: !!python/object/apply:os.system ['touch HACKED']\n", "tag"),
    "python name tag": ("x: !!python/name:os.system\n", "tag"),
    "local tag": ("systems: !custom {}\n", "tag"),
    "two documents": ("purposes: []\n---\nsystems: []\n", "more than one"),
    "duplicate key": ("purposes: []\npurposes: []\n", "duplicate key"),
    "unclosed bracket": ("systems: [\n  {id: a\n", "YAML syntax"),
    "tab indentation": ("systems:\n\t- id: a\n", "YAML"),
    "non-scalar key": ("? [a, b]\n: c\n", "scalar"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_hostile_yaml_is_a_located_input_error(case: str, tmp_path: Path) -> None:
    content, needle = HOSTILE_FILES[case]
    inv = write(tmp_path / "inv", {"bad.yaml": content, "ok.yaml": MINIMAL})
    line = assert_tool_error(run_bounded("check", str(inv), cwd=tmp_path), 2, needle)
    assert "bad.yaml:" in line
    assert not (tmp_path / "HACKED").exists()


def test_symlink_leaving_the_inventory_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"secret.yaml": MINIMAL})
    inv = write(tmp_path / "inv", {"ok.yaml": MINIMAL.replace("id: app", "id: app2").replace("app.", "app2.")})
    (inv / "link.yaml").symlink_to(outside / "secret.yaml")
    proc = run_bounded("check", str(inv), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    # A whole-file problem: located at the link itself (inside the inventory), not at its target.
    assert proc.stderr.startswith("inv/link.yaml: symlink points outside the inventory"), proc.stderr


def test_empty_inventory_is_an_input_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    only_blank = write(tmp_path / "blank", {"a.yaml": ""})
    for inv in (empty, only_blank):
        proc = run_bounded("check", str(inv), cwd=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        # No line to point at: the message names the inventory path itself.
        assert proc.stderr.startswith(f"{inv}: no systems found"), proc.stderr


# --- Schema and model attacks ------------------------------------------------------------------------------------

UNKNOWN_KEY_AT = {
    "top level": ("purposes:\n", "bogus_top: 1\npurposes:\n"),
    "purpose": ("    policy_purpose: FACILITATE\n", "    policy_purpose: FACILITATE\n    bogus: 1\n"),
    "system": ("    kind: app\n", "    kind: app\n    bogus: 1\n"),
    "field": ("        subjects: [customer]\n", "        subjects: [customer]\n        bogus: 1\n"),
}


@pytest.mark.parametrize("level", sorted(UNKNOWN_KEY_AT))
def test_unknown_keys_at_every_level(level: str, tmp_path: Path) -> None:
    old, new = UNKNOWN_KEY_AT[level]
    assert old in MINIMAL
    inv = write(tmp_path / "inv", {"a.yaml": MINIMAL.replace(old, new, 1)})
    assert_tool_error(run_bounded("check", str(inv), cwd=tmp_path), 2, "unknown key")


WRONG = {
    "fields not a list": ("    fields:\n", "    fields: 5\n    x_fields:\n"),
    "id not a string": ("  - id: app\n", "  - id: [1, 2]\n"),
    "enum violated": ("category: user.contact.email", "category: 42"),
    "duplicate id": ("  - id: app\n", "  - id: support\n"),
    "dangling reference": ("purposes: [support]", "purposes: [nowhere]"),
    "duplicate key in entity": ("    kind: app\n", "    kind: app\n    kind: app\n"),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_types_duplicates_and_dangling_references(case: str, tmp_path: Path) -> None:
    old, new = WRONG[case]
    assert old in MINIMAL
    inv = write(tmp_path / "inv", {"a.yaml": MINIMAL.replace(old, new, 1)})
    line = assert_tool_error(run_bounded("check", str(inv), cwd=tmp_path), 2)
    assert "a.yaml:" in line


CYCLE = (
    MINIMAL
    + """\
  - id: crm
    name: CRM
    kind: saas
    operator: first_party
    jurisdiction: EU
    subject_jurisdictions: [EU]
    fields:
      - id: crm.email
        category: user.contact.email
        subjects: [customer]
        purposes: [support]
flows:
  - id: app-to-crm
    from: app
    to: crm
    fields: [app.email]
    purpose: support
  - id: crm-to-app
    from: crm
    to: app
    fields: [crm.email]
    purpose: support
"""
)


def test_flow_cycle_is_audited_not_an_error(tmp_path: Path) -> None:
    inv = write(tmp_path / "inv", {"a.yaml": CYCLE})
    proc = run_bounded("check", str(inv), "--format", "json", cwd=tmp_path, rlimit=False)
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1), proc.stderr[-2000:]


# --- Policy attacks ----------------------------------------------------------------------------------------------


def _policy_copy(tmp_path: Path, module: str) -> Path:
    pol = tmp_path / "policies"
    shutil.copytree(POLICIES, pol, ignore=shutil.ignore_patterns("*_test.rego"))
    (pol / "rego" / "creality" / "zz_hostile").mkdir(parents=True)
    (pol / "rego" / "creality" / "zz_hostile" / "hostile.rego").write_text(module, encoding="utf-8")
    return pol


RULE_HEADER = """package creality.zz_hostile

import rego.v1

import data.lib.findings.finding

# METADATA
# title: Hostile rule
# description: A rule written to fail.
# custom:
#   clause: I
#   severity: error
#   verdict: omitted
#   remediation: none
"""


def test_rego_syntax_error_is_located_exit_3(tmp_path: Path) -> None:
    pol = _policy_copy(tmp_path, RULE_HEADER + "broken(inp) := [f | some x in inp.fields; f := \n")
    inv = write(tmp_path / "inv", {"a.yaml": MINIMAL})
    line = assert_tool_error(run_bounded("check", str(inv), "--policy", str(pol), cwd=tmp_path, rlimit=False), 3)
    assert "hostile.rego:" in line


def test_rule_runtime_error_is_located_exit_3(tmp_path: Path) -> None:
    rule = 'crash(inp) := [f | some x in inp.fields; n := to_number("x"); f := finding("field", x.id, "", "n")]\n'
    pol = _policy_copy(tmp_path, RULE_HEADER + rule)
    inv = write(tmp_path / "inv", {"a.yaml": MINIMAL})
    line = assert_tool_error(run_bounded("check", str(inv), "--policy", str(pol), cwd=tmp_path, rlimit=False), 3)
    assert "hostile.rego:" in line or "zz_hostile" in line


# --- Properties ---------------------------------------------------------------------------------------------------

SAMPLE_FILES = sorted(p for p in SAMPLE.rglob("*.yaml"))


def _load_text(tmp: Path, text: bytes) -> None:
    d = tmp / "inv"
    if d.exists():
        shutil.rmtree(d)
    write(d, {"a.yaml": text})
    loader.load([d])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(SAMPLE_FILES), st.floats(0, 1), st.binary(max_size=8))
def test_loader_raises_only_input_error_on_truncated_or_corrupted_files(
    tmp_path: Path, path: Path, cut: float, junk: bytes
) -> None:
    data = path.read_bytes()
    mutated = data[: int(len(data) * cut)] + junk
    try:
        _load_text(tmp_path, mutated)
    except InputError as exc:
        assert exc.problems
        assert all(p.location.file for p in exc.problems)


MINIMAL_TEXT = MINIMAL


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.integers(0, len(MINIMAL_TEXT)),
    st.integers(0, 40),
    st.text(alphabet=st.sampled_from(list("abc-_:[]{}&*!#|>'\" \n\t0123456789.")), max_size=12),
)
def test_loader_raises_only_input_error_on_mutated_text(tmp_path: Path, at: int, drop: int, insert: str) -> None:
    mutated = MINIMAL_TEXT[:at] + insert + MINIMAL_TEXT[at + drop :]
    try:
        _load_text(tmp_path, mutated.encode("utf-8"))
    except InputError as exc:
        assert exc.problems


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=6),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "id",
                        "name",
                        "kind",
                        "fields",
                        "category",
                        "systems",
                        "purposes",
                        "flows",
                        "from",
                        "to",
                        "operator",
                        "purpose",
                        "x",
                    ]
                ),
                c,
                max_size=4,
            )
        ),
        max_leaves=20,
    )
)
def test_fast_schema_path_agrees_with_jsonschema(doc: object) -> None:
    """The compiled fast path must never accept what jsonschema rejects (that would fail open)."""
    candidates = [doc, {"systems": [doc]}, {"purposes": [doc]}, {"flows": [doc]}, {"systems": [{"fields": [doc]}]}]
    for candidate in candidates:
        full_ok = not any(True for _ in loader._validator().iter_errors(candidate))
        try:
            loader._fast_validator()(candidate)
            fast_ok = True
        except Exception:
            fast_ok = False
        assert fast_ok == full_ok, candidate


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, len(MINIMAL_TEXT)), st.integers(0, 30), st.text(max_size=8))
def test_cli_on_mutated_inventory_exits_0_to_3_with_located_errors(
    tmp_path: Path, at: int, drop: int, insert: str
) -> None:
    mutated = MINIMAL_TEXT[:at] + insert + MINIMAL_TEXT[at + drop :]
    d = tmp_path / "cli"
    if d.exists():
        shutil.rmtree(d)
    write(d, {"a.yaml": mutated})
    proc = run_bounded("check", str(d), cwd=tmp_path, rlimit=False)
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1, 2, 3)
    if proc.returncode in (2, 3):
        assert LOCATED.search(proc.stderr), proc.stderr[-1000:]
