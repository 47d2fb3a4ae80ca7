"""Hostile input files (issue 15): numbers no engine represents exactly, patterns fooled by a trailing newline,
duplicate keys, configuration that silently drops checks, symlinked directories and loops, FIFOs and devices where a
file is expected, oversized lists. Each is refused with a located one-line message (exit 2), never accepted.

In-process where the loader alone decides (fast); through the CLI where the wiring is what is tested."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.conftest import MINIMAL, SAMPLE

from auditor import config, jsonsafe
from auditor.cli import cli
from auditor.errors import InputError
from auditor.filters import baseline, waivers
from auditor.findings import Finding
from auditor.inventory import loader, yamlsafe

HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def load_problems(directory: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        loader.load([directory])
    return info.value.lines()


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")
    return directory


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


ORG = """\
organization:
  name: Org
  contact_email: dpo@example.com
  incident_response:
    notify_sla_hours: {sla}
    regulator_procedures:
      - jurisdiction: EU
        authority: CNIL
        deadline_hours: {deadline}
"""

# --- 1. numbers ---------------------------------------------------------------------------------------------------

# Where each bounded number of the schema stands, as a template of MINIMAL (the value goes in {v}).
NUMBER_AT = {
    "notify_sla_hours": MINIMAL + ORG.format(sla="{v}", deadline="72"),
    "deadline_hours": MINIMAL + ORG.format(sla="72", deadline="{v}"),
    "retention.days": MINIMAL.replace(
        "    jurisdiction: EU\n", "    jurisdiction: EU\n    retention: {{days: {v}}}\n", 1
    ),
    "choice_ttl_days": MINIMAL.replace(
        "    jurisdiction: EU\n", "    jurisdiction: EU\n    consent_banner: {{choice_ttl_days: {v}}}\n", 1
    ),
    "max_age_days": MINIMAL
    + "partners:\n  - id: p\n    name: P\n    role: analytics\n    jurisdiction: US\n"
    + "    cookies:\n      - {{name: c, type: analytics, max_age_days: {v}}}\n",
}

OUT_OF_RANGE = st.one_of(
    st.integers(min_value=2**53, max_value=2**80),
    st.integers(max_value=-1, min_value=-(2**80)),
    st.sampled_from(
        [
            ".nan",
            ".NaN",
            ".inf",
            "-.inf",
            "+.inf",
            "!!float .nan",
            "1e400",
            "-1e400",
            "18446744073709551688",  # 2^64 + 72: wrapped on the embedded engine
            "1e30",
            "9007199254740992",  # 2^53
            "0x20000000000000",
            "1" * 60,
            "-0.5",
        ]
    ),
)


@settings(max_examples=120, deadline=None, suppress_health_check=HEALTH)
@given(field=st.sampled_from(sorted(NUMBER_AT)), value=OUT_OF_RANGE)
@example(field="deadline_hours", value="18446744073709551688")
def test_numbers_out_of_the_exact_range_are_refused_where_they_stand(tmp_path: Path, field: str, value: Any) -> None:
    text = NUMBER_AT[field].format(v=value)
    lines = load_problems(write(tmp_path / "inv", "a.yaml", text))
    line = line_of(text, str(value))
    assert lines and all(re.match(rf"^.*a\.yaml:{line}:\d+: ", x) for x in lines), (lines, line)
    assert any(word in lines[-1] for word in ("range", "finite", "characters")), lines


@settings(max_examples=60, deadline=None, suppress_health_check=HEALTH)
@given(field=st.sampled_from(sorted(NUMBER_AT)), value=st.integers(min_value=0, max_value=2**53 - 1))
@example(field="deadline_hours", value=2**53 - 1)
def test_numbers_in_range_are_accepted_and_kept_exactly(tmp_path: Path, field: str, value: int) -> None:
    inv = loader.load([write(tmp_path / "inv", "a.yaml", NUMBER_AT[field].format(v=value))])
    org = inv.organization.data if inv.organization is not None else {}
    app = inv.systems["app"].data
    got = {
        "notify_sla_hours": lambda: org["incident_response"]["notify_sla_hours"],
        "deadline_hours": lambda: org["incident_response"]["regulator_procedures"][0]["deadline_hours"],
        "retention.days": lambda: app["retention"]["days"],
        "choice_ttl_days": lambda: app["consent_banner"]["choice_ttl_days"],
        "max_age_days": lambda: inv.partners["p"].data["cookies"][0]["max_age_days"],
    }[field]()
    assert got == value and type(got) is int


def test_integral_floats_become_integers_and_keep_their_value() -> None:
    """730.0 is 730 for every engine (one of them failed on sprintf %d of 730.0)."""
    doc = yamlsafe.parse("a: 730.0\nb: 1e3\nc: !!float 5\nd: 72.5\ne: -0.0\n")
    assert doc == {"a": 730, "b": 1000, "c": 5, "d": 72.5, "e": 0}
    assert [type(doc[k]) for k in "abce"] == [int] * 4


# --- 2. patterns --------------------------------------------------------------------------------------------------


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


PATTERNS = sorted(set(_patterns(loader.schema())) | set(_patterns(waivers.SCHEMA)))


@functools.cache
def _validators(pattern: str) -> tuple[Any, Any]:
    schema = {"type": "string", "pattern": pattern}
    return loader.validator_for(schema), fastjsonschema.compile(schema)


def _agree(pattern: str, text: str) -> tuple[bool, bool]:
    full_validator, fast_validator = _validators(pattern)
    full = full_validator.is_valid(text)
    try:
        fast_validator(text)
        fast = True
    except fastjsonschema.JsonSchemaValueException:
        fast = False
    return full, fast


@settings(max_examples=250, deadline=None)
@given(data=st.data(), pattern=st.sampled_from(PATTERNS))
def test_both_validators_read_every_pattern_the_same_way(data: st.DataObject, pattern: str) -> None:
    """For every pattern of the inventory and waivers schemas: strings that match, the same with a trailing newline,
    CR or space, and arbitrary text are judged alike by jsonschema and the fast validator (a disagreement used to
    accept ``jurisdiction: "US\\n"``)."""
    base = data.draw(st.from_regex(pattern, fullmatch=True) | st.text(max_size=12), label="base")
    tail = data.draw(st.sampled_from(["", "\n", "\r\n", " ", "\n\n", "x", "\u2028"]), label="tail")
    text = base + tail
    full, fast = _agree(pattern, text)
    assert full == fast, (pattern, text)
    anchored = pattern.startswith("^") and pattern.endswith("$")
    if anchored and tail.startswith("\n") and re.fullmatch(pattern.strip("^$"), base):
        assert not full, (pattern, text)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("id: app\n", 'id: "app\\n"\n'),
        ("jurisdiction: EU\n", 'jurisdiction: "EU\\n"\n'),
        ("category: user.contact.email", 'category: "user.contact.email\\n"'),
        ("policy_purpose: FACILITATE", 'policy_purpose: "FACILITATE\\n"'),
    ],
)
def test_a_trailing_newline_fails_every_pattern(tmp_path: Path, old: str, new: str) -> None:
    text = MINIMAL.replace(old, new, 1)
    lines = load_problems(write(tmp_path / "inv", "a.yaml", text))
    assert any(f"a.yaml:{line_of(text, new.rstrip())}:" in line for line in lines), lines


def test_validators_disagreeing_is_a_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed: if the fast validator refuses a document that the detailed one accepts, the file is refused."""

    def refuse(_doc: Any) -> None:
        raise fastjsonschema.JsonSchemaValueException("data.systems[0] must be something")

    monkeypatch.setattr(loader, "_fast_validator", lambda: refuse)
    monkeypatch.setattr(loader, "_REUSE", loader._Reuse())
    lines = load_problems(write(tmp_path / "inv", "a.yaml", MINIMAL))
    assert lines == [f"{lines[0].split(':')[0]}: schema validation failed: data.systems[0] must be something"]


