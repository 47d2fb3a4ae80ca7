"""Findings do not depend on the order partitions' results arrive in.

With ``--cache`` the results read back are built into findings as they are read and the others as the engine gives
them (``pipeline.PartitionCache.evaluate``), so the builder takes partitions in any order: when two partitions
report the same finding (same fingerprint), the one of the lowest partition wins, as it does in partition order.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import random

import pytest
from tests.conftest import POLICIES, SAMPLE

from auditor import pipeline
from auditor.findings import Builder, Finding, build, from_compressed_table, new_finding, to_compressed_table
from auditor.model import Inventory
from auditor.policy import OVERLAYS, POLICY_PACK, PolicyPack, load_pack, make_engine
from auditor.policy.engine import RuleResults, check_results, normalise


@pytest.fixture(scope="module")
def setting() -> tuple[PolicyPack, Inventory, list[RuleResults]]:
    pack = load_pack(POLICIES, (POLICY_PACK, *OVERLAYS))
    inv = pipeline.load([SAMPLE])
    docs, labels = pipeline.partition_documents(inv, pipeline.analyse(inv))
    return pack, inv, make_engine("embedded").evaluate(pack, docs, labels)


def built(pack: PolicyPack, inv: Inventory, results: list[RuleResults], order: list[int]) -> list[Finding]:
    builder = Builder(pack, inv)
    for index in order:
        builder.add(index, copy.deepcopy(results[index]))
    return builder.findings()


def test_any_arrival_order_gives_the_findings_of_partition_order(
    setting: tuple[PolicyPack, Inventory, list[RuleResults]],
) -> None:
    pack, inv, results = setting
    in_order = build(pack, inv, copy.deepcopy(results))
    assert len(in_order) > 50
    indexes = list(range(len(results)))
    assert built(pack, inv, results, indexes[::-1]) == in_order
    shuffled = indexes[:]
    random.Random(7).shuffle(shuffled)
    assert built(pack, inv, results, shuffled) == in_order


def test_a_finding_two_partitions_report_is_the_first_partitions(
    setting: tuple[PolicyPack, Inventory, list[RuleResults]],
) -> None:
    pack, inv, results = setting
    first = next(i for i, r in enumerate(results) if any(r.values()))
    rule_id, items = next((rule_id, items) for rule_id, items in results[first].items() if items)
    later = len(results) - 1
    assert later > first
    twin = {**items[0], "message": "the same finding, said by a later partition"}
    changed = copy.deepcopy(results)
    changed[later] = {**changed[later], rule_id: [twin, *changed[later][rule_id]]}
    expected = build(pack, inv, copy.deepcopy(results))  # the twin is a duplicate: the first partition's stays
    assert "said by a later partition" not in {f.message for f in expected}
    for order in (list(range(len(results))), list(range(len(results)))[::-1]):
        assert built(pack, inv, changed, order) == expected
    # Within one partition the first item stays, whatever comes after it.
    again = copy.deepcopy(results)
    again[first] = {**again[first], rule_id: [*items, twin]}
    assert built(pack, inv, again, list(range(len(results)))[::-1]) == expected


def test_results_are_normalised_in_place_as_normalise_copies_them(
    setting: tuple[PolicyPack, Inventory, list[RuleResults]],
) -> None:
    """check_results changes the engine's fresh answer in place (copying it cost ~1 CPU-s at L): integral floats
    become ints at any depth, anything else is left as it is, exactly as ``normalise`` returns it."""
    pack, _, results = setting
    rule = pack.rules[0].id
    odd = {
        "subject": {"kind": "field", "id": "x"},
        "message": "m",
        "evidence": [1.0, -0.0, 2.5, True, None, "3.0", [4.0, {"n": 5.0}], 2.0**60],
        "args": [{"count": 7.0, "ratio": 0.5}],
    }
    value = {**copy.deepcopy(results[0]), rule: [odd]}
    expected = normalise(copy.deepcopy(value))
    checked = check_results(pack, value, 0)
    assert checked[rule][0]["evidence"] == expected[rule][0]["evidence"]
    assert [type(x) for x in checked[rule][0]["evidence"]] == [int, int, float, bool, type(None), str, list, float]
    assert checked[rule][0]["evidence"][6] == [4, {"n": 5}] and type(checked[rule][0]["evidence"][6][0]) is int
    assert (
        checked[rule][0]["args"] == [{"count": 7, "ratio": 0.5}] and type(checked[rule][0]["args"][0]["count"]) is int
    )
    assert {k: checked[k] for k in checked if k != rule} == {k: expected[k] for k in expected if k != rule}


def test_the_builders_fast_constructor_makes_what_the_dataclass_makes(
    setting: tuple[PolicyPack, Inventory, list[RuleResults]],
) -> None:
    """``new_finding`` sets the slots itself (speed): it must set every field, each as ``Finding(...)`` does, and
    give an open finding without a waiver that compares and copies like one."""
    pack, inv, results = setting
    found = built(pack, inv, results, list(range(len(results))))
    assert len(found) > 20
    names = [f.name for f in dataclasses.fields(Finding)]
    taken = [n for n in inspect.signature(new_finding).parameters]
    assert set(names) - set(taken) == {"status", "waiver"}  # a new field must be added to new_finding too
    for f in found:
        again = Finding(**{n: getattr(f, n) for n in taken})
        assert f == again
        assert [getattr(f, n) for n in names] == [getattr(again, n) for n in names]
        assert f.status == "open" and dict(f.waiver) == {}
        assert f.with_status("waived", {"owner": "x"}).status == "waived"
    made = new_finding(*(getattr(found[0], n) for n in taken))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.status = "waived"  # type: ignore[misc]


def test_a_stored_audit_gives_back_the_findings_it_was_made_of(
    setting: tuple[PolicyPack, Inventory, list[RuleResults]],
) -> None:
    """A pull request takes the findings of the files its change does not reach from the base's stored audit
    (:meth:`Recorded.lines_of_findings`, made with fast constructors for findings and locations): they must be the
    findings the table was made of, field for field, in order, located in the files as this run names them, and
    without the message's format and arguments when the run does not keep them."""
    pack, inv, results = setting
    found = built(pack, inv, results, list(range(len(results))))
    files = sorted(inv.files)
    table = to_compressed_table(found, files, chunk=7)  # several lines, each with its own strings
    assert table is not None
    recorded = from_compressed_table(table, files)
    assert recorded is not None and recorded.files == len(files)
    names = [f.name for f in dataclasses.fields(Finding)]
    fields = [[[getattr(f, n) for n in names] for f in line] for line in recorded.lines_of_findings(files, True)]
    assert [len(line) for line in fields][:-1] == [7] * (len(fields) - 1)
    assert [row for line in fields for row in line] == [[getattr(f, n) for n in names] for f in found]
    assert [f.message_args for f in found if f.message_args]  # the arguments are really there to drop
    renamed = [f"base:{name}" for name in files]
    plain = [f for line in recorded.lines_of_findings(renamed, False) for f in line]
    assert plain == [
        dataclasses.replace(f, location=dataclasses.replace(f.location, file=f"base:{f.location.file}"),
                            message_fmt="", message_args="")
        for f in found
    ]  # fmt: skip
    assert all(type(f.location) is type(found[0].location) for f in plain)
    with pytest.raises(ValueError):
        next(recorded.lines_of_findings(files[1:], True))
