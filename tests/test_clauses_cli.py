"""`auditor clauses` and `auditor explain`: the clause catalogue as users see it, with coverage and status."""

from __future__ import annotations

import json
from typing import Any

import yaml
from conftest import POLICIES, SAMPLE, run_auditor


def _catalogue(name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load((POLICIES / name).read_text(encoding="utf-8"))["clauses"])


def _clauses_json(*args: str) -> dict[str, Any]:
    run = run_auditor("clauses", "--format", "json", *args)
    assert run.code == 0, run.err
    doc: dict[str, Any] = json.loads(run.out)
    return doc


def test_clauses_json_lists_every_clause_with_verbatim_excerpts() -> None:
    doc = _clauses_json()
    listed = {c["id"]: c for c in doc["clauses"]}
    policy = _catalogue("clauses.yaml")
    overlays = _catalogue("overlays.yaml")
    assert [c["id"] for c in doc["clauses"]] == [c["id"] for c in policy + overlays]
    source = (POLICIES / "source" / "creality-privacy-policy.fr.txt").read_text(encoding="utf-8")
    for item in policy:
        c = listed[item["id"]]
        assert c["source"] == "policy"
        assert c["excerpt_fr"] and c["excerpt_fr"] in source, item["id"]
        assert c["kind"] and c["checkability"] in ("machine", "evidence", "not_checkable")
        if c["checkability"] == "not_checkable":
            assert c["reason"], item["id"]
    for item in overlays:
        assert listed[item["id"]]["source"] == item["law"]
    assert doc["audited"] is False
    assert "status" not in doc["clauses"][0]


def test_no_machine_or_evidence_clause_is_without_a_rule() -> None:
    """Every machine/evidence clause of the policy and of the overlays is checked by at least one rule."""
    doc = _clauses_json()
    missing = [c["id"] for c in doc["clauses"] if c["checkability"] != "not_checkable" and not c["rules"]]
    assert missing == []
    assert {c["source"] for c in doc["clauses"] if c["rules"]} == {"policy", "gdpr", "cnil", "pipl"}
    for c in doc["clauses"]:
        for rule in c["rules"]:
            assert rule["title"] and rule["severity"] in ("error", "warning", "info")


def test_law_selection_limits_the_overlay_clauses() -> None:
    ids = {c["id"] for c in _clauses_json("--law", "cnil")["clauses"]}
    assert "CNIL.PRIOR_CONSENT" in ids
    assert not any(i.startswith(("GDPR.", "PIPL.")) for i in ids)
    assert "II.IV.2.e" in ids


def test_clause_status_against_the_sample_inventory_is_deterministic() -> None:
    first = run_auditor("clauses", str(SAMPLE), "--format", "json")
    second = run_auditor("clauses", str(SAMPLE), "--format", "json")
    assert first.code == 0, first.err
    assert first.out == second.out
    doc = json.loads(first.out)
    assert doc["audited"] is True
    by_id = {c["id"]: c for c in doc["clauses"]}
    # G8: SCCs without a transfer impact assessment -> the evidence clause is missing its evidence.
    assert by_id["GDPR.46"]["status"] == "evidence missing"
    assert by_id["GDPR.46"]["open_findings"]["error"] >= 1
    # G10: the advertising pixel fires before consent.
    assert by_id["CNIL.PRIOR_CONSENT"]["status"] == "findings"
    # The banners keep the choice 180 days: compliant.
    assert by_id["CNIL.CHOICE_TTL"]["status"] == "compliant"
    assert by_id["CNIL.CHOICE_TTL"]["open_findings"] == {"error": 0, "warning": 0, "info": 0}
    for c in doc["clauses"]:
        if c["checkability"] == "not_checkable":
            assert c["status"] == "not checkable"


def test_clauses_text_shows_source_and_status() -> None:
    run = run_auditor("clauses", str(SAMPLE))
    assert run.code == 0, run.err
    line = next(x for x in run.out.splitlines() if x.startswith("GDPR.46 "))
    assert "[GDPR]" in line and "evidence missing" in line


def test_explain_a_clause() -> None:
    run = run_auditor("explain", "II.IV.2.e")
    assert run.code == 0, run.err
    clause = next(c for c in _catalogue("clauses.yaml") if c["id"] == "II.IV.2.e")
    flat = " ".join(run.out.split())
    assert " ".join(clause["excerpt_fr"].split()) in flat
    assert " ".join(clause["summary_en"].split()) in flat
    assert "creality.purposes.undeclared_purpose_flow" in run.out
    assert "How to fix:" in run.out


def test_explain_an_overlay_clause_gives_its_legal_reference_and_rules() -> None:
    run = run_auditor("explain", "GDPR.46")
    assert run.code == 0, run.err
    assert "Schrems II" in run.out
    assert "gdpr.transfers.safeguard_without_tia" in run.out
    assert "What is checked:" in run.out


def test_explain_a_rule() -> None:
    run = run_auditor("explain", "creality.purposes.undeclared_purpose_flow")
    assert run.code == 0, run.err
    assert "without prior consent" in run.out
    assert "severity: error" in run.out
    assert "II.IV.2.e" in run.out
    as_json = run_auditor("explain", "gdpr.transfers.safeguard_without_tia", "--format", "json")
    doc = json.loads(as_json.out)
    assert doc["type"] == "rule"
    assert doc["clause"]["id"] == "GDPR.46"
    assert doc["rule"]["verdict"] == "gap"


def test_explain_an_unknown_id_suggests_close_ones() -> None:
    run = run_auditor("explain", "GDPR.4")
    assert run.code == 2
    assert "did you mean" in run.err and "GDPR.46" in run.err
    assert "Traceback" not in run.err
