"""Where the people whose data each field and system holds live (``inputs.data_subject_jurisdictions``): a least
fixpoint over the flows, which rules read as ``subject_jurisdictions``/``data_subject_areas``. Computing it any
faster must give exactly the same sets: a set too small would let a transfer of EU or Chinese residents' data pass
silently. The oracle here is the plain definition: sweep every system until none changed."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import SAMPLE

from auditor import inventory
from auditor.model import Entity, Inventory
from auditor.policy.inputs import data_subject_jurisdictions

JURISDICTIONS = ("FR", "DE", "CN", "US")


def swept(inv: Inventory) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The definition: a system holds its own people's jurisdictions and, for each field it receives, those the
    field's declaring system gives (its own when it has some, else all it holds); repeated until nothing grows."""
    own = {sid: set(s.get("subject_jurisdictions") or ()) for sid, s in inv.systems.items()}
    held = {sid: set(j) for sid, j in own.items()}
    parent = {fid: f.parent or "" for fid, f in inv.fields.items()}

    def gives(sid: str) -> set[str]:
        return own.get(sid) or held.get(sid, set())

    changed = True
    while changed:
        changed = False
        for flow in inv.flows.values():
            target = flow.data["to"]
            if target not in held:
                continue
            for fid in flow.data["fields"]:
                before = len(held[target])
                held[target] |= gives(parent[fid])
                changed = changed or len(held[target]) != before
    return (
        {fid: sorted(gives(p)) for fid, p in parent.items()},
        {sid: sorted(j) for sid, j in held.items()},
    )


@st.composite
def estates(draw: st.DrawFn) -> Inventory:
    """Systems with or without people of their own, fields declared by them, flows between any two of them (cycles
    and self-loops included) and to a partner, each carrying some fields."""
    n = draw(st.integers(1, 8))
    systems = {
        f"s{i}": Entity(
            "system", f"s{i}", "x.yaml", {"subject_jurisdictions": draw(st.lists(st.sampled_from(JURISDICTIONS)))}
        )
        for i in range(n)
    }
    fields = {
        f"f{i}": Entity("field", f"f{i}", "x.yaml", {}, parent=draw(st.sampled_from(sorted(systems))))
        for i in range(draw(st.integers(1, 10)))
    }
    ends = [*sorted(systems), "partner"]
    flows = {}
    for i in range(draw(st.integers(0, 14))):
        data = {
            "from": draw(st.sampled_from(sorted(systems))),
            "to": draw(st.sampled_from(ends)),
            "fields": draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=4)),
        }
        flows[f"flow{i}"] = Entity("flow", f"flow{i}", "x.yaml", data)
    return Inventory(files=("x.yaml",), systems=systems, fields=fields, flows=flows)


@settings(max_examples=300, deadline=None)
@given(estates())
def test_the_fixpoint_is_the_definitions(inv: Inventory) -> None:
    assert data_subject_jurisdictions(inv) == swept(inv)


def test_a_chain_through_systems_without_people_of_their_own() -> None:
    # s0 (FR) -> s1 -> s2 -> s3 -> s1: what s1 derives concerns FR residents, and so on around the cycle; s3's own
    # CN residents reach s1 and s2 by the field s3 derives. Listed backwards, so one sweep in order is not enough.
    systems = {
        "s0": Entity("system", "s0", "x.yaml", {"subject_jurisdictions": ["FR"]}),
        "s1": Entity("system", "s1", "x.yaml", {}),
        "s2": Entity("system", "s2", "x.yaml", {}),
        "s3": Entity("system", "s3", "x.yaml", {"subject_jurisdictions": ["CN"]}),
    }
    fields = {f"f{i}": Entity("field", f"f{i}", "x.yaml", {}, parent=f"s{i}") for i in range(4)}
    edges = [("s3", "s1", "f3"), ("s2", "s3", "f2"), ("s1", "s2", "f1"), ("s0", "s1", "f0")]
    flows = {
        f"flow{i}": Entity("flow", f"flow{i}", "x.yaml", {"from": a, "to": b, "fields": [f]})
        for i, (a, b, f) in enumerate(edges)
    }
    by_field, by_system = data_subject_jurisdictions(
        Inventory(files=("x.yaml",), systems=systems, fields=fields, flows=flows)
    )
    assert by_system == {"s0": ["FR"], "s1": ["CN", "FR"], "s2": ["CN", "FR"], "s3": ["CN", "FR"]}
    assert by_field == {"f0": ["FR"], "f1": ["CN", "FR"], "f2": ["CN", "FR"], "f3": ["CN"]}


def test_the_sample_inventory() -> None:
    inv = inventory.load([SAMPLE])
    assert data_subject_jurisdictions(inv) == swept(inv)
    counts: dict[int, int] = defaultdict(int)
    for areas in data_subject_jurisdictions(inv)[1].values():
        counts[len(areas)] += 1
    assert len(counts) > 1  # some systems hold more people's data than others: the case is not trivial
