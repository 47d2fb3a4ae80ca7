"""Candidate lists are speed-ups only: they must never change a finding.

``input.candidates`` (src/auditor/policy/inputs.py) lets a family of rules skip items that cannot match; if the
list ever missed an item a rule would flag, that finding would silently disappear (a fail-open). These tests
evaluate the same inventories with and without the lists and require identical results, rule by rule. (The
per-category facts the embedded engine tabulates once are proven the same way by tests/test_conformance.py: the
other engines compute them in place, and outputs must be identical.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import SAMPLE, generate_inventory

from auditor import pipeline
from auditor.lineage import analyse
from auditor.policy import inputs, load_pack
from auditor.policy.regorus_engine import RegorusEngine


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_inventory(tmp_path_factory.mktemp("bench") / "S", "S", 11)


def _canonical(finding: object) -> str:
    return json.dumps(finding, sort_keys=True)


def _results(target: Path, candidates: bool) -> list[dict[str, list[dict[str, object]]]]:
    inv = pipeline.load([target])
    documents, labels = pipeline.partition_documents(inv, analyse(inv), candidates=candidates)
    return RegorusEngine().evaluate(load_pack(), documents, labels)


@pytest.mark.parametrize("which", ["sample", "generated"])
def test_candidate_lists_change_no_finding(which: str, generated: Path) -> None:
    target = SAMPLE if which == "sample" else generated
    with_lists, without = _results(target, True), _results(target, False)
    assert len(with_lists) == len(without)
    total = 0
    for fast, full in zip(with_lists, without, strict=True):
        # Same findings per rule; their order inside a rule's array is not part of the contract (findings are
        # sorted in Python), and a rule reading several groups may list them in another order.
        assert {rule: sorted(map(_canonical, items)) for rule, items in fast.items()} == {
            rule: sorted(map(_canonical, items)) for rule, items in full.items()
        }
        total += sum(len(v) for v in full.values())
    assert total > 0  # the comparison is about real findings, not two empty results


def test_border_candidates_include_every_flow_a_transfer_rule_flags(generated: Path) -> None:
    """The transfer rules do flag flows in the generated inventory, and each flagged flow is a listed candidate."""
    inv = pipeline.load([generated])
    flagged = {
        f.subject_id
        for f in pipeline.audit(inv, load_pack(), RegorusEngine(), cache=None).findings
        if f.rule_id.startswith(("gdpr.transfers.", "pipl.export.", "creality.crossborder."))
    }
    assert flagged
    assert all(inputs.may_cross_border(inv, inv.flows[fid]) for fid in flagged)
