"""Machine-readable findings. Deterministic: no timestamps, no engine name, sorted keys and findings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from auditor import __version__
from auditor.findings import Finding, counts


def finding_dict(f: Finding) -> dict[str, Any]:
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
    return out


def render(findings: Sequence[Finding], extra: dict[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {
        "tool": {"name": "auditor", "version": __version__},
        "summary": {"total": len(findings), "open_by_severity": counts(findings)},
        "findings": [finding_dict(f) for f in findings],
    }
    if extra:
        doc.update(extra)
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
