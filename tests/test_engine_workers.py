"""The embedded engine's worker pool: forked for small runs, started from a fork server for large ones (so that
workers do not inherit the CLI's heap). Both must give the same results."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.conftest import SAMPLE

from auditor import pipeline
from auditor.lineage import analyse
from auditor.policy import load_pack
from auditor.policy import regopy_engine as engine_mod


def test_fork_server_workers_give_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    inv = pipeline.load([SAMPLE])
    docs, labels = pipeline.partition_documents(inv, analyse(inv))
    pack = load_pack()
    forked = engine_mod.RegopyEngine().evaluate(pack, docs, labels)
    monkeypatch.setattr(engine_mod, "FORK_LIMIT", 0)
    served = engine_mod.RegopyEngine().evaluate(pack, docs, labels)
    assert served == forked
    assert sum(len(v) for r in served for v in r.values()) > 0


def test_documents_are_taken_as_workers_need_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """At scale the partitions' documents must never all be in memory: the engine takes them from a generator a few
    chunks ahead of the results it hands over, in order, and identical to evaluating the list at once."""
    inv = pipeline.load([SAMPLE])
    docs, labels = pipeline.partition_documents(inv, analyse(inv))
    docs, labels = docs * 3, labels * 3
    pack = load_pack()
    whole = engine_mod.RegopyEngine().evaluate(pack, docs, labels)
    monkeypatch.setattr(engine_mod, "CHUNK_LIMIT", 2)
    taken: list[int] = []

    def lazily() -> Iterator[str]:
        for i, doc in enumerate(docs):
            taken.append(i)
            yield doc

    results = engine_mod.RegopyEngine().evaluate_iter(pack, lazily(), labels, count=len(docs))
    first = next(results)
    assert len(taken) < len(docs) // 2, f"{len(taken)} of {len(docs)} documents taken before the first result"
    assert [first, *results] == whole
    assert len(taken) == len(docs)
