"""Fuzz of loader + validator + engines (issue 15's done-when): small inventories mutated at random (hostile numbers,
strings with quotes, backslashes, control characters and trailing newlines, wrong types, deleted keys, duplicated
entities...) must each be either refused with located problems (and always refused when they break a rule an
independent oracle knows), or accepted and then judged identically by the embedded engine and the reference (real
OPA). No traceback, no hang, no fail-open, no engine disagreement.

CI runs ``AUDITOR_FUZZ_EXAMPLES`` (default 1,000) mutations through load and validate; the accepted ones are audited
afterwards in one batch per engine (each distinct partition once, one compiled engine each). ``make fuzz`` runs
20,000."""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import CLEAN, MINIMAL, tree_get, tree_paths

from auditor import findings as findings_mod
from auditor import pipeline
from auditor.errors import InputError, PolicyError
from auditor.formats import json_format
from auditor.inventory import loader
from auditor.lineage import analyse
from auditor.policy import OVERLAYS, POLICY_PACK, load_pack, make_engine
from auditor.policy.catalogue import default_policy_dir
from auditor.policy.reference_engine import available

if not available():
    pytest.fail("opa-golib-python-bindings is not installed; `make test` installs it", pytrace=False)

EXAMPLES = int(os.environ.get("AUDITOR_FUZZ_EXAMPLES", "1000"))

RICH = (
    CLEAN
    + """\
  - id: to-analytics
    from: app
    to: analytics
    fields: [app.email]
    purpose: support
    legal_basis: {kind: consent, consent: c1}
    transfer: {mechanism: scc, ref: https://legal.example/scc, frequency: continuous}
partners:
  - id: analytics
    name: Analytics
    role: analytics
    operator: processor
    jurisdiction: US
    embedded_in: [app]
    cookies:
      - {name: _ga, type: analytics, max_age_days: 390, fires_before_consent: false, purpose: support}
consents:
  - id: c1
    purpose: support
    mechanism: opt_in
    collected_by: app
organization:
  name: Org
  contact_email: dpo@example.com
  jurisdiction: EU
  incident_response:
    notify_sla_hours: 72
    regulator_procedures:
      - {jurisdiction: EU, authority: CNIL, deadline_hours: 72}
"""
)
BASES = [yaml.safe_load(t) for t in (MINIMAL, CLEAN, RICH)]

NUMERIC = {"notify_sla_hours", "deadline_hours", "days", "choice_ttl_days", "max_age_days", "propagation_hours"}
PATTERNED = {"id", "from", "to", "purpose", "jurisdiction", "category", "policy_purpose", "consent", "collected_by"}
PATTERNED |= {"subject_jurisdictions", "fields", "purposes", "embedded_in"}  # lists of ids or jurisdictions

STRINGS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        [
            '"',
            "\\",
            'a"b\\c',
            "\n",
            "crm\n",
            "US\n",
            "app\n",
            "\x1b[31m",
            "\t",
            "${x}",
            "{{x}}",
            "%s%d",
            "null",
            "<b>",
            "`",
            "é",
            "\u2028",
            "\x00",
            "'",
            "support",
            "app.email",
            "EU",
            "user.contact.email",
        ]
    ),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 72, 2**53 - 1, 2**53, 2**63, 2**64 + 72, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(STRINGS, NUMBERS, st.booleans(), st.none())
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(STRINGS, SCALARS, max_size=2))
KEYS = st.sampled_from(sorted(NUMERIC | PATTERNED | {"name", "fields", "purposes", "cookies", "bogus", "kind"}))


FREE_TEXT = {"name", "description", "owner_team", "region", "authority", "ref", "address", "policy_version"}


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    # Free text (names, cookie names, references...) is accepted whatever it holds and reaches the rules' messages:
    # most examples change some, so that many inventories get through to the engines with hostile strings.
    texts = [p for p in tree_paths(doc) if p and p[-1] in FREE_TEXT and isinstance(tree_get(doc, p), str)]
    for path in draw(st.lists(st.sampled_from(texts), max_size=3)) if texts else ():
        tree_get(doc, path[:-1])[path[-1]] = draw(STRINGS.filter(bool))
    for _ in range(draw(st.integers(0, 2))):
        paths = tree_paths(doc)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = tree_get(doc, path[:-1]), path[-1]
        op = draw(st.sampled_from(["alike", "alike", "alike", "set", "set", "delete", "add", "duplicate", "newline"]))
        current = parent[last]
        if op == "alike" and isinstance(current, str):  # a string for a string: most are accepted, then audited
            parent[last] = draw(STRINGS | st.builds(lambda a, b: a + b, st.just(current), STRINGS))
        elif op == "alike" and isinstance(current, int) and not isinstance(current, bool):
            parent[last] = draw(st.integers(0, 2**53 - 1) | st.floats(0, 2**53 - 1) | st.sampled_from([0, 2**53 - 1]))
        elif op in ("set", "alike"):
            parent[last] = draw(VALUES)
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(KEYS)] = draw(VALUES)
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif op == "newline" and isinstance(parent[last], str):
            parent[last] += draw(st.sampled_from(["\n", "\r\n", " \n"]))
    return doc


