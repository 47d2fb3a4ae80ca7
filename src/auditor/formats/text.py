"""Terminal output: findings grouped by clause, each with its file:line, coloured only when asked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import click

from auditor.escape import no_command, printable
from auditor.findings import Finding, counts
from auditor.i18n import DEFAULT_LANG, Translator
from auditor.localize import Localizer
from auditor.policy.catalogue import PolicyPack

_COLOURS = {"error": "red", "warning": "yellow", "info": "blue"}


def render(
    findings: Sequence[Finding], pack: PolicyPack, *, color: bool = False, files: int = 0, lang: str = DEFAULT_LANG
) -> str:
    """Findings grouped by clause; every fixed string in ``lang`` (en or fr), clause excerpts in French."""
    return "".join(render_chunks(findings, pack, color=color, files=files, lang=lang))


def render_chunks(
    findings: Sequence[Finding], pack: PolicyPack, *, color: bool = False, files: int = 0, lang: str = DEFAULT_LANG
) -> Iterator[str]:
    """:func:`render` in pieces, one per finding: at XL the text of ~700k findings is several hundred MB."""
    t = Translator(lang)
    loc = Localizer(pack, lang)
    colon, semi = t("punct.colon"), t("punct.semicolon")  # French puts a no-break space before them

    def style(text: str, **kw: object) -> str:
        return click.style(text, **kw) if color else text  # type: ignore[arg-type]

    by_clause: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_clause[f.clause_id].append(f)
    order = {cid: i for i, cid in enumerate(pack.clauses)}
    width = max(len(t(f"severity.{s}")) for s in _COLOURS)
    for cid in sorted(by_clause, key=lambda c: (order.get(c, len(order)), c)):
        clause = pack.clauses.get(cid)
        head = f"{cid}"
        if clause is not None:
            src = "" if clause.source == "policy" else f" [{clause.source.upper()}]"
            summary = (clause.summary_fr or clause.summary_en) if lang == "fr" else clause.summary_en
            head += f"{src} — {summary}"
        yield style(head, bold=True) + "\n"
        if clause is not None and clause.excerpt_fr:
            excerpt = clause.excerpt_fr if len(clause.excerpt_fr) <= 160 else clause.excerpt_fr[:157] + "..."
            yield style(f"  «\u00a0{excerpt}\u00a0»", dim=True) + "\n"
        for f in by_clause[cid]:
            sev = t(f"severity.{f.severity}")
            tag = style(f"{sev:<{width}}", fg=_COLOURS[f.severity], bold=True)
            status = "" if f.status == "open" else style(f" [{t('status.' + f.status)}]", fg="green")
            # File names and messages carry inventory text: control characters escaped, no line starts with "::".
            lines = [no_command(f"  {printable(str(f.location))}: {tag} {printable(loc.message(f))}{status}")]
            if f.evidence:
                path = printable(" -> ".join(f.evidence))
                lines.append(style(f"      {t('check.path')}{colon} {path}", dim=True))
            fix = loc.remediation(f)
            verdict = t(f"verdict.{f.verdict}")
            rule = printable(f.rule_id)
            lines.append(
                style(
                    f"      {t('check.rule')} {rule} ({verdict}){semi} {t('check.fix')}{colon} {printable(fix)}",
                    dim=True,
                )
            )
            yield "\n".join(lines) + "\n"
        yield "\n"
    c = counts(findings)
    total = sum(c.values())
    summary = t("check.summary_one" if total == 1 else "check.summary", total=total, **c)
    waived = sum(1 for f in findings if f.status != "open")
    if waived:
        summary += t("check.waived", n=waived)
    if files:
        summary += t("check.files_one" if files == 1 else "check.files", n=files)
    yield style(summary, bold=True, fg="red" if c["error"] else ("yellow" if c["warning"] else "green")) + "\n"
