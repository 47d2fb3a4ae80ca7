"""The audit pipeline, stage by stage, timed: load -> lineage -> partitions -> evaluate -> findings.

The CLI, the report and the benchmarks all run the audit through here, so there is one wiring of the stages.
"""

from __future__ import annotations

import gc
import hashlib
import re
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from auditor import findings as findings_mod
from auditor import inventory, jsonsafe, safeio, source_digest
from auditor.cache import UNEXPECTED_SHAPE, CacheUnusable, Presence, Store
from auditor.errors import PolicyError
from auditor.findings import Finding, Row
from auditor.inventory import yamlsafe
from auditor.lineage import Lineage, analyse, field_hook, flow_hook, system_hook
from auditor.model import Inventory
from auditor.policy import Engine, PolicyPack, inputs
from auditor.policy.engine import RuleResults, dumps, valid_results


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
    # The lineage the partitions were built from, when this process computed it (the partitions may have been built
    # by the keyer process: :class:`Keyer`); :attr:`lineage` computes it on first use otherwise (``check`` never does).
    known_lineage: Lineage | None = None
    # Each partition's key (:func:`partition_key`) in partition order: stored with the audit and
    # :attr:`partition_files` (:meth:`PartitionCache.store_audit`), so that a later run against this revision takes
    # the findings of the partitions its change does not reach from this audit (:func:`audit`).
    partition_keys: tuple[bytes, ...] = ()
    # Each partition's files, in the same order: those its findings point into, and whether one of them is about no
    # entity (:class:`findings.StoredPartitions`); empty when not known for every partition.
    partition_files: tuple[tuple[frozenset[str], bool], ...] = ()
    # Each partition's inputs digest (:func:`input_digest`), in the same order, when known (None when not).
    partition_inputs: tuple[bytes | None, ...] = ()

    @cached_property
    def lineage(self) -> Lineage:
        return self.known_lineage if self.known_lineage is not None else analyse(self.inventory)

    def stored_partitions(self) -> findings_mod.StoredPartitions | None:
        """What is stored of its partitions with the audit (:meth:`PartitionCache.store_audit`), its files indexed as
        its table indexes them (sorted by name); None when not known for every partition."""
        return findings_mod.StoredPartitions.of(
            self.partition_keys, self.partition_files, sorted(self.inventory.files), self.partition_inputs
        )


@contextmanager
def long_lived() -> Iterator[None]:
    """Build objects that live for the rest of the run (a loaded inventory, an audit's findings) without the cyclic
    garbage collector, then move everything alive to its permanent generation (``gc.freeze``): parsing makes
    millions of containers and no cycle, and every later collection would scan them again (measured: ~7 % of a
    run's CPU on M). Reference counting still frees them. Processes forked meanwhile inherit the paused collector
    (the embedded engine's workers turn theirs back on)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()


def load(paths: Sequence[Path], timings: Timings | None = None) -> Inventory:
    t = time.perf_counter()
    with long_lived():
        inv = inventory.load(paths)
    if timings is not None:
        timings.add("load+validate", t)
        for what, n in inventory.loader.last_load_counts().items():
            timings.count(f"inventory files {what}", n)
    return inv


# Partitions' results and located findings are written to the store this many at a time; what waits is held in memory
# (XL, the run filling the cache: 256 at a time peaked at 2,019 MiB, 64 at 1,991 MiB).
STORE_EVERY = 64


def _packed(text: bytes) -> bytes:
    """A partition's results (their compact JSON) as :class:`PartitionCache` keeps them in memory for the next
    audit of the process."""
    return zlib.compress(text, 1)


def _unpacked(packed: bytes) -> RuleResults:
    """What :func:`_packed` kept: the same values, read as the cache's stored results are read."""
    value: RuleResults = jsonsafe.loads_fast(zlib.decompress(packed))
    return value


def partition_key(prefix: bytes, doc: str) -> bytes:
    """The key of a partition's results: the digest of :meth:`PartitionCache.pack_key` (fixed length) followed by its
    document. SHA-256 (cut to 20 bytes), not BLAKE2b: CPUs with SHA extensions (AMD since Zen, Intel since Ice Lake,
    ARMv8) hash it about twice as fast (the benchmark machine: 1.6 GB/s against 0.7), and the keyer hashes every
    partition of a pull request on its critical path (XL: 518 MB, 0.8 -> 0.35 s)."""
    h = hashlib.sha256(prefix)
    h.update(doc.encode("utf-8"))
    return h.digest()[:20]


def input_digest(listed: list[Any]) -> bytes:
    """The digest of what a partition's document is made from (:attr:`inputs.Pending.inputs`): equal digests, equal
    documents (for the same code: a stored audit is only found by a run of the same code and pack)."""
    h = hashlib.sha256(b"partition inputs\x00")
    h.update(jsonsafe.dumps_compact(listed))
    return h.digest()[:20]


# One partition as the keyer hands it on (:meth:`Partitions.serialised`): its document (None when not built), label,
# inputs digest (None when unknown) and, when not built, the key its inputs give (the base audit's).
Part = tuple[str | None, str, bytes | None, bytes | None]
# A partition as sent to this process: document (None when not sent), label, key, inputs digest.
Sent = tuple[str | None, str, bytes, bytes | None]


# A run that reads results back (``--cache``) builds its partitions in the keyer process from this many on, when there
# are two cores: below it, starting the process costs more than it saves.
KEYER_MIN = 1000
# Partitions per message of the keyer.
KEYER_BATCH = 64

_in_keyer = False  # True in the keyer process (and its helper)
_in_helper = False  # True in the keyer's helper process


class _Channel:
    """What one keyer process sent, received as it comes: batches not yet taken, and how it ended."""

    def __init__(self, conn: Any) -> None:
        self.conn: Any = conn
        self.batches: deque[list[Sent]] = deque()
        self.state = "running"  # "done" once it said so, "broken" when it failed, died or sent nonsense
        self.stages: dict[str, float] = {}
        self.helped = 0  # the keyer's last message: how many partitions its helper sends after its own
        self.unbuilt = 0  # and how many it did not build (their inputs were the base audit's)

    def receive(self) -> None:
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError, ValueError, TypeError):
            kind, value = "failed", None
        if kind == "batch":
            self.batches.append(value)
        elif kind == "done":
            self.stages, self.helped, self.unbuilt = value
            self.state = "done"
        else:  # "failed" or the end of the pipe: this process builds the rest, and meets the same error itself
            self.state = "broken"
        if self.state != "running":
            with suppress(OSError):
                self.conn.close()


