"""The Creality policy pack as a whole: the clause catalogue matches the French text, every checkable clause has a
rule, every rule is documented and unit-tested both ways, and the Rego tests pass on the embedded engine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import POLICIES, run_auditor

from auditor.policy import catalogue

SOURCE = POLICIES / "source" / "creality-privacy-policy.fr.txt"
CLAUSES = POLICIES / "clauses.yaml"
CREALITY_REGO = POLICIES / "rego" / "creality"


@pytest.fixture(scope="module")
def pack() -> catalogue.PolicyPack:
    return catalogue.load_pack(POLICIES)


@pytest.fixture(scope="module")
def policy_clauses() -> list[dict[str, str]]:
    data = yaml.safe_load(CLAUSES.read_text(encoding="utf-8"))
    clauses: list[dict[str, str]] = data["clauses"]
    return clauses


def test_every_excerpt_is_verbatim_in_the_source(policy_clauses: list[dict[str, str]]) -> None:
    text = SOURCE.read_text(encoding="utf-8")
    missing = [c["id"] for c in policy_clauses if c["excerpt_fr"] not in text]
    assert missing == [], f"excerpts not found verbatim in {SOURCE.name}: {missing}"


def test_clause_ids_are_unique(policy_clauses: list[dict[str, str]]) -> None:
    ids = [c["id"] for c in policy_clauses]
    assert len(ids) == len(set(ids))


def test_every_machine_or_evidence_clause_of_the_policy_has_a_rule(
    pack: catalogue.PolicyPack, policy_clauses: list[dict[str, str]]
) -> None:
    checkable = [c["id"] for c in policy_clauses if c["checkability"] in ("machine", "evidence")]
    assert len(checkable) > 50  # the catalogue really lists the policy, not a stub
    covered = {r.clause for r in pack.rules if r.pack == catalogue.POLICY_PACK}
    without_rule = [cid for cid in checkable if cid not in covered]
    assert without_rule == [], f"machine/evidence clauses with no rule in the creality pack: {without_rule}"


def test_not_checkable_clauses_have_a_reason_and_no_rule(
    pack: catalogue.PolicyPack, policy_clauses: list[dict[str, str]]
) -> None:
    covered = {r.clause for r in pack.rules}
    for c in policy_clauses:
        if c["checkability"] == "not_checkable":
            assert c.get("reason"), c["id"]
            assert c["id"] not in covered, f"{c['id']} is not_checkable but has a rule"


def test_every_rule_names_a_known_clause_and_is_documented(pack: catalogue.PolicyPack) -> None:
    for rule in pack.rules:
        assert rule.title.strip(), rule.id
        assert rule.description.strip(), rule.id
        assert rule.remediation.strip(), rule.id
        assert rule.clause in pack.clauses, f"{rule.id} cites unknown clause {rule.clause}"
        assert rule.severity in catalogue.SEVERITIES, rule.id
        assert rule.verdict in catalogue.VERDICTS, rule.id


def _policy_modules() -> list[Path]:
    return sorted(p for p in CREALITY_REGO.rglob("*.rego") if not p.name.endswith("_test.rego"))


@pytest.mark.parametrize("module", _policy_modules(), ids=lambda p: str(p.relative_to(CREALITY_REGO)))
def test_every_module_has_tests_calling_each_of_its_rules(module: Path, pack: catalogue.PolicyPack) -> None:
    package = re.search(r"^package\s+(\S+)", module.read_text(encoding="utf-8"), re.M)
    assert package is not None
    rules = [r for r in pack.rules if r.package == package.group(1)]
    if not rules:  # vocabulary modules hold data and helpers only
        return
    test_file = module.with_name(module.stem + "_test.rego")
    assert test_file.is_file(), f"{module} has no {test_file.name}"
    tests = test_file.read_text(encoding="utf-8")
    alias = package.group(1).rsplit(".", 1)[-1]
    aliased = re.search(rf"^import data\.{re.escape(package.group(1))} as (\w+)", tests, re.M)
    if aliased:
        alias = aliased.group(1)
    untested = [r.name for r in rules if f"{alias}.{r.name}(" not in tests]
    assert untested == [], f"rules of {module.name} never called by {test_file.name}: {untested}"


def test_auditor_test_passes_on_the_embedded_engine() -> None:
    run = run_auditor("test", timeout=300)
    assert run.code == 0, run.out + run.err
    summary = re.search(r"(\d+) passed, (\d+) failed", run.out + run.err)
    assert summary is not None, run.out + run.err
    assert int(summary.group(1)) > 200 and summary.group(2) == "0"


def test_a_pack_loaded_again_in_one_process_reflects_every_edit_and_every_problem(tmp_path: Path) -> None:
    """A process that loads packs more than once (the test suite, in-process) reads each module once per text:
    an edited module is read again, and a refused one is refused at every load, with the same located problems."""
    import shutil

    from auditor.errors import PolicyError

    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    module = root / "rego" / "creality" / "cookies" / "cookies.rego"
    original = module.read_text(encoding="utf-8")
    assert "#   severity: error" in original
    first = catalogue.load_pack(root)
    assert catalogue.load_pack(root).rules == first.rules

    shown = module.relative_to(tmp_path).as_posix()
    for broken, why in [
        (original.replace("#   severity: error", "#   severity: fatal", 1), "severity must be one of"),  # METADATA
        (original + "\nleak := http.send({})\n", "http.send"),  # the guard's scan of the text
    ]:
        module.write_text(broken, encoding="utf-8")
        refusals = []
        for _ in range(2):
            with pytest.raises(PolicyError) as caught:
                catalogue.load_pack(root)
            refusals.append([str(p) for p in caught.value.problems])
        assert refusals[0] == refusals[1] and len(refusals[0]) == 1, refusals
        assert shown in refusals[0][0] and why in refusals[0][0], refusals

    rule = next(r for r in first.rules if r.location.file == shown)
    assert original.count(f"# title: {rule.title}\n") == 1
    retitled = original.replace(f"# title: {rule.title}\n", f"# title: Edited - {rule.title}\n")
    module.write_text(retitled, encoding="utf-8")
    assert catalogue.load_pack(root).rules_by_id[rule.id].title == f"Edited - {rule.title}"

    module.write_text(original, encoding="utf-8")
    assert catalogue.load_pack(root).rules == first.rules
