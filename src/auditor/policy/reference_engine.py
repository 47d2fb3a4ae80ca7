"""The reference engine: real OPA (v1.20, Go) in-process through ``opa_bindings`` (PyPI
``opa-golib-python-bindings``), offered as ``--engine reference`` when that optional package is installed.

Why it exists: it is the reference the embedded engine (regorus) is compared with, byte for byte, in the test suite
(tests/test_conformance.py), and users can run it to check a pack before deploying it to their OPA servers.

Facts this module is built around (measured):
- ``add_policy`` only parses; the whole pack is compiled lazily on the first evaluation, so the engine is probed
  once after loading to report every compile error up front, as ``file:row: code: message`` lines;
- builtin errors are strict (``eval_builtin_error``), so they are errors here too, never a silent pass;
- numbers keep their JSON spelling (``1.0`` stays a float): ``engine.check_results`` normalises every engine's
  results so they all return the same values;
- preparing a new query path costs ~0.4 s on this pack: the Rego tests run as one query (``run_tests``);
- conflicting complete rules are an error only when evaluated: the engine evaluates all of ``data`` once after
  loading (no input; check rules are functions, so this costs little), like the embedded engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from auditor.errors import Location, PolicyError, Problem
from auditor.policy.catalogue import GENERATED, Module, PolicyPack, modules_digest, test_rules
from auditor.policy.engine import (
    AGGREGATE,
    AllAtOnce,
    RuleResults,
    TestResult,
    as_test_result,
    check_results,
    display,
    undefined_error,
)

AGGREGATE_DOC = AGGREGATE.replace("/", ".")
GENERATED_DOC = GENERATED.replace("/", ".")
PACKAGE = "opa-golib-python-bindings"

_OPA_ERROR_LINE = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<row>\d+)(?::(?P<col>\d+))?: (?P<code>[a-z_]+): (?P<msg>.*)$")


@dataclass(frozen=True, slots=True)
class OpaErrorLine:
    """One error of OPA's textual error report (``file:row: code: message``)."""

    file: str
    row: int
    col: int
    code: str
    message: str


def parse_opa_errors(text: str) -> list[OpaErrorLine]:
    """The located errors in an OPA error text such as ``2 errors occurred:\\nf.rego:3: rego_..._error: msg``."""
    text = re.sub(r"^[a-z ]+failed: ", "", text.strip())
    out: list[OpaErrorLine] = []
    for raw in re.split(r"\n|(?<=occurred:) ", text):
        m = _OPA_ERROR_LINE.match(raw.strip())
        if m:
            col = int(m.group("col") or 1)
            out.append(OpaErrorLine(m.group("file"), int(m.group("row")), col, m.group("code"), m.group("msg")))
    return out


def opa_problems(text: str, names: dict[str, Module], fallback: Location) -> list[Problem]:
    """Located problems from OPA's error text; module names (policy ids) are mapped back to their files."""
    problems = []
    for e in parse_opa_errors(text):
        module = names.get(e.file)
        shown = display(module) if module is not None else e.file
        problems.append(Problem(Location(shown, e.row, e.col), f"{e.code}: {e.message}"))
    if not problems:
        problems.append(Problem(fallback, f"OPA error: {' '.join(text.split())[:300]}"))
    return problems


# The compiled pack of the last evaluation, kept for the next one in this process (``check --diff-base`` audits twice,
# the test suite many times): compiling the pack costs ~1 s, each evaluation much less.
_COMPILED: dict[str, Any] = {}


def available() -> bool:
    try:
        import opa_bindings  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


class ReferenceEngine(AllAtOnce):
    """Real OPA in-process: same partitions, same aggregator, same normalised results as the embedded engine."""

    name = "reference"

    def __init__(self) -> None:
        try:
            import opa_bindings
        except (ImportError, OSError) as exc:
            raise PolicyError(
                f"--engine reference needs the optional package {PACKAGE} (real OPA in-process): "
                f"pip install --ignore-requires-python '{PACKAGE}>=0.4.4,<0.5' ({exc})"
            ) from None
        self._ob: Any = opa_bindings

    def _load(self, pack: PolicyPack, modules: Sequence[Module]) -> Any:
        names = {m.name: m for m in modules}
        engine = self._ob.OpaEngine()
        engine.print_handler = lambda _message, _location: None  # Rego print() must never pollute stdout
        probe = "true" if any(m.is_test for m in modules) else "data"  # run_tests evaluates all of data anyway
        try:
            for m in modules:
                engine.add_policy(m.name, m.text)
            engine.eval_query(probe)  # compiles the whole pack now: every compile error, up front
        except self._ob.OpaError as exc:
            engine.close()
            raise PolicyError(opa_problems(exc.message, names, Location(str(pack.root)))) from None
        return engine

    def evaluate(self, pack: PolicyPack, partitions: Sequence[str], labels: Sequence[str] = ()) -> list[RuleResults]:
        if not partitions:
            return []
        modules = [*pack.policy_modules, pack.aggregator()]
        names = {m.name: m for m in modules}
        engine = self._compiled(pack, modules)
        results: list[RuleResults] = []
        for i, document in enumerate(partitions):
            doc = json.loads(document)
            label = labels[i] if i < len(labels) else f"partition {i}"
            try:
                value = engine.eval_document(AGGREGATE_DOC, doc)
            except self._ob.OpaUndefinedError:
                raise undefined_error(pack, self._generated(engine, doc), label) from None
            except self._ob.OpaError as exc:
                problems = opa_problems(exc.message, names, Location(str(pack.root)))
                raise PolicyError(
                    [Problem(p.location, f"{p.message} (while evaluating {label})") for p in problems]
                ) from None
            results.append(check_results(pack, value, i))
        return results

    def _compiled(self, pack: PolicyPack, modules: Sequence[Module]) -> Any:
        """The pack compiled (:meth:`_load`), or the one the previous evaluation in this process compiled for the
        same modules."""
        key = modules_digest(modules)
        engine = _COMPILED.get(key)
        if engine is None:
            for old in _COMPILED.values():
                old.close()
            _COMPILED.clear()
            engine = _COMPILED[key] = self._load(pack, modules)
        return engine

    def _generated(self, engine: Any, doc: Any) -> Any:
        """The whole generated package's value for ``doc`` (:func:`undefined_error` finds the culprit in it), or None
        when it cannot be evaluated."""
        try:
            return engine.eval_document(GENERATED_DOC, doc)
        except self._ob.OpaError:
            return None

    def run_tests(self, pack: PolicyPack) -> list[TestResult]:
        """Every test in one query: the whole ``data`` document (OPA prepares each new query path, ~0.4 s each on
        this pack). A test that fails with an error is a policy error (exit 3), located by OPA."""
        tests = [(m, t) for m in pack.modules if m.is_test for t in test_rules(m)]
        if not tests:
            return []
        engine = self._load(pack, pack.modules)
        try:
            tree = engine.eval_document("", None)
        except self._ob.OpaError as exc:
            names = {m.name: m for m in pack.modules}
            raise PolicyError(opa_problems(exc.message, names, Location(str(pack.root)))) from None
        finally:
            engine.close()
        out = []
        for module, name in tests:
            node: Any = tree
            for part in [*module.package.split("."), name]:
                node = node.get(part, "undefined") if isinstance(node, dict) else "undefined"
            out.append(as_test_result(module.name, name, node))
        return out