class Keyer:
    """A process that builds the partitions (the lineage first) and sends their keys, while this process reads back
    and locates their findings: a pull request reads nearly every partition back, and building them (XL: ~15 s of
    lineage, documents and digests) and reading them back (~11 s) each took a core in turn.

    The keyer is a fork of this process, so it starts with the inventory as loaded here and sends only what is new:
    each batch of partitions as ``(document or None, label, key)``. A document is sent only when neither this
    process's results of the previous audit nor the store has an entry under its key (the store read-only, its
    entries' existence only: whether they are believed is still decided here). A partition none of these gives is
    built again here (:meth:`PartitionCache.evaluate`); so is every partition after the last batch of a keyer that
    failed or died, which is then no more than slower: the keyer decides nothing.

    In a pull request (the base's stored audit reused: :func:`audit`), once the lineage and what the partitions
    share are computed, the keyer forks a helper (:class:`Partitions` only, with two cores), which builds and keys the
    second half of the partitions (by weight) while the keyer builds the first: this process has made the base
    audit's findings by then, and building the documents was the longest step left (XL: ~7 s of 11). The helper's
    batches are taken after the keyer's, so partitions keep their order; a helper that fails or dies is a keyer
    stopped early."""

    def __init__(self, process: Any, conn: Any, helper: Any) -> None:
        self._process = process
        self._keyer, self._helper = _Channel(conn), _Channel(helper)
        self.finished = False
        self.stages: dict[str, float] = {}
        self.unbuilt = 0  # partitions not built, their inputs those of the base audit's (once finished)

    @property
    def helped(self) -> int:
        """How many partitions the keyer's helper built (0 before the keyer finished)."""
        return self._keyer.helped if self.finished else 0

    @classmethod
    def start(
        cls,
        partitions: Iterable[Part],
        prefix: bytes,
        known: Iterable[bytes],
        store: Store | None,
        timings: Timings | None,
        helper: bool = False,
        unchanged: Mapping[bytes, bytes] | None = None,
    ) -> Keyer | None:
        """The keyer started on ``partitions`` (not iterated yet: it iterates its own copy); None when no process
        can be started. ``timings`` is what ``partitions`` adds its stages to: the keyer sends back what it added.
        ``helper``: let it fork a helper (only worth its memory when this process is otherwise idle meanwhile: each
        of the two copies the pages it touches, ~270 MiB each at XL). ``unchanged``: the base audit's partitions' keys
        by their inputs digest (:attr:`findings.StoredPartitions.inputs`): a partition with one of these digests is
        not built, its key is the base's."""
        from multiprocessing import get_context

        from auditor import workers

        try:
            ctx = get_context("fork")
            receiver, sender = ctx.Pipe(duplex=False)
            helper_receiver, helper_sender = ctx.Pipe(duplex=False)
        except (ValueError, OSError):
            return None
        path = store.path if store is not None else None
        job = _Keying(prefix, frozenset(known), path, timings, unchanged or {})
        args = (sender, partitions, job, helper_sender, helper)
        process = ctx.Process(target=_keyer_main, args=args, daemon=True)
        try:
            with workers.starting():
                process.start()
        except (OSError, RuntimeError):
            for conn in (receiver, sender, helper_receiver, helper_sender):
                conn.close()
            return None
        sender.close()
        helper_sender.close()  # the keyer's copy is the helper's, or closed: its end tells this one
        return cls(process, receiver, helper_receiver)

    def pump(self, block: bool = False) -> None:
        """Take what the keyer and its helper sent (a pipe that fills stops its sender); with ``block``, wait until
        something comes."""
        from multiprocessing.connection import wait

        while True:
            running = [c for c in (self._keyer, self._helper) if c.state == "running"]
            if not running:
                return
            ready = wait([c.conn for c in running], timeout=None if block else 0)
            if not ready:
                return
            for channel in running:
                if channel.conn in ready:
                    channel.receive()
            block = False

    def batches(self) -> Iterator[list[Sent]]:
        """The keyer's batches, then its helper's, in partition order as they come; ends early (``finished`` False)
        when either failed or died."""
        for channel in (self._keyer, self._helper):
            while True:
                if channel.batches:
                    yield channel.batches.popleft()
                elif channel.state == "running":
                    self.pump(block=True)
                elif channel.state == "broken":
                    return
                else:
                    break
            if not self._keyer.helped:
                break
        for channel in (self._keyer, self._helper):
            for stage, seconds in channel.stages.items():
                self.stages[stage] = self.stages.get(stage, 0.0) + seconds
            self.unbuilt += channel.unbuilt
        self.finished = True

    def close(self) -> None:
        from auditor import workers

        for channel in (self._keyer, self._helper):
            with suppress(OSError):
                channel.conn.close()
        if self._process.is_alive():
            self._process.terminate()  # its helper dies with it (workers.die_with_parent)
            self._process.join(workers.STOP_GRACE)
            if self._process.is_alive():
                self._process.kill()
        self._process.join(workers.KILL_WAIT)


def _halfway(items: Sequence[inputs.Pending]) -> int:
    """Where to cut ``items`` so that both parts weigh about the same."""
    half, total = sum(p.weight for p in items) / 2, 0
    for i, item in enumerate(items):
        total += item.weight
        if total >= half:
            return i + 1
    return len(items)


@dataclass(frozen=True)
class _Keying:
    """What the keyer and its helper key partitions with (:meth:`PartitionCache.pack_key`), which keys need no
    document (those the CLI holds; the store's, asked at ``path``), and the timings whose gain they send back."""

    prefix: bytes
    known: frozenset[bytes]
    path: Path | None
    timings: Timings | None
    unchanged: Mapping[bytes, bytes]


def _send_keys(conn: Any, partitions: Iterable[Part], job: _Keying, before: dict[str, float], helped: int) -> None:
    """Key ``partitions`` and send them in batches to the process that started the keyer, then what ``job``'s timings
    gained since ``before``. A partition not built comes with the key its inputs gave (the base audit's): the
    process that started the keyer reads its results back by that key, or builds it itself when nothing holds them
    (and checks that it gives that key)."""
    prefix, known, timings = job.prefix, job.known, job.timings
    # Opened here, in the process that uses it: a connection is never carried across a fork.
    stored = Presence(job.path) if job.path is not None else None
    batch: list[Sent] = []
    unbuilt = 0

    def send() -> None:
        keys = [k for doc, _, k, _ in batch if doc is not None and k not in known]
        held = stored.held(("located", "results"), keys) if stored is not None else set()
        conn.send(("batch", [(None if k in known or k in held else doc, label, k, d) for doc, label, k, d in batch]))
        batch.clear()

    for doc, label, digest, key in partitions:
        if doc is None:
            assert key is not None
            unbuilt += 1
            batch.append((None, label, key, digest))
        else:
            batch.append((doc, label, partition_key(prefix, doc), digest))
        if len(batch) >= KEYER_BATCH:
            send()
    send()
    spent = {k: v - before.get(k, 0.0) for k, v in timings.stages.items()} if timings is not None else {}
    conn.send(("done", ({k: v for k, v in spent.items() if v}, helped, unbuilt)))


def _keyer_main(conn: Any, partitions: Iterable[Part], job: _Keying, helper: Any, split: bool) -> None:
    """The keyer process (:class:`Keyer`)."""
    import os

    from auditor import workers

    global _in_keyer
    _in_keyer = True
    workers.init_child()
    timings = job.timings
    before = dict(timings.stages) if timings is not None else {}
    try:
        if not split or not isinstance(partitions, Partitions) or workers.processes() < 2:
            helper.close()
            _send_keys(conn, partitions, job, before, 0)
        else:
            # The lineage and what the partitions share: computed once, here; the flow and system facts by each
            # process for its half (XL: ~1 s of the keyer's path).
            items = partitions.pending(split=True)
            cut = _halfway(items)
            forked = dict(timings.stages) if timings is not None else {}
            try:
                pid = os.fork()
            except OSError:
                pid = -1
            if pid == 0:  # the helper: the second half
                global _in_helper
                _in_helper = True
                try:
                    conn.close()
                    workers.die_with_parent()
                    own = partitions.serialised(items[cut:], job.unchanged)
                    _send_keys(helper, own, job, forked, 0)
                except BaseException:
                    with suppress(BaseException):
                        helper.send(("failed", None))
                    os._exit(1)
                os._exit(0)
            helper.close()
            if pid < 0:
                cut = len(items)
            own = partitions.serialised(items[:cut], job.unchanged)
            _send_keys(conn, own, job, before, len(items) - cut)
            if pid > 0:
                os.waitpid(pid, 0)  # it dies with this process: not before it has sent everything
    except BaseException:  # the caller builds the rest itself, and meets the error there
        with suppress(BaseException):
            conn.send(("failed", None))
        os._exit(1)
    # Not back through multiprocessing's exit: it would flush this process's copy of the CLI's output buffers.
    os._exit(0)


