"""The embedded engine: Microsoft's rego-cpp through regopy, with no server and no network.

Facts from ENGINES.md this module is built around:
- builtin errors make rules silently undefined unless ``strict_built_in_errors`` is on — it is, and every error
  or undefined aggregate is a policy error (exit 3), never a pass;
- rego-cpp prints on stdout: workers point their stdout at stderr so ``--format json`` stays clean;
- ``query()`` recompiles everything: modules are compiled once per worker into a bundle, then each partition
  is one ``query_bundle_entrypoint`` call;
- a broken module can crash the process: compilation and evaluation run in worker processes, so a crash
  becomes a located exit 3 instead of a dead CLI;
- one interpreter per process; partitions are split over the machine's cores, results kept in order.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from auditor.errors import Location, PolicyError, Problem
from auditor.policy import inputs
from auditor.policy.catalogue import CATEGORY_FACTS, Module, PolicyPack, test_rules
from auditor.policy.engine import (
    AGGREGATE,
    RuleResults,
    TestResult,
    check_results,
    parse_json_output,
    regopy_problems,
)

_STATE: dict[str, Any] = {}


class _WorkerError(Exception):
    """Picklable error raised inside a worker: kind is 'compile', 'runtime' or 'undefined'."""

    def __init__(self, kind: str, text: str, partition: int = -1, rule: str = "") -> None:
        super().__init__(kind, text, partition, rule)
        self.kind, self.text, self.partition, self.rule = kind, text, partition, rule


def _quiet_stdout() -> None:
    """rego-cpp and Rego's print() write to fd 1; in a worker, send that to stderr (or nowhere)."""
    try:
        sys.stdout.flush()
        os.dup2(2 if os.environ.get("AUDITOR_DEBUG") else os.open(os.devnull, os.O_WRONLY), 1)
    except OSError:
        pass


def _interpreter(modules: Sequence[tuple[str, str]]) -> Any:
    import regopy

    if not _STATE.get("log_level_set"):  # rego-cpp aborts the process if this is set twice
        regopy.set_default_log_level("None")
        _STATE["log_level_set"] = True
    interp = regopy.Interpreter()
    interp.strict_built_in_errors = True
    for name, text in modules:
        interp.add_module(name, text)
    return interp


def _init(modules: Sequence[tuple[str, str]], entrypoints: Sequence[str]) -> None:
    _quiet_stdout()
    _STATE["modules"] = modules
    _STATE["entrypoints"] = list(entrypoints)
    _STATE["category_facts"] = CATEGORY_FACTS in entrypoints


def _compiled() -> tuple[Any, Any]:
    if "bundle" not in _STATE:
        import regopy

        try:
            interp = _interpreter(_STATE["modules"])
            bundle = interp.build(None, _STATE["entrypoints"])
        except regopy.RegoError as exc:
            raise _WorkerError("compile", str(exc)) from None
        _STATE["interp"], _STATE["bundle"] = interp, bundle
    return _STATE["interp"], _STATE["bundle"]


def _category_facts(interp: Any, bundle: Any, categories: list[str]) -> dict[str, Any]:
    interp.set_input({"categories": categories})
    try:
        out = interp.query_bundle_entrypoint(bundle, CATEGORY_FACTS)
        defined, value = parse_json_output(str(out)) if out.ok() else (False, None)
    except ValueError:
        defined, value = False, None
    if not defined or not isinstance(value, dict) or set(value) != set(categories):
        raise _WorkerError("runtime", "", -1, "category_facts")
    return value


def _set_input(document: str) -> None:
    """Parse the partition document and hand it over as Python values: regopy's ``set_input`` walks them ~2x faster
    than ``set_input_term`` parses the same JSON text, whose cost grows faster than its size. When the pack has
    ``category_facts``, every field gets its tabulated facts first (one query per new set of categories, cached
    for the worker's life): the rules would otherwise recompute them per field and per rule."""
    if _STATE.get("input_text") is document:
        return
    interp, bundle = _compiled()
    doc = json.loads(document)
    if _STATE.get("category_facts"):
        memo: dict[str, Any] = _STATE.setdefault("facts_memo", {})
        carriers = list(inputs.category_carriers(doc))
        new = sorted({c for x in carriers if isinstance(c := x.get("category"), str) and c not in memo})
        if new:
            memo.update(_category_facts(interp, bundle, new))
        for x in carriers:
            c = x.get("category")
            if isinstance(c, str):
                x["vocab_facts"] = memo[c]
    interp.set_input(doc)
    _STATE["input_text"] = document


