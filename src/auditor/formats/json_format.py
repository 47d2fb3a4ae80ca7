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
    English for tools). Every mapping's keys are in code point order, as the report writes them: orjson then writes
    them without sorting each (:func:`render_chunks`; XL's 940k findings: ~0.25 s)."""
    out: dict[str, Any] = {
        "attribute": f.attribute,
        "clause": f.clause_id,
        "evidence": list(f.evidence),
        "fingerprint": f.fingerprint,
    }
    if loc is not None and loc.active:
        out["localized"] = dict(sorted(loc.localized(f).items()))
    out["location"] = {"column": f.location.column, "file": f.location.file, "line": f.location.line}
    out["message"] = f.message
    out["remediation"] = f.remediation
    out["rule"] = f.rule_id
    out["severity"] = f.severity
    out["source"] = f.source
    out["status"] = f.status
    out["subject"] = {"id": f.subject_id, "kind": f.subject_kind}
    out["title"] = f.title
    out["verdict"] = f.verdict
    if f.waiver:
        out["waiver"] = dict(sorted(f.waiver.items()))
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
    return jsonstream.chunks(doc, ("findings",), findings, lambda f: finding_dict(f, loc), keys_sorted=True)
