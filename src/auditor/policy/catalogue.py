"""The policy pack: clause catalogue, Rego modules and the rule metadata read from them.

A pack directory holds ``clauses.yaml`` (the policy's clauses), optionally ``overlays.yaml`` (legal overlay
clauses) and ``rego/<pack>/**/*.rego``. Every check rule carries an OPA METADATA block::

    # METADATA
    # title: Data category collected that the policy never discloses
    # description: ...
    # custom:
    #   clause: I
    #   severity: error
    #   verdict: omitted
    #   remediation: ...
    undisclosed_category(inp) := [finding | some field in inp.fields; ...]

Check rules are functions of the partition input (the generated aggregator calls ``rule(input)``), so Rego tests
call a rule with a literal input. Python reads the annotations here (no engine needs ``rego.metadata`` at
evaluation time) and the rule id is ``<package>.<rule name>``. Every module's text passes :func:`guard.check_source`
(length limits, bracket nesting, refused builtins) before any engine sees it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import Location, PolicyError, Problem
from auditor.policy import guard

# libyaml's parser when PyYAML has it (same documents, ~10x faster): the catalogue and the METADATA blocks are parsed
# on every run, and with the pure-Python parser they were most of the CLI's start-up (~0.3 s of CPU).
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_YAML_LOADER)


SEVERITIES = ("error", "warning", "info")
VERDICTS = ("omitted", "incorrect", "vague", "ambiguous", "gap", "violation")
CHECKABILITY = ("machine", "evidence", "not_checkable")
POLICY_PACK = "creality"
OVERLAYS = ("gdpr", "cnil", "pipl")

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*$")
_RULE_HEAD = re.compile(r"^([a-z_][a-z0-9_]*)\s*(\(inp\)\s*:=|:=|=|contains\b|if\b|\[|\{)")
_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]+)\b")


@dataclass(frozen=True, slots=True)
class Clause:
    id: str
    kind: str
    checkability: str
    summary_en: str
    summary_fr: str = ""
    excerpt_fr: str = ""
    heading: str = ""
    reason: str = ""
    reason_fr: str = ""
    checks: str = ""
    remediation: str = ""
    remediation_fr: str = ""
    law: str = ""  # empty for the policy itself, else gdpr / cnil / pipl
    reference: str = ""  # legal reference of an overlay clause
    location: Location = field(default_factory=lambda: Location(""))

    @property
    def source(self) -> str:
        return self.law or "policy"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str  # <package>.<rule>
    package: str
    name: str
    pack: str
    title: str
    description: str
    clause: str
    severity: str
    verdict: str
    remediation: str
    location: Location

    @property
    def alone(self) -> str:
        """The name of the generated aggregator's rule holding this rule's findings alone (package
        ``auditor.generated``): when the aggregate is undefined, the rules missing from that package are the
        culprits."""
        return self.id.replace(".", "_")

    @property
    def entrypoint(self) -> str:
        """A rule evaluated on its own (to name the culprit of an engine error): ``auditor/generated/<n>``."""
        return f"{GENERATED}/{self.alone}"


@dataclass(frozen=True, slots=True)
class Module:
    name: str  # path relative to the rego root, used by engines for error locations
    path: Path
    text: str
    package: str
    is_test: bool


def modules_digest(modules: Iterable[Module]) -> str:
    """SHA-256 of a set of modules (names and texts, in order): what the engines key a compiled or checked pack by,
    and the OPA server engine's content-addressed policy ids."""
    h = hashlib.sha256()
    for m in modules:
        h.update(m.name.encode() + b"\0" + m.text.encode() + b"\0")
    return h.hexdigest()


# The generated aggregator's package (PolicyPack.aggregator): ``findings``, every rule's findings gathered, and one
# rule per pack rule holding its findings alone (Rule.alone), which name a culprit when ``findings`` is undefined.
GENERATED = "auditor/generated"
CATEGORY_FACTS = f"{GENERATED}/category_facts"
# The top-level key of a partition document under which the embedded engine adds the tabulated per-category facts
# (input.category_facts[category][package]); no other engine adds it, and inputs.py never uses it.
TABULATED_CATEGORY_FACTS = "category_facts"
TEST_RESULTS = "auditor/generated_tests/results"
_CATEGORY_FACTS_DEF = re.compile(r"^category_facts\(\w+\) :=", re.M)


