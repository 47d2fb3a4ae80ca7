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

import itertools
import json
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from multiprocessing.context import BaseContext
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

# regopy's cost per evaluation step grows with the amount of policy code in the bundle; every bundle costs one
# hand-over of the input. Measured on benchmark M (docs/performance.md).
DEFAULT_BUNDLES = 4

# Above this many partitions, workers start from a fork server rather than a fork of the CLI (see _pool).
FORK_LIMIT = 500

# Partitions per task sent to a worker: small enough that the results waiting for the caller stay small.
CHUNK_LIMIT = 64


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


Spec = tuple[Sequence[tuple[str, str]], Sequence[str]]  # (modules as (name, text), entrypoints)


def _init(specs: Sequence[Spec], facts: Spec | None = None) -> None:
    """Worker state: one interpreter per spec (a bundle of modules), compiled on first use; ``facts`` is the
    bundle tabulating ``category_facts`` when the pack has it."""
    _quiet_stdout()
    _STATE["specs"] = list(specs)
    _STATE["facts_spec"] = facts
    _STATE["compiled"] = {}
    _STATE["current"] = {}


def _compiled(which: int | str = 0) -> tuple[Any, Any]:
    compiled: dict[int | str, tuple[Any, Any]] = _STATE["compiled"]
    if which not in compiled:
        import regopy

        modules, entrypoints = _STATE["facts_spec"] if which == "facts" else _STATE["specs"][int(which)]
        try:
            interp = _interpreter(modules)
            bundle = interp.build(None, list(entrypoints))
        except regopy.RegoError as exc:
            raise _WorkerError("compile", str(exc)) from None
        compiled[which] = (interp, bundle)
    return compiled[which]


def _category_facts(categories: list[str]) -> dict[str, Any]:
    interp, bundle = _compiled("facts")
    interp.set_input({"categories": categories})
    try:
        out = interp.query_bundle_entrypoint(bundle, CATEGORY_FACTS)
        defined, value = parse_json_output(str(out)) if out.ok() else (False, None)
    except ValueError:
        defined, value = False, None
    if not defined or not isinstance(value, dict) or set(value) != set(categories):
        raise _WorkerError("runtime", "", -1, "category_facts")
    return value


def _parsed(document: str) -> Any:
    """The partition document as a regopy input, built once for all bundles. When the pack has
    ``category_facts``, every field gets its tabulated facts first (one query per new set of categories, cached
    for the worker's life): the rules would otherwise recompute them per field and per rule."""
    cached = _STATE.get("parsed")
    if cached is not None and cached[0] is document:
        return cached[1]
    doc = json.loads(document)
    if _STATE.get("facts_spec") is not None and isinstance(doc, dict):
        memo: dict[str, Any] = _STATE.setdefault("facts_memo", {})
        carriers = list(inputs.category_carriers(doc))
        new = sorted({c for x in carriers if isinstance(c := x.get("category"), str) and c not in memo})
        if new:
            memo.update(_category_facts(new))
        for x in carriers:
            c = x.get("category")
            if isinstance(c, str):
                x["vocab_facts"] = memo[c]
    import regopy

    term = regopy.Input(doc)  # built once, handed to every bundle's interpreter (building it is the costly part)
    _STATE["parsed"] = (document, term)
    return term


def _set_input(which: int, document: str) -> None:
    """Hand the document to one bundle's interpreter: a ``regopy.Input`` built from Python values is ~2x faster than
    ``set_input_term`` parsing the same JSON text (whose cost grows faster than its size), and one built input can
    be set on several interpreters for a fraction of the cost of building it."""
    current: dict[int, str] = _STATE["current"]
    if current.get(which) is document:
        return
    doc = _parsed(document)
    interp, _ = _compiled(which)
    interp.set_input(doc)
    current[which] = document


def _query(which: int, entrypoint: str, document: str) -> tuple[bool, Any, bool]:
    """(defined, value, errored)."""
    interp, bundle = _compiled(which)
    _set_input(which, document)
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


def _evaluate_chunk(
    start: int, documents: Sequence[str], group_rules: Sequence[Sequence[tuple[str, str]]]
) -> list[Any]:
    results: list[Any] = []
    for offset, document in enumerate(documents):
        merged: dict[str, Any] = {}
        for which, rule_entrypoints in enumerate(group_rules):
            defined, value, errored = _query(which, AGGREGATE, document)
            if errored or not defined or not isinstance(value, dict):
                # Name the culprit: evaluate each rule of the bundle alone.
                for rule_id, entrypoint in rule_entrypoints:
                    r_defined, _, r_errored = _query(which, entrypoint, document)
                    if r_errored or not r_defined:
                        raise _WorkerError("runtime" if r_errored else "undefined", "", start + offset, rule_id)
                raise _WorkerError("runtime" if errored else "undefined", "", start + offset, "")
            merged.update(value)
        results.append(merged)
    return results