@dataclass(frozen=True)
class Base:
    """The stored audit of the revision a pull request compares against (``check --diff-base --cache``), for
    :func:`audit` to take the findings of the files the change did not reach from: its findings (a table read back,
    with what the cache stored of its partitions) and its files, ``(name as this run names them, digest)`` sorted by
    name, as the table indexes them."""

    recorded: findings_mod.Recorded
    files: tuple[tuple[str, bytes], ...]


class _Reuse:
    """A :class:`Base` checked against the working tree (:meth:`of`): which partitions are *clean* (their key is one
    of the base audit's partitions, none of their findings is about no entity, and every file their findings pointed
    into has the same bytes here), hence give exactly the findings they gave there, in the same files and places."""

    def __init__(
        self, base: Base, names: list[str], partitions: findings_mod.StoredPartitions, changed: frozenset[str]
    ) -> None:
        self.recorded = base.recorded
        self.names = names  # the base's files, as its table indexes them
        self.partitions = partitions
        self.changed = changed  # names of the files added, removed or changed, in either revision
        self._changed_at = frozenset(i for i, name in enumerate(self.names) if name in changed)

    @classmethod
    def of(cls, base: Base | None, inv: Inventory) -> _Reuse | None:
        if base is None or not inv.digests:
            return None
        partitions = base.recorded.partitions
        if partitions is None or base.recorded.files != len(base.files):
            return None
        names = [name for name, _ in base.files]
        if names != sorted(set(names)):
            return None
        here = dict(zip(inv.files, inv.digests, strict=True))
        there = dict(base.files)
        changed = frozenset(n for n in here.keys() | there.keys() if here.get(n) != there.get(n))
        return cls(base, names, partitions, changed)

    def clean(self, key: bytes) -> bool:
        files = self.partitions.files.get(key)
        return files is not None and key not in self.partitions.nowhere and self._changed_at.isdisjoint(files)

    def files_of(self, key: bytes) -> list[str]:
        return [self.names[i] for i in self.partitions.files.get(key, ())]


