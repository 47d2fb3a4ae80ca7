"""The embedded engine's worker pool: forked for small runs, started from a fork server for large ones (so that
workers do not inherit the CLI's heap). Both must give the same results."""

from __future__ import annotations

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
