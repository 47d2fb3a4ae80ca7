"""The scenario corpus (tests/scenarios/, docs/accuracy.md): recall on realistic violations, silence on compliant traps.

Each scenario is a small overlay on a compliant baseline inventory, with the clause a correct auditor must cite and
the entity the finding must be about (a violation), or ``trap: true`` (no error beyond the baseline's). A scenario
the tool gets wrong stays in the corpus with ``known_miss: <reason>`` and is a strict xfail here: when a fix makes
it pass, the test fails until the marker is removed. The whole corpus is audited once, in one engine run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.scenarios import run

ROOT = Path(__file__).resolve().parent.parent
SOURCE_TEXT = (ROOT / "policies" / "source" / "creality-privacy-policy.fr.txt").read_text(encoding="utf-8")
SCENARIOS = run.read_scenarios()
FALSE_ALARMS = run.read_false_alarms()
BASELINE = run.Baseline()


def _catalogue() -> dict[str, str]:
    """Clause id -> checkability, policy and overlays."""
    out = {}
    for name in ("clauses.yaml", "overlays.yaml"):
        for clause in yaml.safe_load((ROOT / "policies" / name).read_text(encoding="utf-8"))["clauses"]:
            out[str(clause["id"])] = str(clause["checkability"])
    return out


CATALOGUE = _catalogue()


@pytest.fixture(scope="module")
def corpus() -> run.Corpus:
    return run.run_corpus(SCENARIOS, baseline=BASELINE)


def _explain(result: run.Result) -> str:
    lines = [f"{result.scenario.name}: {result.scenario.description}"]
    if result.crash:
        lines.append(f"  tool error: {result.crash}")
    lines += [f"  missing: {e.text()}" for e in result.missing]
    if result.scenario.trap:
        lines += [f"  new error: {s.text()}" for s in result.new_errors]
    lines += [f"  reported: {s.text()}" for s in result.new_findings]
    return "\n".join(lines)


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(
            sc,
            id=sc.name,
            marks=[pytest.mark.xfail(strict=True, reason=sc.known_miss)] if sc.known_miss else [],
        )
        for sc in SCENARIOS
    ],
)
def test_scenario(corpus: run.Corpus, scenario: run.Scenario) -> None:
    (result,) = [r for r in corpus.results if r.scenario.name == scenario.name]
    assert result.detected, _explain(result)


def test_baseline_has_no_error_but_its_known_false_alarms(corpus: run.Corpus) -> None:
    unexpected = corpus.unlisted_baseline_errors()
    assert not unexpected, "\n".join(s.text() for s in unexpected)


def test_every_known_false_alarm_is_still_reported(corpus: run.Corpus) -> None:
    """With the test above, the false-alarm list is exactly the baseline's errors: an entry the tool no longer
    reports must be removed. It runs whatever the list holds (an empty list too: then the baseline has no error)."""
    assert corpus.false_alarms == FALSE_ALARMS
    gone = corpus.gone_false_alarms()
    assert not gone, "no longer reported, remove from false_alarms.yaml: " + "; ".join(
        f"{a.clause} on {a.kind}/{a.id} ({a.reason})" for a in gone
    )


def test_the_corpus_covers_every_checkable_clause_and_enough_traps() -> None:
    violations = [sc for sc in SCENARIOS if not sc.trap]
    traps = [sc for sc in SCENARIOS if sc.trap]
    assert len(violations) >= 45 and len(traps) >= 15, (len(violations), len(traps))
    expected = {c for sc in violations for e in sc.expect for c in e.clauses}
    uncovered = sorted(c for c, check in CATALOGUE.items() if check != "not_checkable" and c not in expected)
    assert not uncovered, f"checkable clauses without a violation scenario: {uncovered}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[sc.name for sc in SCENARIOS])
def test_scenario_cites_the_policy_and_the_catalogue(scenario: run.Scenario) -> None:
    # The quote is the policy's own words (verbatim), or for a law overlay the provision, tagged [GDPR]/[CNIL]/[PIPL].
    assert scenario.quote in SOURCE_TEXT or scenario.quote.startswith(("[GDPR]", "[CNIL]", "[PIPL]")), scenario.quote
    for clause in (*scenario.clauses, *(c for e in scenario.expect for c in e.clauses)):
        assert clause in CATALOGUE, f"unknown clause {clause}"
    # The overlay applies to the baseline (a missing target is the corpus's bug, not the tool's).
    BASELINE.sources(scenario.name, scenario.patch)


def test_the_runner_reports_figures_and_exit_status(corpus: run.Corpus) -> None:
    n, m, k, t = corpus.figures()
    text = run.report(corpus)
    assert text.endswith(f"recall {n}/{m}, traps clean {k}/{t}")
    for sc in SCENARIOS:
        if sc.known_miss:
            assert f"  {sc.name}: " in text
    assert corpus.ok()  # every scenario behaves as recorded: run.py exits 0


def test_overlay_operations_change_only_what_they_name() -> None:
    patch = [
        {"set": "partner/ad-network", "path": "cookies[name=_adn].fires_before_consent", "value": True},
        {"unset": "system/crm", "path": "dsr.propagates"},
        {"append": "flow/crm-newsletter", "path": "fields", "value": "app.phone"},
        {"add": "fields", "system": "crm", "value": {"id": "crm.segment", "category": "user.behavior"}},
        {
            "add": "flows",
            "value": {
                "id": "x",
                "from": "crm",
                "to": "recsys",
                "fields": ["crm.segment"],
                "purpose": "personalization",
            },
        },
        {"remove": "flow/account-to-recsys"},
        {
            "set": "organization",
            "path": "incident_response.regulator_procedures[jurisdiction=EU].deadline_hours",
            "value": 96,
        },
    ]
    before = dict(BASELINE.sources())
    after = dict(BASELINE.sources("ops", patch))
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed == {
        "scenario/partners.yaml",
        "scenario/systems/crm.yaml",
        "scenario/flows/marketing.yaml",
        "scenario/flows/backend.yaml",
        "scenario/organization.yaml",
        f"scenario/{run.ADDED_FILE}",
    }
    docs = {name: yaml.safe_load(text) for name, text in after.items()}
    (adn,) = [c for p in docs["scenario/partners.yaml"]["partners"] if p["id"] == "ad-network" for c in p["cookies"]]
    assert adn["fires_before_consent"] is True
    (crm,) = docs["scenario/systems/crm.yaml"]["systems"]
    assert "propagates" not in crm["dsr"] and crm["fields"][-1]["id"] == "crm.segment"
    assert [f["id"] for f in docs[f"scenario/{run.ADDED_FILE}"]["flows"]] == ["x"]
    assert "account-to-recsys" not in {f["id"] for f in docs["scenario/flows/backend.yaml"]["flows"]}
    # The baseline itself is left untouched for the next scenario.
    assert dict(BASELINE.sources()) == before


@pytest.mark.parametrize(
    "op",
    [
        {"set": "flow/no-such-flow", "path": "tls", "value": False},
        {"unset": "system/crm", "path": "no.such.key"},
        {"set": "partner/ad-network", "path": "cookies[name=nope].type", "value": "analytics"},
        {"add": "nonsense", "value": {"id": "x"}},
        {"set": "system/crm", "value": 1},
    ],
)
def test_an_overlay_that_does_not_apply_is_the_corpus_error(op: dict[str, object]) -> None:
    with pytest.raises(run.ScenarioError):
        BASELINE.sources("bad", [op])
