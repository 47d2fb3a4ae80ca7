"""The CI gate's wiring, called by ``auditor check``: waivers, baseline and diff around the audit, then the report in
the chosen format. Kept out of cli.py so the command stays a thin shell; the CLI still owns I/O and exit codes."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from auditor import filters, inventory, pipeline
from auditor.errors import AuditorError, InputError, Problem
from auditor.escape import printable, safe_line
from auditor.filters import GateReport, baseline, gitrev, waivers
from auditor.findings import Finding, Recorded, from_compressed_table, to_compressed_table
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


@dataclass(frozen=True)
class GateInputs:
    """Everything the gate reads besides the audited inventory, read and checked before the audit (fail fast: a typo
    in the waivers file must not cost a whole audit first)."""

    waivers: tuple[waivers.Waiver, ...] = ()
    baseline: frozenset[str] | None = None
    base_inventory: Inventory | None = None  # the inventory at --diff-base (None: it did not exist there)
    # The findings at --diff-base read back from the cache (a --cache run audited exactly those files before):
    # the base inventory is then neither loaded nor audited again.
    base_findings: Recorded | None = None
    # The base's files as a stored audit of them is keyed and read: (name, digest, name shown), sorted by name.
    base_files: tuple[tuple[str, bytes, str], ...] = ()
    # A stored audit of the base still being checked by a helper process while the working tree loads (:func:`settle`).
    base_pending: pipeline.PendingAudit | None = None


def _keyed(rev: str, digests: Iterable[tuple[str, bytes]]) -> tuple[tuple[str, bytes, str], ...]:
    """The base's files as a stored audit is looked up by: ``(name, content digest, name shown in this run)``."""
    return tuple((name, digest, f"{rev}:{name}") for name, digest in digests)


def load_base(
    rev: str, paths: Sequence[Path], stored: pipeline.StoredBase | None = None
) -> tuple[Inventory | Recorded | pipeline.PendingAudit | None, tuple[tuple[str, bytes, str], ...]]:
    """The inventory at git revision ``rev``, loaded and validated (None if it did not exist there); or, when
    ``stored`` holds an audit of exactly these files, its findings (such an audit was only stored after these bytes
    loaded and validated, with this auditor and this pack). And its files as the audit is looked up by
    (:attr:`GateInputs.base_files`).

    The files' digests are first looked up by their git blob ids (``git ls-tree``), as a run that read the same
    bytes stored them (:meth:`pipeline.PartitionCache.known_tree`): a stored audit is then found without reading the
    files from git. Otherwise they are read, and, when a stored audit is found by their digests, their blob ids
    stored for the next run."""
    listed = None
    if stored is not None:
        listed = gitrev.tree(rev, paths)
        if not listed:
            return None, ()
        digests = stored.digests([(name, blob) for name, _, blob in listed])
        if digests is not None:
            keyed = _keyed(rev, zip([name for name, _, _ in listed], digests, strict=True))
            found = stored.audit(keyed)
            if found is not None:
                return found, keyed
    files = gitrev.read_files(rev, paths, listed)
    if not files:
        return None, ()
    digested = sorted((name, blob, inventory.content_digest(data)) for name, blob, data in files)
    keyed = _keyed(rev, [(name, digest) for name, _, digest in digested])
    if stored is not None:
        found = stored.audit(keyed)
        if found is not None:
            stored.keep_digests([(name, blob) for name, blob, _ in digested], [digest for _, _, digest in digested])
            return found, keyed
    shown = [(f"{rev}:{name}", bytes(data)) for name, _, data in files]
    del files
    try:
        with pipeline.long_lived():
            return inventory.load_sources(shown, where=f"{rev}:{', '.join(str(p) for p in paths)}"), keyed
    except InputError as exc:
        raise _rebase(exc, rev) from None


