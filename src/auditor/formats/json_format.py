"""Machine-readable findings. Deterministic: no timestamps, no engine name, sorted keys and findings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from auditor import __version__
from auditor.findings import Finding, counts
from auditor.formats import jsonstream
from auditor.localize import Localizer


def finding_dict(f: Finding, loc: Localizer | None = None) -> dict[str, Any]:
    """One finding; with a non-English ``loc``, its texts in that language under ``localized`` (``message`` stays
    English for tools)."""
    out: dict[str, Any] = {
        "fingerprint": f.fingerprint,
        "rule": f.rule_id,
        "clause": f.clause_id,
        "source": f.source,
        "severity": f.severity,
        "verdict": f.verdict,
        "title": f.title,
        "message": f.message,
        "subject": {"kind": f.subject_kind, "id": f.subject_id},
        "attribute": f.attribute,
        "location": {"file": f.location.file, "line": f.location.line, "column": f.location.column},
        "evidence": list(f.evidence),
        "remediation": f.remediation,
        "status": f.status,
    }
    if f.waiver:
        out["waiver"] = dict(f.waiver)
    if loc is not None and loc.active:
        out["localized"] = loc.localized(f)
    return out


def render_chunks(
    findings: Sequence[Finding], extra: dict[str, Any] | None = None, loc: Localizer | None = None
) -> Iterator[bytes]:
    """The JSON report in pieces of UTF-8 (:func:`jsonstream.chunks`: :data:`jsonstream.SLICE` findings each), so
    that a large report is never one string in memory. Each finding is :func:`finding_dict` dumped as
    ``json.dumps(..., ensure_ascii=False, indent=2, sort_keys=True)`` would."""
    doc: dict[str, Any] = {
        "tool": {"name": "auditor", "version": __version__},
        "summary": {"total": len(findings), "open_by_severity": counts(findings)},
        "findings": None,
    }
    if extra:
        doc.update(extra)
    return jsonstream.chunks(doc, ("findings",), findings, lambda f: finding_dict(f, loc))
