"""``check --cache DIR``: results of unchanged partitions are read back, changed ones evaluated, and a damaged
cache never changes a verdict or fails a run. The counts come from the hidden ``--timings`` line."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import NamedTuple

import pytest
from tests.conftest import POLICIES, SAMPLE, Run, commit_all, counts, run_auditor

from auditor import inventory, pipeline
from auditor.cache import FILE_NAME, TABLES
from auditor.filters import gitrev
from auditor.policy import load_pack, make_engine


def check(inv: Path, *args: str, cwd: Path | None = None) -> Run:
    return run_auditor("check", str(inv), "--format", "json", "--timings", *args, cwd=cwd)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    target = tmp_path / "inventory"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("README.md"))
    return target


def change_one_system(inv: Path) -> None:
    """Move the support desk to another region: its own partition changes (and the partitions of systems whose
    flows reach it carry its facts), nothing else does."""
    path = inv / "systems" / "support-desk.yaml"
    text = path.read_text(encoding="utf-8")
    assert "    region: us-east-1\n" in text
    path.write_text(text.replace("    region: us-east-1\n", "    region: us-west-2\n", 1), encoding="utf-8")


def test_second_run_reads_every_partition_back_with_identical_output(sample: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plain = check(sample)
    first = check(sample, "--cache", str(cache))
    second = check(sample, "--cache", str(cache))
    assert plain.code == first.code == second.code == 1
    assert plain.out == first.out == second.out
    assert counts(first)["partitions reused"] == 0 and counts(first)["partitions evaluated"] > 10
    assert counts(second)["partitions evaluated"] == 0
    assert counts(second)["partitions reused"] == counts(first)["partitions evaluated"]
    assert (cache / FILE_NAME).is_file()


def test_a_changed_system_reevaluates_only_what_it_affects(sample: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    warm = check(sample, "--cache", str(cache))
    change_one_system(sample)
    plain = check(sample)
    cached = check(sample, "--cache", str(cache))
    assert cached.code == plain.code and cached.out == plain.out  # identical findings to a full run
    evaluated = counts(cached)["partitions evaluated"]
    assert 1 <= evaluated < counts(warm)["partitions evaluated"] / 4


def entries(cache: Path) -> dict[str, int]:
    with sqlite3.connect(cache / FILE_NAME) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("results", "located", "documents")}


def test_what_the_last_two_runs_did_not_use_is_dropped_and_the_rest_kept(sample: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = check(sample, "--cache", str(cache))
    partitions, files = counts(first)["partitions evaluated"], counts(first)["inventory files parsed"]
    assert entries(cache) == {"results": partitions, "located": partitions, "documents": files}
    change_one_system(sample)
    second = check(sample, "--cache", str(cache))
    changed = counts(second)["partitions evaluated"]
    assert changed >= 1 and counts(second)["inventory files parsed"] == 1
    # The first run's entries for the changed system are kept one run more (a branch switched back finds them).
    assert entries(cache) == {"results": partitions + changed, "located": partitions + changed, "documents": files + 1}
    third = check(sample, "--cache", str(cache))
    assert counts(third)["partitions evaluated"] == 0
    # Read by the second and third runs although written by the first: marked used, kept; the rest dropped.
    assert entries(cache) == {"results": partitions, "located": partitions, "documents": files}
    fourth = check(sample, "--cache", str(cache))
    assert counts(fourth)["partitions evaluated"] == counts(fourth)["inventory files parsed"] == 0
    assert fourth.out == third.out == second.out and "warning" not in fourth.err


def test_a_cache_of_the_previous_format_is_emptied_and_used(sample: Path, tmp_path: Path) -> None:
    # Format 2 kept the run in each value's row; its entries are not read (their seals name another format).
    cache = tmp_path / "cache"
    check(sample, "--cache", str(cache))
    with sqlite3.connect(cache / FILE_NAME) as db:
        for table in TABLES:
            db.execute(f"DROP TABLE {table}_runs")
            db.execute(f"ALTER TABLE {table} ADD COLUMN run INTEGER NOT NULL DEFAULT 1")
        db.execute("UPDATE meta SET value = 2 WHERE name = 'format'")
    plain = check(sample)
    upgraded = check(sample, "--cache", str(cache))
    assert upgraded.out == plain.out and upgraded.code == plain.code and "warning" not in upgraded.err
    assert counts(upgraded)["partitions reused"] == 0 and counts(upgraded)["inventory files read back"] == 0
    again = check(sample, "--cache", str(cache))
    assert again.out == plain.out and counts(again)["partitions evaluated"] == 0


def test_diff_base_with_a_warm_cache_matches_a_full_run(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = sample.parent
    commit_all(repo, "inventory")
    cache = tmp_path / "cache"
    check(Path("inventory"), "--cache", str(cache), cwd=repo)  # the main branch's run
    change_one_system(sample)
    full = check(Path("inventory"), "--diff-base", "HEAD", cwd=repo)

    def not_read(*args: object) -> None:
        raise AssertionError("the base revision's files were read from git")

    with monkeypatch.context() as patched:
        patched.setattr(gitrev, "read_files", not_read)
        fast = check(Path("inventory"), "--diff-base", "HEAD", "--cache", str(cache), cwd=repo)
    assert fast.code == full.code and fast.out == full.out, fast.err
    assert counts(fast)["partitions evaluated"] <= 3
    # The base revision is exactly what the main branch's run audited: its findings are read back, not recomputed;
    # it is found by its files' git blob ids, which the main branch's run stored, without reading them from git.
    assert counts(fast)["audits read back"] == 1 and counts(full)["audits read back"] == 0
    assert counts(fast)["base trees read back"] == 1 and counts(full)["base trees read back"] == 0


def test_blob_ids_are_stored_only_for_the_bytes_that_were_audited(sample: Path, tmp_path: Path) -> None:
    """A main branch's run on a working tree that differs from its commit (an edit not committed) stores its audit
    and its files' blob ids, of those bytes: a pull request against the commit finds neither, audits the commit,
    and reports what a run without a cache reports."""
    repo = sample.parent
    commit_all(repo, "inventory")
    cache = tmp_path / "cache"
    flows = sample / "flows" / "marketing.yaml"
    committed = flows.read_text(encoding="utf-8")
    flows.write_text(committed.replace("tls: true", "tls: false"), encoding="utf-8")
    dirty = check(Path("inventory"), "--cache", str(cache), cwd=repo)
    flows.write_text(committed, encoding="utf-8")
    change_one_system(sample)
    full = check(Path("inventory"), "--diff-base", "HEAD", cwd=repo)
    fast = check(Path("inventory"), "--diff-base", "HEAD", "--cache", str(cache), cwd=repo)
    assert dirty.out != check(Path("inventory"), cwd=repo).out  # the edit mattered
    assert fast.code == full.code and fast.out == full.out
    assert counts(fast)["base trees read back"] == 0 and counts(fast)["audits read back"] == 0


def test_blob_ids_found_missing_are_stored_by_the_run_that_reads_the_files(sample: Path, tmp_path: Path) -> None:
    """A cache with the base's audit but not its blob ids (stored by an older auditor, or dropped): the pull request
    reads the files from git, finds the audit by their digests and stores their blob ids; the next push uses them."""
    repo = sample.parent
    commit_all(repo, "inventory")
    cache = tmp_path / "cache"
    check(Path("inventory"), "--cache", str(cache), cwd=repo)
    with sqlite3.connect(cache / FILE_NAME) as db:
        db.execute("DELETE FROM trees")
    change_one_system(sample)
    first = check(Path("inventory"), "--diff-base", "HEAD", "--cache", str(cache), cwd=repo)
    second = check(Path("inventory"), "--diff-base", "HEAD", "--cache", str(cache), cwd=repo)
    assert first.out == second.out
    assert counts(first)["audits read back"] == 1 and counts(first)["base trees read back"] == 0
    assert counts(second)["audits read back"] == 1 and counts(second)["base trees read back"] == 1


def test_tampered_blob_ids_are_not_believed(sample: Path, tmp_path: Path) -> None:
    repo = sample.parent
    commit_all(repo, "inventory")
    cache = tmp_path / "cache"
    check(Path("inventory"), "--cache", str(cache), cwd=repo)
    change_one_system(sample)
    with sqlite3.connect(cache / FILE_NAME) as db:
        key, value = db.execute("SELECT key, value FROM trees").fetchone()
        db.execute("UPDATE trees SET value = ? WHERE key = ?", (value[:-1] + bytes([value[-1] ^ 1]), key))
    fast = check(Path("inventory"), "--diff-base", "HEAD", "--cache", str(cache), cwd=repo)
    assert fast.out == check(Path("inventory"), "--diff-base", "HEAD", cwd=repo).out
    assert counts(fast)["base trees read back"] == 0 and "did not verify" in fast.err


def test_diff_base_with_a_cold_cache_matches_a_full_run_then_and_after(sample: Path, tmp_path: Path) -> None:
    """No stored audit of the base: both revisions are audited in one run, which stores their results and located
    findings; the next run reads them back. Both give the full run's report."""
    repo = sample.parent
    commit_all(repo, "inventory")
    change_one_system(sample)
    cache = tmp_path / "cache"
    full = check(Path("inventory"), "--diff-base", "HEAD", cwd=repo)
    cold = check(Path("inventory"), "--diff-base", "HEAD", "--cache", str(cache), cwd=repo)
    warm = check(Path("inventory"), "--diff-base", "HEAD", "--cache", str(cache), cwd=repo)
    assert full.code == cold.code == warm.code  # this change adds no finding: only new findings fail the gate
    assert cold.out == full.out and warm.out == full.out
    # Without a cache the base is audited first and the working tree's audit reuses its results (kept in memory,
    # compressed); with a cold cache, from the store.
    assert counts(full)["partitions evaluated"] <= 3 and counts(cold)["partitions evaluated"] <= 3
    assert counts(warm)["partitions evaluated"] == 0 and counts(warm)["partitions reused located"] > 0
    # The partitions the change does not reach give the base audit's findings: audited in the same run (cold), or
    # stored (warm).
    taken = "partitions taken from the base audit"
    assert counts(cold)[taken] == counts(warm)[taken] > 0 and taken not in counts(full)
    # The cold run stored the base's audit too: the next push reads the base's findings back instead of auditing it.
    assert counts(cold)["audits read back"] == 0 and counts(warm)["audits read back"] == 1
    french = check(Path("inventory"), "--diff-base", "HEAD", "--cache", str(cache), "--lang", "fr", cwd=repo)
    assert counts(french)["audits read back"] == 1
    # The warm run read the base's files from git to find its audit, and stored their blob ids: the next does not.
    assert counts(warm)["base trees read back"] == 0 and counts(french)["base trees read back"] == 1
    assert french.out == check(Path("inventory"), "--diff-base", "HEAD", "--lang", "fr", cwd=repo).out