class PartitionCache:
    """Partition results by content: rules are pure functions of their partition's input document, so an identical
    (engine, policy modules, serialised document) triple gives identical results and need not be evaluated twice.

    ``check --diff-base`` audits two revisions in one process: the second audit re-evaluates only the partitions
    whose documents changed (the changed systems, the systems whose flows reach them, the partners they send data
    to, the global partition when organization/purposes/consents changed). Findings are still built from each
    revision's own inventory, so locations stay right. One cache per process (:data:`SHARED`), holding the last two
    audits' results in memory (compressed) when asked to, and, with ``check --cache DIR``, every result on disk
    (:mod:`auditor.cache`) for the next runs."""

    def __init__(self, keep_in_memory: bool = True) -> None:
        # Results kept for the next audit of this process, as zlib-compressed JSON (:func:`_packed`): XL's 10,501
        # results held as objects took ~1 GiB, as bytes ~60 MB.
        self._current: dict[bytes, bytes] = {}
        self._previous: dict[bytes, bytes] = {}
        self.hits = 0
        self.misses = 0
        self.located_hits = 0  # partitions whose findings were read back located (part of the hits)
        self.base_hits = 0  # partitions whose findings the base revision's stored audit gives (part of the hits)
        self.audits_read_back = 0
        self.trees_read_back = 0  # base revisions whose files' digests were read back (:meth:`known_tree`)
        # What the keyer process of the last audit spent (:class:`Keyer`), by stage: it ran beside this process.
        self.keyer_stages: dict[str, float] = {}
        self.keyer_helped = 0  # how many of them the keyer's helper built
        self.keyer_unbuilt = 0  # how many it did not build: their inputs were the base audit's
        self.keyer_stopped = False  # it failed or died: this process built the rest (correct, only slower)
        self.store: Store | None = None
        self.warnings: list[str] = []
        # Keep the last two audits' results in memory (for --diff-base's second audit); a plain run does not need
        # them, and at scale they are the largest thing in memory.
        self.keep_in_memory = keep_in_memory
        # Each partition's key in partition order, of the last audit (:attr:`Audit.partition_keys`).
        self.partition_keys: tuple[bytes, ...] = ()
        # And their inputs digests (:attr:`Audit.partition_inputs`).
        self.partition_inputs: tuple[bytes | None, ...] = ()

    def use_store(self, directory: Path) -> None:
        """Read and write results (and parsed inventory files, :class:`DocumentCache`) in ``directory`` too; a cache
        that cannot be used is a warning, not an error."""
        try:
            self.store = Store(directory)
        except CacheUnusable as exc:
            self._drop_store(exc)
            return
        inventory.use_document_store(DocumentCache(self))

    def close_store(self) -> None:
        inventory.use_document_store(None)
        if self.store is not None:
            self.warnings.extend(self.store.warnings())
            try:
                self.store.close()
            except CacheUnusable as exc:
                self.warnings.append(f"cache not tidied: {exc}")
            self.store = None

    def _drop_store(self, exc: CacheUnusable) -> None:
        if self.store is not None:
            self.warnings.extend(self.store.warnings())
        self.warnings.append(f"cache unusable, going on without it: {exc}")
        self.store = None

    def _use_keyer(self, count: int) -> bool:
        """Whether the partitions of an audit of ``count`` are built by a :class:`Keyer`: when most of them are read
        back (a store), there are enough to pay for the process, and a second core for it."""
        from auditor import workers

        return self.store is not None and count >= KEYER_MIN and workers.processes() >= 2

    @staticmethod
    def pack_key(pack: PolicyPack, engine: Engine) -> bytes:
        h = hashlib.blake2b(digest_size=20)
        for part in (source_digest(), engine.name, *pack.packs):
            h.update(part.encode("utf-8") + b"\x00")
        for m in (*pack.policy_modules, pack.aggregator()):
            h.update(m.name.encode("utf-8") + b"\x00" + m.text.encode("utf-8") + b"\x00")
        return h.digest()

    def evaluate(
        self,
        pack: PolicyPack,
        engine: Engine,
        partitions: Iterable[Part],
        count: int,
        sink: Callable[[int, RuleResults | findings_mod.Made | None], list[Row]],
        located: findings_mod.Builder | None = None,
        timings: Timings | None = None,
        reuse: _Reuse | None = None,
        idle: Iterable[object] = (),
    ) -> None:
        """Give ``sink`` the results of every partition (:data:`Part`, all built, at most ``count``) with its
        number, each as soon as it is known: a result read back (from memory or the store) at once, in whatever
        order that makes, the others as the engine evaluates them. Partitions are taken as the engine needs them
        and nothing waits here for an earlier partition: a run that reads most results back (a pull request)
        never holds them all (XL: ~1 GiB), and a plain run keeps no results; only ``--diff-base``'s second audit
        and ``--cache`` keep what they need. An error of ``sink`` stops the engine's workers.

        ``sink`` returns the partition's findings prepared (:meth:`findings.Builder.prepare`). With a store and
        ``located`` (the builder, when it knows every file's digest), they are stored too, and a partition whose
        stored prepared findings still hold (:meth:`findings.Builder.restored`: every file they point into has the
        same bytes) is given to ``sink`` as those findings made (:meth:`_restored`), neither its results read nor its
        findings located again.

        With a store and enough partitions, ``partitions`` is iterated by a :class:`Keyer` process, not here (then it
        is iterated here only for what the keyer did not give); ``timings`` is the object ``partitions`` adds its
        stages to, whose keyer's share ends in :attr:`keyer_stages`.

        With ``reuse`` (a pull request, the base revision's stored audit: :func:`audit`), a *clean* partition
        (:meth:`_Reuse.clean`) is neither read back nor evaluated: ``sink`` is given ``None`` for it, its findings
        are the base's. ``idle`` is work done while the keyer builds the partitions, a step at a time (then by the
        caller, when there is no keyer)."""
        prefix = self.pack_key(pack, engine)
        self.keyer_stages = {}
        self.keyer_helped = 0
        self.keyer_unbuilt = 0
        self.keyer_stopped = False
        known: dict[bytes, RuleResults | bytes] = {**self._previous, **self._current}
        fresh: deque[tuple[int, bytes]] = deque()  # the partitions given to the engine, in order, with their keys
        fresh_labels: list[str] = []
        current: dict[bytes, bytes] = {}
        unstored: dict[str, dict[bytes, bytes]] = {"results": {}, "located": {}}  # to write, by table and key
        locator = located if located is not None and located.can_store else None
        taken = 0
        order: list[bytes] = []  # each partition's key, by number
        order_inputs: list[bytes | None] = []  # and its inputs digest

        def put(table: str, k: bytes, entry: bytes | None) -> None:
            if self.store is not None and entry is not None:
                unstored[table][k] = entry
                if len(unstored[table]) >= STORE_EVERY:
                    self._store(table, unstored[table])

        def arrived(index: int, k: bytes, value: RuleResults) -> None:
            rows = sink(index, value)
            if locator is not None:
                put("located", k, locator.stored(rows))

        def keep(k: bytes, value: RuleResults, text: bytes | None = None, packed: bytes | None = None) -> None:
            """Keep ``value`` for the next audit: ``packed`` when it was held so already, else packed from its JSON
            ``text`` (made once, for the store too) or from the value."""
            if self.keep_in_memory:
                current[k] = packed or _packed(text if text is not None else jsonsafe.dumps_compact(value))

        # Partitions whose results nothing here holds and whose document the keyer did not send (it found an entry
        # for them that this process then did not believe, or did not build them, their inputs being the base
        # audit's, whose results the store no longer gives): index -> (key, label), built again here at the end,
        # where the key they give must be the one the keyer sent.
        orphans: dict[int, tuple[bytes, str]] = {}

        def screened(batch: Sequence[Sent]) -> Iterator[str]:
            """``(document or None, label, key, inputs digest)`` of the next partitions: each one's rows or results
            given to ``sink`` when they are known, its document yielded for the engine otherwise."""
            nonlocal taken
            clean = {k for _, _, k, _ in batch if reuse.clean(k)} if reuse is not None else set()
            missing = [k for _, _, k, _ in batch if k not in known and k not in clean]
            restored = self._restored(missing, locator)
            known.update(self._stored_results(pack, [k for k in missing if k not in restored]))
            for doc, label, k, digest in batch:
                index, taken = taken, taken + 1
                order.append(k)
                order_inputs.append(digest)
                if k in clean:
                    self.hits += 1
                    self.base_hits += 1
                    sink(index, None)
                    continue
                made = restored.pop(k, None)
                if made is not None:
                    self.hits += 1
                    self.located_hits += 1
                    sink(index, made)
                    continue
                held = known.pop(k, None)  # documents name their partition: no key comes twice in one run
                value = _unpacked(held) if isinstance(held, bytes) else held
                if value is not None:
                    self.hits += 1
                    keep(k, value, packed=held if isinstance(held, bytes) else None)
                    arrived(index, k, value)  # located again (a file they point into changed): stored again
                elif doc is None:
                    orphans[index] = (k, label)
                else:
                    fresh.append((index, k))
                    fresh_labels.append(label)
                    yield doc

        def keyed(batch: list[Part]) -> list[Sent]:
            out: list[Sent] = []
            for doc, label, digest, _ in batch:
                assert doc is not None  # built here: nothing is left unbuilt
                out.append((doc, label, partition_key(prefix, doc), digest))
            return out

        def fresh_documents() -> Iterator[str]:
            resume = 0  # the first partition the keyer did not give
            keyer = None
            if self._use_keyer(count):
                # A helper builds half the partitions when this process has little to do meanwhile (a pull request
                # reusing the base's audit); otherwise (the default branch's run) it is busy evaluating.
                unchanged = reuse.partitions.inputs if reuse is not None else None
                keyer = Keyer.start(
                    partitions, prefix, known, self.store, timings, helper=reuse is not None, unchanged=unchanged
                )
            if keyer is not None:
                try:
                    # While the keyer computes the lineage (XL: ~8 s), this process does the caller's idle work.
                    for _ in idle:
                        keyer.pump()
                    for batch in keyer.batches():
                        yield from screened(batch)
                    self.keyer_stages, self.keyer_helped = keyer.stages, keyer.helped
                    self.keyer_unbuilt = keyer.unbuilt
                finally:
                    keyer.close()
                self.keyer_stopped = not keyer.finished
                if keyer.finished and not orphans:
                    return
                resume = taken  # it stopped early (it failed or died): the rest is built here
            pending: list[Part] = []
            for number, item in enumerate(partitions):
                if number in orphans:
                    k, label = orphans.pop(number)
                    doc = item[0]
                    assert doc is not None
                    if partition_key(prefix, doc) != k:
                        # Built differently by the keyer, or not built by it although its document differs from the
                        # base audit's whose inputs it has (inputs.Pending.inputs misses something it reads).
                        raise PolicyError(
                            f"partition {label} was built differently twice in one run, or its inputs digest missed"
                            " a change (a defect of the auditor: run without --cache)"
                        )
                    fresh.append((number, k))
                    fresh_labels.append(label)
                    yield doc
                elif number >= resume:
                    pending.append(item)
                    if len(pending) >= 64:
                        yield from screened(keyed(pending))
                        pending = []
            yield from screened(keyed(pending))
            if orphans:
                raise PolicyError("the partitions were fewer when built again")

        # Nothing to read back: every partition goes to the engine, which may start while the first is built.
        prestart = self.store is None and not known
        results = engine.evaluate_iter(pack, fresh_documents(), fresh_labels, count=count, prestart=prestart)
        try:
            for value in results:
                if not fresh:
                    raise PolicyError("the policy engine returned more results than partitions")
                index, k = fresh.popleft()
                self.misses += 1
                text = jsonsafe.dumps_compact(value) if self.store is not None or self.keep_in_memory else None
                put("results", k, text)
                keep(k, value, text)
                arrived(index, k, value)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()  # on an error here or in ``sink``, the engine stops its workers now
        if fresh:
            raise PolicyError("the policy engine returned fewer results than partitions")
        if orphans:
            raise PolicyError(f"{len(orphans)} partition(s) left without results")
        for table, entries in unstored.items():
            self._store(table, entries)
        if self.keep_in_memory:
            self._previous, self._current = self._current, current
        else:
            self._previous, self._current = {}, {}
        self.partition_keys = tuple(order)
        self.partition_inputs = tuple(order_inputs)

    def _restored(self, keys: Sequence[bytes], locator: findings_mod.Builder | None) -> dict[bytes, findings_mod.Made]:
        """The located findings the store holds under ``keys`` that still hold (:meth:`findings.Builder.restored`:
        every file they point into has the same bytes), made (:meth:`findings.Builder.make`); those results are then
        kept in the store too (still wanted when a file they point into changes)."""
        if self.store is None or locator is None or not keys:
            return {}

        def made(value: Any) -> findings_mod.Made | None:
            rows = locator.restored(value)
            return None if rows is None else locator.make(rows)

        try:
            found = self.store.get_many("located", keys, made)
            self.store.touch("results", found)
        except CacheUnusable as exc:
            self._drop_store(exc)
            return {}
        return found

    def findings_of(
        self, pack: PolicyPack, keys: Sequence[bytes], builder: findings_mod.Builder
    ) -> dict[bytes, findings_mod.Made]:
        """The findings of the partitions keyed ``keys``, made by ``builder``: read back located when they still
        hold (:meth:`_restored`), else located again from their results; those the store does not give are missing."""
        found = self._restored(keys, builder)
        self.located_hits += len(found)
        for k, value in self._stored_results(pack, [k for k in keys if k not in found]).items():
            found[k] = builder.make(builder.prepare(value))
        return found

    def _stored_results(self, pack: PolicyPack, keys: Sequence[bytes]) -> dict[bytes, RuleResults]:
        """The results the store holds under ``keys`` and believes (:func:`valid_results` for ``pack``)."""
        if self.store is None or not keys:
            return {}
        try:
            return self.store.get_many("results", keys, lambda v: valid_results(pack, v))
        except CacheUnusable as exc:
            self._drop_store(exc)
            return {}

    def keep_using(self, keys: Iterable[bytes]) -> None:
        """Keep the store's entries of partitions this run neither read nor evaluated (their findings taken from the
        base audit): the next run may need them."""
        if self.store is not None:
            keys = list(keys)
            self.store.touch("located", keys)
            self.store.touch("results", keys)

    # -- whole audits: the findings of an inventory (every file's name and bytes), for --diff-base's base revision --

    def _audit_key(self, pack: PolicyPack, engine: Engine, files: Sequence[tuple[str, bytes]]) -> bytes:
        h = hashlib.blake2b(digest_size=20, key=self.pack_key(pack, engine))
        for name, digest in files:
            h.update(len(name.encode("utf-8")).to_bytes(4, "big") + name.encode("utf-8") + digest)
        return h.digest()

    def known_audit(
        self, pack: PolicyPack, engine: Engine, files: Sequence[tuple[str, bytes, str]]
    ) -> findings_mod.Recorded | PendingAudit | None:
        """The findings a stored audit gave for exactly these files (``(name, digest of the bytes, name shown in
        this run)``, sorted by name), located at the names shown; None when none is stored (or it is not
        believed: :mod:`auditor.cache`). A large one (:data:`HELPER_AUDIT_BYTES`) whose seal verified is checked by a
        helper process while the caller goes on: a :class:`PendingAudit`, settled later."""
        if self.store is None or not files:
            return None
        key = self._audit_key(pack, engine, [(name, digest) for name, digest, _ in files])
        shown = [s for _, _, s in files]

        def read(blob: bytes) -> findings_mod.Recorded | PendingAudit | None:
            if len(blob) >= HELPER_AUDIT_BYTES:
                pending = PendingAudit.start(self, blob, shown)
                if pending is not None:
                    return pending
            return findings_mod.from_compressed_table(blob, shown)

        try:
            found = self.store.get_many("audits", [key], read, raw=True)
        except CacheUnusable as exc:
            self._drop_store(exc)
            return None
        value = found.get(key)
        self.audits_read_back += isinstance(value, findings_mod.Recorded)
        if value is not None:
            value.partitions = self._stored_partitions(key, len(files))
        return value

    def _stored_partitions(self, audit_key: bytes, file_count: int) -> findings_mod.StoredPartitions | None:
        """What is stored of an audit's partitions (:meth:`store_audit`, table ``partitions``); None when absent or
        not believed."""
        if self.store is None:
            return None
        try:
            found = self.store.get_many(
                "partitions", [audit_key], lambda v: findings_mod.StoredPartitions.decode(v, file_count, MAX_PARTITIONS)
            )
        except CacheUnusable as exc:
            self._drop_store(exc)
            return None
        return found.get(audit_key)

    def keep_audit(self, pack: PolicyPack, engine: Engine, audited: Audit) -> None:
        """Store the findings of an audit (when its files' digests are known) for :meth:`known_audit`, and the git
        blob ids of its files for :meth:`known_tree`."""
        inv = audited.inventory
        if self.store is None or not inv.digests:
            return
        files = sorted(zip(inv.files, inv.digests, strict=True))
        table = findings_mod.to_compressed_table(audited.findings, [name for name, _ in files])
        if table is not None:
            self.store_audit(pack, engine, files, table, audited.stored_partitions())
            self._keep_tree_of(pack, engine, files)

    def _keep_tree_of(self, pack: PolicyPack, engine: Engine, files: Sequence[tuple[str, bytes]]) -> None:
        """Store the git blob ids of ``files`` (``(name, digest)``, an audit's), read again from disk: only when every
        one still has the bytes its digest was made of, so that an id and a digest always come from the same bytes."""
        blobs: list[tuple[str, str]] = []
        for name, digest in files:
            try:
                data = safeio.read_regular(Path(name), yamlsafe.MAX_FILE_BYTES)
            except (safeio.FileRefused, OSError):
                return
            if inventory.content_digest(data) != digest:
                return  # changed since it was audited
            blobs.append((name, inventory.blob_id(data)))
        self.store_tree(pack, engine, blobs, [digest for _, digest in files])

    def _tree_key(self, pack: PolicyPack, engine: Engine, blobs: Sequence[tuple[str, str]]) -> bytes:
        h = hashlib.blake2b(digest_size=20, key=self.pack_key(pack, engine))
        h.update(b"git tree\0")
        for name, blob in blobs:
            h.update(len(name.encode("utf-8")).to_bytes(4, "big") + name.encode("utf-8") + blob.encode("ascii"))
        return h.digest()

    def store_tree(
        self, pack: PolicyPack, engine: Engine, blobs: Sequence[tuple[str, str]], digests: Sequence[bytes]
    ) -> None:
        """Store the content digests of the files of a git tree (``blobs``: ``(name, blob id)`` sorted by name, the
        ids computed from the same bytes as ``digests``, in the same order) for :meth:`known_tree`."""
        if self.store is None or not blobs or len(blobs) != len(digests):
            return
        try:
            self.store.put_many(
                "trees", {self._tree_key(pack, engine, blobs): jsonsafe.dumps_compact([d.hex() for d in digests])}
            )
        except CacheUnusable as exc:
            self._drop_store(exc)

    def known_tree(self, pack: PolicyPack, engine: Engine, blobs: Sequence[tuple[str, str]]) -> list[bytes] | None:
        """The content digests of the files of a git tree (``blobs``: ``(name, blob id)`` sorted by name, as ``git
        ls-tree`` lists them), in that order, when a run stored them (:meth:`store_tree`): what :meth:`known_audit`
        looks a stored audit up by, without reading the files from git (XL: 155 MB, ~1 s). None when none is stored
        or it is not believed (:mod:`auditor.cache`)."""
        if self.store is None or not blobs:
            return None
        key = self._tree_key(pack, engine, blobs)

        def read(value: Any) -> list[bytes] | None:
            if type(value) is not list or len(value) != len(blobs):
                return None
            if not all(type(d) is str and _DIGEST_HEX.fullmatch(d) for d in value):
                return None
            return [bytes.fromhex(d) for d in value]

        try:
            found = self.store.get_many("trees", [key], read)
        except CacheUnusable as exc:
            self._drop_store(exc)
            return None
        digests = found.get(key)
        self.trees_read_back += digests is not None
        return digests

    def store_audit(
        self,
        pack: PolicyPack,
        engine: Engine,
        files: Sequence[tuple[str, bytes]],
        table: bytes | bytearray,
        partitions: findings_mod.StoredPartitions | None = None,
    ) -> None:
        """Store ``table`` (:func:`findings.to_compressed_table` of an audit of exactly ``files``, ``(name, digest)``
        sorted by name, its findings' files given in that order) for :meth:`known_audit`, with what is known of its
        ``partitions`` (:meth:`Audit.stored_partitions`)."""
        if self.store is None:
            return
        key = self._audit_key(pack, engine, files)
        try:
            self.store.put_many("audits", {key: table}, compressed=True)
            if partitions is not None and len(partitions.files) <= MAX_PARTITIONS:
                self.store.put_many("partitions", {key: partitions.encode()})
        except CacheUnusable as exc:
            self._drop_store(exc)

    def _store(self, table: str, entries: dict[bytes, bytes]) -> None:
        """Write ``entries`` (key -> JSON bytes) to ``table`` of the store and forget them."""
        if self.store is not None and entries:
            try:
                self.store.put_many(table, entries)
            except CacheUnusable as exc:
                self._drop_store(exc)
        entries.clear()