def audit_base_first(inputs: GateInputs, pack: PolicyPack, engine: Engine, *, message_args: bool) -> GateInputs:
    """``inputs`` with the --diff-base revision's inventory, when it was loaded (no stored audit of it), audited now
    and replaced by its findings kept compact (:func:`auditor.findings.from_compressed_table` of the table the cache
    would store: fingerprints packed, the findings gone built only when asked for). The caller audits its own inventory
    afterwards, so the two revisions, each with its findings, are never in memory together: audited after the
    working tree, the base took a cold pull-request run on XL to 4 GiB. ``message_args``: keep what renders the
    messages in another language (the fixed findings are shown in the run's language); with it, and a store
    (``--cache``), the audit is stored too, for the next run against the same base (a pull request's next push)."""
    base = inputs.base_inventory
    if base is None:
        return inputs
    audited = pipeline.audit(base, pack, engine, message_args=message_args)
    found, partitions = audited.findings, audited.stored_partitions()
    del audited  # its lineage, when computed here
    names = sorted(base.files)
    table = to_compressed_table(found, names)
    recorded = None if table is None else from_compressed_table(table, names)
    if table is not None and message_args and [shown for _, _, shown in inputs.base_files] == names:
        # With --cache, the next run against the same base (the pull request's next push) reads it back. Stored with
        # the messages' arguments only, as the default branch's run stores its audit: a run in another language
        # reads it too.
        files = [(name, digest) for name, digest, _ in inputs.base_files]
        pipeline.SHARED.store_audit(pack, engine, files, table, partitions)
        if recorded is not None:
            # The working tree's audit takes the findings of the files its change does not reach from this one, as
            # it would from the stored audit.
            recorded.partitions = partitions
    # A finding the table cannot hold (none that an audit makes, see to_compressed_table): kept as it is.
    return replace(inputs, base_inventory=None, base_findings=recorded or Recorded.of(found))


def prepare(options: GateOptions, paths: Sequence[Path], stored: pipeline.StoredBase | None = None) -> GateInputs:
    """Read the waivers, the baseline and the --diff-base revision's inventory (or its findings, through ``stored``:
    :func:`load_base`); every problem of all three is reported together (exit 2) before anything is evaluated."""
    problems: list[Problem] = []
    waiver_list: list[waivers.Waiver] = []
    accepted: frozenset[str] | None = None
    base: Inventory | Recorded | pipeline.PendingAudit | None = None
    base_files: tuple[tuple[str, bytes, str], ...] = ()
    if options.waivers_file is not None:
        try:
            waiver_list = waivers.load(options.waivers_file)
        except InputError as exc:
            problems.extend(exc.problems)
    if options.baseline_file is not None:
        try:
            accepted = baseline.load(options.baseline_file)
        except InputError as exc:
            problems.extend(exc.problems)
    if options.diff_base is not None:
        try:
            base, base_files = load_base(options.diff_base, paths, stored)
        except AuditorError as exc:  # an unknown revision (usage) or an invalid base inventory (input): exit 2
            problems.extend(exc.problems)
    if problems:
        if isinstance(base, pipeline.PendingAudit):
            base.close()
        raise InputError(problems)
    if isinstance(base, pipeline.PendingAudit):
        return GateInputs(tuple(waiver_list), accepted, None, None, base_files, base)
    if isinstance(base, Recorded):
        return GateInputs(tuple(waiver_list), accepted, None, base, base_files)
    return GateInputs(tuple(waiver_list), accepted, base, None, base_files)


def settle(inputs: GateInputs, rev: str | None, paths: Sequence[Path]) -> GateInputs:
    """``inputs`` with the stored audit of the base that a helper was checking (:attr:`GateInputs.base_pending`)
    settled: its findings when it holds; when it does not, the base revision's inventory loaded instead, as a run
    without the stored audit loads it (the caller drops its own inventory and audits the base first:
    :func:`audit_base_first`, so that the two revisions are never in memory together)."""
    pending = inputs.base_pending
    if pending is None or rev is None:
        return inputs
    recorded = pending.settle()
    if recorded is not None:
        return replace(inputs, base_findings=recorded, base_pending=None)
    base, _ = load_base(rev, paths)
    if isinstance(base, Inventory):
        return replace(inputs, base_inventory=base, base_pending=None)
    return replace(inputs, base_pending=None)  # cannot happen: the files were there a moment ago


def release(inputs: GateInputs) -> None:
    """Stop the helper still checking a stored audit of the base (the run ended before :func:`settle`)."""
    if inputs.base_pending is not None:
        inputs.base_pending.close()


def build(
    findings: Sequence[Finding],
    paths: Sequence[Path],
    pack: PolicyPack,
    engine: Engine,
    options: GateOptions,
    inputs: GateInputs | None = None,
) -> tuple[GateReport, str | None]:
    """The gate report, and the baseline text to write when --write-baseline is given. ``inputs`` are the gate's
    files read beforehand (:func:`prepare`); without them they are read now."""
    if inputs is None:
        inputs = prepare(options, paths)
    inputs = settle(inputs, options.diff_base, paths)
    before: Recorded | list[Finding] | None = None
    if options.diff_base is not None:
        if inputs.base_inventory is not None:  # not audited yet (``check`` audits it first: audit_base_first)
            inputs = audit_base_first(inputs, pack, engine, message_args=True)
        before = inputs.base_findings if inputs.base_findings is not None else []

    def run(accepted_now: frozenset[str] | None, baseline_name: Path | None) -> GateReport:
        return filters.gate(
            findings,
            fail_on=options.fail_on,
            waivers=inputs.waivers,
            baseline=accepted_now,
            baseline_file=baseline_name.as_posix() if baseline_name is not None else None,
            base_findings=before,
            diff_base=options.diff_base,
        )

    report = run(inputs.baseline, options.baseline_file)
    if options.write_baseline is None:
        return report, None
    text = baseline.render(report.findings)
    # The run that writes a baseline reports as the next run reading it will: recorded findings are accepted.
    recorded = baseline.parse(text, options.write_baseline.as_posix())
    return run(recorded | (inputs.baseline or frozenset()), options.write_baseline), text


