"""Terminal output: findings grouped by clause, each with its file:line, coloured only when asked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import click

from auditor.findings import Finding, counts
from auditor.policy.catalogue import PolicyPack

_COLOURS = {"error": "red", "warning": "yellow", "info": "blue"}


def render(findings: Sequence[Finding], pack: PolicyPack, *, color: bool = False, files: int = 0) -> str:
    def style(text: str, **kw: object) -> str:
        return click.style(text, **kw) if color else text  # type: ignore[arg-type]

    by_clause: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_clause[f.clause_id].append(f)
    order = {cid: i for i, cid in enumerate(pack.clauses)}
    lines: list[str] = []
    for cid in sorted(by_clause, key=lambda c: (order.get(c, len(order)), c)):
        clause = pack.clauses.get(cid)
        head = f"{cid}"
        if clause is not None:
            src = "" if clause.source == "policy" else f" [{clause.source.upper()}]"
            head += f"{src} — {clause.summary_en}"
        lines.append(style(head, bold=True))
        if clause is not None and clause.excerpt_fr:
            excerpt = clause.excerpt_fr if len(clause.excerpt_fr) <= 160 else clause.excerpt_fr[:157] + "..."
            lines.append(style(f"  « {excerpt} »", dim=True))
        for f in by_clause[cid]:
            tag = style(f"{f.severity:<7}", fg=_COLOURS[f.severity], bold=True)
            status = "" if f.status == "open" else style(f" [{f.status}]", fg="green")
            lines.append(f"  {f.location}: {tag} {f.message}{status}")
            if f.evidence:
                lines.append(style(f"      path: {' -> '.join(f.evidence)}", dim=True))
            lines.append(style(f"      rule {f.rule_id} ({f.verdict}); fix: {f.remediation}", dim=True))
        lines.append("")
    c = counts(findings)
    total = sum(c.values())
    summary = f"{total} finding{'s' if total != 1 else ''}: {c['error']} error(s), {c['warning']} warning(s), {c['info']} info"
    waived = sum(1 for f in findings if f.status != "open")
    if waived:
        summary += f"; {waived} waived or baselined"
    if files:
        summary += f" — {files} file{'s' if files != 1 else ''} checked"
    lines.append(style(summary, bold=True, fg="red" if c["error"] else ("yellow" if c["warning"] else "green")))
    return "\n".join(lines) + "\n"
