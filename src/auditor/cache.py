"""What ``check --cache DIR`` keeps between runs (opt-in; ``AUDITOR_CACHE``): partition results and parsed inventory
files, in one SQLite file sealed with a secret of the cache's own.

Rules are pure functions of their partition's input document, so a result is keyed by the digest of (auditor's code:
:func:`auditor.source_digest`, engine, policy modules, document) and is valid for as long as those bytes are identical.
A pull-request run whose cache holds the results of the main branch evaluates only the partitions whose documents
changed. In the same way a parsed and validated inventory file is keyed by the digest of (auditor's code, schema, loader
limits, file content), so the unchanged files of both revisions are read back instead of parsed. A partition's findings
are also kept located (``located``, under its result's key, with the digests of the files they point into: valid while
those files are unchanged; :meth:`auditor.findings.Builder.restored`).

Trust (docs/ci.md, "What the cache trusts"): a cache can only save work, never change a verdict or fail a run.

- The directory holds a 32-byte ``secret`` created with the cache (mode 0600, never followed through a symlink,
  refused when another user owns it or can read it, or when the directory is writable by others). Every entry is
  sealed with ``HMAC-SHA256(secret, table, key, stored bytes)``: an entry edited, moved to another key or taken from
  another cache does not verify. The seal is checked before anything else is done with the bytes.
- The bytes are JSON (zlib-compressed for results and audits, an audit as framed JSON lines), never pickle or anything
  that runs code when read; the caller validates the shape of every value it reads (:meth:`Store.get_many` takes
  the validator).
- An entry that fails any check is a miss: it is evaluated or parsed again, overwritten, and the run ends with one
  warning counting them. A cache that cannot be opened, read or written at all is one warning and the run goes on
  without it.

Entries not used by the last two runs are dropped, so the file tracks the inventory instead of growing forever. Which
run last used an entry is kept in a small table beside its values (``<table>_runs``): marking the ~31,000 entries a
pull request on XL reads rewrote their ~370 MB of values when the number sat in the same row (SQLite writes a row
whole), ~2 s and as many bytes of disk writes a run. The cache holds findings' subjects and messages and the inventory
itself: keep it where you keep the inventory.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import secrets
import sqlite3
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from auditor import jsonsafe

FILE_NAME = "partition-results.sqlite3"
SECRET_NAME = "secret"
SECRET_BYTES = 32
FORMAT = 3  # 1: plain digests (before the secret); 2: the run in the value's row; older files are emptied on open
# results: a partition's rule results; documents: a parsed inventory file; audits: a whole audit's findings, by its
# files; located: a partition's findings located; partitions: an audit's partition keys, by the same key as audits.
TABLES = ("results", "documents", "audits", "located", "partitions", "trees")
# A stored value larger than this once decompressed is refused (a compressed bomb must not take the memory).
MAX_VALUE_BYTES = 512 * 1024 * 1024


# Why an entry whose seal verified is not believed: what its reader refused (Store.get_many's validator, or a check made
# later: auditor.pipeline.PendingAudit). One reason, so the run's warning counts them together.
UNEXPECTED_SHAPE = "had an unexpected shape"


class CacheUnusable(Exception):
    """The cache directory or file cannot be used; the caller warns and goes on without it."""


class Stale(Exception):
    """Raised by a validator given to :meth:`Store.get_many` for an entry that is what was written but no longer
    holds (located findings pointing into a file that changed since): a miss, not a warning."""


def _check_owner(st: os.stat_result, what: str) -> None:
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    if euid is not None and st.st_uid != euid:
        raise CacheUnusable(f"{what} belongs to another user (uid {st.st_uid}); refused")


def _directory(directory: Path) -> None:
    """Create the cache directory (0700) or check that nobody else can write in it."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(directory)
    except OSError as exc:
        raise CacheUnusable(f"{directory}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise CacheUnusable(f"{directory}: not a directory")
    _check_owner(st, str(directory))
    if os.name == "posix" and st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise CacheUnusable(
            f"{directory} is writable by other users (mode {stat.S_IMODE(st.st_mode):o}): its entries could be "
            "replaced; chmod go-w it"
        )


def _read_secret(path: Path) -> bytes | None:
    """The secret, or None when the file does not exist; CacheUnusable when it exists but cannot be trusted."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if path.is_symlink():  # a dangling link: O_NOFOLLOW would refuse it
            raise CacheUnusable(f"{path} is a symlink; refused") from None
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CacheUnusable(f"{path} is a symlink; refused") from None
        raise CacheUnusable(f"{path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CacheUnusable(f"{path} is not a regular file; refused")
        _check_owner(st, str(path))
        if os.name == "posix" and st.st_mode & 0o077:
            raise CacheUnusable(
                f"{path} is readable or writable by other users (mode {stat.S_IMODE(st.st_mode):o}); anyone who can "
                "read it can forge cache entries: chmod 600 it, or delete the cache directory"
            )
        data = os.read(fd, SECRET_BYTES + 1)
    except OSError as exc:
        raise CacheUnusable(f"{path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) != SECRET_BYTES:
        raise CacheUnusable(f"{path} is not a cache secret ({len(data)} bytes); delete the cache directory")
    return data


def _secret(directory: Path) -> bytes:
    """The cache's secret, created (mode 0600, exclusively) with the cache."""
    path = directory / SECRET_NAME
    found = _read_secret(path)
    if found is not None:
        return found
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:  # another run created it meanwhile (or a link appeared): read what is there
        found = _read_secret(path)
        if found is None:
            raise CacheUnusable(f"{path} vanished while being created") from None
        return found
    except OSError as exc:
        raise CacheUnusable(f"{path}: {exc.strerror or exc}") from None
    try:
        os.write(fd, secrets.token_bytes(SECRET_BYTES))
        os.fsync(fd)
    except OSError as exc:
        raise CacheUnusable(f"{path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    found = _read_secret(path)
    if found is None:
        raise CacheUnusable(f"{path} vanished while being created")
    return found


def _inflate(blob: bytes | bytearray | memoryview, piece: int) -> Iterator[bytes]:
    """A compressed value (as :meth:`Store.put_many` stores it) decompressed a piece of at most ``piece`` bytes at a
    time. A value that is damaged, cut short, followed by other data or larger than ``MAX_VALUE_BYTES`` once
    decompressed raises ValueError as soon as that is known: a compressed bomb never takes the memory."""
    inflater = zlib.decompressobj()
    total = 0
    data = blob
    while True:
        try:
            out = inflater.decompress(data, piece)
        except zlib.error as exc:
            raise ValueError(f"damaged value: {exc}") from None
        data = inflater.unconsumed_tail
        total += len(out)
        if total > MAX_VALUE_BYTES:
            raise ValueError("value too large once decompressed")
        yield out
        if inflater.eof:
            if inflater.unused_data:
                raise ValueError("damaged value: data after its end")
            return
        if not out and not data:
            raise ValueError("damaged value: cut short")


def inflate_value(blob: bytes | bytearray | memoryview, piece: int = 4 << 20) -> bytes:
    """A whole compressed value (one zlib stream and nothing after it) decompressed, a piece of at most ``piece`` bytes
    at a time. Raises ValueError as :func:`_inflate` does: a compressed bomb stops within one piece of
    ``MAX_VALUE_BYTES``."""
    return b"".join(_inflate(blob, piece))


class Store:
    """A SQLite file of sealed entries in tables (:data:`TABLES`), one row per key."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME
        _directory(directory)
        self._secret = _secret(directory)
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # a cache: an entry lost in a crash is only a miss
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            row = self._db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
            if row is None or row[0] != FORMAT:
                for table in TABLES:
                    self._db.execute(f"DROP TABLE IF EXISTS {table}")
                    self._db.execute(f"DROP TABLE IF EXISTS {table}_runs")
                self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('format', ?)", (FORMAT,))
            for table in TABLES:
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {table}"
                    " (key BLOB PRIMARY KEY, value BLOB NOT NULL, seal BLOB NOT NULL)"
                )
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {table}_runs"
                    " (key BLOB PRIMARY KEY, run INTEGER NOT NULL) WITHOUT ROWID"
                )
            row = self._db.execute("SELECT value FROM meta WHERE name = 'run'").fetchone()
            self.run = (int(row[0]) if row and isinstance(row[0], int) else 0) + 1
            self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('run', ?)", (self.run,))
        except (sqlite3.Error, OSError) as exc:
            raise CacheUnusable(f"{self.path}: {exc}") from None
        self.hits = 0
        self.stored = 0
        self._used: dict[str, list[bytes]] = {table: [] for table in TABLES}  # read by this run, not marked yet
        # Entries read but not believed, by reason ("did not verify", "malformed"), for the run's warning.
        self.rejected: dict[str, int] = {}

    def _seal(self, table: str, key: bytes, blob: bytes | bytearray) -> bytes:
        mac = hmac.new(self._secret, digestmod=hashlib.sha256)
        mac.update(f"auditor-cache/{FORMAT}/{table}\x00".encode())
        mac.update(len(key).to_bytes(4, "big") + key)
        mac.update(blob)
        return mac.digest()

    def reject(self, reason: str, n: int = 1) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + n

    def warnings(self) -> list[str]:
        out = []
        for reason, n in sorted(self.rejected.items()):
            entries = "entry" if n == 1 else "entries"
            out.append(f"cache {self.path}: {n} {entries} {reason}: ignored, recomputed")
        return out

    def get_many(
        self, table: str, keys: Iterable[bytes], validate: Callable[[Any], Any | None], *, raw: bool = False
    ) -> dict[bytes, Any]:
        """The values of ``keys`` present in ``table`` whose seal verifies and that ``validate`` accepts (it returns
        the value to use, None to refuse it, or raises :class:`Stale` to pass over it without a warning); each one
        used is marked used by this run (in the next write). With ``raw``, ``validate`` is given the stored bytes once
        their seal verifies, to read them itself (a stored audit a framed line at a time: :mod:`auditor.findings`)."""
        found: dict[bytes, Any] = {}
        wanted = list(dict.fromkeys(keys))
        compressed = table != "documents"
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, value, seal FROM {table} WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
                for key, blob, seal in rows:
                    if not (isinstance(key, bytes) and isinstance(blob, bytes) and isinstance(seal, bytes)):
                        self.reject("malformed")
                        continue
                    if not hmac.compare_digest(self._seal(table, key, blob), seal):
                        self.reject("did not verify (edited, moved or written with another secret)")
                        continue
                    value = blob if raw else self._decode(blob, compressed)
                    try:
                        checked = validate(value) if value is not None else None
                    except Stale:
                        continue
                    if checked is None:
                        self.reject(UNEXPECTED_SHAPE)
                        continue
                    found[key] = checked
                    self._used[table].append(key)
        except sqlite3.Error as exc:
            raise CacheUnusable(f"{self.path}: {exc}") from None
        self.hits += len(found)
        return found

    def touch(self, table: str, keys: Iterable[bytes]) -> None:
        """Mark ``keys`` of ``table`` used by this run without reading them (those present are kept)."""
        self._used[table].extend(keys)

    @staticmethod
    def _decode(blob: bytes, compressed: bool) -> Any:
        try:
            raw = b"".join(_inflate(blob, 16 << 20)) if compressed else blob
            return jsonsafe.loads_fast(raw)
        except (ValueError, RecursionError):
            return None

    def put_many(self, table: str, items: Mapping[bytes, bytes | bytearray], *, compressed: bool = False) -> None:
        """Store ``items`` (key -> JSON bytes: :func:`jsonsafe.dumps_compact`) in ``table``, sealed. With
        ``compressed``, the bytes are already compressed (a whole audit: its JSON lines compressed and framed by
        :func:`auditor.findings.to_compressed_table`) for a table that keeps them so."""
        if compressed and table == "documents":
            raise ValueError("the documents table keeps its values as they are")
        compress = table != "documents" and not compressed
        rows = []
        for key, raw in items.items():
            blob = zlib.compress(raw, 1) if compress else raw
            rows.append((key, blob, self._seal(table, key, blob)))
        try:
            self._db.execute("BEGIN")
            self._db.executemany(f"INSERT OR REPLACE INTO {table} (key, value, seal) VALUES (?, ?, ?)", rows)
            self._db.executemany(
                f"INSERT OR REPLACE INTO {table}_runs (key, run) VALUES (?, ?)", [(k, self.run) for k in items]
            )
            self._mark_used()
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise CacheUnusable(f"{self.path}: {exc}") from None
        self.stored += len(items)

    def _mark_used(self) -> None:
        """Record that this run used the entries read since the last write (inside the caller's transaction: one
        write per file read would cost a disk sync each)."""
        for table, keys in self._used.items():
            self._db.executemany(f"UPDATE {table}_runs SET run = ? WHERE key = ?", [(self.run, k) for k in keys])
            keys.clear()

    def close(self) -> None:
        """Drop what neither this run nor the previous one used, and close the file."""
        try:
            self._db.execute("BEGIN")
            self._mark_used()
            self._db.execute("COMMIT")
            for table in TABLES:
                # An entry without a run (none is written so) is dropped too: nothing would ever drop it otherwise.
                self._db.execute("BEGIN")
                self._db.execute(f"DELETE FROM {table}_runs WHERE run < ?", (self.run - 1,))
                self._db.execute(f"DELETE FROM {table} WHERE key NOT IN (SELECT key FROM {table}_runs)")
                self._db.execute("COMMIT")
            self._db.close()
        except sqlite3.Error as exc:
            raise CacheUnusable(f"{self.path}: {exc}") from None


class Presence:
    """Which keys of a cache file's tables have an entry, asked read-only through a connection of its own: for a
    process that only needs to know what it must send (:class:`auditor.pipeline.Keyer`, a fork, which must not use
    the connection of the :class:`Store` it was forked with). Nothing is read or checked: whether an entry is
    believed is still :meth:`Store.get_many`'s to say. A file that cannot be read knows no key."""

    def __init__(self, path: Path) -> None:
        from urllib.parse import quote

        self._db: sqlite3.Connection | None
        try:
            self._db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)
        except sqlite3.Error:
            self._db = None

    def held(self, tables: Iterable[str], keys: list[bytes]) -> set[bytes]:
        """The ``keys`` that have an entry in any of ``tables`` (:data:`TABLES`); none once the file failed."""
        if self._db is None or not keys:
            return set()
        marks = ",".join("?" * len(keys))
        names = [table for table in tables if table in TABLES]  # only the cache's own names reach the query
        if not names:
            return set()
        query = " UNION ".join(f"SELECT key FROM {table} WHERE key IN ({marks})" for table in names)
        try:
            return {row[0] for row in self._db.execute(query, keys * len(names)).fetchall()}
        except sqlite3.Error:
            self._db = None
            return set()


# The name used before the document table was added.
ResultStore = Store