def _text_footer(report: GateReport, pack: PolicyPack, lang: str = "en") -> str:
    from auditor.i18n import Translator
    from auditor.localize import Localizer

    t = Translator(lang)
    loc = Localizer(pack, lang)
    lines: list[str] = []
    for note in report.notes:
        lines.append(safe_line(f"{note.waiver.location}: warning: {note.message}"))
    if report.diff_base is not None:
        new = [f for f in report.findings if report.change(f) == "new"]
        lines.append(
            t(
                "gate.compared",
                rev=printable(report.diff_base),
                new=len(new),
                fixed=len(report.fixed),
                same=report.unchanged_count,
            )
        )
        lines += [
            safe_line(
                f"  {t('gate.new')} {f.location}: {t('severity.' + f.severity)} {loc.message(f)} "
                f"[{t('status.' + f.status)}]"
            )
            for f in new
        ]
        lines += [
            safe_line(f"  {t('gate.fixed')} {f.location}: {t('severity.' + f.severity)} {loc.message(f)}")
            for f in report.fixed
        ]
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
    pieces = render_chunks(fmt, report, pack, inv, color=color, lang=lang)
    return "".join(p.decode("utf-8") if isinstance(p, bytes) else p for p in pieces)


def render_chunks(
    fmt: str,
    report: GateReport,
    pack: PolicyPack,
    inv: Inventory,
    *,
    color: bool = False,
    lang: str = "en",
    sarif_max_results: int | None = None,
) -> Iterable[str] | Iterable[bytes]:
    """The report in ``fmt`` as pieces to write in order: text, JSON and SARIF are produced a finding or a slice of
    findings at a time (a report of a large inventory is never one string in memory), the other formats are one
    piece. JSON and SARIF come as UTF-8 (:func:`auditor.formats.jsonstream.chunks`), the others as text. SARIF holds
    at most ``sarif_max_results`` results (:meth:`GateReport.foremost`)."""
    if fmt == "json":
        from auditor.formats import json_format
        from auditor.localize import Localizer

        return json_format.render_chunks(report.findings, _json_extra(report), Localizer(pack, lang))
    if fmt == "sarif":
        from auditor.formats import sarif

        return sarif.render_chunks(
            report, pack, inv, repo_paths=gitrev.repo_paths(), lang=lang, max_results=sarif_max_results
        )
    if fmt == "text":
        from auditor.formats import text as text_format

        body = text_format.render_chunks(list(report.findings), pack, color=color, files=len(inv.files), lang=lang)
        return itertools.chain(body, (_text_footer(report, pack, lang),))
    return (_render_whole(fmt, report, pack, lang),)


def _render_whole(fmt: str, report: GateReport, pack: PolicyPack, lang: str = "en") -> str:
    if fmt == "junit":
        from auditor.formats import junit

        return junit.render(report, pack, repo_paths=gitrev.repo_paths(), lang=lang)
    if fmt == "github":
        from auditor.formats import github

        return github.render(report, pack, repo_paths=gitrev.repo_paths())
    if fmt == "markdown":
        from auditor.formats import markdown

        return markdown.render(report, pack, lang=lang)
    raise ValueError(f"unknown report format {fmt!r}")


def sarif_limited(report: GateReport, max_results: int | None) -> str | None:
    """What to tell of a SARIF report that holds only ``max_results`` of the findings; None when it holds them all."""
    from auditor.formats import sarif

    note = sarif.omitted_note(len(report.findings), max_results)
    return None if note is None else "SARIF report: " + note


def step_summary(report: GateReport, pack: PolicyPack, notes: Sequence[str] = ()) -> str:
    from auditor.formats import github

    return github.step_summary(report, pack, notes)


__all__ = [
    "REPORT_FORMATS",
    "GateInputs",
    "GateOptions",
    "build",
    "prepare",
    "release",
    "render",
    "sarif_limited",
    "settle",
    "step_summary",
]