# --- 5. duplicate keys and versions in every file read --------------------------------------------------------------

BASELINE_OK = {"format": "auditor-baseline", "version": 1, "findings": [{"fingerprint": "c1962a2048ace7b0fc02"}]}


@pytest.mark.parametrize(
    ("text", "where", "needle"),
    [
        (
            '{"format": "auditor-baseline", "version": 1,\n "findings": [],\n'
            ' "findings": [{"fingerprint": "ab12cd34"}]}',
            ":1:1:",
            "duplicate key 'findings'",
        ),
        (
            '{"format": "auditor-baseline", "version": 1, "findings": [\n'
            '  {"fingerprint": "ab12cd34", "fingerprint": "ff"}]}',
            ":2:3:",
            "duplicate key 'fingerprint'",
        ),
        ('{"format": "auditor-baseline", "version": NaN, "findings": []}', ":1:43:", "NaN"),
        ('{"format": "auditor-baseline", "version": true, "findings": []}', "", "version True"),
        ('{"format": "auditor-baseline", "version": 1.0, "findings": []}', "", "version 1.0"),
        ('{"format": "auditor-baseline", "version": "1", "findings": []}', "", "version '1'"),
        ('{"format": "auditor-baseline", "version": 1, "findings": [{"fingerprint": "x\\n"}]}', "", "hexadecimal"),
        ('{"format": "auditor-baseline", "version": 1, "findings": [], "extra": 1}', "", "unknown key"),
        ('{"format": "auditor-baseline", "version": 1, "findings": [' + "[" * 50_000, "", "nested"),
    ],
)
def test_baseline_is_strict_json(text: str, where: str, needle: str) -> None:
    with pytest.raises(InputError) as info:
        baseline.parse(text, "b.json")
    (line,) = info.value.lines()
    assert line.startswith("b.json" + where) and needle in line, line


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=4),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
        max_leaves=12,
    )
)
def test_strict_json_reads_what_json_writes(value: Any) -> None:
    assert jsonsafe.loads(json.dumps(value)) == value


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('{}[]",:1aNIf \n-e.')), max_size=30))
def test_strict_json_raises_only_its_own_problem(text: str) -> None:
    try:
        jsonsafe.loads(text)
    except jsonsafe.JsonProblem as exc:
        assert exc.message