def _query(entrypoint: str, document: str) -> tuple[bool, Any, bool]:
    """(defined, value, errored)."""
    interp, bundle = _compiled()
    _set_input(document)
    try:
        out = interp.query_bundle_entrypoint(bundle, entrypoint)
    except ValueError:  # regopy's Output parses its own text and can emit invalid JSON (e.g. sprintf quoting)
        return False, None, True
    if not out.ok():
        return False, None, True
    try:
        defined, value = parse_json_output(str(out))
    except ValueError:
        return False, None, True
    return defined, value, False


def _evaluate_chunk(start: int, documents: Sequence[str], rule_entrypoints: Sequence[tuple[str, str]]) -> list[Any]:
    results: list[Any] = []
    for offset, document in enumerate(documents):
        defined, value, errored = _query(AGGREGATE, document)
        if errored or not defined:
            # Name the culprit: evaluate each rule alone.
            for rule_id, entrypoint in rule_entrypoints:
                r_defined, _, r_errored = _query(entrypoint, document)
                if r_errored or not r_defined:
                    raise _WorkerError("runtime" if r_errored else "undefined", "", start + offset, rule_id)
            raise _WorkerError("runtime" if errored else "undefined", "", start + offset, "")
        results.append(value)
    return results


def _run_tests(tests: Sequence[tuple[str, str]]) -> list[tuple[str, str, bool, str]]:
    out: list[tuple[str, str, bool, str]] = []
    for module, entrypoint in tests:
        defined, value, errored = _query(entrypoint, "{}")
        ok = defined and value is True and not errored
        detail = "error" if errored else ("undefined" if not defined else ("" if ok else f"value {value!r}"))
        out.append((module, entrypoint, ok, detail))
    return out


def _workers(count: int) -> int:
    env = os.environ.get("AUDITOR_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(os.cpu_count() or 1, 8, count))


class RegopyEngine:
    """Embedded Rego evaluation (rego-cpp), one compiled bundle per worker process."""

    name = "embedded"

    def _pool(self, modules: Sequence[Module], entrypoints: Sequence[str], workers: int) -> ProcessPoolExecutor:
        payload = [(m.name, m.text) for m in modules]
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("fork"),
            initializer=_init,
            initargs=(payload, list(entrypoints)),
        )

    def _raise(self, pack: PolicyPack, err: _WorkerError, labels: Sequence[str], extra: Sequence[Module] = ()) -> None:
        if err.kind == "compile":
            raise PolicyError(regopy_problems(pack, err.text, extra))
        rule = pack.rules_by_id.get(err.rule)
        where = rule.location if rule else Location(str(pack.root))
        label = labels[err.partition] if 0 <= err.partition < len(labels) else f"partition {err.partition}"
        what = "failed with a runtime error" if err.kind == "runtime" else "was undefined"
        name = f"rule {err.rule}" if err.rule else "policy evaluation"
        raise PolicyError([Problem(where, f"{name} {what} while evaluating {label}")])

    def evaluate(self, pack: PolicyPack, partitions: Sequence[str], labels: Sequence[str] = ()) -> list[RuleResults]:
        if not partitions:
            return []
        modules = [*pack.policy_modules, pack.aggregator()]
        rule_eps = [(r.id, r.entrypoint) for r in pack.rules]
        entrypoints = [AGGREGATE, *(ep for _, ep in rule_eps)]
        if pack.category_facts_package:
            entrypoints.append(CATEGORY_FACTS)
        workers = _workers(max(1, len(partitions) // 50))
        size = max(1, -(-len(partitions) // (workers * 4)))
        chunks = [(i, list(partitions[i : i + size])) for i in range(0, len(partitions), size)]
        values: list[Any] = []
        try:
            with self._pool(modules, entrypoints, workers) as pool:
                futures = [pool.submit(_evaluate_chunk, start, docs, rule_eps) for start, docs in chunks]
                for fut in futures:
                    values.extend(fut.result())
        except _WorkerError as err:
            self._raise(pack, err, labels, [modules[-1]])
        except BrokenProcessPool:
            raise PolicyError(
                "the embedded Rego engine (regopy) crashed while compiling or evaluating the policy; "
                "check the modules with `auditor test --engine reference` or `--engine opa`"
            ) from None
        return [check_results(pack, v, i) for i, v in enumerate(values)]

    def run_tests(self, pack: PolicyPack) -> list[TestResult]:
        tests = [
            (m.name, f"{m.package.replace('.', '/')}/{t}") for m in pack.modules if m.is_test for t in test_rules(m)
        ]
        if not tests:
            return []
        modules = list(pack.modules)
        try:
            with self._pool(modules, [ep for _, ep in tests], 1) as pool:
                raw = pool.submit(_run_tests, tests).result()
        except _WorkerError as err:
            self._raise(pack, err, [])
            raise  # unreachable
        except BrokenProcessPool:
            raise PolicyError("the embedded Rego engine (regopy) crashed while running the policy tests") from None
        return [TestResult(m, ep.rsplit("/", 1)[-1], ok, d) for m, ep, ok, d in raw]
