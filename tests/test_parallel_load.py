"""A large first load is parsed by two processes (the CLI and a helper, `loader._documents_in_two`): what it gives
must never depend on that — the same inventory, the same located problems in the same order, the same files and
digests — whether the helper parses its share, is not used, or dies on the way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.conftest import MINIMAL
from tests.test_hostile import write

from auditor.errors import InputError
from auditor.inventory import loader

FILES = 3 * loader.PARALLEL_FILES  # several chunks for each process


def system(n: int) -> str:
    return f"""\
systems:
  - id: s{n}
    name: System {n}
    kind: backend
    operator: first_party
    jurisdiction: EU
    fields:
      - id: s{n}.email
        category: user.contact.email
        subjects: [customer]
        purposes: [support]
"""


def many(root: Path, broken: dict[int, str] | None = None) -> Path:
    files = {"base.yaml": MINIMAL}
    for n in range(FILES):
        files[f"systems/s{n:03}.yaml"] = (broken or {}).get(n, system(n))
    return write(root, files)


def load(path: Path, workers: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, list[str], dict[str, int]]:
    monkeypatch.setenv("AUDITOR_WORKERS", workers)
    loader._REUSE.previous, loader._REUSE.current = {}, {}  # a first load of this process: nothing to reuse
    try:
        inv = loader.load([path])
    except InputError as exc:
        return None, exc.lines(), loader.last_load_counts()
    located = [
        (e.kind, e.id, e.file, e.loc("fields.0.category" if e.kind == "system" else None))
        for kind in ("system", "field", "purpose")
        for e in inv.by_kind(kind).values()  # type: ignore[arg-type]
    ]
    return (inv.files, inv.digests, sorted(located, key=repr)), [], loader.last_load_counts()


def count_adopted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one for each file the CLI takes from the helper (``_Reuse.adopt``)."""
    calls: list[int] = []
    real = loader._REUSE.adopt

    def counted(shown: str, parsed: loader._Parsed) -> loader._Document | None:
        calls.append(1)
        return real(shown, parsed)

    monkeypatch.setattr(loader._REUSE, "adopt", counted)
    return calls


def test_the_helper_parses_a_share_and_the_inventory_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = many(tmp_path)
    alone = load(path, "1", monkeypatch)
    calls = count_adopted(monkeypatch)
    two = load(path, "2", monkeypatch)
    assert len(calls) >= FILES // 3, "the helper parsed nothing: the two-process load was not exercised"
    assert two == alone
    assert alone[2]["parsed"] == FILES + 1


BROKEN = {
    9: "systems: [\n",  # malformed YAML, in a chunk the helper parses
    10: system(10).replace("kind: backend", "kind: backend\n    colour: blue"),  # unknown key
    17: "",  # an empty file is allowed
    25: system(3),  # a duplicate id, across files of both processes
    40: system(40).replace("purposes: [support]", "purposes: [nowhere]"),  # a dangling reference
}


def test_problems_are_the_same_located_lines_in_the_same_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = many(tmp_path, BROKEN)
    os.mkfifo(path / "systems" / "s050.yaml.fifo.yaml")  # refused by the reader, never opened
    alone = load(path, "1", monkeypatch)
    two = load(path, "2", monkeypatch)
    assert alone[0] is None and len(alone[1]) >= 4, alone[1]
    assert two == alone


def test_a_helper_that_dies_costs_time_not_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = many(tmp_path, BROKEN)
    alone = load(path, "1", monkeypatch)
    monkeypatch.setattr(loader, "_parse_in_helper", lambda items, salt=None: os._exit(1))  # inherited by the helper
    assert load(path, "2", monkeypatch) == alone
    good = many(tmp_path / "good")
    assert load(good, "2", monkeypatch) == load(good, "1", monkeypatch)


def test_a_malformed_answer_from_the_helper_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = many(tmp_path)
    alone = load(path, "1", monkeypatch)
    real = loader._parse_in_helper

    def tampered(items: list[tuple[str, str]], salt: bytes | None = None) -> list[loader._Parsed]:
        one_position = b'{"v": 2, "nodes": 0, "doc": {}, "at": "CQAAAA=="}'  # a mapping has at least two
        return [(shown, one_position, [], n, d, k) for shown, _doc, _p, n, d, k in real(items, salt)]

    monkeypatch.setattr(loader, "_parse_in_helper", tampered)
    assert load(path, "2", monkeypatch) == alone


# With the store of parsed files (check --cache), a cold store (nothing of this inventory in it: a first run, an
# upgrade) is filled by the two processes; a warm one is read back by the CLI alone. Either way, the same inventory.


def load_with_store(
    path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[object, list[str], dict[str, int]]:
    from auditor import pipeline

    cache = pipeline.PartitionCache(keep_in_memory=False)
    cache.use_store(store)
    loader.use_document_store(pipeline.DocumentCache(cache))
    try:
        return load(path, "2", monkeypatch)
    finally:
        loader.use_document_store(None)
        cache.close_store()


def test_a_cold_store_is_filled_by_both_processes_and_read_back_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = many(tmp_path / "inv")
    alone = load(path, "1", monkeypatch)
    calls = count_adopted(monkeypatch)
    cold = load_with_store(path, tmp_path / "cache", monkeypatch)
    assert len(calls) >= FILES // 3, "the helper parsed nothing: the cold store was filled by the CLI alone"
    adopted = len(calls)
    warm = load_with_store(path, tmp_path / "cache", monkeypatch)
    assert len(calls) == adopted, "the helper parsed files the store holds"
    assert cold[0] == warm[0] == alone[0]
    assert cold[2]["parsed"] == FILES + 1
    assert warm[2]["read back"] == FILES + 1, "a file the helper parsed was not stored"


def test_problems_with_a_cold_store_are_the_same_located_lines_in_the_same_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = many(tmp_path / "inv", BROKEN)
    os.mkfifo(path / "systems" / "s150.yaml.fifo.yaml")  # refused by the reader, in the helper's share
    alone = load(path, "1", monkeypatch)
    cold = load_with_store(path, tmp_path / "cache", monkeypatch)
    warm = load_with_store(path, tmp_path / "cache", monkeypatch)
    assert alone[0] is None and any("fifo" in line for line in alone[1]), alone[1]
    assert cold[:2] == warm[:2] == alone[:2]