def test_waivers_with_duplicate_keys_or_a_bad_version_are_refused() -> None:
    entry = "  - rule: r.x\n    subject: field/a\n    justification: j\n    owner: o\n    expires: 2099-01-01\n"
    with pytest.raises(InputError) as info:
        waivers.parse("waivers:\n" + entry.replace("    owner: o\n", "    owner: o\n    owner: p\n"), "w.yaml")
    assert info.value.lines() == ["w.yaml:6:5: duplicate key 'owner' in this mapping"]
    with pytest.raises(InputError) as info:
        waivers.parse("waivers: []\nwaivers:\n" + entry, "w.yaml")
    assert info.value.lines() == ["w.yaml:2:1: duplicate key 'waivers' in this mapping"]
    for version in ("true", "2", '"1"', "1.5"):
        with pytest.raises(InputError) as info:
            waivers.parse(f"version: {version}\nwaivers:\n" + entry, "w.yaml")
        assert info.value.lines()[0].startswith("w.yaml:1:"), info.value.lines()
    assert len(waivers.parse("version: 1\nwaivers:\n" + entry, "w.yaml")) == 1


WAIVER_VALUES = st.one_of(
    st.sampled_from(["r.x", "field/a", "field/a\n", "ab12cd34", "2099-01-01", "2099-01-01\n", "", " ", "x"]),
    st.text(max_size=5),
    st.integers(),
    st.none(),
    st.dictionaries(st.sampled_from(["kind", "id", "x"]), st.sampled_from(["field", "a", ""]), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["rule", "subject", "fingerprint", "justification", "owner", "expires", "extra"]),
            WAIVER_VALUES,
            max_size=6,
        ),
        max_size=3,
    ),
    st.sampled_from([None, 1, 2, True]),
)
def test_waiver_validators_agree(items: list[dict[str, Any]], version: Any) -> None:
    """The waivers' fast validator never accepts what jsonschema refuses (that would waive on a broken file)."""
    doc: dict[str, Any] = {"waivers": items} if version is None else {"version": version, "waivers": items}
    full = not any(True for _ in loader.validator_for(waivers.SCHEMA).iter_errors(doc))
    try:
        waivers._fast_validator()(doc)
        fast = True
    except fastjsonschema.JsonSchemaValueException:
        fast = False
    assert fast == full, doc


