"""A partition's listed inputs (``inputs.Pending.inputs``) decide whether a pull request rebuilds its document: equal
inputs in two revisions must mean equal documents, or a pull request would judge yesterday's document and report
yesterday's findings (a silent pass). The inputs are listed by hand beside the builders, so this test draws edits
(the vocabulary of tests/test_cache_equivalence.py: values swapped for ones the same key has elsewhere, list items
dropped or copied, keys dropped, files rewritten, moved or deleted) and checks, for every partition of both
revisions, that equal inputs give equal documents; and that the inputs are not vacuous (an edit of one file leaves
most partitions' inputs unchanged, and what a builder reads changes its partition's inputs).

``AUDITOR_INPUTS_EXAMPLES`` sets the number of examples (default 40, ~10 s of one worker).
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.conftest import SAMPLE, generate_inventory
from tests.test_cache_equivalence import apply, edits

from auditor import inventory, jsonsafe, pipeline
from auditor.errors import InputError
from auditor.lineage import analyse
from auditor.policy.engine import dumps

EXAMPLES = int(os.environ.get("AUDITOR_INPUTS_EXAMPLES", "40"))
# Every property test here: the examples asked for, each in directories of its own (function-scoped fixtures).
EXAMPLES_DRAWN = settings(
    max_examples=EXAMPLES,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


def partitions(root: Path) -> dict[str, tuple[bytes, str]] | None:
    """Each partition's inputs (JSON) and document by label; None when the inventory is refused."""
    try:
        inv = inventory.load([root])
    except InputError:
        return None
    assert inv.digests, "the loader knows every file's digest"
    out: dict[str, tuple[bytes, str]] = {}
    for item in pipeline._pending(inv, analyse(inv)):
        assert item.inputs is not None
        out[item.label] = (jsonsafe.dumps_compact(item.inputs()), dumps(item.make()))
    return out


