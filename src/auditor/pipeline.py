"""The audit pipeline, stage by stage, timed: load -> lineage -> partitions -> evaluate -> findings.

The CLI, the report and the benchmarks all run the audit through here, so there is one wiring of the stages.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from auditor import __version__, inventory
from auditor import findings as findings_mod
from auditor.cache import CacheUnusable, ResultStore
from auditor.findings import Finding
from auditor.lineage import Lineage, analyse, field_hook, flow_hook
from auditor.model import Inventory
from auditor.policy import Engine, PolicyPack, inputs
from auditor.policy.engine import RuleResults, dumps


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def add(self, stage: str, started: float) -> float:
        now = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + (now - started)
        return now


@dataclass(frozen=True)
class Audit:
    inventory: Inventory
    pack: PolicyPack
    findings: list[Finding]
    timings: Timings
    lineage: Lineage


def load(paths: Sequence[Path], timings: Timings | None = None) -> Inventory:
    t = time.perf_counter()
    inv = inventory.load(paths)
    if timings is not None:
        timings.add("load+validate", t)
    return inv


class PartitionCache:
    """Partition results by content: rules are pure functions of their partition's input document, so an identical
    (engine, policy modules, serialised document) triple gives identical results and need not be evaluated twice.

    ``check --diff-base`` audits two revisions in one process: the second audit re-evaluates only the partitions
    whose documents changed (the changed systems, the systems whose flows reach them, the partners they send data
    to, the global partition when organization/purposes/consents changed). Findings are still built from each
    revision's own inventory, so locations stay right. One cache per process (:data:`SHARED`), holding the last two
    audits in memory and, with ``check --cache DIR``, every result on disk (:mod:`auditor.cache`) for the next
    runs."""

    def __init__(self) -> None:
        self._current: dict[bytes, RuleResults] = {}
        self._previous: dict[bytes, RuleResults] = {}
        self.hits = 0
        self.misses = 0
        self.store: ResultStore | None = None
        self.warnings: list[str] = []
        # Keep the last two audits' results in memory (for --diff-base's second audit); a plain run does not need
        # them, and at scale they are the largest thing in memory.
        self.keep_in_memory = True

    def use_store(self, directory: Path) -> None:
        """Read and write results in ``directory`` too; a cache that cannot be used is a warning, not an error."""
        try:
            self.store = ResultStore(directory)
        except CacheUnusable as exc:
            self._drop_store(exc)

    def close_store(self) -> None:
        if self.store is not None:
            try:
                self.store.close()
            except CacheUnusable as exc:
                self.warnings.append(f"cache not tidied: {exc}")
            self.store = None

    def _drop_store(self, exc: CacheUnusable) -> None:
        self.warnings.append(f"cache unusable, evaluating without it: {exc}")
        self.store = None

    @staticmethod
    def pack_key(pack: PolicyPack, engine: Engine) -> bytes:
        h = hashlib.blake2b(digest_size=20)
        for part in (__version__, engine.name, *pack.packs):
            h.update(part.encode("utf-8") + b"\x00")
        for m in (*pack.policy_modules, pack.aggregator()):
            h.update(m.name.encode("utf-8") + b"\x00" + m.text.encode("utf-8") + b"\x00")
        return h.digest()

    def evaluate(
        self, pack: PolicyPack, engine: Engine, documents: list[str], labels: list[str]
    ) -> Iterator[RuleResults]:
        """Every partition's results in order, each produced when ready: a plain run keeps none of them (at scale
        they are the largest thing in memory), only what ``--diff-base``'s second audit and ``--cache`` need."""
        prefix = self.pack_key(pack, engine)
        keys = [hashlib.blake2b(doc.encode("utf-8"), digest_size=20, key=prefix).digest() for doc in documents]
        known = {**self._previous, **self._current}
        if self.store is not None:
            missing = [k for k in keys if k not in known]
            try:
                known.update(self.store.get_many(missing) if missing else {})
            except CacheUnusable as exc:
                self._drop_store(exc)
        todo: dict[bytes, int] = {}  # the first partition of each document nobody knows the results of
        for i, k in enumerate(keys):
            if k not in known and k not in todo:
                todo[k] = i
        todo_documents = [documents[i] for i in todo.values()]
        todo_labels = [labels[i] for i in todo.values()]
        del documents  # with the caller's reference gone, the engine can free each document once evaluated
        fresh = engine.evaluate_iter(pack, todo_documents, todo_labels, consume=True)
        del todo_documents
        left = Counter(keys)
        current: dict[bytes, RuleResults] = {}
        unstored: dict[bytes, RuleResults] = {}
        for k in keys:
            left[k] -= 1
            value = known.get(k)
            if value is None:
                value = next(fresh)
                self.misses += 1
                if left[k]:
                    known[k] = value  # an identical document comes later in this run
                if self.store is not None:
                    unstored[k] = value
                    if len(unstored) >= 256:
                        self._store(unstored)
            else:
                self.hits += 1
            if self.keep_in_memory:
                current[k] = value
            yield value
        self._store(unstored)
        if self.keep_in_memory:
            self._previous, self._current = self._current, current
        else:
            self._previous, self._current = {}, {}

    def _store(self, values: dict[bytes, RuleResults]) -> None:
        if self.store is not None and values:
            try:
                self.store.put_many(values)
            except CacheUnusable as exc:
                self._drop_store(exc)
        values.clear()