def test_toml_duplicate_keys_are_refused_and_located(tmp_path: Path) -> None:
    (tmp_path / "auditor.toml").write_text('fail_on = "error"\nlaw = "all"\nlaw = "none"\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        config.load(tmp_path)
    (line,) = info.value.lines()
    assert line.startswith(f"{tmp_path / 'auditor.toml'}:3:") and "invalid TOML" in line, line


# --- 6. configuration that silently disables checks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("law = []", "law is empty"),
        ('law = ""', "law is empty"),
        ('law = " , "', "law is empty"),
        ('law = ["gdpr", ""]', "empty item"),
        ('law = "gdpr,"', "empty item"),
        ('law = ["all", "gdpr"]', "stand alone"),
        ("law = 3", "law must be"),
        ('fail_on = ["error"]', "fail_on must be"),
        ('policy = ""', "non-empty"),
        ('policy = "/nonexistent"', "/nonexistent does not exist"),
        ("policy = 1", "non-empty string"),
    ],
)
@pytest.mark.parametrize("where", ["auditor.toml", "pyproject.toml"])
def test_configuration_that_would_drop_checks_is_refused_at_its_line(
    tmp_path: Path, setting: str, needle: str, where: str
) -> None:
    text = f"# privacy gate\n{setting}\n"
    if where == "pyproject.toml":
        text = '[project]\nname = "x"\n\n[tool.auditor]\n' + text
    (tmp_path / where).write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        config.load(tmp_path)
    (line,) = info.value.lines()
    assert line.startswith(f"{tmp_path / where}:{line_of(text, setting)}:1: "), line
    assert needle in line, line


def test_none_must_be_said_and_is_kept(tmp_path: Path) -> None:
    (tmp_path / "auditor.toml").write_text('law = "None"\n', encoding="utf-8")
    assert config.load(tmp_path).law == "none"
    (tmp_path / "auditor.toml").write_text('law = ["GDPR", " cnil "]\n', encoding="utf-8")
    assert config.load(tmp_path).law == "gdpr,cnil"


@pytest.mark.parametrize("law", ["", " , ", ",", "gdpr,,cnil"])
def test_blank_law_flag_is_a_usage_error(inventory_dir: Any, law: str) -> None:
    inv = inventory_dir({"a.yaml": MINIMAL})
    result = CliRunner().invoke(cli, ["check", str(inv), "--law", law])
    assert result.exit_code == 2, result.output
    assert "--law: law " in result.output


# --- 7 and 10. symlinks, loops, FIFOs, sockets and devices ---------------------------------------------------------


def test_symlinked_directory_leaving_the_inventory_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "flows", "f.yaml", "flows: []\n")
    inv = write(tmp_path / "inv", "a.yaml", MINIMAL)
    (inv / "flows").symlink_to(outside)
    (inv / "inner").symlink_to(inv)  # inside the inventory: not followed, its files are read where they are
    lines = load_problems(inv)
    assert lines == [
        f"{loader.display_path(inv)}/flows: symlinked directory points outside the inventory "
        f"(to {outside.resolve().as_posix()}); refused"
    ]


def test_symlink_loops_and_dangling_links_are_located(tmp_path: Path) -> None:
    inv = write(tmp_path / "inv", "a.yaml", MINIMAL)
    (inv / "loop1.yaml").symlink_to(inv / "loop2.yaml")
    (inv / "loop2.yaml").symlink_to(inv / "loop1.yaml")
    (inv / "gone.yaml").symlink_to(inv / "missing.yaml")
    (inv / "dirloop").symlink_to(inv / "dirloop")
    shown = loader.display_path(inv)
    assert load_problems(inv) == [
        f"{shown}/dirloop: cannot follow symlink: symlink loop; refused",
        f"{shown}/gone.yaml: cannot follow symlink: No such file or directory; refused",
        f"{shown}/loop1.yaml: cannot follow symlink: symlink loop; refused",
        f"{shown}/loop2.yaml: cannot follow symlink: symlink loop; refused",
    ]