def unequal_with_equal_inputs(before: dict[str, tuple[bytes, str]], after: dict[str, tuple[bytes, str]]) -> list[str]:
    return [
        label
        for label, (inputs, doc) in after.items()
        if label in before and before[label][0] == inputs and before[label][1] != doc
    ]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated S: one file per system, its flows in it, flows across files."""
    return generate_inventory(tmp_path_factory.mktemp("gen") / "S", "S", 5)


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.yaml"))


@EXAMPLES_DRAWN
@given(data=st.data())
def test_equal_inputs_mean_equal_documents(
    tmp_path_factory: pytest.TempPathFactory, generated: Path, data: st.DataObject
) -> None:
    source = data.draw(st.sampled_from([SAMPLE, generated]), label="inventory")
    event(f"inventory: {'sample' if source == SAMPLE else 'generated S'}")
    root = tmp_path_factory.mktemp("inv") / "inventory"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("README.md"))
    before = partitions(root)
    assert before is not None
    done = apply(root, data.draw(edits(_files(root)), label="edits"), data.draw)
    after = partitions(root)
    if after is None:
        event("refused")
        return
    wrong = unequal_with_equal_inputs(before, after)
    assert not wrong, f"equal inputs, different documents after {done}: {wrong[:5]}"
    same = sum(1 for label, (inputs, _) in after.items() if label in before and before[label][0] == inputs)
    event(f"inputs unchanged: {'none' if not same else 'all' if same == len(after) else 'some'}")


def _edited(root: Path, name: str, edit: Any) -> dict[str, tuple[bytes, str]]:
    path = root / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    found = partitions(root)
    assert found is not None
    return found


def test_an_edit_of_one_system_leaves_the_others_inputs_alone(tmp_path: Path, generated: Path) -> None:
    """Not vacuous: a system's retention made indefinite (the benchmark's pull request) changes the inputs of that
    system and of the partitions reading its node (systems sending to it), not of the rest; a field's category
    changed reaches the partitions that read the field."""
    root = tmp_path / "inventory"
    shutil.copytree(generated, root)
    before = partitions(root)
    assert before is not None
    name = _files(root / "systems")[0]
    sid = yaml.safe_load((root / "systems" / name).read_text(encoding="utf-8"))["systems"][0]["id"]

    def indefinite(doc: Any) -> None:
        doc["systems"][0]["retention"] = {"indefinite": True}

    after = _edited(root, f"systems/{name}", indefinite)
    changed = {label for label in after if before[label][0] != after[label][0]}
    redone = {label for label in after if before[label][1] != after[label][1]}
    assert f"system {sid!r}" in changed
    assert redone <= changed
    assert len(changed) < len(after) / 4, f"{len(changed)} of {len(after)} partitions' inputs changed"


# Random small estates: a few systems, each in its own file, flows between them (declared in their source's file or
# in a shared flows file), a partner embedded in some; then one edit of one file. Each input listed is what some
# document reads of another partition's entities, and only multi-hop structures isolate some of them (a change two
# systems upstream that no file a partition lists shows): random graphs reach them where the sample rarely does.
JURISDICTIONS = ["FR", "DE", "US", "CN"]
CATEGORIES = [
    "user.contact.email",
    "user.unique_id",
    "user.content.photo",
    "user.behavior.browsing_history",
    "system.operations",
]
IDENTIFIABILITY = ["identified", "pseudonymous", "deidentified", "anonymous", "aggregate"]
PURPOSES = {"support": "FACILITATE", "cloud": "CLOUD.STORAGE", "security": "SECURITY"}


@st.composite
def estates(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    n = draw(st.integers(3, 7))
    files: dict[str, dict[str, Any]] = {
        "purposes.yaml": {
            "purposes": [{"id": p, "name": p, "policy_purpose": code} for p, code in PURPOSES.items()],
        },
        "flows.yaml": {"flows": []},
    }
    held: list[list[str]] = []
    for i in range(n):
        fields = [
            {
                "id": f"s{i}.f{j}",
                "category": draw(st.sampled_from(CATEGORIES)),
                "identifiability": draw(st.sampled_from(IDENTIFIABILITY)),
                "collection": draw(st.sampled_from(["user_provided", "observed", "derived"])),
                "purposes": [draw(st.sampled_from(sorted(PURPOSES)))],
                "join_key": draw(st.booleans()),
            }
            for j in range(draw(st.integers(0, 3)))
        ]
        system: dict[str, Any] = {
            "id": f"s{i}",
            "name": f"S{i}",
            "kind": draw(st.sampled_from(["app", "backend", "warehouse"])),
            "operator": "first_party",
            "jurisdiction": draw(st.sampled_from(JURISDICTIONS)),
            "deidentifies": draw(st.booleans()),
            "fields": fields,
        }
        if draw(st.booleans()):
            system["subject_jurisdictions"] = draw(
                st.lists(st.sampled_from(JURISDICTIONS), min_size=1, max_size=2, unique=True)
            )
        files[f"systems/s{i}.yaml"] = {"systems": [system], "flows": []}
        held.append([f["id"] for f in fields])
    files["partners.yaml"] = {
        "partners": [
            {
                "id": "pixel",
                "name": "Pixel",
                "role": draw(st.sampled_from(["advertiser", "cloud_storage"])),
                "jurisdiction": "US",
                "embedded_in": draw(st.lists(st.sampled_from([f"s{i}" for i in range(n)]), max_size=2, unique=True)),
            }
        ]
    }
    # Flows from lower to higher numbers (no cycle), each carrying some of what its source holds; some to the partner.
    for k in range(draw(st.integers(1, 3 * n))):
        i = draw(st.integers(0, n - 2))
        to = draw(st.sampled_from([*(f"s{j}" for j in range(i + 1, n)), "pixel"]))
        if not held[i]:
            continue
        carried = draw(st.lists(st.sampled_from(held[i]), min_size=1, max_size=3, unique=True))
        flow = {
            "id": f"flow{k}",
            "from": f"s{i}",
            "to": to,
            "fields": carried,
            "purpose": draw(st.sampled_from(sorted(PURPOSES))),
            "trigger": draw(st.sampled_from(["user_action", "scheduled"])),
        }
        home = files[f"systems/s{i}.yaml"] if draw(st.booleans()) else files["flows.yaml"]
        home["flows"].append(flow)
        if to != "pixel":
            held[int(to[1:])] = sorted({*held[int(to[1:])], *carried})
    return files


def _write(root: Path, files: dict[str, dict[str, Any]]) -> None:
    for name, doc in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"version": 1, **doc}, sort_keys=False), encoding="utf-8")


def _new_estate(tmp_path_factory: pytest.TempPathFactory, files: dict[str, dict[str, Any]]) -> Path:
    """``files`` written as a fresh inventory directory (a drawn estate's)."""
    root = tmp_path_factory.mktemp("estate") / "inventory"
    _write(root, files)
    return root


@EXAMPLES_DRAWN
@given(files=estates(), data=st.data())
def test_equal_inputs_mean_equal_documents_in_random_estates(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, dict[str, Any]], data: st.DataObject
) -> None:
    root = _new_estate(tmp_path_factory, files)
    before = partitions(root)
    assert before is not None, "the estates drawn are valid inventories"
    systems = [name for name in files if name.startswith("systems/")]
    name = data.draw(st.sampled_from(systems), label="file")
    system = files[name]["systems"][0]
    what = data.draw(
        st.sampled_from(["subjects", "jurisdiction", "deidentifies", "field", "flow", "shared flow"]), label="edit"
    )
    if what == "subjects":
        system["subject_jurisdictions"] = data.draw(st.lists(st.sampled_from(JURISDICTIONS), max_size=2, unique=True))
    elif what == "jurisdiction":
        system["jurisdiction"] = data.draw(st.sampled_from(JURISDICTIONS))
    elif what == "deidentifies":
        system["deidentifies"] = not system["deidentifies"]
    elif what == "field" and system["fields"]:
        field = data.draw(st.sampled_from(system["fields"]))
        key = data.draw(st.sampled_from(["category", "identifiability", "join_key"]))
        field[key] = data.draw(
            st.booleans()
            if key == "join_key"
            else st.sampled_from(CATEGORIES if key == "category" else IDENTIFIABILITY)
        )
    elif what.endswith("flow"):
        # A flow of this system's file, or of the shared flows file (then that file is the one edited).
        if what == "shared flow":
            name = "flows.yaml"
        flows = files[name]["flows"]
        if flows:
            flow = data.draw(st.sampled_from(flows))
            change = data.draw(st.sampled_from(["purpose", "trigger", "to", "fields", "drop"]), label="flow edit")
            if change == "purpose":
                flow["purpose"] = data.draw(st.sampled_from(sorted(PURPOSES)))
            elif change == "trigger":
                flow["trigger"] = data.draw(st.sampled_from(["user_action", "scheduled", "continuous"]))
            elif change == "to":  # still downstream: no cycle
                i = int(flow["from"][1:])
                n = len(systems)
                flow["to"] = data.draw(st.sampled_from([*(f"s{j}" for j in range(i + 1, n)), "pixel"]))
            elif change == "fields":
                flow["fields"] = flow["fields"][: data.draw(st.integers(1, len(flow["fields"])))][::-1]
            else:
                flows.remove(flow)
    _write(root, {name: files[name]})
    after = partitions(root)
    assert after is not None
    wrong = unequal_with_equal_inputs(before, after)
    assert not wrong, f"equal inputs, different documents after editing {name} ({what}): {wrong[:5]}"
    redone = sum(1 for label in after if before[label][1] != after[label][1])
    event(f"documents changed: {min(redone, 3)}{'+' if redone >= 3 else ''}")