def _run_tests(tests: Sequence[tuple[str, str]]) -> list[tuple[str, str, bool, str]]:
    out: list[tuple[str, str, bool, str]] = []
    for module, entrypoint in tests:
        defined, value, errored = _query(0, entrypoint, "{}")
        ok = defined and value is True and not errored
        detail = "error" if errored else ("undefined" if not defined else ("" if ok else f"value {value!r}"))
        out.append((module, entrypoint, ok, detail))
    return out


def _workers(count: int) -> int:
    env = os.environ.get("AUDITOR_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(os.cpu_count() or 1, 8, count))


def _bundles() -> int:
    """How many bundles the rule pack is split into (``AUDITOR_BUNDLES`` overrides; docs/performance.md)."""
    env = os.environ.get("AUDITOR_BUNDLES")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return DEFAULT_BUNDLES


class RegopyEngine:
    """Embedded Rego evaluation (rego-cpp), one compiled bundle per worker process."""

    name = "embedded"

    def _pool(
        self, specs: Sequence[Spec], facts: Spec | None, workers: int, fresh: bool = False
    ) -> ProcessPoolExecutor:
        context: BaseContext
        if fresh:
            # A large run: start workers from a small fork server instead of forking the CLI, whose heap (the
            # located inventory, every partition's text) forked workers would inherit and, through Python's
            # reference counting and GC, copy page by page - at XL, 6 GiB per worker. Costs ~0.3 s at start.
            context = get_context("forkserver")
            context.set_forkserver_preload(["auditor.policy.regopy_engine"])
        else:
            context = get_context("fork")
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init,
            initargs=(list(specs), facts),
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
        return list(self.evaluate_iter(pack, partitions, labels, count=len(partitions)))

    def evaluate_iter(
        self, pack: PolicyPack, partitions: Iterable[str], labels: Sequence[str] = (), *, count: int | None = None
    ) -> Iterator[RuleResults]:
        """Results in partition order, produced as the workers finish them. Documents are taken from
        ``partitions`` only as workers need them (the caller can build them meanwhile, and never holds them all),
        and at most a few chunks' results wait for the caller (at XL, all documents and all raw results at once
        were ~2 GB). ``count`` (how many partitions there are, at most) sizes the pool and the chunks."""
        if count is None:
            partitions = list(partitions)
            count = len(partitions)
        documents = iter(partitions)
        specs: list[Spec] = []
        group_rules: list[list[tuple[str, str]]] = []
        aggregators: list[Module] = []
        for rules, modules in pack.bundles(_bundles()):
            aggregator = pack.aggregator(rules)
            aggregators.append(aggregator)
            rule_eps = [(r.id, r.entrypoint) for r in rules]
            specs.append(([(m.name, m.text) for m in (*modules, aggregator)], [AGGREGATE, *(ep for _, ep in rule_eps)]))
            group_rules.append(rule_eps)
        facts: Spec | None = None
        if pack.category_facts_package:
            tabulate = pack.aggregator((), category_facts=True)
            aggregators.append(tabulate)
            modules = pack.dependencies([pack.category_facts_package])
            facts = ([(m.name, m.text) for m in (*modules, tabulate)], [CATEGORY_FACTS])
        workers = _workers(max(1, count // 50))
        size = max(1, min(CHUNK_LIMIT, -(-count // (workers * 4))))
        chunk = list(itertools.islice(documents, size))
        if not chunk:
            return
        start = index = 0
        try:
            with self._pool(specs, facts, workers, fresh=count > FORK_LIMIT) as pool:
                pending: deque[Future[list[Any]]] = deque()
                while chunk or pending:
                    if chunk:
                        pending.append(pool.submit(_evaluate_chunk, start, chunk, group_rules))
                        start += len(chunk)
                        chunk = list(itertools.islice(documents, size))
                        if chunk and len(pending) < workers * 3:
                            continue  # keep the workers fed before waiting for the oldest chunk
                    for value in pending.popleft().result():
                        yield check_results(pack, value, index)
                        index += 1
        except _WorkerError as err:
            self._raise(pack, err, labels, aggregators)
        except BrokenProcessPool:
            raise PolicyError(
                "the embedded Rego engine (regopy) crashed while compiling or evaluating the policy; "
                "check the modules with `auditor test --engine reference` or `--engine opa`"
            ) from None

    def run_tests(self, pack: PolicyPack) -> list[TestResult]:
        tests = [
            (m.name, f"{m.package.replace('.', '/')}/{t}") for m in pack.modules if m.is_test for t in test_rules(m)
        ]
        if not tests:
            return []
        modules = list(pack.modules)
        try:
            with self._pool([([(m.name, m.text) for m in modules], [ep for _, ep in tests])], None, 1) as pool:
                raw = pool.submit(_run_tests, tests).result()
        except _WorkerError as err:
            self._raise(pack, err, [])
            raise  # unreachable
        except BrokenProcessPool:
            raise PolicyError("the embedded Rego engine (regopy) crashed while running the policy tests") from None
        return [TestResult(m, ep.rsplit("/", 1)[-1], ok, d) for m, ep, ok, d in raw]
