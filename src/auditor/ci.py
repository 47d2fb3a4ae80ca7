"""The CI gate's wiring, called by ``auditor check``: waivers, baseline and diff around the audit, then the report in
the chosen format. Kept out of cli.py so the command stays a thin shell; the CLI still owns I/O and exit codes."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor import filters, inventory, pipeline
from auditor.errors import InputError, Location, Problem
from auditor.filters import GateReport, baseline, gitrev, waivers
from auditor.findings import Finding
from auditor.model import Inventory
from auditor.policy import Engine, PolicyPack

REPORT_FORMATS = ("text", "json", "sarif", "junit", "github", "markdown")


@dataclass(frozen=True)
class GateOptions:
    fail_on: str = "error"
    waivers_file: Path | None = None
    baseline_file: Path | None = None
    write_baseline: Path | None = None
    diff_base: str | None = None


def _rebase(exc: InputError, rev: str) -> InputError:
    """Problems of the base revision's inventory, named so that nobody looks for them in the working tree."""
    problems = [Problem(p.location, f"{p.message} (in the inventory at --diff-base {rev})") for p in exc.problems]
    return InputError(problems)


def base_findings(rev: str, paths: Sequence[Path], pack: PolicyPack, engine: Engine) -> list[Finding]:
    """The findings of the inventory at git revision ``rev`` (none if the inventory did not exist there)."""
    files = gitrev.read_files(rev, paths)
    if not files:
        return []
    shown = [(f"{rev}:{name}", data) for name, data in files]
    try:
        inv = inventory.load_sources(shown, where=f"{rev}:{', '.join(str(p) for p in paths)}")
    except InputError as exc:
        raise _rebase(exc, rev) from None
    return pipeline.audit(inv, pack, engine).findings


def build(
    findings: Sequence[Finding], paths: Sequence[Path], pack: PolicyPack, engine: Engine, options: GateOptions
) -> tuple[GateReport, str | None]:
    """The gate report, and the baseline text to write when --write-baseline is given."""
    waiver_list = waivers.load(options.waivers_file) if options.waivers_file is not None else []
    accepted = baseline.load(options.baseline_file) if options.baseline_file is not None else None
    before = base_findings(options.diff_base, paths, pack, engine) if options.diff_base is not None else None

    def run(accepted_now: frozenset[str] | None, baseline_name: Path | None) -> GateReport:
        return filters.gate(
            findings,
            fail_on=options.fail_on,
            waivers=waiver_list,
            baseline=accepted_now,
            baseline_file=baseline_name.as_posix() if baseline_name is not None else None,
            base_findings=before,
            diff_base=options.diff_base,
        )

    report = run(accepted, options.baseline_file)
    if options.write_baseline is None:
        return report, None
    text = baseline.render(report.findings)
    # The run that writes a baseline reports as the next run reading it will: recorded findings are accepted.
    recorded = baseline.parse(text, options.write_baseline.as_posix())
    return run(recorded | (accepted or frozenset()), options.write_baseline), text


def _text_footer(report: GateReport, lang: str = "en") -> str:
    from auditor.i18n import Translator

    t = Translator(lang)
    lines: list[str] = []
    for note in report.notes:
        lines.append(f"{note.waiver.location}: warning: {note.message}")
    if report.diff_base is not None:
        new = [f for f in report.findings if report.change(f) == "new"]
        lines.append(
            t("gate.compared", rev=report.diff_base, new=len(new), fixed=len(report.fixed), same=len(report.unchanged))
        )
        lines += [
            f"  {t('gate.new')} {f.location}: {t('severity.' + f.severity)} {f.message} [{f.status}]" for f in new
        ]
        lines += [f"  {t('gate.fixed')} {f.location}: {t('severity.' + f.severity)} {f.message}" for f in report.fixed]
    failing = report.failing()
    key = "gate.failed_new" if report.diff_base is not None else "gate.failed"
    verdict = t(key, n=len(failing), level=t("severity." + report.fail_on) if report.fail_on != "never" else "never")
    lines.append(verdict if failing else t("gate.passed", level=report.fail_on))
    return "\n".join(lines) + "\n"


def _json_extra(report: GateReport) -> dict[str, object]:
    from auditor.formats import json_format

    return {
        "gate": {
            "fail_on": report.fail_on,
            "failed": report.fails(),
            "diff_base": report.diff_base,
            "new": sorted(report.new),
            "fixed": [json_format.finding_dict(f) for f in report.fixed],
            "waiver_notes": [
                {"kind": n.kind, "message": n.message, "location": str(n.waiver.location)} for n in report.notes
            ],
        }
    }


def render(
    fmt: str, report: GateReport, pack: PolicyPack, inv: Inventory, *, color: bool = False, lang: str = "en"
) -> str:
    """The report in ``fmt`` (one of REPORT_FORMATS)."""
    return "".join(render_chunks(fmt, report, pack, inv, color=color, lang=lang))


def render_chunks(
    fmt: str, report: GateReport, pack: PolicyPack, inv: Inventory, *, color: bool = False, lang: str = "en"
) -> Iterable[str]:
    """The report in ``fmt`` as pieces of text to write in order: text, JSON and SARIF are produced one finding at a
    time (a report of a large inventory is never one string in memory), the other formats are one piece."""
    if fmt == "json":
        from auditor.formats import json_format

        return json_format.render_chunks(report.findings, _json_extra(report))
    if fmt == "sarif":
        from auditor.formats import sarif

        return sarif.render_chunks(report, pack, inv, repo_paths=gitrev.repo_paths())
    if fmt == "text":
        from auditor.formats import text as text_format

        body = text_format.render_chunks(list(report.findings), pack, color=color, files=len(inv.files), lang=lang)
        return itertools.chain(body, (_text_footer(report, lang),))
    return (_render_whole(fmt, report, pack),)


def _render_whole(fmt: str, report: GateReport, pack: PolicyPack) -> str:
    if fmt == "junit":
        from auditor.formats import junit

        return junit.render(report, pack, repo_paths=gitrev.repo_paths())
    if fmt == "github":
        from auditor.formats import github

        return github.render(report, pack, repo_paths=gitrev.repo_paths())
    if fmt == "markdown":
        from auditor.formats import markdown

        return markdown.render(report, pack)
    raise ValueError(f"unknown report format {fmt!r}")


def step_summary(report: GateReport, pack: PolicyPack) -> str:
    from auditor.formats import github

    return github.step_summary(report, pack)


def check_output_paths(options: GateOptions, output: Path | None) -> None:
    """Refuse to write a report or a baseline over the waivers file, or the report over the baseline it reads."""
    pairs = [
        (output, options.waivers_file),
        (output, options.baseline_file),
        (options.write_baseline, options.waivers_file),
    ]
    for target, source in pairs:
        if target is not None and source is not None and target.resolve() == source.resolve():
            raise InputError([Problem(Location(str(target)), "refusing to overwrite an input file of this run")])


__all__ = ["REPORT_FORMATS", "GateOptions", "build", "check_output_paths", "render", "step_summary"]
