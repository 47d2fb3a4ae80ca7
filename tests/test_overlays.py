"""Legal overlays: switched on and off from the command line or a config file, and findings say which law they break."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from conftest import SAMPLE, Run, run_auditor

# An EU app sending e-mails to a Chinese warehouse with no transfer block (GDPR Chapter V), embedding an
# advertising pixel that fires before consent (CNIL).
INVENTORY = """\
organization:
  name: Example
  jurisdiction: FR
  contact_email: privacy@example.com
  address: 1 rue de la Paix, Paris
  dpo: {name: DPO, email: dpo@example.com}
  incident_response:
    regulator_procedures:
      - {jurisdiction: FR, authority: CNIL, deadline_hours: 72}
purposes:
  - id: support
    name: Customer support
    policy_purpose: FACILITATE
  - id: ads
    name: Ads
    policy_purpose: PARTNER.ADS
systems:
  - id: app
    name: App
    kind: web
    operator: first_party
    jurisdiction: FR
    subject_jurisdictions: [FR]
    consent_banner: {reject_first_layer: true, silence_means_refusal: true, choice_ttl_days: 180}
    fields:
      - id: app.email
        category: user.contact.email
        subjects: [customer]
        purposes: [support]
  - id: warehouse
    name: Warehouse
    kind: warehouse
    operator: first_party
    jurisdiction: CN
partners:
  - id: pixel
    name: Pixel
    role: advertiser
    operator: third_party
    jurisdiction: US
    embedded_in: [app]
    cookies:
      - {name: _px, type: advertising, max_age_days: 90, first_party: false, fires_before_consent: true, purpose: ads}
flows:
  - id: app-to-warehouse
    from: app
    to: warehouse
    fields: [app.email]
    purpose: support
    legal_basis: {kind: contract}