SHARED = PartitionCache()


def partition_documents(
    inv: Inventory, lin: Lineage, candidates: bool = True, timings: Timings | None = None
) -> tuple[list[str], list[str]]:
    """What the engines evaluate: every partition's input document as JSON text, and its label for messages.
    ``candidates=False`` leaves out the candidate lists (see ``inputs.build``)."""
    timings = timings or Timings()
    t = time.perf_counter()
    documents: list[str] = []
    labels: list[str] = []
    # Each partition is serialised as soon as it is built: the JSON text is all the engines need, and the Python
    # documents of every partition at once would double the memory.
    serialise = 0.0
    for partition in inputs.build(inv, flow_facts=flow_hook(lin), field_facts=field_hook(lin), candidates=candidates):
        s = time.perf_counter()
        documents.append(dumps(partition.document))
        labels.append(partition.label)
        serialise += time.perf_counter() - s
    timings.add("partitions", t + serialise)  # building only; serialising is timed apart
    timings.stages["serialise"] = timings.stages.get("serialise", 0.0) + serialise
    return documents, labels


def audit(
    inv: Inventory,
    pack: PolicyPack,
    engine: Engine,
    timings: Timings | None = None,
    cache: PartitionCache | None = SHARED,
) -> Audit:
    """Audit ``inv``. Partitions already evaluated by one of the last two audits in this process (same engine, same
    policy, byte-identical input document) reuse their results; ``cache=None`` evaluates everything."""
    timings = timings or Timings()
    t = time.perf_counter()
    lin = analyse(inv)
    timings.add("lineage", t)
    documents, labels = partition_documents(inv, lin, timings=timings)
    # Findings are built as each partition's results arrive; "evaluate" is the time spent waiting for them.
    t = time.perf_counter()
    count = len(documents)
    if cache is None:
        results = engine.evaluate_iter(pack, documents, labels, consume=True)
    else:
        before = cache.misses
        results = cache.evaluate(pack, engine, documents, labels)
    del documents, labels  # the engine holds what it still needs, and frees the documents as it goes
    waited = timings.stages.get("evaluate", 0.0)
    found = findings_mod.build(pack, inv, _timed(results, timings, "evaluate"))
    timings.add("findings", t)
    timings.stages["findings"] -= timings.stages["evaluate"] - waited
    evaluated = count if cache is None else cache.misses - before
    timings.count("partitions evaluated", evaluated)
    timings.count("partitions reused", count - evaluated)
    return Audit(inv, pack, found, timings, lin)


def _timed(values: Iterator[RuleResults], timings: Timings, stage: str) -> Iterator[RuleResults]:
    """``values``, adding the time spent producing each one to ``stage``."""
    while True:
        t = time.perf_counter()
        try:
            value = next(values)
        except StopIteration:
            timings.add(stage, t)
            return
        timings.add(stage, t)
        yield value
