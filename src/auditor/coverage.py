"""Clause coverage: which clauses the pack checks, with which rules, and how an inventory fares on each.

Shared by ``auditor clauses`` and the DPO report. Status of a clause (when findings are given):

* ``compliant``        a machine or evidence clause whose rules ran and left no open finding;
* ``findings``         open findings (counted by severity);
* ``evidence missing`` an evidence clause with open findings of verdict *gap* (the artefact is not referenced);
* ``not checkable``    the clause cannot be checked from an inventory (with the catalogue's reason);
* ``no rules``         a machine or evidence clause that no rule of the loaded packs checks yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.findings import Finding
from auditor.policy.catalogue import SEVERITIES, Clause, PolicyPack, Rule

STATUSES = ("compliant", "findings", "evidence missing", "not checkable", "no rules")


@dataclass(frozen=True, slots=True)
class ClauseCoverage:
    clause: Clause
    rules: tuple[Rule, ...]
    status: str | None = None  # None when no inventory was audited
    counts: Mapping[str, int] = field(default_factory=dict)  # open findings by severity
    waived: int = 0

    @property
    def checkable(self) -> bool:
        return self.clause.checkability in ("machine", "evidence")


def enabled_clauses(pack: PolicyPack) -> list[Clause]:
    """The policy's clauses and those of the overlays loaded in ``pack``, in catalogue order."""
    return [c for c in pack.clauses.values() if not c.law or c.law in pack.packs]


def _status(clause: Clause, rules: Sequence[Rule], open_findings: Sequence[Finding]) -> str:
    if clause.checkability not in ("machine", "evidence"):
        return "not checkable"
    if not rules:
        return "no rules"
    if not open_findings:
        return "compliant"
    if clause.checkability == "evidence" and any(f.verdict == "gap" for f in open_findings):
        return "evidence missing"
    return "findings"


def compute(pack: PolicyPack, findings: Iterable[Finding] | None = None) -> list[ClauseCoverage]:
    by_clause: dict[str, list[Finding]] = {}
    if findings is not None:
        for f in findings:
            by_clause.setdefault(f.clause_id, []).append(f)
    out: list[ClauseCoverage] = []
    for clause in enabled_clauses(pack):
        rules = tuple(sorted(pack.rules_for_clause(clause.id), key=lambda r: r.id))
        if findings is None:
            out.append(ClauseCoverage(clause, rules))
            continue
        mine = by_clause.get(clause.id, [])
        open_findings = [f for f in mine if f.status == "open"]
        counts = {s: sum(1 for f in open_findings if f.severity == s) for s in SEVERITIES}
        out.append(
            ClauseCoverage(clause, rules, _status(clause, rules, open_findings), counts, len(mine) - len(open_findings))
        )
    return out


def summary(coverage: Sequence[ClauseCoverage]) -> dict[str, int]:
    """Number of clauses per status (only statuses that occur), or per checkability without an audit."""
    out: dict[str, int] = {}
    for c in coverage:
        key = c.status if c.status is not None else c.clause.checkability
        out[key] = out.get(key, 0) + 1
    return out


def rule_dict(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity,
        "verdict": rule.verdict,
        "location": f"{rule.location.file}:{rule.location.line}",
    }


def clause_dict(c: ClauseCoverage) -> dict[str, Any]:
    clause = c.clause
    out: dict[str, Any] = {
        "id": clause.id,
        "source": clause.source,
        "heading": clause.heading,
        "kind": clause.kind,
        "checkability": clause.checkability,
        "excerpt_fr": clause.excerpt_fr,
        "summary_en": clause.summary_en,
        "summary_fr": clause.summary_fr,
        "rules": [rule_dict(r) for r in c.rules],
    }
    if clause.reference:
        out["reference"] = clause.reference
    if clause.checkability == "not_checkable":
        out["reason"] = clause.reason
    if c.status is not None:
        out["status"] = c.status
        out["open_findings"] = dict(c.counts)
        out["waived_findings"] = c.waived
    return out
