"""The keyer process (``pipeline.Keyer``): with ``--cache`` and enough partitions, a fork of the CLI builds the
partitions and sends their keys while the CLI makes the findings of the base revision's stored audit. It decides
nothing: whatever it does, the report is the one the CLI gives building every partition itself. The sample has 24
partitions, so the tests lower ``KEYER_MIN`` (and ``KEYER_BATCH``, for several batches); the counts come from the
hidden ``--timings`` line."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sqlite3
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import SAMPLE, Run, cache_rows, commit_all, counts, run_auditor

from auditor import pipeline
from auditor.cache import FILE_NAME, Presence, Store

KEYED = "partitions built by the keyer process"
TAKEN = "partitions taken from the base audit"
HELPED = "partitions built by the keyer's helper"
UNBUILT = "partitions not built (inputs unchanged)"
STOPPED = "keyer stopped early (the rest built by this process)"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The sample committed, and a cache filled by the main branch's run (without the keyer)."""
    root = tmp_path / "repo"
    shutil.copytree(SAMPLE, root / "inventory", ignore=shutil.ignore_patterns("README.md"))
    commit_all(root)
    warm = check(root, "--cache", str(tmp_path / "warm"))
    assert warm.code == 1, warm.err
    path = root / "inventory" / "systems" / "support-desk.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    region: us-east-1\n", "    region: us-west-2\n", 1), encoding="utf-8")
    return root


def check(repo: Path, *args: str) -> Run:
    return run_auditor("check", "inventory", "--format", "json", "--timings", *args, cwd=repo)


@contextmanager
def keyer_used(used: bool) -> Iterator[None]:
    """The keyer for every audit with a cache (batches of 5 partitions), or for none."""
    saved = pipeline.KEYER_MIN, pipeline.KEYER_BATCH
    pipeline.KEYER_MIN, pipeline.KEYER_BATCH = (1, 5) if used else (10**9, 64)
    try:
        yield
    finally:
        pipeline.KEYER_MIN, pipeline.KEYER_BATCH = saved
        assert multiprocessing.active_children() == []  # the keyer never outlives the audit


def pull_request(repo: Path, name: str, *, keyer: bool) -> Run:
    """``check --diff-base HEAD --cache`` on a copy of the warm cache, with or without the keyer."""
    cache = repo.parent / name
    shutil.copytree(repo.parent / "warm", cache)
    with keyer_used(keyer):
        return check(repo, "--diff-base", "HEAD", "--cache", str(cache))


def test_a_pull_request_keyed_by_the_keyer_gives_the_report_built_in_process(repo: Path) -> None:
    keyed = pull_request(repo, "a", keyer=True)
    alone = pull_request(repo, "b", keyer=False)
    uncached = check(repo, "--diff-base", "HEAD")
    assert keyed.code == alone.code == uncached.code in (0, 1), keyed.err
    assert keyed.out == alone.out == uncached.out
    assert counts(keyed)[KEYED] == 24 and KEYED not in counts(alone)
    # Once the lineage was computed, the keyer's helper built and keyed the second half of the partitions.
    assert 0 < counts(keyed)[HELPED] < 24
    # Only the partitions the changed system reaches are evaluated; the keyer sent the other keys without documents.
    assert counts(keyed)["partitions evaluated"] == counts(alone)["partitions evaluated"] < 24
    # The partitions the change does not reach give the base audit's findings, neither read back nor evaluated: here
    # every partition not evaluated (none of them points into the changed file).
    assert counts(keyed)[TAKEN] == counts(alone)[TAKEN] == 24 - counts(keyed)["partitions evaluated"]
    assert counts(keyed)["partitions reused located"] == 0
    assert "warning" not in keyed.err
    # The partitions whose inputs are the base audit's (inputs.Pending.inputs) were not even built: their keys are
    # the base's. The changed system's own partition and those reading its node or fields were.
    assert 0 < counts(keyed)[UNBUILT] < 24 - counts(keyed)["partitions evaluated"]
    assert UNBUILT not in counts(alone)
    assert STOPPED not in counts(keyed)


def _without_reuse(repo: Path) -> None:
    """The warm cache without what it stores of the base audit's partitions: every partition is read back or
    evaluated, as before a pull request took findings from the base audit."""
    with sqlite3.connect(repo.parent / "warm" / FILE_NAME) as db:
        db.execute("DELETE FROM partitions")


