"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One ``reportingDescriptor`` per Rego rule of the pack (sorted by id, so ``ruleIndex`` is stable), with the clause's
French excerpt, English summary and remediation in ``help``; one result per finding, located at the YAML node
(repo-relative ``uri`` under ``%SRCROOT%``), fingerprinted with the finding's fingerprint (no line numbers in it, so
code scanning keeps tracking an alert when unrelated edits move it). Waived and baselined findings carry an external
``suppressions`` entry with its justification; in diff mode ``baselineState`` says new or unchanged. Deterministic: no
timestamps, no absolute paths of the machine, sorted keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

from auditor import __version__
from auditor.errors import Location
from auditor.filters import GateReport
from auditor.findings import Finding
from auditor.formats import jsonstream
from auditor.localize import Localizer
from auditor.model import Inventory
from auditor.policy.catalogue import Clause, PolicyPack, Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/creality-privacy/auditor"
SRCROOT = "%SRCROOT%"
# Maps a path as findings carry it to its path relative to the top of its git work tree (None: not in one).
PathMap = Callable[[str], str | None]
FINGERPRINT_KEY = "auditorFingerprint/v1"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
# GitHub maps security-severity to critical >= 9.0, high >= 7.0, medium >= 4.0, low > 0.
SECURITY_SEVERITY = {"error": "7.5", "warning": "5.0", "info": "2.0"}
# GitHub code scanning refuses a run of more than this many results (the action's default --sarif-max-results).
CODE_SCANNING_MAX_RESULTS = 25_000


def _source_name(clause: Clause | None) -> str:
    if clause is None or not clause.law:
        return "policy"
    return clause.law


def _help_markdown(rule: Rule, clause: Clause | None) -> str:
    lines = [f"**{rule.title}**", "", rule.description, ""]
    if clause is not None:
        ref = f" ({clause.reference})" if clause.reference else ""
        lines.append(f"**Clause {clause.id}**{ref} — {clause.summary_en}")
        lines.append("")
        if clause.excerpt_fr:
            lines += [f"> {line}" if line else ">" for line in clause.excerpt_fr.splitlines()]
            lines.append("")
    remediation = rule.remediation or (clause.remediation if clause else "")
    if remediation:
        lines += [f"**How to fix:** {remediation}", ""]
    lines.append(f"Rule `{rule.id}` · severity {rule.severity} · verdict {rule.verdict}")
    return "\n".join(lines)


def _help_text(rule: Rule, clause: Clause | None) -> str:
    parts = [rule.title + ".", rule.description]
    if clause is not None:
        parts.append(f"Clause {clause.id}: {clause.summary_en}")
        if clause.excerpt_fr:
            parts.append(f"« {clause.excerpt_fr} »")
    remediation = rule.remediation or (clause.remediation if clause else "")
    if remediation:
        parts.append(f"Fix: {remediation}")
    return "\n".join(p for p in parts if p)


def _descriptor(rule: Rule, clause: Clause | None) -> dict[str, Any]:
    source = _source_name(clause)
    return {
        "id": rule.id,
        "name": "".join(w.capitalize() for w in rule.name.split("_")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description or rule.title},
        "help": {"text": _help_text(rule, clause), "markdown": _help_markdown(rule, clause)},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "tags": ["privacy", f"clause:{rule.clause}", f"source:{source}", f"verdict:{rule.verdict}"],
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": "high",
            "problem.severity": {"error": "error", "warning": "warning", "info": "recommendation"}[rule.severity],
            "clause": rule.clause,
            "source": source,
            "verdict": rule.verdict,
        },
    }


def _no_repo(_shown: str) -> str | None:
    return None


def _artifact(file: str, paths: PathMap) -> dict[str, Any]:
    relative = paths(file)
    if relative is not None:  # inside a git work tree: relative to its top, whatever the working directory
        return {"uri": quote(relative), "uriBaseId": SRCROOT}
    if file.startswith("/"):
        return {"uri": "file://" + quote(file)}
    return {"uri": quote(file), "uriBaseId": SRCROOT}