def must_refuse(doc: Any, key: Any = None) -> str | None:
    """Why the loader must refuse ``doc`` (an oracle independent of the schema, for the classes of issue 15), or
    None when it may accept it."""
    if isinstance(doc, float) and not math.isfinite(doc):
        return "non-finite number"
    if key in NUMERIC and isinstance(doc, (int, float)) and not isinstance(doc, bool) and not 0 <= doc < 2**53:
        return f"{key} out of the exact range"
    if key in PATTERNED and isinstance(doc, str) and doc.endswith("\n"):
        return f"{key} with a trailing newline"
    if isinstance(doc, dict):
        return next((r for k, v in doc.items() if (r := must_refuse(v, k))), None)
    if isinstance(doc, list):
        return next((r for v in doc if (r := must_refuse(v, key))), None)
    return None


def test_fuzz_loader_validator_and_engines(tmp_path: Path) -> None:
    accepted: list[tuple[str, Any, list[str], list[str]]] = []
    counts = {"refused": 0, "accepted": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(mutated())
    def one(doc: dict[str, Any]) -> None:
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
        d = tmp_path / "inv"
        d.mkdir(exist_ok=True)
        (d / "a.yaml").write_text(text, encoding="utf-8")
        reason = must_refuse(doc)
        try:
            inv = loader.load([d])
        except InputError as exc:
            counts["refused"] += 1
            assert exc.problems and all(p.location.file and p.message for p in exc.problems), exc.lines()
            assert all("\n" not in line for line in exc.lines())
            return
        assert reason is None, f"fail-open: accepted an inventory with a {reason}:\n{text}"
        counts["accepted"] += 1
        docs, labels = pipeline.partition_documents(inv, analyse(inv))
        accepted.append((text, inv, docs, labels))

    one()
    assert counts["refused"] and counts["accepted"], counts
    _engines_agree(accepted)


def _evaluate_all(engine: Any, pack: Any, docs: list[str]) -> dict[str, Any]:
    """Each document's results, or the PolicyError it raises: one batch, split in halves around failures (so a few
    failing partitions cost a few more calls, not one call per partition)."""
    if not docs:
        return {}
    try:
        return dict(zip(docs, engine.evaluate(pack, docs), strict=True))
    except PolicyError as exc:
        if len(docs) == 1:
            return {docs[0]: exc}
    half = len(docs) // 2
    return {**_evaluate_all(engine, pack, docs[:half]), **_evaluate_all(engine, pack, docs[half:])}


def _outcome(pack: Any, inv: Any, docs: list[str], results: dict[str, Any]) -> str:
    """The findings JSON of one inventory (or the first engine error among its partitions)."""
    errors = [results[d] for d in docs if isinstance(results[d], PolicyError)]
    if errors:
        return f"error: {errors[0].lines()[0]}"
    found = findings_mod.build(pack, inv, [results[d] for d in docs])
    return json.dumps([json_format.finding_dict(f) for f in found], sort_keys=True)


def _difference(a: str, b: str) -> tuple[list[Any], list[Any]]:
    """What one outcome has that the other has not: findings (rule, subject, message) or the error."""

    def items(outcome: str) -> list[Any]:
        if outcome.startswith("error"):
            return [outcome]
        return [(f["rule"], f["subject"], f["message"]) for f in json.loads(outcome)]

    left, right = items(a), items(b)
    return [x for x in left if x not in right][:5], [x for x in right if x not in left][:5]


def _engines_agree(accepted: list[tuple[str, Any, list[str], list[str]]]) -> None:
    """Every distinct partition of the accepted inventories evaluated once per engine (one batch, one compiled
    engine), then each inventory's findings compared."""
    pack = load_pack(default_policy_dir(), (POLICY_PACK, *OVERLAYS))
    unique = sorted({d for _, _, docs, _ in accepted for d in docs})
    outcomes: dict[str, list[str]] = {}
    for name in ("embedded", "reference"):
        results = _evaluate_all(make_engine(name), pack, unique)
        outcomes[name] = [_outcome(pack, inv, docs, results) for _, inv, docs, _ in accepted]
    for (text, *_), embedded, reference in zip(accepted, outcomes["embedded"], outcomes["reference"], strict=True):
        if embedded != reference:
            only_e, only_r = _difference(embedded, reference)
            raise AssertionError(f"engines disagree on:\n{text}\nembedded only: {only_e}\nreference only: {only_r}")
    assert not any(o.startswith("error") for o in outcomes["reference"]), [
        (a[0], o) for a, o in zip(accepted, outcomes["reference"], strict=True) if o.startswith("error")
    ][:3]


def test_oracle_knows_the_classes() -> None:
    assert must_refuse({"a": {"deadline_hours": 2**64 + 72}}) == "deadline_hours out of the exact range"
    assert must_refuse({"x": [float("nan")]}) == "non-finite number"
    assert must_refuse({"systems": [{"id": "crm\n"}]}) == "id with a trailing newline"
    assert must_refuse({"subject_jurisdictions": ["EU", "US\n"]}) == "subject_jurisdictions with a trailing newline"
    assert all(must_refuse(base) is None for base in BASES)