@dataclass(frozen=True)
class StoredBase:
    """What the store knows of a revision's files, for one pack and engine (:func:`auditor.ci.load_base`): the audit
    stored for exactly these files (:meth:`PartitionCache.known_audit`), and their digests by git blob id
    (:meth:`PartitionCache.known_tree`, :meth:`PartitionCache.store_tree`)."""

    cache: PartitionCache
    pack: PolicyPack
    engine: Engine

    def audit(self, files: Sequence[tuple[str, bytes, str]]) -> findings_mod.Recorded | PendingAudit | None:
        return self.cache.known_audit(self.pack, self.engine, files)

    def digests(self, blobs: Sequence[tuple[str, str]]) -> list[bytes] | None:
        return self.cache.known_tree(self.pack, self.engine, blobs)

    def keep_digests(self, blobs: Sequence[tuple[str, str]], digests: Sequence[bytes]) -> None:
        self.cache.store_tree(self.pack, self.engine, blobs, digests)


# A content digest as :meth:`PartitionCache.store_tree` stores it (inventory.content_digest: 20 bytes).
_DIGEST_HEX = re.compile(r"[0-9a-f]{40}")

# The most partition keys stored with an audit (:meth:`PartitionCache.store_audit`); more read back are not believed.
MAX_PARTITIONS = 1_000_000