def test_a_damaged_cache_file_is_a_warning_and_changes_nothing(sample: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / FILE_NAME).write_bytes(b"this is not a database" * 100)
    plain = check(sample)
    damaged = check(sample, "--cache", str(cache))
    assert damaged.code == plain.code == 1 and damaged.out == plain.out
    assert "warning: cache unusable" in damaged.err


def test_a_tampered_entry_is_not_believed(sample: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plain = check(sample, "--cache", str(cache))
    tampered = tamper(cache, "results")
    with sqlite3.connect(cache / FILE_NAME) as db:
        db.execute("DELETE FROM located")  # the results are what is read then
    again = check(sample, "--cache", str(cache))
    assert again.out == plain.out
    assert counts(again)["partitions reused"] == tampered.truly_that  # only entries whose value really is that one
    assert counts(again)["partitions evaluated"] == tampered.rows - tampered.truly_that
    assert "did not verify" in again.err


class Tampered(NamedTuple):
    rows: int
    truly_that: int


def tamper(cache: Path, table: str) -> Tampered:
    """Every entry of ``table`` replaced by the smallest one: a cache that believed it would lose findings."""
    with sqlite3.connect(cache / FILE_NAME) as db:
        rows = db.execute(f"SELECT key, value FROM {table}").fetchall()
        smallest = min(rows, key=lambda r: len(r[1]))[1]
        db.executemany(f"UPDATE {table} SET value = ? WHERE key = ?", [(smallest, k) for k, _ in rows])
    return Tampered(len(rows), sum(1 for _, v in rows if v == smallest))


def test_located_findings_are_read_back_and_give_the_same_report(sample: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plain = run_auditor("check", str(sample), "--format", "sarif", "--lang", "fr")
    first = check(sample, "--cache", str(cache))
    second = run_auditor("check", str(sample), "--format", "sarif", "--lang", "fr", "--timings", "--cache", str(cache))
    assert second.code == plain.code == 1 and second.out == plain.out  # French text rendered from stored arguments
    total = counts(first)["partitions evaluated"]
    assert counts(first)["partitions reused located"] == 0
    assert counts(second)["partitions reused located"] == counts(second)["partitions reused"] == total


def test_findings_are_located_again_when_lines_move_in_a_file_they_point_into(sample: Path, tmp_path: Path) -> None:
    """A comment added at the top of a flows file changes no partition's input, so every result is reused, but the
    findings about its flows now sit one line lower: their stored places must not be reported."""
    cache = tmp_path / "cache"
    check(sample, "--cache", str(cache))
    flows = sample / "flows" / "marketing.yaml"
    flows.write_text("# moved one line down\n" + flows.read_text(encoding="utf-8"), encoding="utf-8")
    plain = check(sample)
    cached = check(sample, "--cache", str(cache))
    assert cached.code == plain.code == 1 and cached.out == plain.out
    shown = str(flows)
    assert any(f["location"]["file"] == shown for f in json.loads(plain.out)["findings"])
    c = counts(cached)
    assert c["partitions evaluated"] == 0
    assert 0 < c["partitions reused located"] < c["partitions reused"]


def test_a_changed_pack_locates_every_finding_in_files_read_back_as_a_plain_run_does(
    sample: Path, tmp_path: Path
) -> None:
    """A new policy pack (here a comment added to one module) invalidates every result but no parsed file: each
    finding is then located in a file read back from the cache, whose positions are kept beside its containers
    (auditor.inventory.stored.Positions), and must point exactly where a plain run's does, in every format."""
    policy = tmp_path / "policy"
    shutil.copytree(POLICIES, policy)
    cache = tmp_path / "cache"
    check(sample, "--policy", str(policy), "--cache", str(cache))
    module = policy / "rego" / "cnil" / "audience" / "audience.rego"
    module.write_text(module.read_text(encoding="utf-8") + "# a new pack: no result of the cache holds\n", "utf-8")
    cached = check(sample, "--policy", str(policy), "--cache", str(cache))
    plain = check(sample, "--policy", str(policy))
    assert cached.code == plain.code == 1 and cached.out == plain.out
    c = counts(cached)
    assert c["inventory files parsed"] == 0 and c["inventory files read back"] == len(list(sample.rglob("*.yaml")))
    assert c["partitions reused"] == 0 and c["partitions evaluated"] > 10
    assert any(f["location"]["line"] > 1 for f in json.loads(plain.out)["findings"])
    module.write_text(module.read_text(encoding="utf-8") + "# and another\n", "utf-8")
    sarif = run_auditor("check", str(sample), "--policy", str(policy), "--format", "sarif", "--cache", str(cache))
    assert sarif.out == run_auditor("check", str(sample), "--policy", str(policy), "--format", "sarif").out


def test_tampered_located_findings_are_not_believed(sample: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plain = check(sample, "--cache", str(cache))
    tampered = tamper(cache, "located")
    again = check(sample, "--cache", str(cache))
    assert again.out == plain.out
    c = counts(again)
    assert c["partitions reused located"] == tampered.truly_that
    assert c["partitions evaluated"] == 0  # the others' results were still there, sealed
    assert "did not verify" in again.err


def test_a_cache_path_that_is_a_file_is_a_usage_error(sample: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file, not a directory", encoding="utf-8")
    r = check(sample, "--cache", str(blocker))
    assert r.code == 2 and "Traceback" not in r.err
    assert "--cache" in r.err and "is a file" in r.err


def test_the_cache_keys_change_with_the_code_not_only_with_the_version(tmp_path: Path) -> None:
    """The version is not bumped for every change: an entry written by other code must be a miss."""
    import auditor

    package = Path(auditor.__file__).resolve().parent
    copy = tmp_path / "auditor"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    same = auditor.source_digest(copy)
    assert same == auditor.source_digest(package)
    (copy / "findings.py").write_text((copy / "findings.py").read_text(encoding="utf-8") + "\n# changed\n")
    assert auditor.source_digest.__wrapped__(copy) != same
    (copy / "inventory" / "schema.json").write_text("{}", encoding="utf-8")
    (copy / "findings.py").write_text((package / "findings.py").read_text(encoding="utf-8"), encoding="utf-8")
    assert auditor.source_digest.__wrapped__(copy) != same


def test_blob_ids_are_stored_only_while_each_file_has_the_bytes_audited(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default branch's run reads its files again to compute their blob ids: a file whose bytes are no longer
    those of its digest (edited during the run) stores no id at all, for any file of the audit."""
    monkeypatch.chdir(sample.parent)
    pack, engine = load_pack(POLICIES), make_engine("embedded")
    names = sorted(p.relative_to(sample.parent).as_posix() for p in sample.rglob("*.yaml"))
    digests = [inventory.content_digest(Path(n).read_bytes()) for n in names]
    for damaged in (True, False):
        cache = pipeline.PartitionCache()
        cache.use_store(tmp_path / f"cache-{damaged}")
        files = list(zip(names, digests, strict=True))
        if damaged:
            files[3] = (files[3][0], inventory.content_digest(b"what the run read"))
        cache._keep_tree_of(pack, engine, files)
        blobs = [(n, inventory.blob_id(Path(n).read_bytes())) for n in names]
        assert cache.store is not None  # the store was usable: a refusal below is the check's
        found = cache.known_tree(pack, engine, blobs)
        cache.close_store()
        assert found == (None if damaged else digests)
