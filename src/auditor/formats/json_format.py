"""Machine-readable findings. Deterministic: no timestamps, no engine name, sorted keys and findings."""

from __future__ import annotations

import json
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


_str: Any = json.encoder.encode_basestring  # the C encoder json.dumps uses


def _strings(values: Iterator[str] | Sequence[str], pad: str) -> str:
    if not values:
        return "[]"
    inner = ",\n" + pad + "  "
    return "[\n" + pad + "  " + inner.join(_str(v) for v in values) + "\n" + pad + "]"


def _localized(f: Finding, loc: Localizer | None, p: str) -> list[str]:
    if loc is None or not loc.active:
        return []
    q = p + "  "
    texts = loc.localized(f)
    items = [q + _str(k) + ": " + _str(v) for k, v in sorted(texts.items())]
    return [p, '"localized": {\n', ",\n".join(items), "\n", p, "},\n"]


def finding_json(f: Finding, pad: str, loc: Localizer | None = None) -> str:
    """``json.dumps(finding_dict(f), ensure_ascii=False, indent=2, sort_keys=True)`` with every line after the first
    indented by ``pad``, written directly (the pure-Python indenting encoder was the largest cost of formatting a
    large report). ``tests/test_jsonstream.py`` compares the two on every finding of the sample and on hostile
    strings; a finding of unexpected types takes the generic path. With a non-English ``loc``, its texts in that
    language under ``localized``, as :func:`finding_dict` puts them."""
    if not (
        type(f.location.line) is int
        and type(f.location.column) is int
        and all(type(e) is str for e in f.evidence)
        and all(type(k) is str and type(v) is str for k, v in f.waiver.items())
    ):
        return jsonstream.dumps_indented(finding_dict(f, loc), pad)
    p = pad + "  "
    q = p + "  "
    at = f.location
    parts = [
        "{\n",
        p, '"attribute": ', _str(f.attribute), ",\n",
        p, '"clause": ', _str(f.clause_id), ",\n",
        p, '"evidence": ', _strings(f.evidence, p), ",\n",
        p, '"fingerprint": ', _str(f.fingerprint), ",\n",
        *_localized(f, loc, p),
        p, '"location": {\n',
        q, '"column": ', str(at.column), ",\n",
        q, '"file": ', _str(at.file), ",\n",
        q, '"line": ', str(at.line), "\n",
        p, "},\n",
        p, '"message": ', _str(f.message), ",\n",
        p, '"remediation": ', _str(f.remediation), ",\n",
        p, '"rule": ', _str(f.rule_id), ",\n",
        p, '"severity": ', _str(f.severity), ",\n",
        p, '"source": ', _str(f.source), ",\n",
        p, '"status": ', _str(f.status), ",\n",
        p, '"subject": {\n',
        q, '"id": ', _str(f.subject_id), ",\n",
        q, '"kind": ', _str(f.subject_kind), "\n",
        p, "},\n",
        p, '"title": ', _str(f.title), ",\n",
        p, '"verdict": ', _str(f.verdict),
    ]  # fmt: skip
    if f.waiver:
        items = [q + _str(k) + ": " + _str(v) for k, v in sorted(f.waiver.items())]
        parts += [",\n", p, '"waiver": {\n', ",\n".join(items), "\n", p, "}"]
    parts += ["\n", pad, "}"]
    return "".join(parts)


def render_chunks(
    findings: Sequence[Finding], extra: dict[str, Any] | None = None, loc: Localizer | None = None
) -> Iterator[str]:
    """The JSON report in pieces (one per finding), so that a large report is never one string in memory."""
    doc: dict[str, Any] = {
        "tool": {"name": "auditor", "version": __version__},
        "summary": {"total": len(findings), "open_by_severity": counts(findings)},
        "findings": None,
    }
    if extra:
        doc.update(extra)
    return jsonstream.chunks(doc, ("findings",), findings, lambda f, pad: finding_json(f, pad, loc))


def render(findings: Sequence[Finding], extra: dict[str, Any] | None = None, loc: Localizer | None = None) -> str:
    return "".join(render_chunks(findings, extra, loc))