# A stored audit of at least this many bytes (compressed) is checked by a helper process, when there is a core to spare,
# while the working tree loads (XL's base revision: 54 MB, ~5 s to check; the sample's: a few kB, less than starting
# a process).
HELPER_AUDIT_BYTES = 4 << 20


class PendingAudit:
    """A stored audit (its seal verified) that a helper process is checking (:func:`findings.check_compressed_table`)
    while the CLI loads the working tree: :meth:`settle` waits for the check and gives its findings, or None when it
    does not hold (counted as a cache entry of an unexpected shape, like a table checked at once). If the helper
    cannot start or dies, the CLI checks the table itself: the verdict never depends on the helper. :meth:`close`
    stops a helper still running (the run ended early)."""

    def __init__(self, owner: PartitionCache, blob: bytes, files: Sequence[str], pool: Any, future: Any) -> None:
        self._owner, self._blob, self._files = owner, blob, list(files)
        self._pool, self._future = pool, future
        # What is stored of its partitions (:attr:`findings.Recorded.partitions`).
        self.partitions: findings_mod.StoredPartitions | None = None

    @classmethod
    def start(cls, owner: PartitionCache, blob: bytes, files: Sequence[str]) -> PendingAudit | None:
        """The check of ``blob`` started in a helper; None when no helper can be started (the caller checks it)."""
        from multiprocessing import get_context

        from auditor import workers

        if workers.processes() < 2:
            return None
        try:
            pool = workers.Pool(1, get_context("fork"), initializer=workers.init_child)
        except (ValueError, OSError):  # no fork on this platform
            return None
        try:
            future = pool.submit(findings_mod.check_compressed_table, blob, list(files))
        except (ValueError, OSError, RuntimeError):  # no process to spare
            workers.stop(pool)
            return None
        return cls(owner, blob, files, pool, future)

    def settle(self) -> findings_mod.Recorded | None:
        """The stored audit's findings, once checked; None when it does not hold."""
        try:
            per_line = self._future.result()
        except Exception:  # the helper failed or died: the check is made here
            per_line = findings_mod.check_compressed_table(self._blob, self._files)
        finally:
            self.close()
        recorded = None if per_line is None else findings_mod.from_checked_table(self._blob, self._files, per_line)
        store = self._owner.store
        if recorded is None:
            if store is not None:
                store.reject(UNEXPECTED_SHAPE)
            return None
        self._owner.audits_read_back += 1
        recorded.partitions = self.partitions
        return recorded

    def close(self) -> None:
        if self._pool is not None:
            from auditor import workers

            workers.stop(self._pool)
            self._pool = None


class DocumentCache:
    """The parsed inventory files of a :class:`PartitionCache`'s store (:func:`inventory.use_document_store`): the
    loader asks for the files it has not parsed in this process and gives back every file that passed its checks.
    A store that fails is dropped with a warning, like the results."""

    def __init__(self, owner: PartitionCache) -> None:
        self._owner = owner

    def get_many(self, keys: Sequence[bytes], validate: Callable[[Any], Any | None]) -> dict[bytes, Any]:
        store = self._owner.store
        if store is None or not keys:
            return {}
        try:
            return store.get_many("documents", keys, validate)
        except CacheUnusable as exc:
            self._owner._drop_store(exc)
            return {}

    def put_many(self, items: dict[bytes, bytes]) -> None:
        store = self._owner.store
        if store is None or not items:
            return
        try:
            store.put_many("documents", items)
        except CacheUnusable as exc:
            self._owner._drop_store(exc)


SHARED = PartitionCache(keep_in_memory=False)  # `check --diff-base` without --cache turns keeping on for the base


