"""Inventory strings reach Rego only as JSON values, never as Rego text: quotes, backslashes, control characters,
NUL, escape sequences, format verbs, non-BMP characters and very long strings in cookie names and the free-text
fields of systems, fields and partners give the same findings on every engine (issue 15 point 3), and a finding
quoting such a name quotes it exactly. A lone surrogate cannot be written in an inventory at all (YAML refuses
it): an input error, located, before any engine runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.conftest import MINIMAL, run_auditor

from auditor import pipeline
from auditor.errors import InputError
from auditor.lineage import analyse
from auditor.policy import PolicyPack, load_pack, make_engine
from auditor.policy.engine import normalise
from auditor.policy.reference_engine import available

if not available():
    pytest.fail("opa-golib-python-bindings is not installed; `make test` installs it", pytrace=False)

SPECIAL = [
    '"',
    "\\",
    '\\"',
    "a\x00b",
    "line\nbreak",
    "\r\n",
    "\t",
    "\x1b[31mred\x1b[0m",
    "\u2028",
    "\ufeff",
    "%s %v %d",
    "${input}",
    '{"a": 1}',
    "[x | x := 1]",
    'x") || true; ("',
    "\U0001f600",
    "é" * 3000,
    "x" * 20_000,
]

names = st.one_of(st.sampled_from(SPECIAL), st.text(min_size=1, max_size=40))


@pytest.fixture(scope="module")
def pack() -> PolicyPack:
    return load_pack()


def _inventory(strings: list[str]) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(MINIMAL)
    system = doc["systems"][0]
    system["name"] = strings[0]
    system["description"] = strings[-1]
    system["fields"][0]["name"] = strings[len(strings) // 2]
    doc["partners"] = [
        {
            "id": "tracker",
            "name": strings[0],
            "description": strings[-1],
            "role": "analytics",
            "operator": "third_party",
            "jurisdiction": "US",
            "embedded_in": ["app"],
            # No purpose: creality.cookies.cookie_without_purpose quotes each cookie's name in its message.
            "cookies": [
                {"name": s, "type": "analytics", "max_age_days": 30, "first_party": True, "fires_before_consent": False}
                for s in strings
            ],
        }
    ]
    return doc


def _dump(doc: dict[str, Any]) -> str:
    """YAML that loads back as exactly ``doc``: non-ASCII characters escaped. With ``allow_unicode=True`` PyYAML
    writes U+0085 (NEL) raw inside a quoted scalar, where YAML reads it as a line break (folded to a space): the
    inventory would not hold the string this test means to send (hypothesis found it)."""
    return yaml.safe_dump(doc, allow_unicode=False)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(names, min_size=1, max_size=6, unique=True), min_size=1, max_size=8))
def test_strings_give_the_same_findings_on_every_engine(
    tmp_path: Path, pack: PolicyPack, opa_url: str, batch: list[list[str]]
) -> None:
    """One example is a batch of inventories, evaluated in one call per engine (an engine's start-up costs more
    than these small partitions)."""
    docs: list[str] = []
    labels: list[str] = []
    accepted: list[list[str]] = []
    for i, strings in enumerate(batch):
        d = tmp_path / f"inv{i}"
        d.mkdir(exist_ok=True)
        (d / "a.yaml").write_text(_dump(_inventory(strings)), encoding="utf-8")
        try:
            inv = pipeline.load([d])
        except InputError:
            continue  # a string the schema refuses (blank, say) is not this test's subject
        more_docs, more_labels = pipeline.partition_documents(inv, analyse(inv))
        docs += more_docs
        labels += more_labels
        accepted.append(strings)
    assume(accepted)
    results = {
        name: normalise(make_engine(name, opa_url=opa_url).evaluate(pack, docs, labels))
        for name in ("embedded", "reference", "opa")
    }
    assert results["reference"] == results["embedded"]
    assert results["opa"] == results["embedded"]
    messages = [f["message"] for r in results["embedded"] for f in r["creality.cookies.cookie_without_purpose"]]
    for s in (s for strings in accepted for s in strings):
        assert any(f"cookie {s} of tracker" in m for m in messages), (s, messages)


def test_a_lone_surrogate_is_a_located_input_error(tmp_path: Path) -> None:
    text = MINIMAL.replace("name: App", 'name: "App \\ud800"')
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    r = run_auditor("check", str(tmp_path), "--format", "json")
    assert r.code == 2 and r.out == "", r.err
    assert "a.yaml:" in r.err.splitlines()[0] and "Traceback" not in r.err


def test_the_json_report_carries_such_strings_intact(tmp_path: Path) -> None:
    strings = ['"', "\\", "a\x00b", "\x1b[31m", "\U0001f600"]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(_inventory(strings), allow_unicode=True), encoding="utf-8")
    r = run_auditor("check", str(tmp_path), "--format", "json")
    assert r.code == 1, r.err
    report = json.loads(r.out)
    messages = [f["message"] for f in report["findings"] if f["rule"] == "creality.cookies.cookie_without_purpose"]
    assert sorted(messages) == sorted(f"cookie {s} of tracker has no purpose" for s in strings)