@dataclass(frozen=True)
class PolicyPack:
    root: Path
    clauses: Mapping[str, Clause]
    modules: tuple[Module, ...]
    rules: tuple[Rule, ...]
    packs: tuple[str, ...] = field(default=(POLICY_PACK,))

    @cached_property
    def rules_by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def rules_for_clause(self, clause_id: str) -> list[Rule]:
        return [r for r in self.rules if r.clause == clause_id]

    @cached_property
    def category_facts_packages(self) -> tuple[str, ...]:
        """The packages defining ``category_facts(cat)`` (creality.vocab and pipl.scope in the shipped pack), sorted.

        Each package's rules read its per-category facts through its ``cat(x)``, which prefers the tabulated value
        (``input.category_facts[x.category][package]``, :data:`TABULATED_CATEGORY_FACTS`). The embedded engine
        tabulates every such function once per distinct category and adds the facts of a partition's categories
        to its document, because regorus does not memoise function calls (on M: 8.3 CPU-s with, 13.8 without);
        other engines compute them in place. (Engine data would do too, but any data document makes every
        ``data.`` reference slower there.)"""
        return tuple(sorted({m.package for m in self.policy_modules if _CATEGORY_FACTS_DEF.search(m.text)}))

    @property
    def policy_modules(self) -> tuple[Module, ...]:
        return tuple(m for m in self.modules if not m.is_test)

    def aggregator(self, rules: Sequence[Rule] | None = None, category_facts: bool = False) -> Module:
        """A generated module gathering the findings of ``rules`` (default: every rule) into one object, so each
        partition costs a single query; with ``category_facts``, also the tabulation of the pack's per-category
        facts the embedded engine queries (see ``category_facts_packages``)."""
        rules = self.rules if rules is None else rules
        lines = ["package auditor.generated", "", "import rego.v1", "", "findings := {"]
        lines += [f'\t"{r.id}": data.{r.package}.{r.name}(input),' for r in rules]
        lines.append("}")
        lines += [f"\n{r.alone} := data.{r.package}.{r.name}(input)" for r in rules]
        if category_facts and self.category_facts_packages:
            tabulated = ", ".join(f'"{p}": data.{p}.category_facts(c)' for p in self.category_facts_packages)
            lines += [
                "",
                "# Per-category facts for the distinct categories of input.categories (see category_facts_packages).",
                f"{CATEGORY_FACTS.rsplit('/', 1)[-1]} := {{c: {{{tabulated}}} | some c in input.categories}}",
            ]
        text = "\n".join(lines) + "\n"
        return Module("auditor/generated.rego", Path("auditor/generated.rego"), text, "auditor.generated", False)

    def test_aggregator(self) -> tuple[list[tuple[Module, str]], Module]:
        """Every ``test_*`` rule of the pack's test modules, and a generated module gathering their values into
        one array (``TEST_RESULTS``; ``"undefined"`` for a test that is undefined, i.e. failed). Real OPA prepares
        each new query path (~0.4 s each on this pack): one query for all tests instead of one per test."""
        tests = [(m, t) for m in self.modules if m.is_test for t in test_rules(m)]
        lines = ["package auditor.generated_tests", "", "import rego.v1", ""]
        for i, (m, t) in enumerate(tests):
            lines += [f'default t{i} := "undefined"', "", f"t{i} := data.{m.package}.{t}", ""]
        lines.append("results := [" + ", ".join(f"t{i}" for i in range(len(tests))) + "]")
        text = "\n".join(lines) + "\n"
        path = Path("auditor/generated_tests.rego")
        return tests, Module(path.as_posix(), path, text, "auditor.generated_tests", False)


def first_undefined(pack: PolicyPack, generated: Any) -> Rule | None:
    """The first rule of ``pack`` whose findings are missing from ``generated`` (the value of the whole generated
    aggregator package, one query); None when none is missing or ``generated`` is not an object."""
    if not isinstance(generated, dict):
        return None
    return next((r for r in pack.rules if r.alone not in generated), None)


def default_policy_dir() -> Path:
    env = os.environ.get("AUDITOR_POLICY")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for candidate in (here.parent.parent / "bundled_policies", here.parents[3] / "policies"):
        if (candidate / "clauses.yaml").is_file():
            return candidate
    return Path("policies")


def _load_yaml(path: Path) -> Any:
    try:
        return _yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError([Problem(Location(str(path)), f"cannot read clause catalogue: {exc}")]) from None


