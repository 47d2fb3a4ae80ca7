"""The scenario corpus: a compliant baseline inventory and small overlays on it, each a violation a correct auditor
must report or a compliant trap it must not flag.

    python tests/scenarios/run.py [-v] [-k SUBSTRING] [--separate] [--show NAME]

prints one line per scenario and ends with ``recall N/M, traps clean K/T`` (known misses and known false alarms
listed). Exit status: 0 when every scenario behaves as recorded (known misses still missed), 1 on a regression, a
known miss that now passes (remove its marker) or a false alarm that is gone (remove it from false_alarms.yaml),
2 when a scenario file is malformed.

Every scenario is evaluated in this process through the project's public API (``auditor.inventory.load_sources``,
``auditor.pipeline``), with one policy pack and one engine loaded once. Most partitions of a scenario are
identical to the baseline's and rules are pure functions of their partition, so all the scenarios are evaluated
in one engine run, each distinct partition once (``pipeline.audit_many``); ``--separate`` audits each scenario on
its own with ``pipeline.audit``, the CLI's path, to check that both agree. The format: docs/accuracy.md.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BASELINE = HERE / "baseline"
CASES = HERE / "cases"
FALSE_ALARMS = HERE / "false_alarms.yaml"
POLICIES = ROOT / "policies"

SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
KINDS = ("organization", "purpose", "system", "field", "partner", "consent", "flow")
SECTIONS = {"purpose": "purposes", "system": "systems", "partner": "partners", "consent": "consents", "flow": "flows"}
SCENARIO_KEYS = {"description", "quote", "clauses", "expect", "trap", "known_miss", "patch", "defect", "note"}
EXPECT_KEYS = {"clause", "subject", "severity"}
VERBS = ("add", "set", "unset", "remove", "replace", "append")
ADDED_FILE = "zz-scenario.yaml"  # where `add` puts new entities (fields go into their system's file)


class ScenarioError(Exception):
    """A malformed scenario or an overlay that does not apply to the baseline."""


# ------------------------------------------------------------------------------------------------ the model


@dataclass(frozen=True)
class Expectation:
    """A finding a correct auditor must report: one of ``clauses``, about one of ``subjects`` (kind, id), at
    ``severity`` or above. Alternatives are for the cases where the policy supports either reading."""

    clauses: tuple[str, ...]
    subjects: tuple[tuple[str, str], ...]
    severity: str = "error"

    def met_by(self, seen: Seen) -> bool:
        return (
            seen.clause in self.clauses
            and (seen.kind, seen.id) in self.subjects
            and SEVERITY_RANK[seen.severity] <= SEVERITY_RANK[self.severity]
        )

    def text(self) -> str:
        subjects = " | ".join(f"{k}/{i}" if i else k for k, i in self.subjects)
        return f"{' | '.join(self.clauses)} on {subjects} (>= {self.severity})"


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    description: str
    quote: str
    clauses: tuple[str, ...]
    expect: tuple[Expectation, ...]
    trap: bool
    known_miss: str | None
    patch: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class FalseAlarm:
    clause: str
    kind: str
    id: str
    reason: str


@dataclass(frozen=True)
class Seen:
    """The part of a finding the corpus judges."""

    fingerprint: str
    rule: str
    clause: str
    severity: str
    kind: str
    id: str
    message: str

    def text(self) -> str:
        return f"{self.severity} {self.clause} {self.kind}/{self.id} [{self.rule}]: {self.message}"


@dataclass
class Result:
    scenario: Scenario
    detected: bool  # violation: every expectation met / trap: no new error
    missing: list[Expectation] = field(default_factory=list)
    new_errors: list[Seen] = field(default_factory=list)  # findings at error level absent from the baseline
    new_findings: list[Seen] = field(default_factory=list)  # every finding absent from the baseline
    crash: str = ""  # the tool raised instead of reporting

    @property
    def ok(self) -> bool:
        """Behaves as recorded: passes, or is a known miss that still fails."""
        return self.detected != bool(self.scenario.known_miss)

    @property
    def verdict(self) -> str:
        if self.scenario.known_miss:
            return "KNOWN MISS" if not self.detected else "FIXED (remove known_miss)"
        if self.scenario.trap:
            return "clean" if self.detected else "FALSE ALARM"
        return "caught" if self.detected else "MISSED"


# ------------------------------------------------------------------------------------------------ reading files


def _subject(text: Any, where: str) -> tuple[str, str]:
    if not isinstance(text, str) or "/" not in text:
        if text == "organization":  # the one organization: findings name it organization/organization
            return "organization", "organization"
        raise ScenarioError(f"{where}: subject must be 'kind/id' (kinds: {', '.join(KINDS)}), got {text!r}")
    kind, _, ident = text.partition("/")
    if kind not in KINDS:
        raise ScenarioError(f"{where}: unknown entity kind {kind!r} (kinds: {', '.join(KINDS)})")
    return kind, ident


def read_scenario(path: Path) -> Scenario:
    where = str(path.relative_to(ROOT))
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: a scenario is a mapping")
    unknown = set(data) - SCENARIO_KEYS
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(SCENARIO_KEYS)}")
    for key in ("description", "quote", "clauses", "patch"):
        if not data.get(key):
            raise ScenarioError(f"{where}: '{key}' is required")
    trap = data.get("trap", False) is True
    expect_raw = data.get("expect") or []
    if trap == bool(expect_raw):
        raise ScenarioError(f"{where}: give either 'expect' (a violation) or 'trap: true' (compliant), not both")
    expect = []
    for i, item in enumerate(expect_raw):
        if not isinstance(item, dict) or set(item) - EXPECT_KEYS or not {"clause", "subject"} <= set(item):
            raise ScenarioError(f"{where}: expect[{i}] needs 'clause' and 'subject' (and optionally 'severity')")
        subjects = item["subject"] if isinstance(item["subject"], list) else [item["subject"]]
        clauses_ = item["clause"] if isinstance(item["clause"], list) else [item["clause"]]
        severity = item.get("severity", "error")
        if severity not in SEVERITY_RANK:
            raise ScenarioError(f"{where}: expect[{i}].severity must be one of {list(SEVERITY_RANK)}")
        expect.append(
            Expectation(
                tuple(str(c) for c in clauses_),
                tuple(_subject(s, f"{where}: expect[{i}]") for s in subjects),
                severity,
            )
        )
    patch = data["patch"]
    if not isinstance(patch, list) or not all(isinstance(p, dict) for p in patch):
        raise ScenarioError(f"{where}: 'patch' is a list of operations")
    clauses = data["clauses"]
    if isinstance(clauses, str):
        clauses = [clauses]
    known = data.get("known_miss")
    return Scenario(
        name=path.stem,
        path=path,
        description=str(data["description"]),
        quote=str(data["quote"]),
        clauses=tuple(str(c) for c in clauses),
        expect=tuple(expect),
        trap=trap,
        known_miss=str(known) if known else None,
        patch=tuple(patch),
    )


def read_scenarios(directory: Path = CASES) -> list[Scenario]:
    return [read_scenario(p) for p in sorted(directory.glob("*.yaml"))]


def read_false_alarms(path: Path = FALSE_ALARMS) -> list[FalseAlarm]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for i, item in enumerate(data.get("false_alarms") or []):
        kind, ident = _subject(item.get("subject"), f"{path.name}: false_alarms[{i}]")
        if not item.get("clause") or not item.get("reason"):
            raise ScenarioError(f"{path.name}: false_alarms[{i}] needs 'clause', 'subject' and 'reason'")
        out.append(FalseAlarm(str(item["clause"]), kind, ident, str(item["reason"])))
    return out


class Baseline:
    """The baseline inventory as plain YAML documents, one per file, to be patched and written back."""

    def __init__(self, directory: Path = BASELINE) -> None:
        self.directory = directory
        self.files: dict[str, dict[str, Any]] = {}
        for p in sorted(directory.rglob("*.yaml")):
            rel = p.relative_to(directory).as_posix()
            self.files[rel] = yaml.load(p.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        self._dumped = {rel: _dump(doc) for rel, doc in self.files.items()}

    def sources(self, name: str = "baseline", patch: Sequence[dict[str, Any]] = ()) -> list[tuple[str, bytes]]:
        """The baseline's files with ``patch`` applied, as ``(shown path, content)`` pairs for ``load_sources``.
        Every inventory is shown under the same paths, so that files the patch leaves alone give byte-identical
        partitions."""
        touched = {self._file_of(op) for op in patch}
        docs = {rel: copy.deepcopy(doc) if rel in touched else doc for rel, doc in self.files.items()}
        docs[ADDED_FILE] = {"version": 1}
        for i, op in enumerate(patch):
            try:
                _apply(docs, op)
            except ScenarioError as exc:
                raise ScenarioError(f"{name}: patch[{i}]: {exc}") from None
        if docs[ADDED_FILE] == {"version": 1}:
            del docs[ADDED_FILE]
        return [
            (f"scenario/{rel}", _dump(doc) if rel in touched or rel not in self.files else self._dumped[rel])
            for rel, doc in docs.items()
        ]

    def _file_of(self, op: dict[str, Any]) -> str:
        """The baseline file an operation changes (only those files are copied and written again)."""
        if "add" in op:
            if op["add"] != "fields":
                return ADDED_FILE
            target = f"system/{op.get('system')}"
        else:
            target = next((op[v] for v in VERBS if v in op), "")
        for rel, doc in self.files.items():
            try:
                _find({rel: doc}, target)
            except ScenarioError:
                continue
            return rel
        return ADDED_FILE  # an entity the patch itself adds; _apply reports a target that exists nowhere


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(doc: dict[str, Any]) -> bytes:
    return yaml.dump(doc, Dumper=_DUMPER, sort_keys=False, allow_unicode=True).encode("utf-8")


# ------------------------------------------------------------------------------------------------ the overlay format


def _entities(docs: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any], list[Any]]]:
    """Every (kind, id, mapping, containing list) of the documents, fields included."""
    for doc in docs.values():
        if isinstance(doc.get("organization"), dict):
            yield "organization", "organization", doc["organization"], []
        for kind, section in SECTIONS.items():
            for item in doc.get(section) or []:
                yield kind, str(item.get("id")), item, doc[section]
                if kind == "system":
                    for f in item.get("fields") or []:
                        yield "field", str(f.get("id")), f, item["fields"]


def _find(docs: dict[str, dict[str, Any]], target: str) -> tuple[dict[str, Any], list[Any]]:
    kind, ident = _subject(target, "target")
    for k, i, mapping, container in _entities(docs):
        if k == kind and i == ident:
            return mapping, container
    raise ScenarioError(f"no {kind} {ident!r} in the baseline")


_STEP = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


def _steps(path: str) -> list[str | int | tuple[str, str]]:
    """``a.b[2].c[name=_ga].d`` -> ['a', 'b', 2, 'c', ('name', '_ga'), 'd']."""
    out: list[str | int | tuple[str, str]] = []
    for key, selector in _STEP.findall(path):
        if key:
            out.append(key)
        elif selector.isdigit():
            out.append(int(selector))
        elif "=" in selector:
            k, _, v = selector.partition("=")
            out.append((k, v))
        else:
            raise ScenarioError(f"bad selector [{selector}] in path {path!r}")
    if not out:
        raise ScenarioError("empty path")
    return out


def _walk(node: Any, step: str | int | tuple[str, str], create: bool) -> Any:
    if isinstance(step, tuple):
        if not isinstance(node, list):
            raise ScenarioError(f"selector [{step[0]}={step[1]}] applied to a non-list")
        for item in node:
            if isinstance(item, dict) and str(item.get(step[0])) == step[1]:
                return item
        raise ScenarioError(f"no item with {step[0]}={step[1]}")
    if isinstance(step, int):
        if not isinstance(node, list) or step >= len(node):
            raise ScenarioError(f"index [{step}] out of range")
        return node[step]
    if not isinstance(node, dict):
        raise ScenarioError(f"key {step!r} applied to a non-mapping")
    if step not in node:
        if not create:
            raise ScenarioError(f"no key {step!r}")
        node[step] = {}
    return node[step]


def _parent(root: dict[str, Any], path: str, create: bool) -> tuple[Any, str | int | tuple[str, str]]:
    steps = _steps(path)
    node: Any = root
    for step in steps[:-1]:
        node = _walk(node, step, create)
    return node, steps[-1]


def _apply(docs: dict[str, dict[str, Any]], op: dict[str, Any]) -> None:
    verbs = [v for v in VERBS if v in op]
    if len(verbs) != 1:
        raise ScenarioError(f"one of add/set/unset/remove/replace/append per operation, got {sorted(op)}")
    verb = verbs[0]
    if verb == "add":
        section, value = op["add"], op.get("value")
        if not isinstance(value, dict):
            raise ScenarioError("add needs a 'value' mapping")
        if section == "fields":
            system, _ = _find(docs, f"system/{op.get('system')}")
            system.setdefault("fields", []).append(value)
        elif section in SECTIONS.values():
            docs[ADDED_FILE].setdefault(section, []).append(value)
        else:
            raise ScenarioError(f"add: unknown section {section!r}")
        return
    mapping, container = _find(docs, op[verb])
    if verb == "remove":
        if not container:
            raise ScenarioError("the organization cannot be removed")
        container.remove(mapping)
        return
    if verb == "replace":
        if not isinstance(op.get("value"), dict):
            raise ScenarioError("replace needs a 'value' mapping")
        mapping.clear()
        mapping.update(op["value"])
        return
    path = op.get("path")
    if not isinstance(path, str):
        raise ScenarioError(f"{verb} needs a 'path'")
    node, last = _parent(mapping, path, create=(verb == "set"))
    if verb == "set":
        if "value" not in op:
            raise ScenarioError("set needs a 'value'")
        if isinstance(last, str) and isinstance(node, dict):
            node[last] = op["value"]
        elif isinstance(node, list):  # replace one item of a list, chosen by index or [key=value]
            node[node.index(_walk(node, last, False))] = op["value"]
        else:
            raise ScenarioError(f"cannot set {path!r}")
    elif verb == "unset":
        if isinstance(last, str) and isinstance(node, dict) and last in node:
            del node[last]
        elif isinstance(node, list):
            node.remove(_walk(node, last, False))
        else:
            raise ScenarioError(f"nothing to unset at {path!r}")
    else:  # append
        target = _walk(node, last, False)
        if not isinstance(target, list):
            raise ScenarioError(f"append: {path!r} is not a list")
        target.append(op.get("value"))


# ------------------------------------------------------------------------------------------------ running


class Runner:
    """One policy pack (the policy and every overlay: ``--law all``) and one engine for the whole corpus."""

    def __init__(self, engine: str | None = None) -> None:
        from auditor.policy import OVERLAYS, POLICY_PACK, load_pack, make_engine

        self.pack = load_pack(POLICIES, (POLICY_PACK, *OVERLAYS))
        self.engine = make_engine(engine or os.environ.get("AUDITOR_ENGINE", "embedded"))

    def findings_of(self, inventories: Sequence[Any], separate: bool = False) -> list[list[Seen] | str]:
        """The findings of each inventory, or the tool's error message when it failed on it: one engine run for
        all (``pipeline.audit_many``), or with ``separate`` one ``pipeline.audit`` each (the CLI's path: slower,
        for checking that both agree)."""
        from auditor import pipeline
        from auditor.errors import PolicyError

        found: list[Any] = []
        if separate:
            for inv in inventories:
                try:
                    found.append(pipeline.audit(inv, self.pack, self.engine, cache=None).findings)
                except PolicyError as exc:
                    found.append(exc)
        else:
            try:
                found = pipeline.audit_many(inventories, self.pack, self.engine, keep_errors=True)
            except PolicyError:  # an error the engine does not tie to a partition: audit one by one to place it
                return self.findings_of(inventories, separate=True)
        return [
            f"policy error: {(str(fs).splitlines() or [''])[0]}"
            if isinstance(fs, Exception)
            else [
                Seen(f.fingerprint, f.rule_id, f.clause_id, f.severity, f.subject_kind, f.subject_id, f.message)
                for f in fs
            ]
            for fs in found
        ]


def judge(scenario: Scenario, found: list[Seen], baseline: list[Seen]) -> Result:
    known = {s.fingerprint for s in baseline}
    new = [s for s in found if s.fingerprint not in known]
    new_errors = [s for s in new if s.severity == "error"]
    if scenario.trap:
        return Result(scenario, detected=not new_errors, new_errors=new_errors, new_findings=new)
    missing = [e for e in scenario.expect if not any(e.met_by(s) for s in new)]
    return Result(scenario, detected=not missing, missing=missing, new_errors=new_errors, new_findings=new)


@dataclass
class Corpus:
    baseline: list[Seen]
    false_alarms: list[FalseAlarm]
    results: list[Result]

    def baseline_errors(self) -> list[Seen]:
        return [s for s in self.baseline if s.severity == "error"]

    def unlisted_baseline_errors(self) -> list[Seen]:
        return [s for s in self.baseline_errors() if not any(_is(a, s) for a in self.false_alarms)]

    def gone_false_alarms(self) -> list[FalseAlarm]:
        return [a for a in self.false_alarms if not any(_is(a, s) for s in self.baseline_errors())]

    def figures(self) -> tuple[int, int, int, int]:
        violations = [r for r in self.results if not r.scenario.trap]
        traps = [r for r in self.results if r.scenario.trap]
        return (
            sum(r.detected for r in violations),
            len(violations),
            sum(r.detected for r in traps),
            len(traps),
        )

    def ok(self) -> bool:
        return all(r.ok for r in self.results) and not self.unlisted_baseline_errors() and not self.gone_false_alarms()


def _is(alarm: FalseAlarm, seen: Seen) -> bool:
    return alarm.clause == seen.clause and alarm.kind == seen.kind and alarm.id == seen.id


def run_corpus(
    scenarios: Iterable[Scenario] | None = None,
    runner: Runner | None = None,
    baseline: Baseline | None = None,
    separate: bool = False,
) -> Corpus:
    """Load the baseline and every scenario, audit them all, and judge each scenario against the baseline."""
    from auditor import inventory
    from auditor.errors import AuditorError

    runner = runner or Runner()
    baseline = baseline or Baseline()
    scenarios = read_scenarios() if scenarios is None else list(scenarios)
    # Every inventory is shown under the same paths, so that unchanged files give byte-identical partitions.
    base_inv = inventory.load_sources(baseline.sources())
    loaded: list[Any] = []
    refused: dict[str, str] = {}
    for sc in scenarios:
        sources = baseline.sources(sc.name, sc.patch)  # a malformed overlay is the corpus's bug: it raises
        try:
            loaded.append(inventory.load_sources(sources))
        except AuditorError as exc:  # the format cannot state the scenario (yet): a miss, or a false alarm
            refused[sc.name] = (str(exc).splitlines() or [""])[0]
    found = runner.findings_of([base_inv, *loaded], separate)
    base_found, per_scenario = found[0], iter(found[1:])
    if isinstance(base_found, str):
        raise ScenarioError(f"the tool fails on the baseline itself: {base_found}")
    results = []
    for sc in scenarios:
        outcome = f"input refused: {refused[sc.name]}" if sc.name in refused else next(per_scenario)
        if isinstance(outcome, str):  # the tool failed on a valid scenario: a miss, or a false alarm on a trap
            results.append(Result(sc, detected=False, missing=list(sc.expect), crash=outcome))
        else:
            results.append(judge(sc, outcome, base_found))
    return Corpus(base_found, read_false_alarms(), results)


# ------------------------------------------------------------------------------------------------ reporting


def report(corpus: Corpus, verbose: bool = False) -> str:
    lines = []
    base_errors = corpus.baseline_errors()
    lines.append(
        f"baseline: {len(corpus.baseline)} findings, {len(base_errors)} error(s)"
        + (f" (known false alarms: {len(corpus.false_alarms)})" if corpus.false_alarms else "")
    )
    for s in corpus.unlisted_baseline_errors():
        lines.append(f"  UNEXPECTED baseline error: {s.text()}")
    for a in corpus.gone_false_alarms():
        lines.append(f"  FIXED false alarm (remove it from false_alarms.yaml): {a.clause} {a.kind}/{a.id}")
    for r in corpus.results:
        sc = r.scenario
        kind = "trap" if sc.trap else "violation"
        lines.append(f"{r.verdict:<12} {kind:<9} {sc.name}  [{', '.join(sc.clauses)}]")
        if r.crash:
            lines.append(f"    tool error: {r.crash}")
        for e in r.missing:
            lines.append(f"    missing: {e.text()}")
        if sc.trap:
            for s in r.new_errors:
                lines.append(f"    new error: {s.text()}")
        if verbose:
            for s in r.new_findings:
                lines.append(f"    + {s.text()}")
    n, m, k, t = corpus.figures()
    lines.append("")
    misses = [r for r in corpus.results if r.scenario.known_miss and not r.scenario.trap]
    trap_misses = [r for r in corpus.results if r.scenario.known_miss and r.scenario.trap]
    if misses:
        lines.append("known misses:")
        lines.extend(f"  {r.scenario.name}: {r.scenario.known_miss}" for r in misses)
    if trap_misses or corpus.false_alarms:
        lines.append("known false alarms:")
        lines.extend(f"  {r.scenario.name}: {r.scenario.known_miss}" for r in trap_misses)
        lines.extend(f"  baseline {a.clause} {a.kind}/{a.id}: {a.reason}" for a in corpus.false_alarms)
    lines.append(f"recall {n}/{m}, traps clean {k}/{t}")
    return "\n".join(lines)


def clause_table(corpus: Corpus) -> str:
    """A Markdown table: for each clause, its violation scenarios caught / total, and the traps that tempt it."""
    rows: dict[str, list[int]] = {}
    for r in corpus.results:
        if r.scenario.trap:
            for c in r.scenario.clauses:
                rows.setdefault(c, [0, 0, 0, 0])[3 if r.detected else 2] += 1
            continue
        for c in dict.fromkeys(c for e in r.scenario.expect for c in e.clauses[:1]):
            rows.setdefault(c, [0, 0, 0, 0])
            rows[c][1] += 1
            rows[c][0] += r.detected
    out = ["| clause | violations caught | traps clean |", "|---|---|---|"]
    for c in sorted(rows, key=_clause_order):
        caught, total, trapped, clean = rows[c]
        v = f"{caught}/{total}" if total else "-"
        t = f"{clean}/{clean + trapped}" if clean + trapped else "-"
        out.append(f"| {c} | {v} | {t} |")
    return "\n".join(out)


def _clause_order(clause: str) -> tuple[int, str]:
    """Policy clauses in the document's order, then the overlays."""
    prefix = clause.split(".")[0]
    rank = {"PRE": 0, "I": 1, "II": 2, "III": 3, "IV": 4, "GDPR": 5, "CNIL": 6, "PIPL": 7}.get(prefix, 8)
    return rank, clause


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every new finding of each scenario")
    parser.add_argument("-k", dest="select", help="only scenarios whose name contains this")
    parser.add_argument(
        "--separate", action="store_true", help="audit each scenario on its own (pipeline.audit), not all in one run"
    )
    parser.add_argument("--show", metavar="NAME", help="print the patched inventory of one scenario and stop")
    parser.add_argument("--clauses", action="store_true", help="also print a Markdown table of the figures by clause")
    args = parser.parse_args(argv)
    try:
        scenarios = [s for s in read_scenarios() if not args.select or args.select in s.name]
        baseline = Baseline()
        if args.show:
            chosen = [s for s in scenarios if s.name == args.show]
            if not chosen:
                print(f"no scenario {args.show!r}", file=sys.stderr)
                return 2
            for shown, text in baseline.sources(args.show, chosen[0].patch):
                print(f"# ---- {shown}\n{text.decode('utf-8')}")
            return 0
        corpus = run_corpus(scenarios, Runner(), baseline, separate=args.separate)
    except ScenarioError as exc:
        print(f"scenario error: {exc}", file=sys.stderr)
        return 2
    print(report(corpus, args.verbose))
    if args.clauses:
        print("\n" + clause_table(corpus))
    return 0 if corpus.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