def _physical(loc: Location, artifact: dict[str, Any]) -> dict[str, Any]:
    """A ``physicalLocation`` at ``loc``, in the file whose ``artifactLocation`` is ``artifact`` (:func:`_artifact`)."""
    out: dict[str, Any] = {"artifactLocation": artifact}
    if loc.line > 0:
        out["region"] = {"startLine": loc.line, "startColumn": max(loc.column, 1)}
    return out


def _results(
    report: GateReport, inv: Inventory | None, paths: PathMap, index: dict[str, int], loc: Localizer
) -> Callable[[Finding], dict[str, Any]]:
    """What makes each finding's SARIF result, with the parts many results share made once: a file's
    ``artifactLocation`` (its path mapped and quoted), an evidence node's location, an evidence path's related
    locations and code flow. XL's pull request has 940k results naming ~10k files and ~10k nodes; making those parts
    again for each result was most of the time its SARIF (1.68 GB) took to write. Shared parts are never changed:
    each result is dumped as it is made."""
    artifacts: dict[str, dict[str, Any]] = {}
    nodes: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    paths_made: dict[tuple[str, ...], tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    localized = loc.localized if loc.active else None
    change = report.change
    baseline = f"accepted debt recorded in baseline{f' {report.baseline_file}' if report.baseline_file else ''}"

    def physical(at: Location) -> dict[str, Any]:
        artifact = artifacts.get(at.file)
        if artifact is None:
            artifact = artifacts[at.file] = _artifact(at.file, paths)
        return _physical(at, artifact)

    def node(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """An evidence node's location, and the same as a step of a thread flow."""
        found = nodes.get(name)
        if found is None:
            entity = inv.node(name) if inv is not None else None
            where: dict[str, Any] = {"message": {"text": name}}
            if entity is not None:
                where["physicalLocation"] = physical(entity.loc("id"))
            else:
                where["logicalLocations"] = [{"name": name, "kind": "resource"}]
            found = nodes[name] = (where, {"location": where, "nestingLevel": 0})
        return found

    def path(evidence: tuple[str, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The related locations and the code flow of an evidence path (many findings follow the same one)."""
        found = paths_made.get(evidence)
        if found is None:
            steps = [node(n) for n in evidence]
            related = [{"id": i, **where} for i, (where, _) in enumerate(steps, 1)]
            flow = {"message": {"text": " -> ".join(evidence)}, "threadFlows": [{"locations": [s for _, s in steps]}]}
            found = paths_made[evidence] = (related, [flow])
        return found

    def result(f: Finding) -> dict[str, Any]:
        subject = f"{f.subject_kind}/{f.subject_id}"
        properties: dict[str, Any] = {
            "clause": f.clause_id,
            "source": f.source,
            "verdict": f.verdict,
            "severity": f.severity,
            "subject": subject,
            "attribute": f.attribute,
            "status": f.status,
            "remediation": f.remediation,
        }
        out: dict[str, Any] = {
            "ruleId": f.rule_id,
            "ruleIndex": index[f.rule_id],
            "kind": "fail",
            "level": LEVELS[f.severity],
            "message": {"text": f"{f.message} [clause {f.clause_id}]"},
            "locations": [
                {
                    "physicalLocation": physical(f.location),
                    "logicalLocations": [{"name": f.subject_id, "kind": f.subject_kind, "fullyQualifiedName": subject}],
                }
            ],
            "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
            "properties": properties,
        }
        if localized is not None:
            properties["localized"] = localized(f)
        state = change(f)
        if state:
            out["baselineState"] = state
        if f.evidence:
            out["relatedLocations"], out["codeFlows"] = path(f.evidence)
        if f.status == "waived":
            w = f.waiver
            out["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": w.get("justification", ""),
                    "properties": {k: v for k, v in sorted(w.items()) if k != "justification"},
                }
            ]
        elif f.status == "baseline":
            out["suppressions"] = [{"kind": "external", "status": "accepted", "justification": baseline}]
        return out

    return result


def _notifications(report: GateReport, paths: PathMap) -> list[dict[str, Any]]:
    out = []
    for note in report.notes:
        out.append(
            {
                "descriptor": {"id": f"waiver-{note.kind}"},
                "level": "warning",
                "message": {"text": note.message},
                "locations": [
                    {"physicalLocation": _physical(note.waiver.location, _artifact(note.waiver.location.file, paths))}
                ],
            }
        )
    return out


def omitted_note(total: int, max_results: int | None) -> str | None:
    """What a SARIF log of ``total`` findings limited to ``max_results`` results says of the others (and the CLI on
    stderr); None when it holds them all."""
    if max_results is None or total <= max_results:
        return None
    return (
        f"{max_results:,} of {total:,} results written (--sarif-max-results): open before waived or baselined, new "
        "before unchanged, then the most severe. GitHub code scanning refuses a run of more than "
        f"{CODE_SCANNING_MAX_RESULTS:,} results; auditor's JSON and HTML reports hold every finding."
    )


def render(
    report: GateReport,
    pack: PolicyPack,
    inv: Inventory | None = None,
    *,
    repo_paths: PathMap = _no_repo,
    lang: str = "en",
    max_results: int | None = None,
) -> str:
    chunks = render_chunks(report, pack, inv, repo_paths=repo_paths, lang=lang, max_results=max_results)
    return b"".join(chunks).decode("utf-8")


def render_chunks(
    report: GateReport,
    pack: PolicyPack,
    inv: Inventory | None = None,
    *,
    repo_paths: PathMap = _no_repo,
    lang: str = "en",
    max_results: int | None = None,
) -> Iterator[bytes]:
    """The SARIF log in pieces of UTF-8 (:data:`jsonstream.SLICE` results each). ``repo_paths`` maps the paths
    findings carry to paths relative to the top of their git work tree (``gitrev.RepoPaths``); a path it cannot map
    stays as it is (relative to the working directory, or an absolute ``file://`` URI). With ``max_results``, only
    that many results (:meth:`GateReport.foremost`), and a notification and run properties saying how many were
    left out; the gate's verdict is still the whole report's."""
    rules: Sequence[Rule] = sorted(pack.rules, key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    chosen = report.findings if max_results is None else report.foremost(max_results)
    results = map(_results(report, inv, repo_paths, index, Localizer(pack, lang)), chosen)
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "toolConfigurationNotifications": _notifications(report, repo_paths),
    }
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "auditor",
                "fullName": "auditor — privacy policy-as-code auditor",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(r, pack.clauses.get(r.clause)) for r in rules],
            }
        },
        "automationDetails": {"id": "auditor/privacy/"},
        "originalUriBaseIds": {
            SRCROOT: {"description": {"text": "The top of the git work tree that holds the inventory."}}
        },
        "columnKind": "unicodeCodePoints",
        "invocations": [invocation],
        "results": None,
        "properties": {"failOn": report.fail_on, "gateFailed": report.fails()},
    }
    note = omitted_note(len(report.findings), max_results)
    if note is not None:
        invocation["toolExecutionNotifications"] = [
            {"descriptor": {"id": "results-limited"}, "level": "warning", "message": {"text": note}}
        ]
        run["properties"].update(resultsTotal=len(report.findings), resultsOmitted=len(report.findings) - len(chosen))
    if report.diff_base is not None:
        run["properties"]["diffBase"] = report.diff_base
        run["properties"]["fixed"] = [
            {
                "fingerprint": f.fingerprint,
                "ruleId": f.rule_id,
                "subject": f"{f.subject_kind}/{f.subject_id}",
                "message": f.message,
            }
            for f in report.fixed
        ]
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return jsonstream.chunks(log, ("runs", 0, "results"), results)