def _clauses(root: Path, problems: list[Problem]) -> dict[str, Clause]:
    clauses: dict[str, Clause] = {}
    for name, law_default in (("clauses.yaml", ""), ("overlays.yaml", None)):
        path = root / name
        if not path.is_file():
            if name == "clauses.yaml":
                problems.append(Problem(Location(str(path)), "policy pack has no clause catalogue"))
            continue
        doc = _load_yaml(path) or {}
        for item in doc.get("clauses") or ():
            cid = str(item.get("id", ""))
            loc = Location(str(path))
            law = item.get("law", "") if law_default is None else law_default
            if not cid or cid in clauses:
                problems.append(Problem(loc, f"clause id {cid!r} missing or duplicated"))
                continue
            clauses[cid] = Clause(
                id=cid,
                kind=str(item.get("kind", "")),
                checkability=str(item.get("checkability", "")),
                summary_en=str(item.get("summary_en", "")),
                summary_fr=str(item.get("summary_fr", "")),
                excerpt_fr=str(item.get("excerpt_fr", "")),
                heading=str(item.get("heading", "")),
                reason=str(item.get("reason", "")),
                reason_fr=str(item.get("reason_fr", "")),
                checks=str(item.get("checks", "")),
                remediation=str(item.get("remediation", "")),
                remediation_fr=str(item.get("remediation_fr", "")),
                law=str(law or ""),
                reference=str(item.get("reference", "")),
                location=loc,
            )
    return clauses


def _read_module(path: Path, shown: str, problems: list[Problem]) -> tuple[str, int] | None:
    """A module's text and size in bytes, or None with a located problem: too large (checked before reading) or not
    UTF-8."""
    try:
        size = path.stat().st_size
        if size > guard.MAX_FILE_BYTES:
            problems.append(
                Problem(Location(shown, 1, 1), f"policy module is {size:,} bytes, more than {guard.MAX_FILE_BYTES:,}")
            )
            return None
        data = path.read_bytes()
        return data.decode("utf-8"), len(data)
    except OSError as exc:
        problems.append(Problem(Location(shown), f"cannot read policy module: {exc.strerror or exc}"))
        return None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        problems.append(Problem(Location(shown, line, 1), "policy module is not UTF-8 text"))
        return None


# Reading a module (the guard's scan of its text, its METADATA blocks parsed) is a pure function of its text and where
# it is shown, and was ~0.08 of the ~0.18 s of CPU a run on the sample spends in the CLI's process. A process that
# loads a pack more than once (the test suite runs the CLI ~400 times in a few processes) reads each module once: the
# memo is keyed by the whole text, holds frozen values only, and hands back the same problems each time. It keeps at
# most 512 texts of up to 128 KiB each (the shipped modules are under 24 KB); a larger module is read every time.
_MODULE_MEMO = 512
_MEMO_BYTES = 131_072


def _module(
    root: Path, path: Path, shown: str, text: str, size: int, problems: list[Problem]
) -> tuple[Module, tuple[Rule, ...]] | None:
    """The module and its check rules, with its problems added to ``problems``; None when :func:`guard.check_source`
    refuses its text (no engine, nor the METADATA parser, sees it then)."""
    read = _checked_module if size <= _MEMO_BYTES else _checked_module.__wrapped__
    found, parsed = read(root, path, shown, text, size)
    problems.extend(found)
    return parsed


@lru_cache(maxsize=_MODULE_MEMO)
def _checked_module(
    root: Path, path: Path, shown: str, text: str, size: int
) -> tuple[tuple[Problem, ...], tuple[Module, tuple[Rule, ...]] | None]:
    refused = guard.check_source(shown, text, size)
    if refused:
        return tuple(refused), None
    module, rules, problems = _parse_module(root, path, shown, text)
    return problems, (module, rules)