def built(inv: Any, facts: bool, order: list[int] | None = None) -> list[tuple[bytes, str]]:
    """Each partition's inputs (JSON) and document, built in ``order`` (default: in turn), from a lineage whose flow
    and system facts were computed first (``facts``) or are computed as the partitions ask (the keyer's split)."""
    items = list(pipeline._pending(inv, analyse(inv, facts=facts)))
    out: dict[int, tuple[bytes, str]] = {}
    for i in order if order is not None else range(len(items)):
        listed = items[i].inputs
        assert listed is not None
        out[i] = (jsonsafe.dumps_compact(listed()), dumps(items[i].make()))
    return [out[i] for i in range(len(items))]


def test_facts_computed_when_asked_are_the_facts_computed_first(generated: Path) -> None:
    """The keyer and its helper each compute the flow and system facts of their half of the partitions
    (``analyse(facts=False)``): every partition, built in any order, must be what the whole lineage gives."""
    for root in (SAMPLE, generated):
        inv = inventory.load([root])
        first = built(inv, facts=True)
        n = len(first)
        for order in (list(range(n)), list(reversed(range(n))), [*range(n // 2, n), *range(n // 2)]):
            assert built(inv, facts=False, order=order) == first, f"{root.name}: built in order {order[:5]}..."
        lin = analyse(inv)
        assert lin.flow_facts and not analyse(inv, facts=False).flow_facts, "the facts are there to compare"


@EXAMPLES_DRAWN
@given(files=estates(), data=st.data())
def test_facts_computed_when_asked_in_random_estates(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, dict[str, Any]], data: st.DataObject
) -> None:
    root = _new_estate(tmp_path_factory, files)
    inv = inventory.load([root])
    first = built(inv, facts=True)
    order = data.draw(st.permutations(list(range(len(first)))), label="order")
    assert built(inv, facts=False, order=order) == first
    lin = analyse(inv)
    event(f"flow facts: {bool(lin.flow_facts)}, system facts: {bool(lin.system_facts)}")


# Edits that only one listed input shows (each found missing by deleting that input from the list: the random
# estates above rarely draw them).
def _estate(systems: list[dict[str, Any]], shared_flows: list[dict[str, Any]], role: str) -> dict[str, dict[str, Any]]:
    """Systems s0, s1... (``fields``, ``flows`` and other keys as given) each in its file, ``shared_flows`` in
    flows.yaml, and the partner ``pixel`` with ``role``."""
    files: dict[str, dict[str, Any]] = {
        "purposes.yaml": {"purposes": [{"id": p, "name": p, "policy_purpose": c} for p, c in PURPOSES.items()]},
        "partners.yaml": {"partners": [{"id": "pixel", "name": "Pixel", "role": role, "jurisdiction": "US"}]},
        "flows.yaml": {"flows": shared_flows},
    }
    for i, spec in enumerate(systems):
        system = {"id": f"s{i}", "name": f"S{i}", "kind": "backend", "operator": "first_party", "jurisdiction": "FR"}
        system.update({k: v for k, v in spec.items() if k != "flows"})
        system.setdefault("fields", [])
        files[f"systems/s{i}.yaml"] = {"systems": [system], "flows": spec.get("flows", [])}
    return files


def _field(fid: str, category: str, purpose: str = "support", **more: Any) -> dict[str, Any]:
    return {"id": fid, "category": category, "collection": "user_provided", "purposes": [purpose], **more}


def _flow(fid: str, src: str, dst: str, fields: list[str], purpose: str = "support") -> dict[str, Any]:
    return {"id": fid, "from": src, "to": dst, "fields": fields, "purpose": purpose, "trigger": "user_action"}


def _both(tmp_path: Path, files: dict[str, dict[str, Any]], edit: Any, edited: str, label: str) -> None:
    """The partition ``label``'s document and inputs before and after ``edit`` of file ``edited``: both changed."""
    root = tmp_path / "inventory"
    _write(root, files)
    before = partitions(root)
    edit(files[edited])
    _write(root, {edited: files[edited]})
    after = partitions(root)
    assert before is not None and after is not None
    assert before[label][1] != after[label][1], "the edit reaches the document"
    assert before[label][0] != after[label][0], "so it changes the partition's inputs"
    assert not unequal_with_equal_inputs(before, after)


def test_how_content_reached_the_estate_is_an_input_of_the_flows_uploading_it(tmp_path: Path) -> None:
    """III.VII.3: a flow to cloud storage carries the triggers of the flows that took the content from its origin,
    which may be declared in a file the uploading system's partition reads nothing else from."""
    files = _estate(
        [
            {"fields": [_field("s0.photo", "user.content.photo", "cloud")]},
            {"flows": [_flow("s1-to-cloud", "s1", "pixel", ["s0.photo"], "cloud")]},
        ],
        [_flow("s0-to-s1", "s0", "s1", ["s0.photo"])],
        "cloud_storage",
    )

    def scheduled(doc: dict[str, Any]) -> None:
        doc["flows"][0]["trigger"] = "scheduled"

    _both(tmp_path, files, scheduled, "flows.yaml", "system 's1'")


def test_the_systems_sending_to_a_partner_are_an_input_of_its_partition(tmp_path: Path) -> None:
    """A second sender of data the partner already receives changes only the partner's list of sources."""
    files = _estate(
        [
            {
                "fields": [_field("s0.email", "user.contact.email")],
                "flows": [
                    _flow("s0-to-pixel", "s0", "pixel", ["s0.email"]),
                    _flow("s0-to-s1", "s0", "s1", ["s0.email"]),
                ],
            },
            {},
        ],
        [_flow("s1-to-pixel", "s1", "pixel", ["s0.email"])],
        "advertiser",
    )

    def dropped(doc: dict[str, Any]) -> None:
        doc["flows"].clear()

    _both(tmp_path, files, dropped, "flows.yaml", "partner 'pixel'")


def test_a_de_identification_upstream_is_an_input_of_the_stores_downstream(tmp_path: Path) -> None:
    """III.I.c: whether a store mixes de-identified and identified data depends on a de-identification step two
    systems upstream, whose file nothing else of the store's partition reads."""
    browsing = "user.behavior.browsing_history"
    files = _estate(
        [
            {
                "fields": [_field("s0.browse", browsing, identifiability="identified")],
                "flows": [_flow("s0-to-s1", "s0", "s1", ["s0.browse"])],
            },
            {"deidentifies": False, "flows": [_flow("s1-to-s2", "s1", "s2", ["s0.browse"])]},
            {"fields": [_field("s2.score", browsing, identifiability="deidentified")]},
        ],
        [],
        "advertiser",
    )

    def deidentifies(doc: dict[str, Any]) -> None:
        doc["systems"][0]["deidentifies"] = True

    _both(tmp_path, files, deidentifies, "systems/s1.yaml", "system 's2'")


def test_the_fields_a_system_or_partner_receives_are_an_input_of_its_partition(tmp_path: Path) -> None:
    """One field fewer forwarded by a flow declared in a shared file: the recipients still receive another field of
    the same system, for the same purpose, so only their lists of received fields show it."""
    email, browse = "user.contact.email", "user.behavior.browsing_history"
    files = _estate(
        [
            {
                "fields": [_field("s0.email", email), _field("s0.browse", browse)],
                "flows": [_flow("s0-to-s1", "s0", "s1", ["s0.email", "s0.browse"])],
            },
            {},
            {},
        ],
        [
            _flow("s1-to-s2", "s1", "s2", ["s0.email", "s0.browse"]),
            _flow("s1-to-pixel", "s1", "pixel", ["s0.email", "s0.browse"]),
        ],
        "advertiser",
    )

    def fewer(doc: dict[str, Any]) -> None:
        for flow in doc["flows"]:
            flow["fields"] = ["s0.email"]

    for label in ("system 's2'", "partner 'pixel'"):
        _both(tmp_path / label.split()[0], copy.deepcopy(files), fewer, "flows.yaml", label)


def test_what_the_lineage_says_of_a_flow_is_an_input_of_its_partition(tmp_path: Path) -> None:
    """The lineage's facts of a flow (the identifiability its fields arrive with) depend on a de-identification step
    upstream, whose file nothing else of the sending system's partition reads."""
    browsing = "user.behavior.browsing_history"
    files = _estate(
        [
            {
                "fields": [_field("s0.browse", browsing, identifiability="identified")],
                "flows": [_flow("s0-to-s1", "s0", "s1", ["s0.browse"])],
            },
            {"deidentifies": True, "flows": [_flow("s1-to-s2", "s1", "s2", ["s0.browse"])]},
            {"flows": [_flow("s2-to-pixel", "s2", "pixel", ["s0.browse"])]},
        ],
        [],
        "advertiser",
    )

    def identifies(doc: dict[str, Any]) -> None:
        doc["systems"][0]["deidentifies"] = False

    _both(tmp_path, files, identifies, "systems/s1.yaml", "system 's2'")


def test_what_the_lineage_says_of_a_field_is_an_input_of_its_partition(tmp_path: Path) -> None:
    """The lineage's facts of a field (where a de-identification step's output, a join key, meets identifiers again)
    depend on a system two hops downstream, whose file nothing else of the declaring system's partition reads."""
    browsing = "user.behavior.browsing_history"
    files = _estate(
        [
            {
                "deidentifies": True,
                "fields": [_field("s0.score", browsing, identifiability="deidentified", join_key=True)],
                "flows": [_flow("s0-to-s1", "s0", "s1", ["s0.score"])],
            },
            {"flows": [_flow("s1-to-s2", "s1", "s2", ["s0.score"])]},
            {"fields": [_field("s2.id", "system.operations")]},
        ],
        [],
        "advertiser",
    )

    def identifier(doc: dict[str, Any]) -> None:
        doc["systems"][0]["fields"][0]["category"] = "user.contact.email"

    _both(tmp_path, files, identifier, "systems/s2.yaml", "system 's0'")