@pytest.mark.parametrize(
    "damage", ["unsealed", "keys alone", "file out of range", "inputs of another key", "inputs twice", "absent"]
)
def test_the_base_audits_partitions_are_used_only_when_believed(repo: Path, damage: str) -> None:
    """What the cache stores of the base audit's partitions (each one's key and the files its findings point into)
    decides which findings are taken from the base audit, unread: an entry that does not verify, is not exactly what
    the auditor writes (session 24's keys alone, a file the audit does not have) or is absent is not used. The
    findings are then read back or evaluated, and the report is the same."""
    warm = repo.parent / "warm"
    [(audit_key, stored, _)] = cache_rows(warm, "partitions")
    entry = json.loads(zlib.decompress(stored))
    assert len(entry["keys"]) == len(entry["files"]) == len(entry["inputs"]) == 24  # every partition of the run
    if damage == "absent":
        _without_reuse(repo)
    elif damage == "unsealed":
        with sqlite3.connect(warm / FILE_NAME) as db:
            db.execute("UPDATE partitions SET seal = zeroblob(32)")
    else:
        if damage == "keys alone":
            forged = b"".join(bytes.fromhex(k) for k in entry["keys"])
        elif damage == "inputs of another key":  # a partition's inputs said to give a key the audit does not have
            forged = json.dumps({**entry, "inputs": [[entry["inputs"][0][0], "0" * 40], *entry["inputs"][1:]]}).encode()
        elif damage == "inputs twice":  # one digest, two keys
            first, second, *rest = entry["inputs"]
            forged = json.dumps({**entry, "inputs": [first, [first[0], second[1]], *rest]}).encode()
        else:
            files = len(list((repo / "inventory").rglob("*.yaml")))  # the audit's files: an index beyond them
            forged = json.dumps({**entry, "files": [[files], *entry["files"][1:]]}).encode()
        store = Store(warm)  # sealed with the cache's secret, as a genuine entry is
        store.put_many("partitions", {audit_key: forged})
        store.close()
    keyed = pull_request(repo, "a", keyer=True)
    alone = pull_request(repo, "b", keyer=False)
    uncached = check(repo, "--diff-base", "HEAD")
    assert keyed.code == alone.code == uncached.code in (0, 1), keyed.err
    assert keyed.out == alone.out == uncached.out
    assert TAKEN not in counts(keyed) and TAKEN not in counts(alone)
    assert counts(keyed)["partitions reused located"] == 24 - counts(keyed)["partitions evaluated"]
    # The keyer's helper only when this process has the base audit's findings to make meanwhile.
    assert HELPED not in counts(keyed)
    warning = {"unsealed": "did not verify", "absent": None}.get(damage, "unexpected shape")
    if warning is None:
        assert "warning" not in keyed.err
    else:
        assert warning in keyed.err and warning in alone.err


def test_entries_the_keyer_finds_but_this_process_does_not_believe_are_built_again_here(repo: Path) -> None:
    """The keyer only asks the store whether an entry exists: one that then does not verify leaves a partition
    with neither results nor a document, built again by the CLI and evaluated."""
    _without_reuse(repo)  # else the partitions the change does not reach need none of their entries
    with sqlite3.connect(repo.parent / "warm" / FILE_NAME) as db:
        for table in ("located", "results"):
            db.execute(f"UPDATE {table} SET seal = zeroblob(32)")
    keyed = pull_request(repo, "a", keyer=True)
    uncached = check(repo, "--diff-base", "HEAD")
    assert keyed.code == uncached.code in (0, 1), keyed.err
    assert keyed.out == uncached.out
    assert counts(keyed)["partitions evaluated"] == 24
    assert "did not verify" in keyed.err


@pytest.mark.parametrize("keyer", [True, False])
def test_a_pull_request_that_cannot_read_back_what_its_change_reaches_audits_without_the_base(
    repo: Path, keyer: bool
) -> None:
    """A system moved to another country changes the partitions whose flows reach it: their findings point into
    flows files other partitions, unchanged, point into too, whose findings there are then read back (the base
    audit's are not taken for a file the change reaches). When the store no longer gives them (pruned, damaged), the
    run does not guess: it audits the working tree without the base audit, and the report is the same."""
    path = repo / "inventory" / "systems" / "warehouse.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("jurisdiction: CN", "jurisdiction: SG", 1), "utf-8")
    whole = pull_request(repo, "a", keyer=keyer)
    assert counts(whole)[TAKEN] > 0 and counts(whole)["partitions reused located"] > 0
    with sqlite3.connect(repo.parent / "warm" / FILE_NAME) as db:
        for table in ("located", "results"):
            db.execute(f"DELETE FROM {table}")
    pruned = pull_request(repo, "b", keyer=keyer)
    uncached = check(repo, "--diff-base", "HEAD")
    assert whole.code == pruned.code == uncached.code in (0, 1), pruned.err
    assert whole.out == pruned.out == uncached.out
    assert counts(pruned)["base audit not reused"] == 1
    assert TAKEN not in counts(pruned)  # the audit that made the report took none


class Cut:
    """A keyer's pipe end that lets ``batches`` batches through, then calls ``how()`` (it dies, or fails)."""

    def __init__(self, conn: Any, batches: int, how: Callable[[], None]) -> None:
        self.conn, self.batches, self.how, self.sent = conn, batches, how, 0

    def send(self, message: Any) -> None:
        if message[0] == "batch" and self.sent == self.batches:
            self.how()
        self.sent += 1
        self.conn.send(message)


