"""``auditor clauses`` and ``auditor explain`` output: text for people, deterministic JSON for tools."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from typing import Any

from auditor import __version__
from auditor.coverage import ClauseCoverage, clause_dict, rule_dict, summary
from auditor.policy.catalogue import Clause, PolicyPack, Rule


def _source_tag(clause: Clause) -> str:
    return "policy" if not clause.law else clause.law.upper()


def _status_text(c: ClauseCoverage) -> str:
    if c.status is None:
        return ""
    if c.status in ("findings", "evidence missing"):
        parts = [f"{n} {sev}" for sev, n in c.counts.items() if n]
        return f"{c.status} ({', '.join(parts)})"
    if c.status == "not checkable":
        return f"not checkable: {c.clause.reason}" if c.clause.reason else "not checkable"
    return c.status + (f" ({c.waived} waived)" if c.waived else "")


def render_clauses_text(coverage: Sequence[ClauseCoverage]) -> str:
    lines: list[str] = []
    for c in coverage:
        clause = c.clause
        rules = f"{len(c.rules)} rule{'s' if len(c.rules) != 1 else ''}" if c.checkable else "-"
        head = f"{clause.id:<24} [{_source_tag(clause)}] {clause.kind:<12} {clause.checkability:<13} {rules:<8}"
        status = _status_text(c)
        lines.append(f"{head} {status}".rstrip() if status else head.rstrip())
        lines.append(f"    {clause.summary_en}")
        if c.status is None and clause.checkability == "not_checkable" and clause.reason:
            lines.append(f"    not checkable: {clause.reason}")
    counts = summary(coverage)
    lines.append("")
    lines.append(f"{len(coverage)} clauses: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return "\n".join(lines) + "\n"


def render_clauses_json(coverage: Sequence[ClauseCoverage], *, audited: bool) -> str:
    doc: dict[str, Any] = {
        "tool": {"name": "auditor", "version": __version__},
        "audited": audited,
        "summary": summary(coverage),
        "clauses": [clause_dict(c) for c in coverage],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _wrap(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(" ".join(text.split()), width=100, initial_indent=indent, subsequent_indent=indent) or [indent]


def _clause_lines(clause: Clause, rules: Sequence[Rule], pack: PolicyPack) -> list[str]:
    src = "the privacy policy" if not clause.law else f"the {clause.law.upper()} overlay ({clause.reference})"
    lines = [f"{clause.id} — {clause.heading}" if clause.heading else clause.id]
    lines.append(f"  source: {src}; kind: {clause.kind}; checkability: {clause.checkability}")
    if clause.excerpt_fr:
        lines += ["", "French text (verbatim):", *_wrap(f"« {clause.excerpt_fr} »")]
    lines += ["", "Summary:", *_wrap(clause.summary_en)]
    if clause.summary_fr:
        lines += ["", "Résumé :", *_wrap(clause.summary_fr)]
    if clause.checkability == "not_checkable":
        lines += ["", "Not checkable:", *_wrap(clause.reason or "no reason recorded")]
    if clause.checks:
        lines += ["", "What is checked:", *_wrap(clause.checks)]
    if clause.checkability != "not_checkable":
        lines += ["", "Rules:"]
        if not rules:
            lines.append("  (no rule checks this clause yet)")
        for r in rules:
            lines.append(f"  {r.id}  [{r.severity}, {r.verdict}]  {r.location.file}:{r.location.line}")
            lines += _wrap(r.title, "      ")
            if r.description:
                lines += _wrap(r.description, "      ")
    if clause.remediation:
        lines += ["", "How to fix:", *_wrap(clause.remediation)]
    if clause.remediation_fr:
        lines += ["", "Correction :", *_wrap(clause.remediation_fr)]
    return lines


def render_explain_text(pack: PolicyPack, item: Clause | Rule) -> str:
    if isinstance(item, Rule):
        clause = pack.clauses[item.clause]
        lines = [f"rule {item.id} — {item.title}"]
        lines.append(f"  severity: {item.severity}; verdict: {item.verdict}; source: {clause.source}")
        lines.append(f"  defined at {item.location.file}:{item.location.line}")
        if item.description:
            lines += ["", "What it checks:", *_wrap(item.description)]
        if item.remediation:
            lines += ["", "How to fix:", *_wrap(item.remediation)]
        lines += ["", "It checks clause:", ""]
        lines += _clause_lines(clause, pack.rules_for_clause(clause.id), pack)
    else:
        lines = _clause_lines(item, sorted(pack.rules_for_clause(item.id), key=lambda r: r.id), pack)
    return "\n".join(lines) + "\n"


def render_explain_json(pack: PolicyPack, item: Clause | Rule) -> str:
    if isinstance(item, Rule):
        clause = pack.clauses[item.clause]
        doc: dict[str, Any] = {
            "type": "rule",
            "rule": {**rule_dict(item), "description": item.description, "remediation": item.remediation},
        }
    else:
        clause = item
        doc = {"type": "clause"}
    rules = sorted(pack.rules_for_clause(clause.id), key=lambda r: r.id)
    doc["clause"] = {
        "id": clause.id,
        "source": clause.source,
        "heading": clause.heading,
        "kind": clause.kind,
        "checkability": clause.checkability,
        "reference": clause.reference,
        "excerpt_fr": clause.excerpt_fr,
        "summary_en": clause.summary_en,
        "summary_fr": clause.summary_fr,
        "reason": clause.reason,
        "checks": clause.checks,
        "remediation": clause.remediation,
        "remediation_fr": clause.remediation_fr,
        "rules": [{**rule_dict(r), "description": r.description} for r in rules],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
