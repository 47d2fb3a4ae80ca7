"""Findings: what the rules report, normalised, located, fingerprinted, de-duplicated and sorted."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from auditor.errors import InputError, Location, Problem
from auditor.model import ENTITY_KINDS, Inventory
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


def fingerprint(rule_id: str, subject_kind: str, subject_id: str, attribute: str, key: str) -> str:
    """Stable across runs and line moves: it depends on what is wrong with which entity, not on where it is."""
    raw = "\x1f".join((rule_id, subject_kind, subject_id, attribute, key))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# Findings one run may hold (~580 bytes each): the XL benchmark has ~700k; with the loader's limits
# (docs/security.md) this keeps a run under 2 GiB however densely a hostile inventory is built to fail.
MAX_FINDINGS = 1_000_000


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def build(
    pack: PolicyPack, inv: Inventory, results: Iterable[RuleResults], *, message_args: bool = True
) -> list[Finding]:
    """Turn raw rule results of every partition into sorted, de-duplicated findings (without what rendering their
    message in another language needs when ``message_args`` is false). More than MAX_FINDINGS is an input error
    (exit 2): never a partial report."""
    found: dict[str, Finding] = {}
    # Where each (entity, attribute) is: several findings often point at the same node (M: 28k findings).
    located: dict[tuple[str, str, str], Location] = {}
    nowhere = Location(inv.files[0] if inv.files else "")
    intern = sys.intern
    for partition in results:
        for rule_id, items in partition.items():
            rule = pack.rules_by_id[rule_id]
            clause = pack.clauses[rule.clause]
            for item in items:
                subject = item["subject"]
                # Strings a finding shares with the inventory or with other findings are kept once (XL: ~750k).
                kind = intern(_text(subject.get("kind")))
                sid = _text(subject.get("id"))
                attribute = intern(_text(item.get("attribute")))
                entity = inv.entity(kind, sid) if kind in ENTITY_KINDS else None
                if entity is not None:
                    sid = entity.id
                fp = fingerprint(rule_id, kind, sid, attribute, _text(item.get("key")))
                if fp in found:
                    continue
                if len(found) >= MAX_FINDINGS:
                    raise InputError(
                        [
                            Problem(
                                Location("auditor"),
                                f"the inventory yields more than {MAX_FINDINGS:,} findings, beyond what one run "
                                "reports within 2 GiB of memory: fix the problems common to many entities first, "
                                "or audit it in parts",
                            )
                        ]
                    )
                if entity is None:
                    location = nowhere
                else:
                    where = (kind, sid, attribute)
                    cached = located.get(where)
                    if cached is None:
                        cached = located[where] = entity.loc(attribute or None)
                    location = cached
                severity = _text(item.get("severity")) or rule.severity
                if severity not in SEVERITY_RANK:
                    severity = rule.severity
                evidence = tuple(intern(str(x)) for x in item.get("evidence") or ())
                fmt = item.get("fmt") if message_args else None
                args = item.get("args")
                found[fp] = Finding(
                    fingerprint=fp,
                    rule_id=rule_id,
                    clause_id=rule.clause,
                    source=clause.source,
                    severity=severity,
                    verdict=_text(item.get("verdict")) or rule.verdict,
                    title=rule.title,
                    message=_text(item["message"]),
                    subject_kind=kind,
                    subject_id=sid,
                    attribute=attribute,
                    location=location,
                    evidence=evidence,
                    remediation=_text(item.get("remediation")) or rule.remediation or clause.remediation,
                    message_fmt=intern(fmt) if isinstance(fmt, str) else "",
                    message_args=_compact(args) if isinstance(fmt, str) and isinstance(args, list) and args else "",
                )
    return sorted(found.values(), key=Finding.sort_key)


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

_TABLE = 2  # 2: with the message's format and arguments (a base audit read back renders in any language)
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


def to_table(found: Sequence[Finding], files: Sequence[str]) -> dict[str, Any] | None:
    """Open findings of an audit as plain JSON data: strings once in a table, each finding a row of indexes, its
    file an index into ``files``. None when a finding is not what an audit produces (a status, a waiver, a file
    outside ``files``)."""
    file_index = {f: i for i, f in enumerate(files)}
    strings: dict[str, int] = {}

    def ref(text: str) -> int:
        n = strings.get(text)
        if n is None:
            n = strings[text] = len(strings)
        return n

    rows = []
    for f in found:
        where = file_index.get(f.location.file)
        if where is None or f.status != "open" or f.waiver:
            return None
        row: list[Any] = [ref(getattr(f, name)) for name in _TEXT_FIELDS]
        row += [where, f.location.line, f.location.column, [ref(e) for e in f.evidence]]
        rows.append(row)
    return {"v": _TABLE, "files": len(files), "strings": list(strings), "rows": rows}


def from_table(value: Any, files: Sequence[str]) -> list[Finding] | None:
    """The findings :func:`to_table` stored in ``value``, located in ``files`` (the same files, named as this run
    names them), or None when ``value`` is not exactly such a table."""
    if not isinstance(value, dict) or set(value) != {"v", "files", "strings", "rows"} or value["v"] != _TABLE:
        return None
    strings, rows = value["strings"], value["rows"]
    if value["files"] != len(files) or not isinstance(strings, list) or not isinstance(rows, list):
        return None
    if not all(type(s) is str for s in strings):
        return None
    strings = [sys.intern(s) if len(s) <= 64 else s for s in strings]
    n = len(strings)
    width = len(_TEXT_FIELDS)
    out: list[Finding] = []
    for row in rows:
        if type(row) is not list or len(row) != width + 4:
            return None
        refs, (where, line, column, evidence) = row[:width], row[width:]
        if not all(type(i) is int and 0 <= i < n for i in refs):
            return None
        if not (type(where) is int and 0 <= where < len(files) and type(line) is int and type(column) is int):
            return None
        if type(evidence) is not list or not all(type(i) is int and 0 <= i < n for i in evidence):
            return None
        text = dict(zip(_TEXT_FIELDS, (strings[i] for i in refs), strict=True))
        if text["severity"] not in SEVERITY_RANK:
            return None
        out.append(
            Finding(
                **text,
                location=Location(files[where], line, column),
                evidence=tuple(strings[i] for i in evidence),
            )
        )
    return out
