"""JUnit XML for CI test reporters (GitHub test reporters, GitLab, Jenkins, Azure, CircleCI).

One ``<testsuite>`` per rule source (policy, gdpr, cnil, pipl), one ``<testcase>`` per (rule, subject) with a
finding — ``classname`` is the rule id, ``name`` is ``kind/id`` — and one passing ``<testcase>`` per rule without
findings, so reporters show what was checked. A testcase fails when one of its findings fails the gate (open, new
when diffing, at or above --fail-on); waived, baselined and pre-existing findings are ``<skipped>`` with the reason;
open findings below the threshold pass with their text in ``<system-out>``. Expired and unused waivers are
``<skipped>`` testcases of the ``auditor.waivers`` suite (a warning: an expired waiver's findings are open again and
fail on their own).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from auditor.errors import Location
from auditor.filters import GateReport
from auditor.findings import Finding
from auditor.formats.sarif import PathMap
from auditor.localize import Localizer
from auditor.policy.catalogue import PolicyPack

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _no_repo(_shown: str) -> str | None:
    return None


def _where(f: Finding, repo_paths: PathMap) -> str:
    loc = f.location
    return str(Location(repo_paths(loc.file) or loc.file, loc.line, loc.column))


def _describe(f: Finding, report: GateReport, repo_paths: PathMap = _no_repo, loc: Localizer | None = None) -> str:
    message = loc.message(f) if loc is not None else f.message
    remediation = loc.remediation(f) if loc is not None else f.remediation
    lines = [
        f"{_where(f, repo_paths)}: {f.severity}: {message}",
        f"clause {f.clause_id} ({f.source}), verdict {f.verdict}",
    ]
    if f.evidence:
        lines.append("path: " + " -> ".join(f.evidence))
    if remediation:
        lines.append(f"fix: {remediation}")
    change = report.change(f)
    if change:
        lines.append(f"{change} since {report.diff_base}")
    lines.append(f"fingerprint {f.fingerprint}")
    return "\n".join(lines)


def _skip_reason(f: Finding, report: GateReport) -> str:
    if f.status == "waived":
        w = f.waiver
        return f"waived until {w.get('expires', '?')} by {w.get('owner', '?')}: {w.get('justification', '')}"
    if f.status == "baseline":
        return "accepted debt recorded in the baseline"
    return f"already present at {report.diff_base}"


def render(report: GateReport, pack: PolicyPack, *, repo_paths: PathMap = _no_repo, lang: str = "en") -> str:
    """The JUnit XML; ``file``/``line`` of a testcase and the locations in its text are relative to the top of the
    git work tree when ``repo_paths`` knows it (test reporters link them to the repository). Messages, titles and
    fixes are in ``lang``."""
    loc = Localizer(pack, lang)
    cases: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in report.findings:
        cases[(f.rule_id, f"{f.subject_kind}/{f.subject_id}")].append(f)
    rules_with_findings = {rule for rule, _ in cases}
    suites: dict[str, list[ET.Element]] = defaultdict(list)
    totals = {"tests": 0, "failures": 0, "skipped": 0}

    for (rule_id, subject), found in sorted(cases.items()):
        rule = pack.rules_by_id.get(rule_id)
        source = found[0].source
        attrs = {"classname": rule_id, "name": subject, "time": "0"}
        first = found[0].location
        if first.file:
            attrs["file"] = _clean(repo_paths(first.file) or first.file)
            if first.line > 0:
                attrs["line"] = str(first.line)
        case = ET.Element("testcase", attrs)
        failing = [f for f in found if report.is_failing(f)]
        if failing:
            worst = failing[0]
            title = loc.rule_title(rule) if rule is not None else loc.title(worst)
            failure = ET.SubElement(
                case,
                "failure",
                {"message": _clean(f"[{worst.clause_id}] {loc.message(worst)}"), "type": f"{worst.severity}: {title}"},
            )
            failure.text = _clean("\n\n".join(_describe(f, report, repo_paths, loc) for f in failing))
            totals["failures"] += 1
        elif all(f.status != "open" or not report.is_new(f) for f in found):
            ET.SubElement(case, "skipped", {"message": _clean("; ".join(_skip_reason(f, report) for f in found))})
            totals["skipped"] += 1
        out = [f for f in found if f not in failing]
        if out:
            ET.SubElement(case, "system-out").text = _clean(
                "\n\n".join(_describe(f, report, repo_paths, loc) for f in out)
            )
        suites[source].append(case)
        totals["tests"] += 1

    for rule in sorted(pack.rules, key=lambda r: r.id):
        if rule.id in rules_with_findings:
            continue
        clause = pack.clauses.get(rule.clause)
        source = clause.source if clause is not None else "policy"
        suites[source].append(ET.Element("testcase", {"classname": rule.id, "name": "all subjects", "time": "0"}))
        totals["tests"] += 1

    for note in report.notes:
        case = ET.Element("testcase", {"classname": f"waiver.{note.kind}", "name": note.waiver.target, "time": "0"})
        ET.SubElement(case, "skipped", {"message": _clean(f"{note.waiver.location}: {note.message}")})
        suites["waivers"].append(case)
        totals["tests"] += 1
        totals["skipped"] += 1

    root = ET.Element(
        "testsuites",
        {
            "name": "auditor",
            "tests": str(totals["tests"]),
            "failures": str(totals["failures"]),
            "errors": "0",
            "skipped": str(totals["skipped"]),
            "time": "0",
        },
    )
    for source in sorted(suites):
        members = suites[source]
        failures = sum(1 for c in members if c.find("failure") is not None)
        skipped = sum(1 for c in members if c.find("skipped") is not None)
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": f"auditor.{source}",
                "tests": str(len(members)),
                "failures": str(failures),
                "errors": "0",
                "skipped": str(skipped),
                "time": "0",
            },
        )
        suite.extend(members)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