def stop_after(batches: int, how: Callable[[], None]) -> Callable[..., None]:
    """A keyer that sends ``batches`` batches, then ``how()``."""
    real = pipeline._keyer_main

    def keyer(conn: Any, *args: Any) -> None:
        real(Cut(conn, batches, how), *args)

    return keyer


def die() -> None:
    os._exit(9)


def fail() -> None:
    raise RuntimeError("the keyer failed")


def stop_helper_after(batches: int, how: Callable[[], None]) -> Callable[..., None]:
    """A keyer's helper that sends ``batches`` batches, then ``how()``."""
    real = pipeline._send_keys

    def send_keys(conn: Any, *args: Any) -> None:
        real(Cut(conn, batches, how) if pipeline._in_helper else conn, *args)

    return send_keys


@pytest.mark.parametrize(
    ("who", "how", "batches"),
    [
        ("keyer", die, 0),
        ("keyer", fail, 0),
        ("keyer", die, 2),
        ("keyer", fail, 2),
        ("helper", die, 0),  # the keyer's part arrives whole, the helper's is cut
        ("helper", fail, 1),
    ],
    ids=["keyer-dies", "keyer-fails", "keyer-dies-later", "keyer-fails-later", "helper-dies", "helper-fails"],
)
def test_a_keyer_that_stops_early_leaves_the_rest_to_this_process(
    repo: Path, monkeypatch: pytest.MonkeyPatch, who: str, how: Callable[[], None], batches: int
) -> None:
    if who == "keyer":
        monkeypatch.setattr(pipeline, "_keyer_main", stop_after(batches, how))
    else:
        monkeypatch.setattr(pipeline, "_send_keys", stop_helper_after(batches, how))
    keyed = pull_request(repo, "a", keyer=True)
    alone = pull_request(repo, "b", keyer=False)
    assert keyed.code == alone.code in (0, 1), keyed.err
    assert keyed.out == alone.out
    assert counts(keyed)["partitions evaluated"] == counts(alone)["partitions evaluated"]
    # It did not finish: the CLI built the partitions after its last batch, and --timings says so.
    assert KEYED not in counts(keyed) and HELPED not in counts(keyed)
    assert counts(keyed)[STOPPED] == 1


def test_a_pull_request_with_an_empty_cache_audits_both_revisions_with_the_keyer(repo: Path) -> None:
    """No stored audit of the base: it is audited first (the keyer sending every document), then the working tree,
    whose keyer sends only the documents neither that audit nor the store holds."""
    with keyer_used(True):
        keyed = check(repo, "--diff-base", "HEAD", "--cache", str(repo.parent / "empty"))
    uncached = check(repo, "--diff-base", "HEAD")
    assert keyed.code == uncached.code in (0, 1), keyed.err
    assert keyed.out == uncached.out
    assert counts(keyed)[KEYED] == 24


def test_the_keyer_knows_which_keys_the_cache_holds_without_believing_them(tmp_path: Path) -> None:
    """What decides whether the keyer sends a document (cache.Presence): the keys with an entry in the tables asked,
    sealed or not; nothing for a file that cannot be read."""
    store = Store(tmp_path / "cache")
    store.put_many("results", {b"r" * 20: b"[]"})
    store.put_many("located", {b"l" * 20: b"[]"})
    store.put_many("documents", {b"d" * 20: b"{}"})
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE located SET seal = zeroblob(32)")  # not believed by the store: present all the same
    asked = [b"r" * 20, b"l" * 20, b"d" * 20, b"x" * 20]
    assert Presence(store.path).held(("located", "results"), asked) == {b"r" * 20, b"l" * 20}
    assert Presence(store.path).held(("documents",), asked) == {b"d" * 20}
    assert Presence(tmp_path / "none" / FILE_NAME).held(("located", "results"), asked) == set()
    store.close()


def test_findings_from_a_file_that_moved_are_located_again(repo: Path) -> None:
    """A comment added at the top of a flows file changes no partition (same keys), but every finding in that file
    moves down a line: the partitions pointing into it are not taken from the base audit (a file they point into
    changed), and their stored findings no longer hold, so they are located again from their results, as a run
    without the keyer locates them."""
    path = repo / "inventory" / "flows" / "marketing.yaml"
    path.write_text("# moved\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    keyed = pull_request(repo, "a", keyer=True)
    alone = pull_request(repo, "b", keyer=False)
    uncached = check(repo, "--diff-base", "HEAD")
    assert keyed.code == alone.code == uncached.code in (0, 1), keyed.err
    assert keyed.out == alone.out == uncached.out
    assert '"file": "inventory/flows/marketing.yaml"' in keyed.out
    reused = 24 - counts(keyed)["partitions evaluated"]
    assert 0 < counts(keyed)[TAKEN] == counts(alone)[TAKEN] < reused