class Partitions:
    """An audit's partitions, built when asked: iterated, each built as a :data:`Part` in order, the lineage computed
    first; or, for the :class:`Keyer`, :meth:`pending` (the lineage and what the
    partitions share computed, each partition built later, in any order or process) and :meth:`serialised`.
    ``analysed`` receives the lineage when it is computed outside the keyer (:attr:`Audit.known_lineage`). With
    ``digests``, each partition comes with its inputs digest (:func:`input_digest`; a run with a store keeps them
    with its audit)."""

    def __init__(self, inv: Inventory, timings: Timings, analysed: list[Lineage], digests: bool = False) -> None:
        self._inv, self._timings, self._analysed, self._digests = inv, timings, analysed, digests

    def pending(self, split: bool = False) -> list[inputs.Pending]:
        """Every partition unbuilt (:func:`inputs.pending`), once the lineage and what they share are computed.
        ``split`` (the keyer, about to fork a helper for the second half): the lineage's flow and system facts are
        left to each process to compute for its half (:attr:`Lineage.deferred`)."""
        t = time.perf_counter()
        lin = analyse(self._inv, facts=not (split and _in_keyer))
        t = self._timings.add("lineage", t)
        items = _pending(self._inv, lin)
        if not _in_keyer:
            self._analysed.append(lin)
        elif not lin.deferred:  # a deferred lineage is held by the hooks: they read it after the fork
            # Nothing asks the keyer for the lineage, and it is the keyer's largest part beside the inventory (XL:
            # ~230 MB, of which the partitions need the facts, ~40 MB): let the rest go.
            del lin
            gc.collect()
        built = list(items)  # what every partition shares is computed at the first
        self._timings.add("partitions", t)
        return built

    def serialised(
        self, items: Iterable[inputs.Pending], unchanged: Mapping[bytes, bytes] | None = None
    ) -> Iterator[Part]:
        """Each of ``items`` built and serialised, in turn (:func:`_serialised`), with its inputs digest; one whose
        digest ``unchanged`` holds is not built: it comes with the key given there."""
        timings = self._timings
        for item in items:
            digest = None
            if self._digests and item.inputs is not None:
                t = time.perf_counter()
                digest = input_digest(item.inputs())
                timings.add("inputs", t)
                key = unchanged.get(digest) if unchanged else None
                if key is not None:
                    yield None, item.label, digest, key
                    continue
            for text, label in _serialised((item,), timings):
                yield text, label, digest, None

    def __iter__(self) -> Iterator[Part]:
        yield from self.serialised(self.pending())  # nothing computed before the first partition is asked for


def _pending(inv: Inventory, lin: Lineage, candidates: bool = True) -> Iterator[inputs.Pending]:
    """:func:`inputs.pending` with the lineage's facts. The hooks hold the facts, not the lineage: a caller that lets
    it go frees the rest (the keyer does)."""
    return inputs.pending(
        inv,
        flow_facts=flow_hook(lin),
        field_facts=field_hook(lin),
        system_facts=system_hook(lin),
        candidates=candidates,
    )


def _serialised(items: Iterable[inputs.Pending], timings: Timings) -> Iterator[tuple[str, str]]:
    """Each of ``items`` built and serialised as JSON text, in turn, with its label: the document is let go as soon
    as it is written. Building (and what the first one computes for all) counts as "partitions", writing as
    "serialise"."""
    pending = iter(items)
    while True:
        t = time.perf_counter()
        item = next(pending, None)
        if item is None:
            timings.add("partitions", t)
            return
        document = item.make()
        t = timings.add("partitions", t)
        text = dumps(document)
        del document
        timings.add("serialise", t)
        yield text, item.label


def partition_stream(
    inv: Inventory, lin: Lineage, candidates: bool = True, timings: Timings | None = None
) -> Iterator[tuple[str, str]]:
    """What the engines evaluate, one partition at a time: its input document as JSON text and its label for
    messages. ``candidates=False`` leaves out the candidate lists (see :func:`inputs.pending`)."""
    return _serialised(_pending(inv, lin, candidates), timings or Timings())


def partition_documents(
    inv: Inventory, lin: Lineage, candidates: bool = True, timings: Timings | None = None
) -> tuple[list[str], list[str]]:
    """Every partition's document and label (:func:`partition_stream`, all at once)."""
    pairs = list(partition_stream(inv, lin, candidates, timings))
    return [doc for doc, _ in pairs], [label for _, label in pairs]


def audit(
    inv: Inventory,
    pack: PolicyPack,
    engine: Engine,
    timings: Timings | None = None,
    cache: PartitionCache | None = SHARED,
    progress: Callable[[int, int], None] | None = None,
    message_args: bool = True,
    base: Base | None = None,
) -> Audit:
    """Audit ``inv``. Partitions already evaluated by one of the last two audits in this process (same engine, same
    policy, byte-identical input document) reuse their results; ``cache=None`` evaluates everything. ``progress``, when
    given, is called with (partitions done, total) as each partition's results arrive (the CLI's progress bar).
    ``message_args=False`` drops what findings need to be shown in another language (~130 bytes a finding: an
    English-only run of XL keeps ~100 MB less).

    ``base`` (a pull request with a store: the stored audit of the revision it compares against) gives the findings
    of every file the change does not reach, as that audit has them, without reading back the findings of the
    partitions behind them (:func:`_spliced`)."""
    timings = timings or Timings()
    analysed: list[Lineage] = []

    # Partitions are built while the engine evaluates the previous ones, and findings are built as each partition's
    # results arrive. "evaluate" is the time spent waiting for results: the whole stage less the lineage and the
    # building of partitions and findings.
    count = inputs.partition_count(inv)
    stages = timings.stages
    before = {k: stages.get(k, 0.0) for k in ("lineage", "partitions", "serialise", "findings", "base findings")}
    if cache is None:
        cache = PartitionCache(keep_in_memory=False)  # knows nothing: every partition is evaluated
    reuse = _Reuse.of(base, inv) if cache.store is not None else None
    misses, located_hits, base_hits = cache.misses, cache.located_hits, cache.base_hits
    builder = findings_mod.Builder(pack, inv, message_args=message_args, storing=cache.store is not None)
    nowhere = builder.nowhere
    done = 0
    # Each partition's files, for an audit that may be stored (:attr:`Audit.partition_files`; one that reuses a base
    # audit is a pull request's, never stored).
    stored = cache.store is not None and reuse is None
    contributed: dict[int, tuple[frozenset[str], bool]] | None = {} if stored else None
    # With ``reuse``: the findings of the partitions that are not clean, kept at the end (:func:`_spliced`), and the
    # clean ones' keys.
    changed: dict[int, findings_mod.Made] = {}
    clean_at: list[int] = []
    base_lines: list[list[Finding]] = []  # the base audit's findings, a line of its table at a time

    def sink(index: int, value: RuleResults | findings_mod.Made | None) -> list[Row]:
        nonlocal done
        started = time.perf_counter()
        rows: list[Row] = []  # read back: not stored again
        if value is None:  # clean: its findings are the base audit's
            clean_at.append(index)
        else:
            if isinstance(value, findings_mod.Made):
                made = value
            else:
                rows = builder.prepare(value)
                made = builder.make(rows)
            if contributed is not None:
                mine = frozenset(f.location.file for f in made.findings)
                contributed[index] = (mine, any(f.location is nowhere for f in made.findings))
            if reuse is not None:
                changed[index] = made
            else:
                builder.keep_made(index, made)
        timings.add("findings", started)
        done += 1
        if progress is not None:
            progress(done, count)
        return rows

    def idle() -> Iterator[None]:
        """The base audit's findings made while the keyer builds the partitions (the keys decide later which are
        taken)."""
        if reuse is None:
            return
        lines = reuse.recorded.lines_of_findings(reuse.names, message_args)
        while True:
            started = time.perf_counter()
            line = next(lines, None)
            timings.add("base findings", started)
            if line is None:
                break
            base_lines.append(line)
            yield None
        started = time.perf_counter()
        reuse.recorded.get_ready()  # the gate's share: here, while the keyer works
        timings.add("base findings", started)

    t = time.perf_counter()
    # Findings and what builds them are plain data (no cycles) and live to the end of the run: collecting while they
    # pile up walked them again and again (L: 6 full collections, 1.6 s of the CLI's CPU).
    with long_lived():
        # The lineage is computed when the first partition is asked for: an engine that starts workers first
        # (``prestart``) starts them while the lineage is computed (L: ~1 s on one core).
        partitions = Partitions(inv, timings, analysed, digests=cache.store is not None)
        steps = idle()
        cache.evaluate(pack, engine, partitions, count, sink, builder, timings, reuse, steps)
        for _ in steps:  # no keyer did it
            pass
        t = timings.add("evaluate", t)
        stages["evaluate"] -= sum(stages.get(k, 0.0) - v for k, v in before.items())
        # A keyer process built the partitions beside this one: its stages are counted too (overlapping "evaluate").
        for stage, seconds in cache.keyer_stages.items():
            stages[stage] = stages.get(stage, 0.0) + seconds
        if cache.keyer_stages:
            timings.count("partitions built by the keyer process", count)
        if cache.keyer_helped:
            timings.count("partitions built by the keyer's helper", cache.keyer_helped)
        if cache.keyer_unbuilt:
            timings.count("partitions not built (inputs unchanged)", cache.keyer_unbuilt)
        if cache.keyer_stopped:
            # Never a different report, but a run as slow as without a keyer: a defect to see, not to guess.
            timings.count("keyer stopped early (the rest built by this process)", 1)
        if reuse is not None:
            clean = {i: cache.partition_keys[i] for i in clean_at}
            spliced = _spliced(reuse, cache, builder, pack, changed, clean, base_lines)
            del base_lines
            if spliced is None:  # a partition the change reaches could not be read back: audited without the base
                timings.count("base audit not reused", 1)
                return audit(inv, pack, engine, timings, cache, progress, message_args)
            found = spliced
        else:
            found = builder.findings()
        timings.add("findings", t)
    evaluated = cache.misses - misses
    timings.count("partitions evaluated", evaluated)
    timings.count("partitions reused", count - evaluated)
    timings.count("partitions reused located", cache.located_hits - located_hits)
    if reuse is not None:
        timings.count("partitions taken from the base audit", cache.base_hits - base_hits)
    files = (
        tuple(contributed[i] for i in range(len(cache.partition_keys)))
        if contributed is not None and len(contributed) == len(cache.partition_keys)
        else ()
    )
    # The cache takes every partition from the stream, so the lineage is known here unless the keyer process built
    # them (then it is computed again if asked for).
    return Audit(
        inv,
        pack,
        found,
        timings,
        analysed[0] if analysed else None,
        cache.partition_keys,
        files,
        cache.partition_inputs if files else (),
    )