def _parse_module(
    root: Path, path: Path, shown: str, text: str
) -> tuple[Module, tuple[Rule, ...], tuple[Problem, ...]]:
    problems: list[Problem] = []
    lines = text.splitlines()
    package = ""
    rules: list[Rule] = []
    pack = path.relative_to(root).parts[0]
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _PACKAGE.match(line)
        if m and not package:
            package = m.group(1)
        if line.strip() != "# METADATA":
            i += 1
            continue
        start = i + 1
        i += 1
        block: list[str] = []
        while i < len(lines) and lines[i].startswith("#"):
            block.append(lines[i][2:] if lines[i].startswith("# ") else lines[i][1:])
            i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        loc = Location(shown, start, 1)
        try:
            meta = _yaml("\n".join(block)) or {}
        except yaml.YAMLError as exc:
            problems.append(Problem(loc, f"METADATA is not valid YAML: {str(exc).splitlines()[0]}"))
            continue
        if not isinstance(meta, dict) or meta.get("scope") in ("package", "subpackages", "document"):
            continue
        if i < len(lines) and _PACKAGE.match(lines[i]):
            continue
        head = _RULE_HEAD.match(lines[i]) if i < len(lines) else None
        if head is None:
            problems.append(Problem(loc, "METADATA block is not followed by a rule"))
            continue
        if not head.group(2).startswith("("):
            problems.append(
                Problem(
                    Location(shown, i + 1, 1),
                    f"check rule {head.group(1)!r} must be a function of the input: "
                    f"`{head.group(1)}(inp) := [f | ...]`",
                )
            )
            continue
        custom = meta.get("custom") or {}
        if not isinstance(custom, dict):
            custom = {}
        severity = str(custom.get("severity", ""))
        verdict = str(custom.get("verdict", "violation"))
        clause = str(custom.get("clause", ""))
        missing = [k for k, v in (("title", meta.get("title")), ("custom.clause", clause)) if not v]
        if missing:
            problems.append(Problem(loc, f"rule {head.group(1)!r} METADATA lacks {', '.join(missing)}"))
            continue
        if severity not in SEVERITIES:
            problems.append(Problem(loc, f"rule {head.group(1)!r}: severity must be one of {', '.join(SEVERITIES)}"))
            continue
        if verdict not in VERDICTS:
            problems.append(Problem(loc, f"rule {head.group(1)!r}: verdict must be one of {', '.join(VERDICTS)}"))
            continue
        rules.append(
            Rule(
                id=f"{package}.{head.group(1)}",
                package=package,
                name=head.group(1),
                pack=pack,
                title=str(meta["title"]).strip(),
                description=str(meta.get("description", "")).strip(),
                clause=clause,
                severity=severity,
                verdict=verdict,
                remediation=str(custom.get("remediation", "")).strip(),
                location=Location(shown, i + 1, 1),
            )
        )
    if not package:
        problems.append(Problem(Location(shown, 1, 1), "module has no package declaration"))
    module = Module(path.relative_to(root).as_posix(), path, text, package, path.name.endswith("_test.rego"))
    return module, tuple(rules), tuple(problems)


def load_pack(root: Path | None = None, packs: Iterable[str] = (POLICY_PACK, *OVERLAYS)) -> PolicyPack:
    """Read a policy pack directory; raise PolicyError (exit 3) with every problem found."""
    root = root or default_policy_dir()
    problems: list[Problem] = []
    if not root.is_dir():
        raise PolicyError([Problem(Location(str(root)), "policy directory not found")])
    clauses = _clauses(root, problems)
    rego_root = root / "rego"
    wanted = tuple(packs)
    modules: list[Module] = []
    rules: list[Rule] = []
    if not rego_root.is_dir():
        problems.append(Problem(Location(str(rego_root)), "policy pack has no rego/ directory"))
    else:
        for path in sorted(rego_root.rglob("*.rego")):
            pack = path.relative_to(rego_root).parts[0]
            if pack not in wanted and pack != "lib":
                continue
            shown = path.relative_to(root.parent).as_posix() if root.parent != Path() else path.as_posix()
            read = _read_module(path, shown, problems)
            parsed = None if read is None else _module(rego_root, path, shown, *read, problems)
            if parsed is None:
                continue
            modules.append(parsed[0])
            rules.extend(parsed[1])
    for rule in rules:
        if rule.clause not in clauses:
            problems.append(Problem(rule.location, f"rule {rule.id} cites unknown clause {rule.clause!r}"))
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            problems.append(Problem(rule.location, f"rule {rule.id} defined twice (first at {seen[rule.id].location})"))
        seen[rule.id] = rule
    if problems:
        raise PolicyError(problems)
    return PolicyPack(root, clauses, tuple(modules), tuple(rules), wanted)


def test_rules(module: Module) -> list[str]:
    """Names of the ``test_*`` rules of a test module."""
    names: list[str] = []
    for line in module.text.splitlines():
        m = _TEST_RULE.match(line)
        if m and m.group(1) not in names:
            names.append(m.group(1))
    return names


def select(pack: PolicyPack, rule_ids: Sequence[str]) -> PolicyPack:
    chosen = tuple(r for r in pack.rules if r.id in set(rule_ids))
    return PolicyPack(pack.root, pack.clauses, pack.modules, chosen, pack.packs)
