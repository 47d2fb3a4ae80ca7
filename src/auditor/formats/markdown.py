"""A pull-request-comment-sized Markdown summary (also the GitHub step summary).

The verdict first, then the counts (new / fixed / unchanged when diffing), a table of the findings that matter most
(the ones the gate counts, most severe first) with their clause and file:line, and collapsed details for the rest.
Kept well under GitHub's 65,536-character comment limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.escape import md_code, md_text
from auditor.filters import GateReport, most_severe
from auditor.findings import Finding, counts
from auditor.localize import Localizer
from auditor.policy.catalogue import PolicyPack

MAX_CHARS = 60_000
TOP_ROWS = 10
DETAIL_ROWS = 100
_ICON = {"error": "🔴", "warning": "🟠", "info": "🔵"}


def cell(text: str) -> str:
    """Inventory text as literal Markdown on one line, safe in a table cell: no HTML, image, link, emphasis or cell
    break can form from it (see :func:`auditor.escape.md_text`)."""
    return md_text(" ".join(text.split()))


def code(text: str) -> str:
    """Inventory text as a code span, safe in a table cell (backticks in a file name cannot close it)."""
    return md_code(text, table=True)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _sev_counts(findings: Sequence[Finding]) -> str:
    """How many of ``findings`` (open ones) there are of each severity."""
    c = counts(findings)
    return f"{_plural(c['error'], 'error')}, {_plural(c['warning'], 'warning')}, {c['info']} info"


def _table(
    findings: Sequence[Finding], pack: PolicyPack, limit: int, loc: Localizer, total: int | None = None
) -> list[str]:
    """The first ``limit`` of ``findings`` as a table, and how many more there are of ``total`` (default: all of
    ``findings``; a caller may give only the first ones of a larger list)."""
    total = len(findings) if total is None else total
    lines = ["| | Clause | Finding | Location |", "|---|---|---|---|"]
    for f in findings[:limit]:
        clause = pack.clauses.get(f.clause_id)
        law = f" ({clause.source.upper()})" if clause is not None and clause.law else ""
        lines.append(
            f"| {_ICON[f.severity]} {f.severity} | {code(f.clause_id)}{law} | {cell(loc.message(f))} "
            f"| {code(str(f.location))} |"
        )
    if total > limit:
        lines.append(f"\n…and {total - limit} more (see the SARIF or JSON report).")
    return lines


def _details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def render(
    report: GateReport,
    pack: PolicyPack,
    *,
    title: str = "Privacy gate (auditor)",
    lang: str = "en",
    notes: Sequence[str] = (),
) -> str:
    """The summary; finding messages and fixes in ``lang`` (its headings stay English: it is CI's summary); ``notes``
    (the run's own, not inventory text) under the counts."""
    loc = Localizer(pack, lang)
    failing = report.failing()
    # A large estate counts ~940k open findings when not diffing: only the first rows are shown, so only they are
    # put in order (the tables and their "…and N more" are what sorting them all gave).
    counted_all = report.counted()
    counted = most_severe(counted_all, TOP_ROWS + DETAIL_ROWS)
    by_status: dict[str, list[Finding]] = {"open": [], "waived": [], "baseline": []}
    for f in report.findings:  # one pass over a large estate's ~940k
        by_status.setdefault(f.status, []).append(f)
    open_all, waived, baselined = by_status["open"], by_status["waived"], by_status["baseline"]
    verdict = "❌ failed" if failing else "✅ passed"
    lines = [f"## {title}: {verdict}", ""]
    scope = "new " if report.diff_base is not None else ""
    if report.fail_on == "never":
        lines.append(f"**{_plural(len(counted), scope + 'finding')}** (--fail-on never: the gate never fails).")
    elif failing:
        lines.append(f"**{_plural(len(failing), scope + 'finding')} at or above `{report.fail_on}`** fail the gate.")
    else:
        lines.append(f"No {scope}finding at or above `{report.fail_on}`.")
    lines.append("")
    if report.diff_base is not None:
        lines.append(
            f"Compared with {code(report.diff_base)}: **{len(report.new)} new** ({_sev_counts(counted_all)} open), "
            f"**{len(report.fixed)} fixed**, {report.unchanged_count} unchanged."
        )
    lines.append(f"All open findings: {_sev_counts(open_all)} · waived: {len(waived)} · baseline: {len(baselined)}")
    lines.append("")
    for text in notes:
        lines += [f"> **Note:** {cell(text)}", ""]
    for note in report.notes:
        lines.append(f"> ⚠️ **Waiver {note.kind}** ({code(str(note.waiver.location))}): {cell(note.message)}")
    if report.notes:
        lines.append("")
    if counted:
        heading = "New findings" if report.diff_base is not None else "Top findings"
        lines += [f"### {heading}", "", *_table(counted[:TOP_ROWS], pack, TOP_ROWS, loc), ""]
        explained = []
        for cid in dict.fromkeys(f.clause_id for f in counted[:TOP_ROWS]):
            clause = pack.clauses.get(cid)
            if clause is None:
                continue
            excerpt = f" — « {cell(clause.excerpt_fr)} »" if clause.excerpt_fr else ""
            explained.append(f"- **{cell(cid)}**: {cell(clause.summary_en)}{excerpt}")
        fixes = []
        for f in counted[:TOP_ROWS]:
            if f.remediation:
                fixes.append(f"- {code(str(f.location))} ({cell(f.rule_id)}): {cell(loc.remediation(f))}")
        if explained:
            lines += _details("Clauses and how to fix", [*explained, "", *dict.fromkeys(fixes)])
    if len(counted_all) > TOP_ROWS:
        more = counted[TOP_ROWS:]
        label = "More new findings" if report.diff_base is not None else "More open findings"
        total = len(counted_all) - TOP_ROWS
        lines += _details(f"{label} ({total})", _table(more, pack, DETAIL_ROWS, loc, total))
    counted_ids = {f.fingerprint for f in counted_all}
    rest_all = [f for f in open_all if f.fingerprint not in counted_ids]
    if rest_all:
        rest = most_severe(rest_all, DETAIL_ROWS)
        lines += _details(
            f"Open findings already present at the base ({len(rest_all)})",
            _table(rest, pack, DETAIL_ROWS, loc, len(rest_all)),
        )
    if report.fixed:
        lines += _details(
            f"Fixed by this change ({len(report.fixed)})", _table(list(report.fixed), pack, DETAIL_ROWS, loc)
        )
    if waived:
        body = ["| | Finding | Owner | Expires | Justification |", "|---|---|---|---|---|"]
        for f in waived[:DETAIL_ROWS]:
            w = f.waiver
            body.append(
                f"| {_ICON[f.severity]} | {cell(loc.message(f))} ({code(str(f.location))}) "
                f"| {cell(w.get('owner', ''))} "
                f"| {cell(w.get('expires', ''))} | {cell(w.get('justification', ''))} |"
            )
        lines += _details(f"Waived ({len(waived)})", body)
    if baselined:
        lines += _details(f"Accepted in the baseline ({len(baselined)})", _table(baselined, pack, DETAIL_ROWS, loc))
    text = "\n".join(lines).rstrip() + "\n"
    if len(text) > MAX_CHARS:
        cut = text.rfind("\n", 0, MAX_CHARS - 200)
        text = text[:cut] + "\n\n</details>\n\n…summary truncated; see the SARIF or JSON report for everything.\n"
    return text