def _unblock_later(fifo: Path) -> threading.Thread:
    """If a regression makes the loader open ``fifo`` and wait for a writer, a writer comes eventually: the test then
    fails on its assertions instead of hanging (no wall-clock assertion)."""

    def writer() -> None:
        stop.wait(120)
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass

    stop = threading.Event()
    thread = threading.Thread(target=writer, daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_fifo_named_yaml_in_the_inventory_is_refused_without_blocking(tmp_path: Path) -> None:
    inv = write(tmp_path / "inv", "a.yaml", MINIMAL)
    os.mkfifo(inv / "pipe.yaml")
    (inv / "link.yaml").symlink_to(inv / "pipe.yaml")
    guard = _unblock_later(inv / "pipe.yaml")
    try:
        lines = load_problems(inv)
    finally:
        guard.stop.set()  # type: ignore[attr-defined]
    shown = loader.display_path(inv)
    assert lines == [
        f"{shown}/link.yaml: a named pipe (FIFO), not a regular file; refused",
        f"{shown}/pipe.yaml: a named pipe (FIFO), not a regular file; refused",
    ]


def test_sockets_and_devices_are_refused(tmp_path: Path) -> None:
    import socket

    inv = write(tmp_path / "inv", "a.yaml", MINIMAL)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(inv / "s.yaml"))
        (inv / "zero.yaml").symlink_to("/dev/zero")
        lines = load_problems(inv)
    finally:
        sock.close()
    assert any(line.endswith("/s.yaml: a socket, not a regular file; refused") for line in lines), lines
    assert any("zero.yaml: symlink points outside the inventory (to /dev/zero)" in line for line in lines), lines
    with pytest.raises(InputError) as info:
        loader.load([Path("/dev/zero")])
    assert info.value.lines() == ["/dev/zero: a character device, not a regular file; refused"]


@pytest.mark.parametrize("flag", ["--waivers", "--baseline"])
def test_fifo_or_device_as_waivers_or_baseline_is_refused(inventory_dir: Any, tmp_path: Path, flag: str) -> None:
    inv = inventory_dir({"a.yaml": MINIMAL})
    fifo = tmp_path / "gate.fifo"
    os.mkfifo(fifo)
    guard = _unblock_later(fifo)
    try:
        for source in (fifo, Path("/dev/zero")):
            result = CliRunner().invoke(cli, ["check", str(inv), flag, str(source)])
            assert result.exit_code == 2, result.output
            assert "not a regular file; refused" in result.output, result.output
    finally:
        guard.stop.set()  # type: ignore[attr-defined]


def test_fifo_as_configuration_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "auditor.toml")
    guard = _unblock_later(tmp_path / "auditor.toml")
    try:
        with pytest.raises(InputError) as info:
            config.load(tmp_path)
    finally:
        guard.stop.set()  # type: ignore[attr-defined]
    assert info.value.lines() == [
        f"{tmp_path / 'auditor.toml'}:1:1: configuration file: a named pipe (FIFO), not a regular file; refused"
    ]