"""


def _findings(run: Run) -> list[dict[str, object]]:
    assert run.code in (0, 1), run.err
    return list(json.loads(run.out)["findings"])


def _rules(run: Run) -> set[str]:
    return {str(f["rule"]) for f in _findings(run)}


GDPR_RULE = "gdpr.transfers.transfer_without_safeguard"
CNIL_RULE = "cnil.trackers.tracker_before_consent"


def test_every_overlay_applies_by_default_and_findings_name_their_law(inventory_dir: Callable[..., Path]) -> None:
    inv = inventory_dir({"inv.yaml": INVENTORY})
    findings = _findings(run_auditor("check", str(inv), "--format", "json"))
    by_rule = {f["rule"]: f for f in findings}
    assert by_rule[GDPR_RULE]["source"] == "gdpr"
    assert by_rule[GDPR_RULE]["clause"] == "GDPR.46"
    assert by_rule[CNIL_RULE]["source"] == "cnil"
    for f in findings:
        rule = str(f["rule"])
        expected = "policy" if rule.startswith("creality.") else rule.split(".")[0]
        assert f["source"] == expected, f


def test_law_none_and_law_list_switch_overlays(inventory_dir: Callable[..., Path]) -> None:
    inv = inventory_dir({"inv.yaml": INVENTORY})
    none = _findings(run_auditor("check", str(inv), "--format", "json", "--law", "none"))
    assert {f["source"] for f in none} <= {"policy"}
    only_gdpr = _rules(run_auditor("check", str(inv), "--format", "json", "--law", "gdpr"))
    assert GDPR_RULE in only_gdpr
    assert CNIL_RULE not in only_gdpr


def test_unknown_overlay_is_a_usage_error(inventory_dir: Callable[..., Path]) -> None:
    inv = inventory_dir({"inv.yaml": INVENTORY})
    run = run_auditor("check", str(inv), "--law", "gdpr,hipaa")
    assert run.code == 2
    assert "hipaa" in run.err


def test_config_file_chooses_overlays_and_the_flag_overrides_it(
    inventory_dir: Callable[..., Path], tmp_path: Path
) -> None:
    inv = inventory_dir({"inv.yaml": INVENTORY})
    work = tmp_path / "project"
    work.mkdir()
    (work / "auditor.toml").write_text('law = ["cnil"]\n', encoding="utf-8")
    from_file = _rules(run_auditor("check", str(inv), "--format", "json", cwd=work))
    assert CNIL_RULE in from_file
    assert GDPR_RULE not in from_file
    overridden = _rules(run_auditor("check", str(inv), "--format", "json", "--law", "gdpr", cwd=work))
    assert GDPR_RULE in overridden
    assert CNIL_RULE not in overridden


def test_pyproject_tool_auditor_sets_fail_on_and_the_flag_overrides_it(
    inventory_dir: Callable[..., Path], tmp_path: Path
) -> None:
    inv = inventory_dir({"inv.yaml": INVENTORY})
    work = tmp_path / "project"
    work.mkdir()
    (work / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.auditor]\nlaw = "none"\nfail_on = "never"\n', encoding="utf-8"
    )
    quiet = run_auditor("check", str(inv), "--format", "json", cwd=work)
    assert quiet.code == 0, quiet.err
    assert GDPR_RULE not in _rules(quiet)
    strict = run_auditor("check", str(inv), "--format", "json", "--law", "gdpr", "--fail-on", "error", cwd=work)
    assert strict.code == 1
    assert GDPR_RULE in _rules(strict)


def test_auditor_toml_wins_over_pyproject(inventory_dir: Callable[..., Path], tmp_path: Path) -> None:
    inv = inventory_dir({"inv.yaml": INVENTORY})
    work = tmp_path / "project"
    work.mkdir()
    (work / "pyproject.toml").write_text('[tool.auditor]\nlaw = ["gdpr"]\n', encoding="utf-8")
    (work / "auditor.toml").write_text('law = ["cnil"]\n', encoding="utf-8")
    rules = _rules(run_auditor("check", str(inv), "--format", "json", cwd=work))
    assert CNIL_RULE in rules
    assert GDPR_RULE not in rules


def test_invalid_config_is_a_located_input_error(inventory_dir: Callable[..., Path], tmp_path: Path) -> None:
    inv = inventory_dir({"inv.yaml": INVENTORY})
    work = tmp_path / "project"
    work.mkdir()
    (work / "auditor.toml").write_text('law = ["gdpr", "hipaa"]\n', encoding="utf-8")
    run = run_auditor("check", str(inv), cwd=work)
    assert run.code == 2
    assert "auditor.toml:1:1:" in run.err and "hipaa" in run.err
    assert "Traceback" not in run.err
    (work / "auditor.toml").write_text("law = [\n", encoding="utf-8")
    broken = run_auditor("check", str(inv), cwd=work)
    assert broken.code == 2
    assert "invalid TOML" in broken.err


def test_text_output_marks_overlay_clauses_with_their_law(inventory_dir: Callable[..., Path]) -> None:
    inv = inventory_dir({"inv.yaml": INVENTORY})
    run = run_auditor("check", str(inv), "--no-color")
    assert run.code == 1, run.err
    assert "GDPR.46 [GDPR]" in run.out
    assert "CNIL.PRIOR_CONSENT [CNIL]" in run.out


def test_sample_inventory_overlay_gaps_are_reported_where_documented() -> None:
    """The overlay gaps of inventory/README.md (G8, G9, G10, G11, G17) with their law and location."""
    findings = _findings(run_auditor("check", str(SAMPLE), "--format", "json"))
    seen = {
        (f["rule"], f["subject"]["id"], Path(f["location"]["file"]).name, f["source"])  # type: ignore[index]
        for f in findings
    }
    assert ("gdpr.transfers.safeguard_without_tia", "account-to-warehouse", "backend.yaml", "gdpr") in seen  # G8
    g9 = ("warehouse-to-crm-segments", "marketing.yaml", "pipl")
    assert ("pipl.export.export_without_mechanism", *g9) in seen
    assert ("pipl.export.export_without_separate_consent", *g9) in seen
    assert ("cnil.trackers.tracker_before_consent", "adpixel", "partners.yaml", "cnil") in seen  # G10
    assert ("cnil.trackers.consented_cookie_lifetime", "analytics-sdk", "partners.yaml", "cnil") in seen  # G11
    assert ("gdpr.organization.no_eu_representative", "organization", "organization.yaml", "gdpr") in seen  # G17
    # Tricky compliant cases: the strictly necessary fraud cookie and the DPF-certified EU->US flows.
    assert not any(f["subject"]["id"] == "payments" and f["source"] == "cnil" for f in findings)  # type: ignore[index]
    assert not any(
        str(f["rule"]).startswith("gdpr.transfers") and f["subject"]["id"] == "account-to-crm-email"  # type: ignore[index]
        for f in findings
    )
