"""Partition-result reuse (check --diff-base audits two revisions in one process): the second audit evaluates only
the partitions whose input changed and gives exactly the findings of a full audit."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SAMPLE

from auditor import inventory, pipeline
from auditor.policy import OVERLAYS, POLICY_PACK, load_pack, make_engine
from auditor.policy.catalogue import default_policy_dir


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