def test_sparse_file_beyond_the_limit_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The size is checked before reading: a 3 GB sparse file costs nothing (reading it would take 3 GB)."""
    inv = write(tmp_path / "inv", "a.yaml", MINIMAL)
    with open(inv / "huge.yaml", "wb") as handle:
        handle.truncate(3 * 1024**3)
    read: list[int] = []
    real_read = os.read

    def counted(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counted)
    lines = load_problems(inv)
    assert lines == [
        f"{loader.display_path(inv)}/huge.yaml:1:1: file of {3 * 1024**3} bytes exceeds the "
        f"{yamlsafe.MAX_FILE_BYTES}-byte limit; not read"
    ]
    assert sum(read) == len(MINIMAL.encode())  # a.yaml only: not one byte of huge.yaml


# --- 12. the gate's files are checked before the audit, waivers are indexed ----------------------------------------


def test_gate_files_fail_before_the_audit(inventory_dir: Any, tmp_path: Path) -> None:
    """Waivers, baseline and --diff-base problems are all reported (exit 2) before any evaluation: the engine here
    is an OPA server that does not exist, which would be exit 3 had the audit started."""
    inv = inventory_dir({"a.yaml": MINIMAL})
    (tmp_path / "w.yaml").write_text("waivers:\n  - rule: x\n", encoding="utf-8")
    (tmp_path / "b.json").write_text('{"format": "auditor-baseline", "version": 2, "findings": []}', encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "check",
            str(inv),
            "--waivers",
            str(tmp_path / "w.yaml"),
            "--baseline",
            str(tmp_path / "b.json"),
            "--engine",
            "opa",
            "--opa-url",
            "http://127.0.0.1:9",
            "--opa-retries",
            "0",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "missing required key" in result.output and "unsupported baseline version 2" in result.output
    assert "OPA" not in result.output


def _finding(i: int) -> Finding:
    from auditor.errors import Location
    from auditor.findings import fingerprint

    rule, sid = f"r.rule{i % 7}", f"s{i % 101}"
    return Finding(
        fingerprint=fingerprint(rule, "system", sid, "a", str(i)),
        rule_id=rule,
        clause_id="I",
        severity="error",
        verdict="gap",
        message="m",
        subject_kind="system",
        subject_id=sid,
        attribute="a",
        location=Location("a.yaml", i + 1, 1),
        evidence=(),
        remediation="",
        title="t",
        source="policy",
    )


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(st.tuples(st.integers(0, 299), st.booleans(), st.booleans()), max_size=40),
)
def test_indexed_waivers_match_as_the_first_matching_waiver_in_file_order(picks: list[tuple[int, bool, bool]]) -> None:
    from auditor.errors import Location

    found = [_finding(i) for i in range(300)]
    today = dt.date(2030, 1, 1)
    listed = []
    for n, (i, by_fp, expired) in enumerate(picks):
        f = found[i]
        listed.append(
            waivers.Waiver(
                Location("w.yaml", n + 1, 3),
                "j",
                "o",
                today - dt.timedelta(days=1 if expired else -1),
                rule="" if by_fp else f.rule_id,
                subject_kind="" if by_fp else "system",
                subject_id="" if by_fp else f.subject_id,
                fingerprint=f.fingerprint if by_fp else "",
            )
        )
    out, notes = waivers.apply(found, listed, today)
    live = [w for w in listed if not w.expired(today)]
    for f, g in zip(found, out, strict=True):
        first = next((w for w in live if w.matches(f)), None)
        assert g.status == ("waived" if first else "open")
        if first is not None:
            assert g.waiver == first.as_dict()
    used = set()
    for f in found:
        first = next((w for w in live if w.matches(f)), None)
        if first is not None:
            used.add(id(first))
    assert {n.waiver.location for n in notes if n.kind == "unused"} == {w.location for w in live if id(w) not in used}


def test_sample_still_loads() -> None:
    assert loader.load([SAMPLE]).systems


# --- 11. memory: list lengths, policy-input size, whole-inventory node count (aliases expanded) ------------------

FLOW = "  - id: fl{k}\n    from: app\n    to: crm\n    purpose: support\n    fields: {fields}\n"
CRM = "  - id: crm\n    name: CRM\n    kind: saas\n    operator: third_party\n    jurisdiction: US\n"


def test_the_campaigns_repeated_list_is_refused_at_the_first_item_too_many(tmp_path: Path) -> None:
    """3.4 MB: one flow listing the same field 200,000 times (6.2 GB before)."""
    text = MINIMAL + CRM + "flows:\n" + FLOW.format(k=0, fields="").rstrip(" \n") + "\n"
    text += "      - app.email\n" * 200_000
    lines = load_problems(write(tmp_path / "inv", "a.yaml", text))
    first = line_of(text, "      - app.email")
    assert lines == [
        f"{loader.display_path(tmp_path / 'inv')}/a.yaml:{first + loader.MAX_LIST_ITEMS}:9: list of more than "
        f"{loader.MAX_LIST_ITEMS} items (a limit no real inventory reaches)"
    ]


def test_the_campaigns_reused_anchor_is_refused(tmp_path: Path) -> None:
    """223 KB: a 20,000-id anchor reused by 4 flows (5.4 GB and 5 minutes, then exit 3, before)."""
    ids = ", ".join(["app.email"] * 20_000)
    text = MINIMAL + CRM + "flows:\n" + FLOW.format(k=0, fields=f"&ids [{ids}]")
    text += "".join(FLOW.format(k=k, fields="*ids") for k in range(1, 4))
    (line,) = load_problems(write(tmp_path / "inv", "a.yaml", text))
    assert f"a.yaml:{line_of(text, '&ids')}:" in line and "list of more than 10000 items" in line


def test_a_long_list_aliased_into_an_entity_is_refused_at_the_alias(tmp_path: Path) -> None:
    """Top-level section lists are not bounded by the list limit: aliased inside an entity, one is."""
    big = ", ".join(["EU"] * (loader.MAX_LIST_ITEMS + 1))
    text = f"consents: &big [{big}]\n" + MINIMAL.replace("subject_jurisdictions: [EU]", "subject_jurisdictions: *big")
    (line,) = load_problems(write(tmp_path / "inv", "a.yaml", text))
    assert f"a.yaml:{line_of(text, '*big')}:28: list of more than" in line, line


def test_a_policy_input_beyond_the_limit_is_refused_at_its_system(tmp_path: Path) -> None:
    """Every list within limits, but 600 flows carrying the same 100 fields make one engine input of 60,100 items."""
    fields = "".join(f"      - {{id: app.f{i}, category: user.contact.email}}\n" for i in range(100))
    ids = ", ".join(f"app.f{i}" for i in range(100))
    text = MINIMAL + fields + CRM + "flows:\n" + FLOW.format(k=0, fields=f"&ids [{ids}]")
    text += "".join(FLOW.format(k=k, fields="*ids") for k in range(1, 600))
    lines = load_problems(write(tmp_path / "inv", "a.yaml", text))
    assert lines == [
        f"{loader.display_path(tmp_path / 'inv')}/a.yaml:{line_of(text, '- id: app')}:5: system 'app': its policy "
        f"input would hold 60,102 fields and field references (its fields, the fields of its flows, the fields it "
        f"receives), beyond the {loader.MAX_PARTITION_ITEMS:,} limit no real inventory reaches; split it or its flows"
    ]


def test_alias_expanded_nodes_count_against_the_inventory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole-inventory limit counts nodes after alias expansion: what every later stage walks."""
    ids = ", ".join(["EU"] * 50)
    aliased = MINIMAL.replace("subject_jurisdictions: [EU]", f"subject_jurisdictions: &j [{ids}]")
    aliased += CRM + "    subject_jurisdictions: *j\n"
    inv = write(tmp_path / "inv", "a.yaml", aliased)
    loader.load([inv])  # under the real limit
    monkeypatch.setattr(loader, "MAX_TOTAL_NODES", 100)  # the text has fewer than 100 nodes; expanded, more
    monkeypatch.setattr(loader, "_REUSE", loader._Reuse())
    assert load_problems(inv) == [
        f"{loader.display_path(inv)}/a.yaml: the inventory passes 100 YAML nodes (aliases expanded) with this file: "
        "beyond the size the auditor keeps under 2 GiB of memory; audit it in parts"
    ]


