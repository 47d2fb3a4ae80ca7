"""GitHub Actions workflow commands: one annotation per finding the gate counts, then a summary notice.

GitHub shows at most 10 error, 10 warning and 10 notice annotations per step and drops the rest silently, so this
formatter picks what to show: the most severe first, expired-waiver warnings before finding warnings, at most 9
notices (the 10th is the summary line, which counts what was not annotated). Values are escaped as the Actions
toolkit does (``%``, CR, LF in the message; also ``:`` and ``,`` in properties).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from operator import attrgetter

from auditor.errors import Location
from auditor.escape import printable
from auditor.filters import GateReport, most_severe
from auditor.findings import Finding
from auditor.formats import markdown
from auditor.formats.sarif import PathMap
from auditor.policy.catalogue import SEVERITIES, PolicyPack

LIMITS = {"error": 10, "warning": 10, "notice": 10}
COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """The Actions toolkit's escaping (``%``, CR, LF), then every other control character made visible (an ESC or
    OSC sequence in a name would otherwise reach the log viewer)."""
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _no_repo(_shown: str) -> str | None:
    return None


def command(
    kind: str, message: str, *, location: Location | None = None, title: str = "", repo_paths: PathMap = _no_repo
) -> str:
    """One workflow command; ``file=`` is relative to the top of the git work tree when ``repo_paths`` knows it
    (that is what GitHub resolves annotations against), else the path as the finding carries it."""
    props: list[tuple[str, str]] = []
    if location is not None and location.file:
        props.append(("file", repo_paths(location.file) or location.file))
        if location.line > 0:
            props.append(("line", str(location.line)))
            if location.column > 0:
                props.append(("col", str(location.column)))
    if title:
        props.append(("title", title))
    head = ",".join(f"{k}={escape_property(v)}" for k, v in props)
    return f"::{kind}{' ' + head if head else ''}::{escape_data(message)}"


def _finding_message(f: Finding, report: GateReport) -> str:
    lines = [f.message]
    if f.evidence:
        lines.append("Path: " + " -> ".join(f.evidence))
    if f.remediation:
        lines.append(f"Fix: {f.remediation}")
    tail = f"Rule {f.rule_id} ({f.verdict}), clause {f.clause_id}"
    if report.change(f) == "new":
        tail += f", new since {report.diff_base}"
    lines.append(tail)
    return "\n".join(lines)


def render(report: GateReport, pack: PolicyPack, *, repo_paths: PathMap = _no_repo) -> str:
    """Annotations for the findings the gate counts (open, and new when diffing), then one summary notice."""
    budget = {"error": LIMITS["error"], "warning": LIMITS["warning"], "notice": LIMITS["notice"] - 1}
    lines: list[str] = []
    skipped = {"error": 0, "warning": 0, "info": 0}
    shown = {"error": 0, "warning": 0, "info": 0}

    def emit(kind: str, line: str) -> bool:
        if budget[kind] <= 0:
            return False
        budget[kind] -= 1
        lines.append(line)
        return True

    expired = [n for n in report.notes if n.kind == "expired"]
    unused = [n for n in report.notes if n.kind != "expired"]
    notes_dropped = 0
    for note in expired:
        if not emit(
            "warning",
            command(
                "warning", note.message, location=note.waiver.location, title="Expired waiver", repo_paths=repo_paths
            ),
        ):
            notes_dropped += 1
    # The most severe first (errors, warnings, then info), each kind up to what is left of its budget: only those are
    # put in order (a large estate counts ~940k open findings when not diffing; the annotations are the first of
    # by_severity's order, as when they were all sorted).
    of_severity: dict[str, list[Finding]] = {s: [] for s in SEVERITIES}
    for f in report.counted():
        of_severity[f.severity].append(f)
    for severity, found in of_severity.items():
        kind = COMMAND[severity]
        for f in most_severe(found, max(budget[kind], 0)):
            clause = pack.clauses.get(f.clause_id)
            law = f" [{clause.source.upper()}]" if clause is not None and clause.law else ""
            title = f"{f.clause_id}{law}: {f.title}"
            emit(
                kind,
                command(kind, _finding_message(f, report), location=f.location, title=title, repo_paths=repo_paths),
            )
            shown[severity] += 1
        skipped[severity] += len(found) - shown[severity]
    for note in unused:
        if not emit(
            "warning",
            command(
                "warning", note.message, location=note.waiver.location, title="Unused waiver", repo_paths=repo_paths
            ),
        ):
            notes_dropped += 1

    verdict = "FAILED" if report.fails() else "passed"
    scope = "new " if report.diff_base is not None else ""
    total = len(report.counted())
    summary = (
        f"auditor: gate {verdict} (--fail-on {report.fail_on}); {total} open {scope}finding{'s' if total != 1 else ''}"
    )
    summary += f" ({shown['error'] + skipped['error']} error, {shown['warning'] + skipped['warning']} warning, "
    summary += f"{shown['info'] + skipped['info']} info)"
    if any(skipped.values()) or notes_dropped:
        summary += (
            f"; not annotated (GitHub shows 10 per kind): {skipped['error']} error, {skipped['warning']} warning, "
            f"{skipped['info']} info"
        )
        if notes_dropped:
            summary += f", {notes_dropped} waiver note{'s' if notes_dropped != 1 else ''}"
        summary += " — see the job summary or the SARIF report"
    if report.diff_base is not None:
        summary += f"; {len(report.fixed)} fixed, {report.unchanged_count} unchanged since {report.diff_base}"
    statuses = Counter(map(attrgetter("status"), report.findings))  # one pass, in C: a large estate has ~940k
    waived, baselined = statuses["waived"], statuses["baseline"]
    if waived or baselined:
        summary += f"; {waived} waived, {baselined} in baseline"
    lines.append(command("notice", summary, title="auditor summary"))
    return "\n".join(lines) + "\n"


def step_summary(report: GateReport, pack: PolicyPack, notes: Sequence[str] = ()) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY`` (the CLI appends it when the variable is set); ``notes``: what the run
    says of itself (the SARIF it wrote holding only some results), shown under the counts."""
    return markdown.render(report, pack, notes=notes)
