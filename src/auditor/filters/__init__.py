"""Filters between the findings and the formatters: waivers, baseline and diff against a git revision.

They never drop a finding: they set its status (``waived``, ``baseline``) or its change (new / unchanged, with the
fixed ones listed apart), and :class:`GateReport` says which findings fail the gate.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from auditor.filters import baseline as baseline_mod
from auditor.filters import waivers as waivers_mod
from auditor.filters.waivers import Waiver, WaiverNote
from auditor.findings import SEVERITY_RANK, Finding, Recorded, at_or_above


@dataclass(frozen=True)
class GateReport:
    """What a formatter needs to tell the gate's verdict.

    ``findings``: the current findings with their status (open, waived, baseline), sorted.
    ``diff_base``: the git revision compared against, or None (then every finding counts as new).
    ``new``: fingerprints of the findings absent at the base revision; ``fixed``: base findings gone now.
    """

    findings: tuple[Finding, ...]
    fail_on: str = "error"
    diff_base: str | None = None
    new: frozenset[str] = frozenset()
    fixed: tuple[Finding, ...] = ()
    notes: tuple[WaiverNote, ...] = ()
    baseline_file: str | None = None

    def is_new(self, f: Finding) -> bool:
        return self.diff_base is None or f.fingerprint in self.new

    def change(self, f: Finding) -> str:
        """'new' or 'unchanged' when diffing, else ''."""
        if self.diff_base is None:
            return ""
        return "new" if f.fingerprint in self.new else "unchanged"

    def counted(self) -> list[Finding]:
        """Open findings that the gate looks at: all of them, or only the new ones when diffing."""
        return list(self._counted)

    def failing(self) -> list[Finding]:
        """The findings that make the gate fail (exit 1)."""
        return list(self._failing)

    def fails(self) -> bool:
        return bool(self._failing)

    # Worked out once: a pull request's report asks for them several times (the exit code, the JSON's and SARIF's
    # gate, the footer), and at XL each pass looked at ~940k findings (0.3 s).
    @functools.cached_property
    def _counted(self) -> tuple[Finding, ...]:
        if self.diff_base is None:
            return tuple(f for f in self.findings if f.status == "open")
        new = self.new
        return tuple(f for f in self.findings if f.fingerprint in new and f.status == "open")

    @functools.cached_property
    def _failing(self) -> tuple[Finding, ...]:
        return tuple(at_or_above(self._counted, self.fail_on))

    def is_failing(self, f: Finding) -> bool:
        return (
            f.status == "open"
            and self.is_new(f)
            and self.fail_on != "never"
            and SEVERITY_RANK[f.severity] <= SEVERITY_RANK[self.fail_on]
        )

    @functools.cached_property
    def unchanged_count(self) -> int:
        """How many findings were already there at the base revision (0 when not diffing): counted once, not listed
        (the annotations, the job summary and the text footer each said it; XL: ~940k)."""
        if self.diff_base is None:
            return 0
        findings = self.findings
        return len(findings) - sum(map(self.new.__contains__, map(attrgetter("fingerprint"), findings)))

    def foremost(self, n: int) -> tuple[Finding, ...]:
        """The ``n`` findings that matter most, in report order: open before waived or baselined, new before
        unchanged (when diffing), then the most severe, then report order (so the findings failing the gate come
        first). All of them when there are no more than ``n``. For a reader that takes only so many: GitHub code
        scanning refuses a SARIF run of more than 25,000 results."""
        findings = self.findings
        if len(findings) <= n:
            return findings
        diffing, new = self.diff_base is not None, self.new
        buckets: defaultdict[tuple[bool, bool, int], list[int]] = defaultdict(list)
        for i, f in enumerate(findings):  # one pass, no sort of a large estate's ~940k
            buckets[f.status != "open", diffing and f.fingerprint not in new, SEVERITY_RANK[f.severity]].append(i)
        chosen: list[int] = []
        for key in sorted(buckets):
            chosen += buckets[key][: n - len(chosen)]
            if len(chosen) >= n:
                break
        chosen.sort()
        return tuple(findings[i] for i in chosen)


def _severity_order(f: Finding) -> tuple[Any, ...]:
    return (SEVERITY_RANK[f.severity], f.sort_key())


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then in report order (file, line, rule)."""
    return sorted(findings, key=_severity_order)


def most_severe(findings: Iterable[Finding], n: int) -> list[Finding]:
    """``by_severity(findings)[:n]`` without sorting them all: a summary shows a few of a large estate's ~940k."""
    return heapq.nsmallest(n, findings, key=_severity_order)


def gate(
    findings: Sequence[Finding],
    *,
    fail_on: str = "error",
    waivers: Sequence[Waiver] = (),
    baseline: frozenset[str] | None = None,
    baseline_file: str | None = None,
    base_findings: Sequence[Finding] | Recorded | None = None,
    diff_base: str | None = None,
    today: dt.date | None = None,
) -> GateReport:
    """Apply waivers, then the baseline, then the diff against the base revision's findings (built, or read back
    from a stored audit: :class:`Recorded`)."""
    current, notes = waivers_mod.apply(findings, waivers, today or dt.date.today())
    if baseline is not None:
        current = baseline_mod.apply(current, baseline)
    new: frozenset[str] = frozenset()
    fixed: tuple[Finding, ...] = ()
    if base_findings is not None:
        base = base_findings if isinstance(base_findings, Recorded) else Recorded.of(base_findings)
        now = {f.fingerprint for f in current}
        new = base.new(now)
        fixed = tuple(base.gone(now))
    return GateReport(
        findings=tuple(current),
        fail_on=fail_on,
        diff_base=diff_base if base_findings is not None else None,
        new=new,
        fixed=fixed,
        notes=tuple(notes),
        baseline_file=baseline_file,
    )


__all__ = ["GateReport", "Waiver", "WaiverNote", "by_severity", "gate", "most_severe"]
