"""Partition-result reuse (check --diff-base audits two revisions in one process): the second audit evaluates only
the partitions whose input changed and gives exactly the findings of a full audit."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest
from tests.conftest import CLEAN, MINIMAL, SAMPLE

from auditor import inventory, pipeline
from auditor.errors import PolicyError
from auditor.findings import Finding
from auditor.policy import OVERLAYS, POLICY_PACK, Engine, PolicyPack, load_pack, make_engine
from auditor.policy.catalogue import default_policy_dir
from auditor.policy.engine import RuleResults


def _sources(root: Path) -> list[tuple[str, bytes]]:
    return [(p.relative_to(root).as_posix(), p.read_bytes()) for p in sorted(root.rglob("*.yaml"))]


def test_reused_partitions_give_the_findings_of_a_full_audit() -> None:
    pack = load_pack(default_policy_dir(), (POLICY_PACK, *OVERLAYS))
    engine = make_engine("embedded")
    base = _sources(SAMPLE)
    full = pipeline.audit(inventory.load_sources(base), pack, engine, cache=None).findings

    systems = [i for i, (name, data) in enumerate(base) if b"\nsystems:" in b"\n" + data]
    assert systems
    name, data = base[systems[0]]
    head = list(base)
    head[systems[0]] = (name, data.replace(b"\n", b"\n# changed by the pull request\n", 1))  # same entities
    cache = pipeline.PartitionCache()
    pipeline.audit(inventory.load_sources(head), pack, engine, cache=cache)
    evaluated_first = cache.misses
    reused = pipeline.audit(inventory.load_sources(base), pack, engine, cache=cache).findings

    assert cache.hits > 0 and cache.misses == evaluated_first  # nothing evaluated twice
    assert [(f.fingerprint, f.location, f.message, f.severity) for f in reused] == [
        (f.fingerprint, f.location, f.message, f.severity) for f in full
    ]


def test_audit_many_gives_each_inventory_the_findings_of_its_own_audit() -> None:
    pack = load_pack(default_policy_dir(), (POLICY_PACK, *OVERLAYS))
    engine = make_engine("embedded")
    # Two small inventories that share partitions (the app) and differ in findings (MINIMAL has gaps).
    invs = [
        inventory.load_sources([("clean.yaml", CLEAN.encode())]),
        inventory.load_sources([("min.yaml", MINIMAL.encode())]),
    ]

    def seen(found: list[Finding]) -> list[tuple[object, ...]]:
        return [(f.fingerprint, f.location, f.message, f.severity, f.evidence) for f in found]

    together = pipeline.audit_many(invs, pack, engine)
    alone = [pipeline.audit(inv, pack, engine, cache=None).findings for inv in invs]
    assert seen(together[0]) != seen(together[1])
    assert [seen(f) for f in together] == [seen(f) for f in alone]
    assert pipeline.audit_many([], pack, engine) == []


class _FailingEngine:
    """Evaluates like ``inner`` but fails on every partition whose document contains ``poison``."""

    name = "failing"

    def __init__(self, inner: Engine, poison: str) -> None:
        self.inner, self.poison = inner, poison

    def evaluate_iter(
        self,
        pack: PolicyPack,
        partitions: Iterable[str],
        labels: Sequence[str] = (),
        *,
        count: int | None = None,
        prestart: bool = False,
    ) -> Iterator[RuleResults]:
        docs = list(partitions)
        for i, doc in enumerate(docs):
            if self.poison in doc:
                yield from self.inner.evaluate_iter(pack, docs[:i], labels[:i], count=i) if i else ()
                raise PolicyError(f"rule failed while evaluating {labels[i]}")
        yield from self.inner.evaluate_iter(pack, docs, labels, count=len(docs))


def test_audit_many_keeps_a_policy_error_to_the_inventories_it_concerns() -> None:
    pack = load_pack(default_policy_dir(), (POLICY_PACK, *OVERLAYS))
    poisoned = CLEAN.replace("name: Support desk", "name: Poisoned support desk")
    invs = [inventory.load_sources([(f"{i}.yaml", text.encode())]) for i, text in enumerate((CLEAN, poisoned, CLEAN))]
    engine = _FailingEngine(make_engine("embedded"), "Poisoned")

    with pytest.raises(PolicyError):
        pipeline.audit_many(invs, pack, engine)
    first, failed, last = pipeline.audit_many(invs, pack, engine, keep_errors=True)
    assert isinstance(failed, PolicyError) and "inventory 2" in str(failed)
    assert not isinstance(first, PolicyError) and not isinstance(last, PolicyError)
    assert [f.fingerprint for f in first] == [f.fingerprint for f in last]
