"""Findings: what the rules report, normalised, located, fingerprinted, de-duplicated and sorted."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import sys
import zlib
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import orjson

from auditor import jsonsafe
from auditor.cache import Stale, inflate_value
from auditor.errors import InputError, Location, Problem
from auditor.model import ENTITY_KINDS, Entity, Inventory
from auditor.policy.catalogue import SEVERITIES, PolicyPack
from auditor.policy.engine import RuleResults

SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}  # error 0, warning 1, info 2
_NO_WAIVER: Mapping[str, str] = MappingProxyType({})  # shared by every finding without a waiver


@dataclass(frozen=True, slots=True)
class Finding:
    fingerprint: str
    rule_id: str
    clause_id: str
    source: str  # "policy" or the overlay law (gdpr, cnil, pipl)
    severity: str
    verdict: str
    title: str
    message: str
    subject_kind: str
    subject_id: str
    attribute: str
    location: Location
    evidence: tuple[str, ...] = ()
    remediation: str = ""
    status: str = "open"  # open, waived, baseline
    waiver: Mapping[str, str] = field(default_factory=lambda: _NO_WAIVER)
    # What the message was built from (lib.findings.msg): its English format and its arguments as compact JSON, for
    # rendering it in another language (auditor.localize). Empty for a message the rule gave as a plain string.
    message_fmt: str = ""
    message_args: str = ""

    def sort_key(self) -> tuple[Any, ...]:
        return (self.location.file, self.location.line, self.location.column, self.rule_id, self.fingerprint)

    def with_status(self, status: str, waiver: Mapping[str, str] | None = None) -> Finding:
        return replace(self, status=status, waiver=dict(waiver or {}))


_SLOT = {name: Finding.__dict__[name].__set__ for name in Finding.__slots__}
_NEW = object.__new__


def new_finding(
    fingerprint: str,
    rule_id: str,
    clause_id: str,
    source: str,
    severity: str,
    verdict: str,
    title: str,
    message: str,
    subject_kind: str,
    subject_id: str,
    attribute: str,
    location: Location,
    evidence: tuple[str, ...],
    remediation: str,
    message_fmt: str,
    message_args: str,
) -> Finding:
    """``Finding(...)`` of an open finding without a waiver, as :class:`Builder` makes every finding of a run: the
    same object, made in ~0.9 µs against ~2.1 µs. A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__`` (18 calls a finding); this sets the slots directly (XL: 940k findings, ~1.2 s a run).
    tests/test_findings_order.py checks it sets every field as the constructor does."""
    f: Finding = _NEW(Finding)
    _set_fingerprint(f, fingerprint)
    _set_rule_id(f, rule_id)
    _set_clause_id(f, clause_id)
    _set_source(f, source)
    _set_severity(f, severity)
    _set_verdict(f, verdict)
    _set_title(f, title)
    _set_message(f, message)
    _set_subject_kind(f, subject_kind)
    _set_subject_id(f, subject_id)
    _set_attribute(f, attribute)
    _set_location(f, location)
    _set_evidence(f, evidence)
    _set_remediation(f, remediation)
    _set_status(f, "open")
    _set_waiver(f, _NO_WAIVER)
    _set_message_fmt(f, message_fmt)
    _set_message_args(f, message_args)
    return f


_SET_LOCATION = {name: Location.__dict__[name].__set__ for name in Location.__slots__}
_set_file, _set_line, _set_column = _SET_LOCATION["file"], _SET_LOCATION["line"], _SET_LOCATION["column"]


def _location(file: str, line: int, column: int) -> Location:
    """``Location(file, line, column)``, its slots set directly (:func:`new_finding`'s way: ~0.2 against ~0.6 µs)."""
    place: Location = _NEW(Location)
    _set_file(place, file)
    _set_line(place, line)
    _set_column(place, column)
    return place


# The slots' own setters (member descriptors), looked up once.
_set_fingerprint = _SLOT["fingerprint"]
_set_rule_id = _SLOT["rule_id"]
_set_clause_id = _SLOT["clause_id"]
_set_source = _SLOT["source"]
_set_severity = _SLOT["severity"]
_set_verdict = _SLOT["verdict"]
_set_title = _SLOT["title"]
_set_message = _SLOT["message"]
_set_subject_kind = _SLOT["subject_kind"]
_set_subject_id = _SLOT["subject_id"]
_set_attribute = _SLOT["attribute"]
_set_location = _SLOT["location"]
_set_evidence = _SLOT["evidence"]
_set_remediation = _SLOT["remediation"]
_set_status = _SLOT["status"]
_set_waiver = _SLOT["waiver"]
_set_message_fmt = _SLOT["message_fmt"]
_set_message_args = _SLOT["message_args"]


def fingerprint(rule_id: str, subject_kind: str, subject_id: str, attribute: str, key: str) -> str:
    """Stable across runs and line moves: it depends on what is wrong with which entity, not on where it is."""
    raw = "\x1f".join((rule_id, subject_kind, subject_id, attribute, key))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


# Findings one run may hold (~580 bytes each): the XL benchmark has ~700k; with the loader's limits
# (docs/security.md) this keeps a run under 2 GiB however densely a hostile inventory is built to fail.
MAX_FINDINGS = 1_000_000


def _compact(value: Any) -> str:
    """A message's arguments as compact JSON with sorted keys (read back only by :mod:`auditor.localize`): orjson,
    ~5x faster than ``json`` (one call a finding); ``json`` for what orjson refuses (an integer beyond 64 bits)."""
    return jsonsafe.dumps_compact(value, sort_keys=True).decode("utf-8")


# A finding as a partition's results give it, located but not yet kept (:meth:`Builder.prepare`): fingerprint, rule
# id, subject kind and id, attribute, location, whether the subject is an entity of the inventory, then what the
# rule said itself ("" when it said nothing valid, the pack's default applying): severity, verdict, message,
# remediation, message format and arguments (compact JSON), evidence.
Row = tuple[str, str, str, str, str, Location, bool, str, str, str, str, str, str, tuple[str, ...]]

# Version of a partition's located findings as stored (``check --cache``, table ``located``: Builder.stored/restored).
# 2: one JSON list per field (``cols``) instead of one list per finding (1): reading back XL's 940k stored findings made
# as many small lists, then transposed them to check each field (orjson.loads of the 10,501 entries: 3.5-6.0 s as rows
# against 1.9-2.6 s as columns, and no transposition).
_LOCATED = 2
# A stored finding (Builder.stored): the fields of Row, its location as three (an index into the entry's files, line,
# column) and whether the subject is an entity as 0 or 1; stored as one column per field, in this order.
_STORED = (
    "fingerprint",
    "rule",
    "kind",
    "id",
    "attribute",
    "file",
    "line",
    "column",
    "entity",
    "severity",
    "verdict",
    "message",
    "remediation",
    "fmt",
    "args",
    "evidence",
)
_AT = {name: i for i, name in enumerate(_STORED)}
_ROW_TEXT = [i for i, name in enumerate(_STORED) if name not in ("file", "line", "column", "entity", "evidence")]


def too_many() -> InputError:
    """The error of an inventory that yields more than :data:`MAX_FINDINGS` findings (exit 2: never a partial
    report)."""
    return InputError(
        [
            Problem(
                Location("auditor"),
                f"the inventory yields more than {MAX_FINDINGS:,} findings, beyond what one run reports within 2 GiB "
                "of memory: fix the problems common to many entities first, or audit it in parts",
            )
        ]
    )


class Made:
    """One partition's findings made (:meth:`Builder.make`), not kept yet, in order."""

    __slots__ = ("findings",)

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings


class Builder:
    """Findings built as partitions' results arrive, in any order (with ``--cache`` the stored results are taken as
    they are read, the others as the engine gives them): ``add(index, results)`` for each partition, then
    :meth:`findings`. Two partitions may report the same finding (same fingerprint): the one of the lowest
    partition index is kept, and within a partition the first, so the findings never depend on arrival order.
    More than MAX_FINDINGS is an input error (exit 2): never a partial report.

    ``add`` is :meth:`prepare` (locate and fingerprint a partition's findings: most of the work) then :meth:`keep`.
    With ``check --cache``, a partition's prepared findings are stored too (:meth:`stored`) and read back
    (:meth:`restored`) when every file they point into has the same bytes: a pull request then neither parses
    nor locates the findings of the partitions it did not change."""

    def __init__(self, pack: PolicyPack, inv: Inventory, *, message_args: bool = True, storing: bool = False) -> None:
        self._pack, self._message_args = pack, message_args
        # What a stored entry needs (the message's format and arguments) is prepared when kept or stored.
        self._with_args = message_args or storing
        self._found: dict[str, Finding] = {}
        # Fingerprint -> the partition its kept finding comes from, for partitions from the watermark on: every
        # partition below the watermark has arrived, so a finding kept from one of them can never be replaced (a
        # partition still to come has a higher index) and needs no entry. In order, nothing stays here; XL's pull
        # request (results read back while the engine evaluates a few) kept 940k entries, ~40 MB, to its peak.
        self._origin: dict[str, int] = {}
        self._watermark = 0  # the lowest partition index not arrived yet
        self._held: dict[int, list[str]] = {}  # for each partition arrived from the watermark on, what it added
        self._nowhere = Location(inv.files[0] if inv.files else "")
        # Each file's digest (check --cache): what a stored partition's locations are valid for.
        self._digests = dict(zip(inv.files, inv.digests, strict=True)) if inv.digests else {}
        self._by_kind: dict[str, Mapping[str, Entity]] = {kind: inv.by_kind(kind) for kind in ENTITY_KINDS}

    @property
    def nowhere(self) -> Location:
        """Where a finding about no entity of the inventory is located (the first file, no line): this object."""
        return self._nowhere

    @property
    def can_store(self) -> bool:
        """Whether prepared findings can be stored and read back: every file's digest is known."""
        return bool(self._digests)

    def add(self, index: int, partition: RuleResults) -> None:
        """The findings of partition number ``index`` (its raw rule results)."""
        self.keep(index, self.prepare(partition))

    def prepare(self, partition: RuleResults) -> list[Row]:
        """One partition's findings (its raw rule results), located and fingerprinted."""
        pack = self._pack
        rows: list[Row] = []
        with_args = self._with_args
        intern = sys.intern
        by_kind = self._by_kind
        nowhere = self._nowhere
        for rule_id, items in partition.items():
            if not items:
                continue
            rule_id = pack.rules_by_id[rule_id].id  # one string for every finding of the rule
            for item in items:
                get = item.get
                subject = item["subject"]
                # Strings a finding shares with the inventory or with other findings are kept once (XL: ~750k).
                kind = subject.get("kind")
                kind = intern(kind) if isinstance(kind, str) else ""
                sid = subject.get("id")
                if not isinstance(sid, str):
                    sid = ""
                attribute = get("attribute")
                attribute = intern(attribute) if isinstance(attribute, str) else ""
                entities = by_kind.get(kind)
                entity = entities.get(sid) if entities is not None else None
                if entity is not None:
                    sid = entity.id
                key = get("key")
                fp = fingerprint(rule_id, kind, sid, attribute, key if isinstance(key, str) else "")
                # Not cached by (entity, attribute): 86 % of the findings have a place of their own (L: 161k places
                # for 188k findings), and such a cache held ~60 MB more at XL's peak than the places it shares.
                location = nowhere if entity is None else entity.loc(attribute or None)
                severity = get("severity")
                verdict = get("verdict")
                message = item["message"]
                fix = get("remediation")
                evidence = get("evidence")
                fmt = get("fmt") if with_args else None
                args = get("args")
                rows.append(
                    (
                        fp,
                        rule_id,
                        kind,
                        sid,
                        attribute,
                        location,
                        entity is not None,
                        severity if isinstance(severity, str) and severity in SEVERITY_RANK else "",
                        verdict if isinstance(verdict, str) else "",
                        message if isinstance(message, str) else "",
                        fix if isinstance(fix, str) else "",
                        intern(fmt) if isinstance(fmt, str) else "",
                        _compact(args) if isinstance(fmt, str) and isinstance(args, list) and args else "",
                        tuple(intern(str(x)) for x in evidence) if evidence else (),
                    )
                )
        return rows

    def keep(self, index: int, rows: Sequence[Row]) -> None:
        """Partition number ``index``'s prepared findings (:meth:`prepare`, :meth:`restored`)."""
        self.keep_made(index, self.make(rows))

    def make(self, rows: Sequence[Row]) -> Made:
        """A partition's findings as :meth:`keep_made` keeps them, from its prepared findings: the part of keeping that
        does not depend on the partition's number, so it can be done before the number is known (a pull request
        reads back the findings of the base revision's partitions while its own are still being keyed)."""
        rules, clauses = self._pack.rules_by_id, self._pack.clauses
        message_args = self._message_args
        made: list[Finding] = []
        for fp, rule_id, kind, sid, attribute, location, _, severity, verdict, message, fix, fmt, args, ev in rows:
            rule = rules[rule_id]
            clause = clauses[rule.clause]
            made.append(
                new_finding(
                    fp,
                    rule_id,
                    rule.clause,
                    clause.source,
                    severity or rule.severity,
                    verdict or rule.verdict,
                    rule.title,
                    message,
                    kind,
                    sid,
                    attribute,
                    location,
                    ev,
                    fix or rule.remediation or clause.remediation,
                    fmt if message_args else "",
                    args if message_args else "",
                )
            )
        return Made(made)

    def keep_made(self, index: int, made: Made) -> None:
        """Partition number ``index``'s findings (:meth:`make`): each one kept unless a partition of a lower number
        (or an earlier finding of this one) reported the same fingerprint."""
        found, origin = self._found, self._origin
        held: list[str] = []
        for finding in made.findings:
            fp = finding.fingerprint
            kept = origin.get(fp)
            if kept is not None:
                if kept <= index:
                    continue
            elif fp in found:
                continue  # kept from a partition below the watermark, so below this one
            elif len(found) >= MAX_FINDINGS:
                raise too_many()
            origin[fp] = index
            held.append(fp)
            found[fp] = finding

        self._held[index] = held
        if index == self._watermark:
            mark = index
            while mark in self._held:
                for fp in self._held.pop(mark):
                    if origin.get(fp) == mark:
                        del origin[fp]
                mark += 1
            self._watermark = mark

    def stored(self, rows: Sequence[Row]) -> bytes | None:
        """A partition's prepared findings as stored (JSON): the files they point into with their digests, and one
        column per field of a finding (:data:`_STORED`); None when they cannot be (a file's digest unknown, a number
        beyond 64 bits)."""
        digests = self._digests
        files: dict[str, int] = {}
        if not rows:
            cols: list[Any] = [[] for _ in _STORED]
        else:
            fields = list(zip(*rows, strict=True))
            locations: tuple[Location, ...] = fields[5]
            at = [files.setdefault(loc.file, len(files)) for loc in locations]
            cols = [
                *fields[:5],
                at,
                [loc.line for loc in locations],
                [loc.column for loc in locations],
                [int(entity) for entity in fields[6]],
                *fields[7:],
            ]
        if any(f not in digests for f in files):
            return None
        try:
            return orjson.dumps({"v": _LOCATED, "files": [[f, digests[f].hex()] for f in files], "cols": cols})
        except TypeError:  # orjson.JSONEncodeError
            return None

    def restored(self, value: Any) -> list[Row] | None:
        """A partition's prepared findings read back (what :meth:`stored` wrote, decoded from JSON), when they are
        still what :meth:`prepare` would give here: every file they point into has the same bytes (digest) and the
        same name in this run, every subject that was an entity of the inventory is one in the same file and every
        other is not. Raises :class:`~auditor.cache.Stale` when they no longer hold (the caller then locates the
        results); None when the value is not what :meth:`stored` writes (a rule not of the pack, a type, a
        fingerprint)."""
        if type(value) is not dict or value.get("v") != _LOCATED or set(value) != {"v", "files", "cols"}:
            return None
        files, columns = value["files"], value["cols"]
        if type(files) is not list or type(columns) is not list or len(columns) != len(_STORED):
            return None
        if not (set(map(type, columns)) == {list} and len(set(map(len, columns))) == 1):
            return None
        digests = self._digests
        names: list[str] = []
        for item in files:
            if not (type(item) is list and len(item) == 2 and type(item[0]) is str and type(item[1]) is str):
                return None
            digest = digests.get(item[0])
            if digest is None or digest.hex() != item[1]:
                raise Stale
            names.append(item[0])
        if not columns[0]:
            return []
        if not all(set(map(type, columns[i])) <= {str} for i in _ROW_TEXT):
            return None
        places = columns[_AT["line"]] + columns[_AT["column"]]
        if not (indexes(list(columns[_AT["file"]]), len(names)) and set(map(type, places)) <= {int}):
            return None
        if min(places) < 0:
            return None
        entity_flags, evidence = columns[_AT["entity"]], columns[_AT["evidence"]]
        if not (set(entity_flags) <= {0, 1} and set(map(type, entity_flags)) <= {int}):
            return None
        if not (set(map(type, evidence)) <= {list} and set(map(type, itertools.chain(*evidence))) <= {str}):
            return None
        if not set(columns[_AT["rule"]]) <= self._pack.rules_by_id.keys():
            return None
        if not set(columns[_AT["severity"]]) <= {"", *SEVERITY_RANK}:
            return None
        try:
            _packed(list(columns[_AT["fingerprint"]]))
        except _Bent:
            return None
        intern = sys.intern
        rules = self._pack.rules_by_id
        by_kind = self._by_kind
        nowhere = self._nowhere
        located: dict[tuple[int, int, int], Location] = {}
        out: list[Row] = []
        for fp, rule_id, kind, sid, attribute, at, line, column, entity, sev, verdict, msg, fix, fmt, args, ev in zip(
            *columns, strict=True
        ):
            entities = by_kind.get(kind)
            found = entities.get(sid) if entities is not None else None
            if entity:
                if found is None or found.file != names[at]:
                    raise Stale
                sid = found.id
                location = located.get((at, line, column))
                if location is None:
                    location = located[at, line, column] = Location(found.file, line, column)
            else:
                if line or column:
                    return None
                if found is not None or names[at] != nowhere.file:
                    raise Stale
                location = nowhere
            out.append(
                (fp, rules[rule_id].id, intern(kind), sid, intern(attribute), location, bool(entity), sev, verdict,
                 msg, fix, intern(fmt), args, tuple(map(intern, ev)))
            )  # fmt: skip
        return out

    def findings(self) -> list[Finding]:
        """Every finding, sorted, de-duplicated; once, at the end: what the builder kept to build them is freed first,
        before sorting makes its keys (XL, 940k findings: ~100 MB each)."""
        out = list(self._found.values())
        self._found, self._origin, self._held = {}, {}, {}
        out.sort(key=Finding.sort_key)
        return out


def build(
    pack: PolicyPack, inv: Inventory, results: Iterable[RuleResults], *, message_args: bool = True
) -> list[Finding]:
    """Turn raw rule results of every partition, in partition order, into sorted, de-duplicated findings (without
    what rendering their message in another language needs when ``message_args`` is false): :class:`Builder`."""
    builder = Builder(pack, inv, message_args=message_args)
    for index, partition in enumerate(results):
        builder.add(index, partition)
    return builder.findings()


def at_or_above(findings: Sequence[Finding], threshold: str) -> list[Finding]:
    """Open findings whose severity is at or above ``threshold`` ('never' matches nothing)."""
    if threshold == "never":
        return []
    limit = SEVERITY_RANK[threshold]
    return [f for f in findings if f.status == "open" and SEVERITY_RANK[f.severity] <= limit]


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    out = {s: 0 for s in SEVERITIES}
    for f in findings:
        if f.status == "open":
            out[f.severity] += 1
    return out


# --- findings as plain data (``check --cache`` keeps whole audits: auditor.pipeline.PartitionCache) ----------------

# 4: each line compressed on its own and framed (:func:`to_compressed_table`), so that a pull request's fixed findings
# inflate only the lines holding them (XL: the whole table, 335 MB, inflated again for a handful took ~2 s); 3: JSON
# lines, the findings in chunks each with its own string table, in one compressed stream (a base audit is read back
# one chunk at a time: XL's 700k findings decoded at once took ~1 GiB); 2: one object with the message's format and
# arguments.
_TABLE = 4
_SIZE = 8  # bytes of a number of the frame (big-endian)
_CHUNK = 10_000  # findings per line of a table
_TEXT_FIELDS = (
    "fingerprint",
    "rule_id",
    "clause_id",
    "source",
    "severity",
    "verdict",
    "title",
    "message",
    "subject_kind",
    "subject_id",
    "attribute",
    "remediation",
    "message_fmt",
    "message_args",
)
_WIDTH = len(_TEXT_FIELDS)
_AT_FINGERPRINT = _TEXT_FIELDS.index("fingerprint")
_AT_SEVERITY = _TEXT_FIELDS.index("severity")


def to_compressed_table(found: Sequence[Finding], files: Sequence[str], chunk: int = _CHUNK) -> bytearray | None:
    """Open findings of an audit as JSON lines (what the cache stores): a header ``{"v", "files", "findings"}``, then
    the findings by chunks of at most ``chunk``, each line ``{"strings": [...], "columns": [...], "evidence": [...]}``:
    strings once in the chunk's table; one column per text field of a finding (indexes into the strings), then its
    file (an index into ``files``), line and column; each finding's evidence (indexes into the strings). By columns, a
    table is checked with a few builtins a column instead of Python code a finding.

    Each line is compressed as it is made, and the lines framed (:func:`frame_table`). The whole table is never in
    memory uncompressed (XL: ~500 MB more at the default branch's run's peak, beyond 2 GiB). None when a finding is
    not what an audit produces (a status, a waiver, a file outside ``files``)."""
    return frame_table(_table_lines(found, files, chunk))


def frame_table(lines: Iterable[bytes | None]) -> bytearray | None:
    """``lines`` zlib-compressed each on its own, and framed: the number of lines, each line's compressed size
    (:data:`_SIZE` bytes each), then the compressed lines (:func:`table_lines` reads them back, any one alone); each
    compressed line is dropped as it joins the frame. None when a line is None (one that cannot be stored)."""
    packed: list[bytes] = []
    for line in lines:
        if line is None:
            return None
        packed.append(zlib.compress(line, 1))
    out = bytearray(len(packed).to_bytes(_SIZE, "big"))
    for data in packed:
        out += len(data).to_bytes(_SIZE, "big")
    packed.reverse()
    while packed:
        out += packed.pop()
    return out


class _Framed:
    """The lines of a table :func:`to_compressed_table` wrote, each inflated only when read. Raises :class:`_Bent`
    when the frame is not exactly what it writes (sizes that do not add up to the bytes there are)."""

    def __init__(self, blob: bytes | bytearray) -> None:
        view = memoryview(blob)
        count = int.from_bytes(view[:_SIZE], "big") if len(view) >= _SIZE else -1
        if not 0 < count <= (len(view) - _SIZE) // (_SIZE + 1):  # at least a byte a line
            raise _Bent
        start = _SIZE * (count + 1)
        spans: list[tuple[int, int]] = []
        for i in range(1, count + 1):
            size = int.from_bytes(view[_SIZE * i : _SIZE * (i + 1)], "big")
            if size == 0:
                raise _Bent
            spans.append((start, start + size))
            start += size
        if start != len(view):
            raise _Bent
        self._view, self._spans = view, spans

    def __len__(self) -> int:
        return len(self._spans)

    def line(self, i: int) -> bytes:
        """Line ``i`` (0: the header), inflated (:func:`auditor.cache.inflate_value`: ValueError when damaged)."""
        start, end = self._spans[i]
        return inflate_value(self._view[start:end])

    def lines(self) -> Iterator[bytes]:
        return (self.line(i) for i in range(len(self._spans)))


def table_lines(blob: bytes | bytearray) -> list[bytes]:
    """Every line of a table :func:`to_compressed_table` wrote, inflated; ValueError when it is not such a table."""
    try:
        return list(_Framed(blob).lines())
    except _Bent:
        raise ValueError("not a framed table") from None


def _table_lines(found: Sequence[Finding], files: Sequence[str], chunk: int) -> Iterator[bytes | None]:
    """The lines of :func:`to_compressed_table`, one at a time; None (then nothing more) when a finding cannot be
    stored."""
    file_index = {f: i for i, f in enumerate(files)}
    yield orjson.dumps({"v": _TABLE, "files": len(files), "findings": len(found)})
    for start in range(0, len(found), chunk):
        part = found[start : start + chunk]
        if any(f.status != "open" or f.waiver or f.location.file not in file_index for f in part):
            yield None
            return
        strings: dict[str, int] = {}  # each string once: its index in the line's table
        ref = strings.setdefault  # ref(text, len(strings)): the index of text, given the next one if new
        columns: list[list[int]] = [[ref(getattr(f, name), len(strings)) for f in part] for name in _TEXT_FIELDS]
        columns.append([file_index[f.location.file] for f in part])
        columns.append([f.location.line for f in part])
        columns.append([f.location.column for f in part])
        evidence = [[ref(e, len(strings)) for e in f.evidence] for f in part]
        try:
            yield orjson.dumps({"strings": list(strings), "columns": columns, "evidence": evidence})
        except TypeError:  # orjson.JSONEncodeError: a line number beyond 64 bits is not stored
            yield None
            return


class _Bent(Exception):
    """A stored table that is not exactly what :func:`to_compressed_table` writes."""


def indexes(column: Any, bound: int) -> bool:
    """``column`` is a list of ints, each in ``range(bound)``."""
    return (
        type(column) is list
        and set(map(type, column)) <= {int}
        and (not column or 0 <= min(column) <= max(column) < bound)
    )


def _chunk(line: bytes, files: Sequence[str]) -> tuple[list[str], list[list[int]], list[list[int]]]:
    """One line of findings of a table, checked: every column as long as the others, every index within its string
    table or ``files``, every type as written."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise _Bent from None
    if not isinstance(value, dict) or set(value) != {"strings", "columns", "evidence"}:
        raise _Bent
    strings, columns, evidence = value["strings"], value["columns"], value["evidence"]
    if not (isinstance(strings, list) and set(map(type, strings)) <= {str}):
        raise _Bent
    if not (type(columns) is list and len(columns) == _WIDTH + 3 and type(evidence) is list):
        raise _Bent
    n, m = len(strings), len(evidence)
    if not all(type(c) is list and len(c) == m for c in columns):
        raise _Bent
    if not (all(indexes(c, n) for c in columns[:_WIDTH]) and indexes(columns[_WIDTH], len(files))):
        raise _Bent
    if not set(map(type, itertools.chain(columns[_WIDTH + 1], columns[_WIDTH + 2]))) <= {int}:
        raise _Bent  # lines and columns
    if not all(strings[i] in SEVERITY_RANK for i in set(columns[_AT_SEVERITY])):
        raise _Bent
    if not (set(map(type, evidence)) <= {list} and indexes(list(itertools.chain.from_iterable(evidence)), n)):
        raise _Bent
    return strings, columns, evidence


def _check_table(lines: Iterator[bytes], files: Sequence[str]) -> list[bytes]:
    """Check a whole table: the fingerprints of each of its lines of findings, packed (:func:`_packed`). Raises
    :class:`_Bent`."""
    try:
        header = orjson.loads(next(lines, b""))
    except ValueError:  # orjson.JSONDecodeError, or the lines could not be read (auditor.cache.inflate_lines)
        raise _Bent from None
    if not isinstance(header, dict) or set(header) != {"v", "files", "findings"} or header["v"] != _TABLE:
        raise _Bent
    if header["files"] != len(files) or type(header["findings"]) is not int:
        raise _Bent
    per_line = []
    try:
        for line in lines:
            strings, columns, _ = _chunk(line, files)
            per_line.append(_packed(list(map(strings.__getitem__, columns[_AT_FINGERPRINT]))))
    except ValueError:  # the lines could not be read (a damaged compressed value: auditor.cache.inflate_lines)
        raise _Bent from None
    count = sum(map(len, per_line)) // _FP_BYTES
    distinct = {packed[i : i + _FP_BYTES] for packed in per_line for i in range(0, len(packed), _FP_BYTES)}
    if count != header["findings"] or len(distinct) != count:
        raise _Bent  # all there, each finding once
    return per_line


# A fingerprint is 20 hexadecimal digits (:func:`fingerprint`): a stored audit's are kept as their 10 bytes (XL's
# base revision: 940k fingerprints, ~10 MB packed against ~100 MB as strings and a set of them).
_FP_BYTES = 10


def _packed(fingerprints: list[str]) -> bytes:
    """Fingerprints packed as bytes; raises :class:`_Bent` unless each is what :func:`fingerprint` writes."""
    if any(len(fp) != 2 * _FP_BYTES for fp in fingerprints):
        raise _Bent
    text = "".join(fingerprints)
    try:
        packed = bytes.fromhex(text)
    except ValueError:
        raise _Bent from None
    if packed.hex() != text:  # bytes.fromhex takes capitals and spaces too
        raise _Bent
    return packed


def _fingerprints_of(packed: bytes) -> list[str]:
    """The fingerprints :func:`_packed` packed, as text again."""
    return [packed[i : i + _FP_BYTES].hex() for i in range(0, len(packed), _FP_BYTES)]


def _gone(
    line: Callable[[int], bytes], files: Sequence[str], per_line: list[list[str]], now: Container[str]
) -> list[Finding]:
    """The findings of a checked table (:func:`_check_table`, its fingerprints of each line as text in ``per_line``)
    whose fingerprint is not in ``now``; only the lines holding one are read (``line(i)``: line ``i`` of the table,
    0 being its header) and decoded."""
    out: list[Finding] = []
    for i, fingerprints in enumerate(per_line, start=1):
        if all(map(now.__contains__, fingerprints)):
            continue
        strings, columns, evidence = _chunk(line(i), files)
        intern = sys.intern
        for k, fp in enumerate(fingerprints):
            if fp in now:
                continue
            text = (strings[columns[j][k]] for j in range(_WIDTH))
            named: dict[str, Any] = {
                n: intern(t) if len(t) <= 64 else t for n, t in zip(_TEXT_FIELDS, text, strict=True)
            }
            out.append(
                Finding(
                    **named,
                    location=Location(files[columns[_WIDTH][k]], columns[_WIDTH + 1][k], columns[_WIDTH + 2][k]),
                    evidence=tuple(intern(strings[e]) for e in evidence[k]),
                )
            )
    return out


@dataclass(frozen=True)
class StoredPartitions:
    """What a stored audit says of its partitions (``pipeline.PartitionCache.store_audit``): for each partition's
    key, the files its findings point into (indexes into the audit's files, sorted by name), and the keys of the
    partitions with a finding about no entity (located at the first file, so where it goes depends on every file);
    and ``inputs``: each partition's key by the digest of what its document was made from (``inputs.Pending.inputs``,
    ``pipeline.input_digest``), for the partitions whose digest was known: a later run whose partition has the same
    digest has the same document, hence the same key, without building it."""

    files: Mapping[bytes, tuple[int, ...]]
    nowhere: frozenset[bytes]
    inputs: Mapping[bytes, bytes] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        keys: Sequence[bytes],
        files: Sequence[tuple[frozenset[str], bool]],
        names: Sequence[str],
        inputs: Sequence[bytes | None] = (),
    ) -> StoredPartitions | None:
        """An audit's partitions (``keys``, ``files`` and ``inputs``, ``pipeline.Audit.partition_keys``,
        ``partition_files`` and ``partition_inputs``, in partition order; ``names``: the audit's files sorted, as its
        table indexes them); None when they are not known for every partition or point into a file not of ``names``.
        Inputs are kept only when known for every partition and all distinct."""
        at = {name: i for i, name in enumerate(names)}
        if not keys or len(keys) != len(files) or len(set(keys)) != len(keys):
            return None
        if not all(mine <= at.keys() for mine, _ in files):
            return None
        indexed = {k: tuple(sorted(at[name] for name in mine)) for k, (mine, _) in zip(keys, files, strict=True)}
        by_inputs: dict[bytes, bytes] = {}
        if len(inputs) == len(keys) and all(d is not None for d in inputs) and len(set(inputs)) == len(inputs):
            by_inputs = {d: k for d, k in zip(inputs, keys, strict=True) if d is not None}
        return cls(indexed, frozenset(k for k, (_, nowhere) in zip(keys, files, strict=True) if nowhere), by_inputs)

    def encode(self) -> bytes:
        """The entry stored for them (JSON), in partition order: :meth:`decode` reads it back."""
        value = {
            "v": _PARTITIONS,
            "keys": [k.hex() for k in self.files],
            "files": list(self.files.values()),
            "nowhere": [i for i, k in enumerate(self.files) if k in self.nowhere],
            "inputs": [[d.hex(), k.hex()] for d, k in self.inputs.items()],
        }
        return orjson.dumps(value)

    @classmethod
    def decode(cls, value: Any, file_count: int, max_count: int) -> StoredPartitions | None:
        """The entry :meth:`encode` wrote, read back (JSON decoded) for an audit of ``file_count`` files, of at most
        ``max_count`` partitions; None when it is not exactly such an entry."""
        if type(value) is not dict or set(value) != {"v", "keys", "files", "nowhere", "inputs"}:
            return None
        if value["v"] != _PARTITIONS:
            return None
        keys, files, nowhere = value["keys"], value["files"], value["nowhere"]
        if not (type(keys) is list and type(files) is list and type(nowhere) is list):
            return None
        if len(keys) != len(files) or len(keys) > max_count:
            return None
        if not all(type(k) is str and _KEY_HEX.fullmatch(k) for k in keys) or len(set(keys)) != len(keys):
            return None
        if not all(type(f) is list and indexes(f, file_count) for f in files):
            return None
        if not indexes(nowhere, len(keys)):
            return None
        pairs = value["inputs"]
        if type(pairs) is not list or len(pairs) > len(keys):
            return None
        if not all(
            type(p) is list and len(p) == 2 and all(type(x) is str and _KEY_HEX.fullmatch(x) for x in p) for p in pairs
        ):
            return None
        if not {k for _, k in pairs} <= set(keys) or len({d for d, _ in pairs}) != len(pairs):
            return None
        raw = [bytes.fromhex(k) for k in keys]
        inputs = {bytes.fromhex(d): bytes.fromhex(k) for d, k in pairs}
        return cls(dict(zip(raw, map(tuple, files), strict=True)), frozenset(raw[i] for i in nowhere), inputs)


# The version of a stored audit's partitions (:class:`StoredPartitions`): 1 was their keys alone, concatenated; 2 had
# no inputs.
_PARTITIONS = 3
_KEY_HEX = re.compile(r"[0-9a-f]{40}")  # a partition's key as stored


class Recorded:
    """The findings of a --diff-base revision, as the gate uses them: which findings of a later audit are new, and
    the findings gone from it (the fixed ones), built only when asked for. A stored audit read back
    (:func:`from_table`) keeps only its fingerprints, packed, and builds only the findings gone: XL's base revision
    has ~940k findings, of which a pull request fixes a handful.

    A stored audit can also give all its findings again (:meth:`lines_of_findings`): a pull request takes from it the
    findings of the files its change did not reach (:func:`auditor.pipeline.audit`). ``partitions`` is what the
    cache stored with the audit about its partitions (:class:`StoredPartitions`), when it did."""

    def __init__(
        self,
        fingerprints: Callable[[], Iterable[str]],
        gone: Callable[[Container[str]], list[Finding]],
        table: tuple[Callable[[int], bytes], int, int] | None = None,
    ) -> None:
        self._fingerprints = fingerprints
        self._gone = gone
        self._table = table  # (line(i), lines of findings, files) of a checked table
        self.partitions: StoredPartitions | None = None

    @property
    def files(self) -> int | None:
        """How many files the stored audit's findings are located in (the table's), None when not a stored table."""
        return None if self._table is None else self._table[2]

    def lines_of_findings(self, names: Sequence[str], message_args: bool) -> Iterator[list[Finding]]:
        """Every finding of a stored audit, in its order, a line of the table at a time, each located in
        ``names[i]`` for the table's file ``i`` (``names``: as many as :attr:`files`); without ``message_args``,
        without what renders the message in another language (as :class:`Builder` makes them then). Nothing when
        this is not a stored table.

        The table was checked whole (:func:`check_compressed_table`) from these very bytes, so its lines are only
        decoded here, each column mapped through its line's strings at once (XL's 940k findings: ~4.5 s in one
        process, against ~7 s checking each line again and making each finding field by field)."""
        if self._table is None:
            return
        line, count, files = self._table
        if len(names) != files:
            raise ValueError("a stored audit's files named differently")
        at_file = names.__getitem__
        for i in range(1, count + 1):
            try:
                value = orjson.loads(line(i))
                strings, columns, evidence = value["strings"], value["columns"], value["evidence"]
                text = [list(map(strings.__getitem__, column)) for column in columns[:_WIDTH]]
                if not message_args:
                    text[_WIDTH - 2] = text[_WIDTH - 1] = [""] * len(evidence)
                places = map(_location, map(at_file, columns[_WIDTH]), columns[_WIDTH + 1], columns[_WIDTH + 2])
                proofs = [tuple(map(strings.__getitem__, ev)) if ev else () for ev in evidence]
                fp, rule, clause, src, sev, verd, title, msg, kind, sid, attr, fix, fmt, args = text
                yield list(
                    map(new_finding, fp, rule, clause, src, sev, verd, title, msg, kind, sid, attr, places, proofs,
                        fix, fmt, args)
                )  # fmt: skip
            except (ValueError, KeyError, IndexError, TypeError):  # read and checked before: cannot happen
                raise RuntimeError("a stored audit read back differently the second time") from None

    def get_ready(self) -> None:
        """Do now what the gate's questions share: a stored table makes its fingerprints text when they are first
        asked for (:func:`_recorded`; XL's ~940k, ~0.25 s), so a pull request asks while it waits for its keyer
        rather than after the audit. Findings already built (:meth:`of`) have nothing to prepare."""
        self._fingerprints()

    @classmethod
    def of(cls, found: Sequence[Finding]) -> Recorded:
        """Findings already built (the base revision audited in this run)."""
        return cls(lambda: (f.fingerprint for f in found), lambda now: [f for f in found if f.fingerprint not in now])

    def new(self, now: AbstractSet[str]) -> frozenset[str]:
        """The fingerprints of ``now`` that are not the fingerprint of one of these findings."""
        rest = set(now)
        rest.difference_update(self._fingerprints())
        return frozenset(rest)

    def gone(self, now: Container[str]) -> list[Finding]:
        """The findings whose fingerprint is not in ``now``, sorted."""
        return sorted(self._gone(now), key=Finding.sort_key)


def from_compressed_table(blob: bytes | bytearray, files: Sequence[str]) -> Recorded | None:
    """The findings of the table :func:`to_compressed_table` returned (or the cache stored), located in ``files`` (the
    same files, named as this run names them): checked whole, a line at a time, then read again by
    :meth:`Recorded.gone` only for the lines holding a finding gone; None when it is not exactly such a table."""
    per_line = check_compressed_table(blob, files)
    return None if per_line is None else from_checked_table(blob, files, per_line)


def check_compressed_table(blob: bytes | bytearray, files: Sequence[str]) -> list[bytes] | None:
    """The check :func:`from_compressed_table` makes, alone: the fingerprints of each line of findings of the table,
    packed, or None when it is not exactly what :func:`to_compressed_table` writes. XL's base audit takes ~5 s to
    check, so a pull-request run checks it in a helper process while the working tree loads (:mod:`auditor.pipeline`)
    and builds the findings from what the helper returns (:func:`from_checked_table`)."""
    try:
        return _check_table(_Framed(blob).lines(), files)
    except _Bent:
        return None


def from_checked_table(blob: bytes | bytearray, files: Sequence[str], per_line: Any) -> Recorded | None:
    """:func:`from_compressed_table` of a table :func:`check_compressed_table` checked (maybe in another process) and
    found to hold ``per_line``; None when ``per_line`` is not what that check returns for it (a list of packed
    fingerprints, one per line of findings, each of whole 10-byte fingerprints)."""
    try:
        framed = _Framed(blob)
    except _Bent:
        return None
    if not (type(per_line) is list and all(type(p) is bytes and len(p) % _FP_BYTES == 0 for p in per_line)):
        return None
    if len(per_line) != len(framed) - 1:
        return None
    return _recorded(framed.line, files, per_line)


def _recorded(line: Callable[[int], bytes], files: Sequence[str], per_line: list[bytes]) -> Recorded:
    """The findings of a checked table (:func:`_check_table` gave ``per_line``), its line ``i`` read by ``line(i)``.
    Its fingerprints are made text once, for the gate's two questions (which are new, which are gone): XL's ~940k
    took ~0.3 s each time."""

    @functools.cache
    def fingerprints() -> list[list[str]]:
        return list(map(_fingerprints_of, per_line))

    def gone(now: Container[str]) -> list[Finding]:
        try:
            return _gone(line, files, fingerprints(), now)
        except (_Bent, ValueError):  # the same bytes were read and checked before: cannot happen
            raise RuntimeError("a stored audit read back differently the second time") from None

    return Recorded(lambda: itertools.chain.from_iterable(fingerprints()), gone, (line, len(per_line), len(files)))