def _spliced(
    reuse: _Reuse,
    cache: PartitionCache,
    builder: findings_mod.Builder,
    pack: PolicyPack,
    changed: Mapping[int, findings_mod.Made],
    clean: Mapping[int, bytes],
    base_lines: list[list[Finding]],
) -> list[Finding] | None:
    """The findings of an audit whose clean partitions (:meth:`_Reuse.clean`, keys ``clean`` by number) were neither
    read back nor evaluated, and the others' findings are ``changed`` (by number); None when one the change reaches
    cannot be read back.

    Findings sort by file first, and a finding's fingerprint names its entity, hence its file: so the report is made
    file by file. A file is *reached* when it changed, or a partition that is not clean points into it now or pointed
    into it in the base audit. A file not reached has exactly the base audit's findings (every partition pointing into
    it is clean: the same results, located in the same bytes, kept in the same order). A reached file's findings are
    made here from every partition pointing into it (the clean ones' read back), kept as :class:`findings.Builder`
    keeps them (the lowest-numbered partition's finding of a fingerprint)."""
    reached = set(reuse.changed)
    for made in changed.values():
        reached.update(f.location.file for f in made.findings)
    kept = set(clean.values())
    for key in reuse.partitions.files:
        if key not in kept:
            reached.update(reuse.files_of(key))
    wanted = {index: key for index, key in clean.items() if not reached.isdisjoint(reuse.files_of(key))}
    cache.keep_using(key for index, key in clean.items() if index not in wanted)
    read = cache.findings_of(pack, list(wanted.values()), builder)
    if len(read) != len(wanted):
        return None
    for index in sorted(changed.keys() | wanted.keys()):
        if index in changed:
            builder.keep_made(index, changed[index])
        else:  # only what it gives in the files reached: the others' findings are the base audit's
            mine = read[wanted[index]].findings
            builder.keep_made(index, findings_mod.Made([f for f in mine if f.location.file in reached]))
    here = builder.findings()
    out: list[Finding] = []
    at, end = 0, len(here)
    for line in base_lines:
        for f in line:
            name = f.location.file
            if name in reached:
                continue
            while at < end and here[at].location.file < name:
                out.append(here[at])
                at += 1
            out.append(f)
    out.extend(here[at:])
    if len(out) > findings_mod.MAX_FINDINGS:
        raise findings_mod.too_many()
    return out


def audit_many(
    invs: Sequence[Inventory], pack: PolicyPack, engine: Engine, keep_errors: bool = False
) -> list[list[Finding] | PolicyError]:
    """The findings of each inventory of ``invs``, as :func:`audit` gives them, with one run of the engine for all.

    Many small inventories (a scenario corpus: one baseline and its variations) share most of their partitions,
    and an engine run has a fixed start-up cost (the embedded engine compiles the pack in each worker), so every
    distinct partition of every inventory is evaluated once and each inventory's findings are then built from its
    own partitions' results. Rules are pure functions of their partition's document, so this gives exactly what
    one :func:`audit` per inventory gives. A policy error is raised; with ``keep_errors`` it becomes the result of
    every inventory holding the partition that failed (named by its label in the error), and the partitions not
    evaluated yet are evaluated in a new run."""
    per_inventory: list[list[int]] = []
    distinct: dict[str, int] = {}
    labels: list[str] = []
    for number, inv in enumerate(invs):
        positions = []
        for doc, label in partition_stream(inv, analyse(inv)):
            if doc not in distinct:
                distinct[doc] = len(distinct)
                labels.append(f"{label} (inventory {number + 1}, partition #{len(labels)})")
            positions.append(distinct[doc])
        per_inventory.append(positions)
    docs = list(distinct)
    del distinct
    results: dict[int, RuleResults | PolicyError] = {}
    while len(results) < len(docs):
        pending = [i for i in range(len(docs)) if i not in results]
        before = len(results)
        try:
            values = engine.evaluate_iter(
                pack, (docs[i] for i in pending), [labels[i] for i in pending], count=len(pending)
            )
            for i, value in zip(pending, values, strict=False):
                results[i] = value
        except PolicyError as exc:
            failed = _PARTITION_NUMBER.search(str(exc))
            if not keep_errors or failed is None or int(failed.group(1)) not in pending:
                raise
            results[int(failed.group(1))] = exc
        if len(results) == before:
            raise PolicyError("the policy engine returned no result for the partitions it was given")
    out: list[list[Finding] | PolicyError] = []
    for inv, positions in zip(invs, per_inventory, strict=True):
        mine = [results[i] for i in positions]
        failure = next((r for r in mine if isinstance(r, PolicyError)), None)
        out.append(failure or findings_mod.build(pack, inv, (r for r in mine if not isinstance(r, PolicyError))))
    return out


_PARTITION_NUMBER = re.compile(r"partition #(\d+)\)")