def test_more_findings_than_a_run_holds_is_an_input_error(inventory_dir: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile inventory can be built to fail densely (a few nodes per finding): past MAX_FINDINGS the run stops
    with exit 2 instead of growing without bound or reporting part of the findings."""
    from auditor import findings

    monkeypatch.setattr(findings, "MAX_FINDINGS", 2)
    inv = inventory_dir({"a.yaml": MINIMAL})
    result = CliRunner().invoke(cli, ["check", str(inv), "--format", "json"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("auditor: the inventory yields more than 2 findings"), result.stderr


def test_more_findings_than_a_run_holds_read_back_from_a_cache_is_an_input_error(
    inventory_dir: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Read back from a warm cache, findings are built as results are read (while the engine waits for
    documents): past MAX_FINDINGS the run still stops with exit 2, nothing written."""
    from auditor import findings

    inv = inventory_dir({"a.yaml": MINIMAL})
    cache = str(tmp_path / "cache")
    warm = CliRunner().invoke(cli, ["check", str(inv), "--format", "json", "--cache", cache])
    assert warm.exit_code in (0, 1) and "findings" in warm.stdout, warm.output
    again = CliRunner().invoke(cli, ["check", str(inv), "--format", "json", "--cache", cache, "--timings"])
    timings = json.loads(next(x for x in again.stderr.splitlines() if x.startswith("{")))
    assert timings["partitions evaluated"] == 0 and timings["partitions reused"] > 0  # all read back
    monkeypatch.setattr(findings, "MAX_FINDINGS", 2)
    result = CliRunner().invoke(cli, ["check", str(inv), "--format", "json", "--cache", cache, "--timings"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("auditor: the inventory yields more than 2 findings"), result.stderr
