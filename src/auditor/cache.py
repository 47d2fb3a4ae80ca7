"""Partition results kept on disk between runs: ``check --cache DIR`` (opt-in; ``AUDITOR_CACHE``).

Rules are pure functions of their partition's input document, so a result is keyed by the digest of (auditor
version, engine, policy modules, document) and is valid for as long as those bytes are identical. A pull-request
run whose cache holds the results of the main branch evaluates only the partitions whose documents changed: the
changed systems, the systems whose flows reach them, the partners they send data to, and the global partition
when organization, purposes or consents change. Everything else is read back.

Safety: a cache can only save work, never change a verdict or fail a run. Every entry carries a digest of its
value and is ignored when it does not match; an unreadable or unwritable cache gives one warning and the run goes
on without it (everything is evaluated). Entries not used by the last two runs are dropped, so the file tracks the
inventory instead of growing forever. The cache holds findings' subjects and messages: keep it where you keep the
inventory.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

FILE_NAME = "partition-results.sqlite3"


class CacheUnusable(Exception):
    """The cache directory or file cannot be used; the caller warns and evaluates without it."""


def _seal(value: Any) -> tuple[bytes, bytes]:
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return zlib.compress(raw, 1), hashlib.blake2b(raw, digest_size=16).digest()


def _open(blob: bytes, digest: bytes) -> Any:
    raw = zlib.decompress(blob)
    if hashlib.blake2b(raw, digest_size=16).digest() != digest:
        raise ValueError("digest mismatch")
    return json.loads(raw)


class ResultStore:
    """A SQLite file of partition results, one row per key."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS results"
                " (key BLOB PRIMARY KEY, value BLOB NOT NULL, digest BLOB NOT NULL, run INTEGER NOT NULL)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            row = self._db.execute("SELECT value FROM meta WHERE name = 'run'").fetchone()
            self.run = (int(row[0]) if row else 0) + 1
            self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('run', ?)", (self.run,))
        except (sqlite3.Error, OSError) as exc:
            raise CacheUnusable(f"{self.path}: {exc}") from None
        self.hits = 0
        self.stored = 0

    def get_many(self, keys: Iterable[bytes]) -> dict[bytes, Any]:
        """The stored values of ``keys`` that are present and intact; each one read is marked used by this run."""
        found: dict[bytes, Any] = {}
        wanted = list(dict.fromkeys(keys))
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, value, digest FROM results WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
                used = []
                for key, blob, digest in rows:
                    try:
                        found[bytes(key)] = _open(bytes(blob), bytes(digest))
                    except (ValueError, zlib.error):
                        continue  # damaged entry: evaluate again (it is overwritten below)
                    used.append((self.run, key))
                self._db.executemany("UPDATE results SET run = ? WHERE key = ?", used)
        except sqlite3.Error as exc:
            raise CacheUnusable(f"{self.path}: {exc}") from None
        self.hits += len(found)
        return found

    def put_many(self, items: Mapping[bytes, Any]) -> None:
        try:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO results (key, value, digest, run) VALUES (?, ?, ?, ?)",
                [(key, *_seal(value), self.run) for key, value in items.items()],
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise CacheUnusable(f"{self.path}: {exc}") from None
        self.stored += len(items)

    def close(self) -> None:
        """Drop what neither this run nor the previous one used, and close the file."""
        try:
            self._db.execute("DELETE FROM results WHERE run < ?", (self.run - 1,))
            self._db.close()
        except sqlite3.Error as exc:
            raise CacheUnusable(f"{self.path}: {exc}") from None
