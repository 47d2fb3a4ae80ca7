"""What ``check --cache DIR`` believes (issue 15, point 4): an entry is used only when its seal (HMAC with the
cache's own secret, bound to its key) verifies and its value has the expected shape. Every attack or accident below
must end as a warning and the full, correct findings (the same stdout as a run without a cache), never a pass, a
changed verdict or a failed run."""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import shutil
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import SAMPLE, Run, cache_rows, commit_all, counts, run_auditor

from auditor import findings
from auditor.cache import FILE_NAME, SECRET_NAME, Store


def check(inv: Path, *args: str) -> Run:
    return run_auditor("check", str(inv), "--format", "json", "--timings", *args)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("trust") / "inventory"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("README.md"))
    return target


@pytest.fixture(scope="module")
def plain(sample: Path) -> Run:
    run = check(sample)
    assert run.code == 1 and json.loads(run.out)["summary"]["total"] > 20
    return run


@pytest.fixture(scope="module")
def warm_template(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("warm") / "cache"
    first = check(sample, "--cache", str(cache))
    assert first.code == 1 and "warning" not in first.err
    return cache


@pytest.fixture
def warm(warm_template: Path, tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    shutil.copytree(warm_template, cache)
    return cache


def rewrite(cache: Path, table: str, new: list[tuple[bytes, bytes, bytes]]) -> None:
    with sqlite3.connect(cache / FILE_NAME) as db:
        db.executemany(f"UPDATE {table} SET value = ?, seal = ? WHERE key = ?", [(v, s, k) for k, v, s in new])


def assert_full_and_warned(run: Run, plain: Run, warning: str) -> None:
    assert run.code == plain.code == 1
    assert run.out == plain.out  # every finding, byte for byte
    assert "Traceback" not in run.err and "internal error" not in run.err
    assert "warning" in run.err and warning in run.err


def test_a_warm_cache_reads_every_file_and_partition_back(sample: Path, plain: Run, warm: Path) -> None:
    again = check(sample, "--cache", str(warm))
    assert again.out == plain.out and again.code == plain.code and "warning" not in again.err
    c = counts(again)
    assert c["partitions evaluated"] == 0 and c["inventory files parsed"] == 0
    assert c["inventory files read back"] == len(list(sample.rglob("*.yaml")))
    assert (os.stat(warm / SECRET_NAME).st_mode & 0o777) == 0o600


def only(cache: Path, table: str) -> None:
    """Leave ``table`` the only place a partition's findings can come from: a partition's located findings
    (``located``) are read before its results, so attacking the results means taking the located findings away."""
    if table == "results":
        with sqlite3.connect(cache / FILE_NAME) as db:
            db.execute("DELETE FROM located")


def believed(run: Run, table: str) -> float:
    """How many partitions a run took from ``table``."""
    c = counts(run)
    return c["partitions reused located"] if table == "located" else c["partitions reused"]


@pytest.mark.parametrize("table", ["results", "located"])
def test_entries_emptied_with_a_recomputed_plain_digest_are_not_believed(
    sample: Path, plain: Run, warm: Path, table: str
) -> None:
    # The attack that passed before the seal was keyed: every result rewritten to "no finding for any rule", with a
    # digest anyone can compute.
    only(warm, table)
    empty = {"results": {"creality.rights.no_contact_point": []}, "located": {"v": 2, "files": [], "cols": [[]] * 16}}
    forged = []
    for key, _value, _seal in cache_rows(warm, table):
        raw = json.dumps(empty[table]).encode()
        forged.append((key, zlib.compress(raw), hashlib.blake2b(raw, digest_size=16).digest()))
    rewrite(warm, table, forged)
    run = check(sample, "--cache", str(warm))
    assert_full_and_warned(run, plain, "did not verify")
    assert believed(run, table) == 0


@pytest.mark.parametrize("table", ["results", "located"])
def test_one_partitions_value_copied_over_other_keys_is_not_believed(
    sample: Path, plain: Run, warm: Path, table: str
) -> None:
    only(warm, table)
    existing = cache_rows(warm, table)
    _, value, seal = min(existing, key=lambda r: len(r[1]))  # a genuine, well-sealed entry of another key
    copied = [(k, value, seal) for k, v, _ in existing if v != value]
    rewrite(warm, table, copied)
    run = check(sample, "--cache", str(warm))
    assert_full_and_warned(run, plain, "did not verify")
    assert believed(run, table) == len(existing) - len(copied)
    if table == "results":
        assert counts(run)["partitions evaluated"] == len(copied)


@pytest.mark.parametrize("table", ["results", "located"])
def test_a_well_sealed_value_of_the_wrong_shape_is_a_miss_not_an_error(
    sample: Path, plain: Run, warm: Path, table: str
) -> None:
    # Someone holding the secret (or a bug) seals values the findings cannot be built from: before, exit 3
    # "internal error: KeyError"; now each is a miss.
    only(warm, table)
    store = Store(warm)
    row = ["0" * 20, "no.such_rule", "system", "x", "", 0, 1, 1, 1, "", "", "m", "", "", "", []]
    cols = [[x] for x in row]
    shapes = {
        "results": [{"no.such_rule": []}, [], {"x": 1}],
        "located": [
            {"v": 2, "files": [], "cols": cols},  # a rule not of the pack (and a file index out of range)
            {"v": 1, "files": [], "rows": []},  # the previous layout (one list per finding)
            {"v": 2, "files": [], "cols": cols[:-1]},  # a field missing
            "ragged",  # the genuine entry with one message more than findings (columns of different lengths)
            {"v": 2, "files": [], "cols": [*cols[:-1], {}]},  # a column not a list
            [],
        ],
    }[table]
    bad = []
    for i, (key, value, _seal) in enumerate(cache_rows(warm, table)):
        shape = shapes[i % len(shapes)]
        if shape == "ragged":
            shape = json.loads(zlib.decompress(value))
            shape["cols"][11].append("one message more")
        blob = zlib.compress(json.dumps(shape).encode())
        bad.append((key, blob, store._seal(table, key, blob)))
    bad_documents = []
    for i, (key, _value, _seal) in enumerate(cache_rows(warm, "documents")):
        at = "AQAAAAEAAAACAAAA" if i % 2 else ""  # positions 1, 1, 2 (one too many for the root), or none
        blob = json.dumps({"v": 2, "nodes": 0, "doc": {"systems": []}, "at": at}).encode()
        bad_documents.append((key, blob, store._seal("documents", key, blob)))
    store.close()
    rewrite(warm, table, bad)
    rewrite(warm, "documents", bad_documents)
    run = check(sample, "--cache", str(warm))
    assert_full_and_warned(run, plain, "unexpected shape")
    assert believed(run, table) == 0 and counts(run)["inventory files read back"] == 0


def test_a_foreign_cache_file_is_not_believed(sample: Path, plain: Run, warm: Path, tmp_path: Path) -> None:
    # Another cache's file (its own secret) dropped into a directory with a secret of its own.
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    shutil.copy(warm / FILE_NAME, other / FILE_NAME)
    run = check(sample, "--cache", str(other))
    assert_full_and_warned(run, plain, "did not verify")
    c = counts(run)
    assert c["partitions reused"] == 0 and c["inventory files read back"] == 0
    # The entries were replaced by ones sealed with this cache's secret: the next run believes them.
    again = check(sample, "--cache", str(other))
    assert again.out == plain.out and "warning" not in again.err and counts(again)["partitions evaluated"] == 0


def test_a_truncated_cache_file_is_a_warning(sample: Path, plain: Run, warm: Path) -> None:
    for extra in ("-wal", "-shm"):
        (warm / (FILE_NAME + extra)).unlink(missing_ok=True)
    data = (warm / FILE_NAME).read_bytes()
    (warm / FILE_NAME).write_bytes(data[: len(data) // 3])
    run = check(sample, "--cache", str(warm))
    assert_full_and_warned(run, plain, "cache")


@pytest.mark.parametrize("what", ["secret readable by others", "directory writable by others"])
def test_wrong_permissions_make_the_cache_unusable(sample: Path, plain: Run, warm: Path, what: str) -> None:
    if what.startswith("secret"):
        os.chmod(warm / SECRET_NAME, 0o644)
        said = "readable or writable by other users"
    else:
        os.chmod(warm, 0o777)
        said = "writable by other users"
    run = check(sample, "--cache", str(warm))
    assert_full_and_warned(run, plain, said)
    assert counts(run)["partitions reused"] == 0


def test_a_secret_that_is_a_symlink_is_refused(sample: Path, plain: Run, warm: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "known-secret"
    shutil.copy(warm / SECRET_NAME, elsewhere)
    (warm / SECRET_NAME).unlink()
    (warm / SECRET_NAME).symlink_to(elsewhere)
    run = check(sample, "--cache", str(warm))
    assert_full_and_warned(run, plain, "symlink")
    assert counts(run)["partitions reused"] == 0


def test_a_changed_file_is_parsed_and_the_others_read_back(
    sample: Path, plain: Run, warm: Path, tmp_path: Path
) -> None:
    changed = tmp_path / "inventory"
    shutil.copytree(sample, changed)
    path = changed / "systems" / "support-desk.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("us-east-1", "us-west-2", 1), encoding="utf-8")
    full = check(changed)
    cached = check(changed, "--cache", str(warm))
    assert cached.out == full.out and cached.code == full.code and "warning" not in cached.err
    c = counts(cached)
    assert c["inventory files parsed"] == 1
    assert c["inventory files read back"] == len(list(changed.rglob("*.yaml"))) - 1


def _positions(node: object, where: Any = None) -> list[object]:
    """Every (path, position) of a located tree, in order: a parsed one (its containers know their positions) or one
    read back from the store (its root's ``positions`` know them)."""
    from auditor.inventory import stored
    from auditor.inventory.yamlsafe import LocDict, LocList

    if where is None and isinstance(node, stored.Stored):
        where = node.positions
    out: list[object] = []
    if isinstance(node, dict):
        assert where is not None or isinstance(node, LocDict)
        out.append(where.pos(node) if where is not None else node.pos)  # type: ignore[attr-defined]
        for key, value in node.items():
            at = where.loc_of(node, key) if where is not None else node.loc_of(key)  # type: ignore[attr-defined]
            out += [key, at, *_positions(value, where)]
    elif isinstance(node, list):
        assert where is not None or isinstance(node, LocList)
        out.append(where.pos(node) if where is not None else node.pos)  # type: ignore[attr-defined]
        for i, value in enumerate(node):
            at = where.loc_of(node, i) if where is not None else node.loc_of(i)  # type: ignore[attr-defined]
            out += [i, at, *_positions(value, where)]
    return out


def test_a_stored_file_reads_back_as_the_same_located_tree() -> None:
    from auditor.inventory import stored, yamlsafe

    for path in sorted(SAMPLE.rglob("*.yaml")):
        doc = yamlsafe.parse(yamlsafe.decode(path.read_bytes()))
        back = stored.decode(json.loads(json.dumps(stored.encode(doc, 7))))
        assert back is not None, path
        assert back[1] == 7 and back[0] == doc and _positions(back[0]) == _positions(doc), path
        # Positions are found by walking the document as far as the one asked needs: asked last container first,
        # then every other one backwards, a fresh copy gives the same positions; a foreign container has none.
        fresh = stored.decode(json.loads(json.dumps(stored.encode(doc, 7))))
        assert fresh is not None
        mine, twins = list(stored._depth_first(fresh[0])), list(stored._depth_first(doc))
        assert [fresh[0].positions.pos(c) for c in mine[::-1]] == [c.pos for c in twins[::-1]], path
        with pytest.raises(KeyError):
            fresh[0].positions.pos({"not": "in this document"})
        entry = stored.encode(doc, 7)
        raw = base64.b64decode(entry["at"])
        for broken in (
            {**entry, "at": base64.b64encode(raw[:-4]).decode()},  # one position short
            {**entry, "at": base64.b64encode(raw + b"\x01\x00\x00\x00").decode()},  # one left over
            {**entry, "at": base64.b64encode(raw[:-1]).decode()},  # not whole 32-bit numbers
            {**entry, "at": entry["at"][:-2] + "!="},  # not base64
            {**entry, "at": list(raw)},  # codec 1's list of numbers
            {**entry, "v": 1},
        ):
            assert stored.decode(json.loads(json.dumps(broken))) is None


def _paths(node: object, prefix: str = "") -> list[str]:
    """Every dotted path into a document (keys and indexes), in order."""
    out: list[str] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        path = f"{prefix}{key}"
        out += [path, *_paths(value, path + ".")]
    return out


def test_every_entity_read_back_from_the_store_points_where_its_parsed_twin_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A finding's file:line comes from ``Entity.loc``. A file read back from the parse cache keeps its positions
    beside its containers (stored.Positions) instead of in them: every path of every entity of the sample, present
    or not, must give the same location either way."""
    from auditor import pipeline
    from auditor.inventory import loader

    cache = pipeline.PartitionCache(keep_in_memory=False)
    monkeypatch.setattr(loader, "_REUSE", loader._Reuse())
    cache.use_store(tmp_path / "cache")  # the cache of check --cache, its parsed files table
    try:
        parsed = loader.load([SAMPLE])
        assert loader.last_load_counts()["parsed"] == len(parsed.files)
        monkeypatch.setattr(loader, "_REUSE", loader._Reuse())  # nothing kept from the first load in this process
        loader.use_document_store(pipeline.DocumentCache(cache))
        back = loader.load([SAMPLE])
        assert loader.last_load_counts()["read back"] == len(back.files)
    finally:
        cache.close_store()
    compared = 0
    for kind in ("purpose", "system", "field", "partner", "consent", "flow"):
        for eid, entity in parsed.by_kind(kind).items():  # type: ignore[arg-type]
            twin = back.by_kind(kind)[eid]  # type: ignore[arg-type]
            assert entity.positions is None and twin.positions is not None
            assert twin.data == entity.data and twin.file == entity.file
            for path in (None, "no.such.key", *_paths(entity.data), *(p + ".99" for p in _paths(entity.data))):
                assert twin.loc(path) == entity.loc(path), (kind, eid, path)
                compared += 1
    assert parsed.organization is not None and back.organization is not None
    assert back.organization.loc("name") == parsed.organization.loc("name")
    assert compared > 1000


def test_findings_stored_as_a_table_read_back_identical_and_a_bent_table_is_refused(plain: Run) -> None:
    from auditor.errors import Location
    from auditor.findings import (
        Finding,
        Recorded,
        frame_table,
        from_compressed_table,
        table_lines,
        to_compressed_table,
    )

    found = [
        Finding(
            fingerprint=d["fingerprint"],
            rule_id=d["rule"],
            clause_id=d["clause"],
            source=d["source"],
            severity=d["severity"],
            verdict=d["verdict"],
            title=d["title"],
            message=d["message"],
            subject_kind=d["subject"]["kind"],
            subject_id=d["subject"]["id"],
            attribute=d["attribute"],
            location=Location(d["location"]["file"], d["location"]["line"], d["location"]["column"]),
            evidence=tuple(d["evidence"]),
            remediation=d["remediation"],
        )
        for d in json.loads(plain.out)["findings"]
    ]
    files = sorted({f.location.file for f in found})
    assert len(found) > 30  # several chunks of 10 below: each line of the table has its own strings
    stored = to_compressed_table(found, files, chunk=10)
    assert stored is not None
    table = b"\n".join(table_lines(bytes(stored)))  # the lines, to bend them below
    assert table.count(b"\n") == (len(found) + 9) // 10

    def read(text: bytes, names: list[str]) -> Recorded | None:
        framed = frame_table(text.split(b"\n"))
        assert framed is not None
        return from_compressed_table(framed, names)

    back = from_compressed_table(bytes(stored), files)  # as the cache reads it
    assert back is not None and back.gone(set()) == found
    assert read(table, files) is not None
    every = {f.fingerprint for f in found}
    assert back.new(every) == frozenset() and back.new({*every, "0" * 20}) == {"0" * 20}
    assert back.new({found[0].fingerprint, "1" * 20}) == {"1" * 20}
    renamed = [f"HEAD:{name}" for name in files]  # the base revision's names: same findings, located there
    at_base = read(table, renamed)
    assert at_base is not None
    assert [f.location.file for f in at_base.gone(set())] == [f"HEAD:{f.location.file}" for f in found]
    # Only the findings gone from a later audit are built, and they are exactly those.
    assert back.gone({f.fingerprint for f in found[1:]}) == [found[0]]
    assert back.gone({f.fingerprint for f in found[:-1]}) == [found[-1]]
    # Each line is compressed on its own: finding the fixed findings inflates only the lines holding them.
    inflated: list[int] = []
    inflate = findings.inflate_value

    def counted(view: Any) -> bytes:
        inflated.append(len(view))
        return inflate(view)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(findings, "inflate_value", counted)
        assert back.gone({f.fingerprint for f in found[:-1]}) == [found[-1]]
    assert len(inflated) == 1

    header, *chunks = (json.loads(line) for line in table.split(b"\n"))
    first = chunks[0]
    columns, strings = first["columns"], first["strings"]

    def bent(head: dict[str, Any] = header, **changed: Any) -> bytes:
        lines = [head, {**first, **changed}, *chunks[1:]]
        return b"\n".join(json.dumps(x).encode() for x in lines)

    def column(k: int, *values: Any) -> list[Any]:
        """The first line's columns with the k-th one starting with ``values``."""
        return [*columns[:k], [*values, *columns[k][len(values) :]], *columns[k + 1 :]]

    severity = columns[4][0]  # the first finding's severity: an index into its line's strings
    fp = columns[0][0]  # the first finding's fingerprint, likewise

    def fingerprint_as(text: str) -> list[str]:
        return [*strings[:fp], text, *strings[fp + 1 :]]

    assert read(bent(), files) is not None  # the cases below bend one thing each
    for text in (
        bent({**header, "files": len(files) + 1}),
        bent({**header, "findings": len(found) - 1}),  # a finding missing
        bent({**header, "v": header["v"] + 1}),
        bent({**header, "v": header["v"] - 1}),
        bent(columns=column(14, len(files))),  # a file that is not there
        bent(columns=column(1, len(strings))),  # a string that is not there
        bent(columns=column(1, -1)),  # a negative index
        bent(columns=column(1, True)),  # not an index
        bent(columns=column(15, "x")),  # a line that is not a number
        bent(columns=column(0, columns[0][1])),  # one finding twice
        bent(columns=columns[:-1]),  # a column missing
        bent(columns=[*columns[:-1], columns[-1][:-1]]),  # a column shorter than the others
        bent(evidence=[[len(strings)], *first["evidence"][1:]]),
        bent(evidence=first["evidence"][1:]),
        bent(strings=[*strings[:severity], "fatal", *strings[severity + 1 :]]),
        # A fingerprint is 20 small hexadecimal digits, as auditor writes it: not capitals, spaces, or any length.
        bent(strings=fingerprint_as("ABCDEF0123456789ABCD")),
        bent(strings=fingerprint_as("abcdef0123 456789abc")),
        bent(strings=fingerprint_as("abcdef0123456789abc")),
        bent(strings=fingerprint_as("abcdef0123456789abcde")),
        bent(strings=fingerprint_as("xyz" + strings[fp][3:])),
        bent(rows=[]),
        table.replace(b"\n", b"\n\n", 1),
        table[:-1],
        b"",
    ):
        assert read(text, files) is None
    # The frame: the number of lines, each line's compressed size (8 bytes each), then the lines.
    whole = bytes(stored)
    count = int.from_bytes(whole[:8], "big")
    first_size = int.from_bytes(whole[8:16], "big")
    line_one = whole[8 * (count + 1) :][:first_size]
    sizes = whole[8 : 8 * (count + 1)]
    for damaged in (
        whole[:-5],  # cut short
        whole + b"x",  # something after the last line
        (count + 1).to_bytes(8, "big") + whole[8:],  # a line more than there are
        (count - 1).to_bytes(8, "big") + whole[8:],
        whole[:8] + (first_size + 1).to_bytes(8, "big") + whole[16:],  # sizes that do not add up
        whole[:8] + (0).to_bytes(8, "big") + whole[16:],
        whole[: 8 * (count + 1)]
        + zlib.compress(b"x" * first_size)[:first_size].ljust(first_size, b"x")
        + whole[8 * (count + 1) + first_size :],  # a line that does not inflate
        whole[:8] + sizes + line_one + whole[8 * (count + 1) :],  # a line that is not where its size says
        zlib.compress(table),  # a table as one stream (version 3)
        b"x",
        b"",
    ):
        assert from_compressed_table(damaged, files) is None
    assert to_compressed_table([found[0].with_status("waived", {"owner": "x"})], files) is None


# --- the whole-audit entry --diff-base reads for the base revision -------------------------------------------------


@pytest.fixture(scope="module")
def pull_request_template(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """A repository whose HEAD holds the sample, a cache warmed by the default branch's run (one stored audit) and
    by a run on another inventory (a second, genuine audit), and a working tree with one system changed."""
    tmp_path = tmp_path_factory.mktemp("pr")
    repo = tmp_path / "repo"
    shutil.copytree(sample, repo / "inventory")
    commit_all(repo, "inventory")
    cache = tmp_path / "cache"
    main_run = run_auditor("check", "inventory", "--format", "json", "--cache", str(cache), cwd=repo)
    assert main_run.code == 1 and "warning" not in main_run.err
    [(base_key, _, _)] = cache_rows(cache, "audits")
    path = repo / "inventory" / "systems" / "support-desk.yaml"
    text = path.read_text(encoding="utf-8").replace("us-east-1", "us-west-2", 1)
    # One finding fixed (the unknown rights of the data subjects), new ones (unencrypted at rest): the base
    # revision's audit read back must give exactly both.
    text = text.replace("      encryption_at_rest: true\n", "      encryption_at_rest: false\n", 1)
    rights = "    dsr: {access: true, rectify: true, delete: true, propagates: true}\n"
    text = text.replace("      days: 730\n", "      days: 730\n" + rights, 1)
    path.write_text(text, encoding="utf-8")
    other = run_auditor("check", "inventory", "--format", "json", "--cache", str(cache), cwd=repo)
    assert other.code == 1 and len(cache_rows(cache, "audits")) == 2
    return repo, cache, base_key


@pytest.fixture
def pull_request(pull_request_template: tuple[Path, Path, bytes], tmp_path: Path) -> tuple[Path, Path, bytes]:
    repo, cache, base_key = pull_request_template
    shutil.copytree(repo, tmp_path / "repo")
    shutil.copytree(cache, tmp_path / "cache")
    return tmp_path / "repo", tmp_path / "cache", base_key


@pytest.fixture(scope="module")
def full_diff(pull_request_template: tuple[Path, Path, bytes]) -> Run:
    """The pull request's run without a cache."""
    run = diff_run(pull_request_template[0])
    gate = json.loads(run.out)["gate"]
    assert [f["rule"] for f in gate["fixed"]] == ["creality.rights.dsr_unknown"] and len(gate["new"]) == 2
    return run


def diff_run(repo: Path, *args: str) -> Run:
    return run_auditor("check", "inventory", "--format", "json", "--timings", "--diff-base", "HEAD", *args, cwd=repo)


def test_the_base_revisions_stored_audit_is_read_back(pull_request: tuple[Path, Path, bytes], full_diff: Run) -> None:
    repo, cache, _ = pull_request
    full = full_diff
    fast = diff_run(repo, "--cache", str(cache))
    assert fast.code == full.code and fast.out == full.out and "warning" not in fast.err
    assert counts(fast)["audits read back"] == 1


def assert_full_diff_and_warned(run: Run, full: Run, warning: str) -> None:
    assert run.code == full.code and run.out == full.out  # every finding and every change, byte for byte
    assert "Traceback" not in run.err and "internal error" not in run.err
    assert "warning" in run.err and warning in run.err
    assert counts(run)["audits read back"] == 0


def test_another_audits_entry_under_the_base_key_is_not_believed(
    pull_request: tuple[Path, Path, bytes], full_diff: Run
) -> None:
    repo, cache, base_key = pull_request
    full = full_diff
    [(_, other_value, other_seal)] = [r for r in cache_rows(cache, "audits") if r[0] != base_key]
    rewrite(cache, "audits", [(base_key, other_value, other_seal)])  # genuine and well sealed, for another key
    fast = diff_run(repo, "--cache", str(cache))
    assert_full_diff_and_warned(fast, full, "did not verify")


def test_a_well_sealed_audit_of_the_wrong_shape_is_a_miss(
    pull_request: tuple[Path, Path, bytes], full_diff: Run
) -> None:
    repo, cache, base_key = pull_request
    store = Store(cache)  # someone holding the secret (or a bug) seals a table the findings cannot be built from
    store.put_many("audits", {base_key: json.dumps({"v": 1, "strings": [], "files": 0, "rows": [[0, 0]]}).encode()})
    store.close()
    fast = diff_run(repo, "--cache", str(cache))
    assert_full_diff_and_warned(fast, full_diff, "unexpected shape")


# --- a large stored audit of the base is checked by a helper process while the working tree loads -----------------


@pytest.fixture
def helper_checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every stored audit is checked by a helper (as XL's 54 MB one is), on a machine with a core to spare or not;
    the list records, for each stored audit read, whether a helper was started for it."""
    from auditor import pipeline

    monkeypatch.setattr(pipeline, "HELPER_AUDIT_BYTES", 0)
    monkeypatch.setenv("AUDITOR_WORKERS", "2")
    started: list[bool] = []
    start = pipeline.PendingAudit.start

    def recorded_start(*args: Any) -> Any:
        pending = start(*args)
        started.append(pending is not None)
        return pending

    monkeypatch.setattr(pipeline.PendingAudit, "start", recorded_start)
    return started


def test_a_stored_audit_checked_by_a_helper_gives_the_same_report(
    pull_request: tuple[Path, Path, bytes], full_diff: Run, helper_checks: list[bool]
) -> None:
    repo, cache, _ = pull_request
    fast = diff_run(repo, "--cache", str(cache))
    assert helper_checks == [True]
    assert fast.code == full_diff.code and fast.out == full_diff.out and "warning" not in fast.err
    assert counts(fast)["audits read back"] == 1
    # What is stored of its partitions came with it: the files the change does not reach took its findings.
    assert counts(fast)["partitions taken from the base audit"] > 0
    assert multiprocessing.active_children() == []  # the helper is gone


def test_a_bent_audit_found_by_the_helper_is_a_miss_and_the_base_is_audited(
    pull_request: tuple[Path, Path, bytes], full_diff: Run, helper_checks: list[bool]
) -> None:
    repo, cache, base_key = pull_request
    store = Store(cache)  # sealed, so only the check of its content (in the helper) can refuse it
    store.put_many("audits", {base_key: json.dumps({"v": 3, "files": 1, "findings": 1}).encode()})
    store.close()
    fast = diff_run(repo, "--cache", str(cache))
    assert helper_checks == [True]
    # Found out after the working tree loaded: the base is audited then, and every finding and change is right.
    assert_full_diff_and_warned(fast, full_diff, "unexpected shape")
    again = diff_run(repo, "--cache", str(cache))  # and stored again, believed by the next run
    assert again.out == full_diff.out and counts(again)["audits read back"] == 1 and "warning" not in again.err


def _die_in_helper(blob: bytes, files: list[str]) -> Any:
    """What the helper runs in the next test: it dies at once (the CLI, which runs it too, checks the table)."""
    if os.getpid() != _CLI_PID:
        os._exit(3)
    _CHECKED_BY_THE_CLI.append(len(blob))
    return _check_compressed_table(blob, files)


_CLI_PID = os.getpid()
_CHECKED_BY_THE_CLI: list[int] = []
_check_compressed_table = findings.check_compressed_table


def test_a_helper_that_dies_leaves_the_check_to_the_cli(
    pull_request: tuple[Path, Path, bytes], full_diff: Run, helper_checks: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, cache, _ = pull_request
    monkeypatch.setattr(findings, "check_compressed_table", _die_in_helper)
    _CHECKED_BY_THE_CLI.clear()
    fast = diff_run(repo, "--cache", str(cache))
    assert helper_checks == [True] and len(_CHECKED_BY_THE_CLI) == 1  # the helper died, the CLI checked the table
    assert fast.code == full_diff.code and fast.out == full_diff.out and "warning" not in fast.err
    assert counts(fast)["audits read back"] == 1


def test_an_invalid_working_tree_stops_the_helper(
    pull_request: tuple[Path, Path, bytes], helper_checks: list[bool]
) -> None:
    repo, cache, _ = pull_request
    (repo / "inventory" / "systems" / "broken.yaml").write_text("systems:\n  - id: [\n", encoding="utf-8")
    run = diff_run(repo, "--cache", str(cache))
    assert helper_checks == [True]
    assert run.code == 2 and "broken.yaml:" in run.err and "Traceback" not in run.err
    assert multiprocessing.active_children() == []


def test_a_stored_base_audit_does_not_skip_the_gate_files_checks(pull_request: tuple[Path, Path, bytes]) -> None:
    repo, cache, _ = pull_request
    waivers = repo / "w.yaml"
    waivers.write_text("waivers:\n  - rule: x\n", encoding="utf-8")
    run = diff_run(repo, "--cache", str(cache), "--waivers", str(waivers))
    assert run.code == 2 and "missing required key" in run.err and "Traceback" not in run.err


def test_a_compressed_value_is_never_inflated_beyond_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sealed value is still refused (never a crash, never the memory) when it inflates beyond MAX_VALUE_BYTES: the
    reading stops within one piece of the bound instead of inflating the whole bomb."""
    from auditor import cache
    from auditor.cache import inflate_value

    monkeypatch.setattr(cache, "MAX_VALUE_BYTES", 10_000)
    bomb = zlib.compress(b"x" * 50_000_000, 9)  # 50 MB, ~50 KB compressed
    pieces: list[int] = []
    inflate = cache._inflate

    def counted(blob: Any, piece: int) -> Any:
        for out in inflate(blob, piece):
            pieces.append(len(out))
            yield out

    monkeypatch.setattr(cache, "_inflate", counted)
    with pytest.raises(ValueError, match="too large"):
        inflate_value(bomb, piece=4096)
    assert sum(pieces) <= 10_000 + 4096  # stopped within one piece of the bound
    value = b"a\nbb\n" * 1000
    assert inflate_value(memoryview(zlib.compress(value)), piece=7) == value  # within the bound: all of it


def test_a_sealed_result_that_inflates_beyond_the_bound_is_a_miss(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A whole value (a partition's results) goes through the same bound: a miss with a warning, never the memory."""
    from auditor import cache

    monkeypatch.setattr(cache, "MAX_VALUE_BYTES", 10_000)
    store = Store(tmp_path / "c")
    small, big = b"k" * 20, b"K" * 20
    store.put_many("results", {small: b'["' + b"x" * 5_000 + b'"]', big: b'["' + b"x" * 50_000_000 + b'"]'})
    found = store.get_many("results", [small, big], lambda v: v)
    assert found == {small: ["x" * 5_000]}
    assert any("unexpected shape" in w for w in store.warnings())
    store.close()
