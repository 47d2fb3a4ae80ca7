"""The embedded engine: regorus (Microsoft's Rego interpreter in Rust; PyPI ``gordon-to-regorus``, import
``regorus``) in worker processes, with no server and no network.

Facts about regorus 0.13.0 this module is built around (measured, docs/engines.md):

- it is not fully fail-closed: an unknown function in a branch never reached passes silently, ``http.send`` is an
  undefined stub, a recursive function crashes the process (SIGSEGV), unsafe variables surface only at the first
  evaluation, and nested brackets parse in exponential time. So before a pack is evaluated, :mod:`guard` checks its
  text (every engine, in ``load_pack``) and walks its parsed modules (here, :func:`_prepare`), and every worker
  probes its engine once (``data`` evaluated with no input: unsafe variables and constant conflicts surface before
  the run);
- every error is a ``RuntimeError`` whose text is a located snippet (``--> file:line:col`` ... ``error: message``),
  followed by a Rust backtrace when ``RUST_BACKTRACE`` is set: workers clear that variable and
  :func:`regorus_problems` keeps the location and the message line only; a panic is a ``PanicException``
  (a ``BaseException``), turned into a problem too;
- ``print()`` and some diagnostics go to stderr: prints are gathered (``set_gather_prints``) and taken after
  every partition (they accumulate otherwise), and a worker's stdout and stderr point at /dev/null
  (``AUDITOR_DEBUG=1``: stderr, with the prints);
- an ``Engine`` holds the GIL while it evaluates and can be used only by the thread that made it: evaluation runs in
  worker processes, one engine each, and a dead worker becomes a located exit 3 (:meth:`RegorusEngine._crashed`);
- it does not memoise function calls: the per-category facts rules read are tabulated once per worker and added to
  each partition's document, where the pack's ``cat(x)`` reads them (:func:`_set_document`,
  ``PolicyPack.category_facts_packages``; measured on M: 8.3 CPU-s with, 13.8 without);
- a document handed over as JSON text (``set_input_json``) is parsed in Rust: no Python object is built for it
  (on M: ~0.3 CPU-s against ~1.2 for ``json.loads``, attaching facts and ``set_input``).

Workers stop with the CLI: an interrupted or abandoned run terminates them (:func:`_pool`), and each worker asks
the kernel to kill it if its parent dies (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import faulthandler
import gc
import itertools
import json
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from typing import Any

from auditor import jsonsafe
from auditor.errors import Location, PolicyError, Problem
from auditor.policy import guard
from auditor.policy.catalogue import (
    CATEGORY_FACTS,
    TABULATED_CATEGORY_FACTS,
    Module,
    PolicyPack,
    modules_digest,
    test_rules,
)
from auditor.policy.engine import AGGREGATE, RuleResults, TestResult, as_test_result, check_results, display
from auditor.workers import Pool, cores, init_child, requested, stop

DISTRIBUTION = "gordon-to-regorus"
VERSION = "0.13.0"

# Above this many partitions, workers start from a fork server rather than a fork of the CLI (see _pool).
FORK_LIMIT = 500

# A worker for every this many partitions, up to one per core (at most 8).
PARTITIONS_PER_WORKER = 16

# Partitions per task sent to a worker: small enough that the results waiting for the caller stay small.
CHUNK_LIMIT = 64

# Digests of the module sets :func:`guard.check_ast` passed in this process (``check --diff-base`` audits twice, the
# test suite many times): the walk costs ~0.3 s of CPU, and the same modules give the same verdict.
_CHECKED: set[str] = set()


MISSING = (
    "--engine embedded needs the regorus package, which is not installed or cannot load here ({reason}): "
    "pip install 'auditor[embedded]' (wheels for Linux with glibc >= 2.34 on x86_64/aarch64, macOS, Windows x64); "
    "elsewhere use an OPA server: --engine opa --opa-url URL (docs/engines.md)"
)


def available() -> str | None:
    """None when regorus can be used here, else why not."""
    try:
        import regorus  # noqa: F401
    except (ImportError, OSError) as exc:
        return " ".join(str(exc).split())[:200] or type(exc).__name__
    return None


# --- errors -----------------------------------------------------------------------------------------------------------

_LOCATION = re.compile(r"-->\s*(?P<file>\S.*?):(?P<line>\d+):(?P<col>\d+)\s*$", re.M)
_MESSAGE = re.compile(r"^error:\s*(?P<msg>.*)$", re.M)

Raw = tuple[str, int, int, str]  # (module name, line, column, message): picklable, mapped to a Problem by the parent


def _raw(exc: BaseException) -> Raw:
    """A regorus error (or panic) as (module, line, column, message), without snippet or backtrace."""
    text = str(exc).split("Stack backtrace:", 1)[0]
    where = _LOCATION.search(text)
    said = _MESSAGE.search(text)
    if said is not None:
        message = said.group("msg")
    else:  # unlocated: the first meaningful line
        message = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(" ")), "")
    message = " ".join(message.split())[:300] or type(exc).__name__
    if type(exc).__name__ == "PanicException":
        message = f"the Rego engine panicked: {message}"
    if where is None:
        return ("", 0, 0, message)
    return (where.group("file"), int(where.group("line")), int(where.group("col")), message)


def regorus_problems(raws: Iterable[Raw], modules: Sequence[Module], fallback: Location) -> list[Problem]:
    """Located problems from raw errors; module names (as given to regorus) are shown as their files, in the
    location and in the message (``rule conflicts with rule at lib/x.rego:3:1``)."""
    names = {m.name: display(m) for m in modules}
    problems = []
    for name, line, col, message in raws:
        for known, shown in names.items():
            message = message.replace(f"{known}:", f"{shown}:")
        where = Location(names.get(name, name), line, col) if name else fallback
        problems.append(Problem(where, message))
    return problems


class _WorkerError(Exception):
    """Picklable error raised in a worker. kind: 'compile' (raws), 'runtime' (raws, partition), 'undefined'
    (partition, rule)."""

    def __init__(self, kind: str, raws: Sequence[Raw] = (), partition: int = -1, rule: str = "") -> None:
        super().__init__(kind, list(raws), partition, rule)
        self.kind, self.raws, self.partition, self.rule = kind, list(raws), partition, rule


# --- worker side ------------------------------------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init(modules: Sequence[tuple[str, str]], facts: bool, probe: str, marker: Any = None) -> None:
    """Worker process set-up (the engine itself is built on first use). ``marker``: shared memory where a diagnosing
    worker records what it evaluates (:func:`_evaluate_rule_by_rule`)."""
    os.environ["RUST_BACKTRACE"] = "0"  # a backtrace would be captured on every error (slow) and printed
    os.environ["RUST_LIB_BACKTRACE"] = "0"
    init_child()
    faulthandler.disable()  # a crash is reported by the CLI, never as a dump on an inherited descriptor
    gc.freeze()  # a forked worker inherits the CLI's heap: never scan it (nor copy its pages by touching them)
    gc.enable()  # forked while the CLI builds findings with the collector paused (auditor.pipeline.long_lived)
    _quiet()
    _STATE.clear()
    _STATE.update(
        modules=list(modules), facts=facts, probe=probe, marker=marker, debug=bool(os.environ.get("AUDITOR_DEBUG"))
    )


def _quiet() -> None:
    """regorus writes diagnostics (and panics) on stderr, and nothing of a worker may reach the CLI's stdout."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, 1)
        if not os.environ.get("AUDITOR_DEBUG"):
            os.dup2(sink, 2)
        os.close(sink)
    except OSError:
        pass


def _guarded(call: Callable[..., Any], *args: Any) -> Any:
    """Run a regorus call; its errors (RuntimeError, ValueError, a PanicException) become a raw problem."""
    try:
        return call(*args)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # PanicException derives from BaseException
        raise _Failed(_raw(exc)) from None


class _Failed(Exception):
    def __init__(self, raw: Raw) -> None:
        super().__init__(raw)
        self.raw = raw


def _loaded() -> Any:
    """This worker's engine with every module loaded (parsed), not yet evaluated."""
    engine = _STATE.get("engine")
    if engine is not None:
        return engine
    import regorus

    engine = regorus.Engine()
    try:
        engine.set_policy_length_config(
            max_col=guard.MAX_COLUMNS, max_file_bytes=guard.MAX_FILE_BYTES, max_lines=guard.MAX_LINES
        )
        engine.set_gather_prints(True)
        for name, text in _STATE["modules"]:
            _guarded(engine.add_policy, name, text)
    except _Failed as exc:
        raise _WorkerError("compile", [exc.raw]) from None
    _STATE["engine"] = engine
    return engine


def _engine() -> Any:
    """This worker's engine, probed once (``eval_query``) so that what regorus only checks at evaluation (unsafe
    variables; with ``data``, conflicting constants and errors anywhere) fails before any partition."""
    engine = _loaded()
    if not _STATE.get("probed"):
        try:
            _guarded(engine.eval_query, _STATE["probe"])
        except _Failed as exc:
            raise _WorkerError("compile", [exc.raw]) from None
        finally:
            _prints(engine)
        _STATE["probed"] = True
    return engine


def _prints(engine: Any) -> None:
    """Take the gathered print() output (it accumulates otherwise); shown on stderr with AUDITOR_DEBUG only."""
    printed = engine.take_prints()
    if printed and _STATE.get("debug"):
        sys.stderr.write("".join(f"print: {line}\n" for line in printed))


def _prepare() -> list[Raw]:
    """Walk the parsed modules (:func:`guard.check_ast`) and, when they pass, probe this worker's engine. Returns
    the guard's problems (modules as named in the engine): the probe evaluates, and a pack the guard refuses may
    crash the engine (recursion)."""
    engine = _loaded()
    try:
        ast = json.loads(_guarded(engine.get_ast_as_json))
    except _Failed as exc:
        raise _WorkerError("compile", [exc.raw]) from None
    problems = guard.check_ast(ast, lambda name: name)
    if not problems:
        _engine()
    return [(p.location.file, p.location.line, p.location.column, p.message) for p in problems]


def _category_facts(engine: Any, index: int, categories: list[str]) -> dict[str, Any]:
    try:
        _guarded(engine.set_input, {"categories": categories})
        value = _guarded(engine.eval_rule, "data." + CATEGORY_FACTS.replace("/", "."))
    except _Failed as exc:
        raise _WorkerError("runtime", [exc.raw], index) from None
    if not isinstance(value, dict) or set(value) != set(categories):
        raise _WorkerError("undefined", [], index, "category_facts")
    return value


# Every ``"category":"..."`` of a partition document's JSON text. Inside a JSON string a quote is always escaped, so
# this finds every string-valued `category` key; it may also find a key's text that merely ends in `category`,
# which only tabulates one category too many. A category not found is computed in place by the pack (same value).
_CATEGORY = re.compile(r'"category":"((?:[^"\\]|\\.)*)"')


def _set_document(engine: Any, index: int, text: str) -> None:
    """Hand the partition's JSON text to the engine, parsed there (no Python object is built for it). With the
    pack's per-category facts, the facts of the categories the document names are added to it as one more
    top-level key, ``category_facts`` (:data:`~auditor.policy.catalogue.TABULATED_CATEGORY_FACTS`), tabulated once
    per worker for each new category (one query per new set of categories). The document is a JSON object built by
    :mod:`auditor.policy.inputs`, which never uses that key."""
    if _STATE["facts"] and text.endswith("}") and text != "{}":
        known: dict[str, str] = _STATE.setdefault("facts_json", {})  # category -> its `"category":{facts}` JSON
        named = sorted({json.loads(f'"{c}"') if "\\" in c else c for c in _CATEGORY.findall(text)})
        new = [c for c in named if c not in known]
        if new:
            for c, facts in _category_facts(engine, index, new).items():
                known[c] = (
                    json.dumps(c, ensure_ascii=False)
                    + ":"
                    + json.dumps(facts, ensure_ascii=False, separators=(",", ":"))
                )
        if named:
            text = f'{text[:-1]},"{TABULATED_CATEGORY_FACTS}":{{{",".join(known[c] for c in named)}}}}}'
    try:
        _guarded(engine.set_input_json, text)
    except _Failed as exc:
        raise _WorkerError("runtime", [exc.raw], index) from None


_AGGREGATE_RULE = "data." + AGGREGATE.replace("/", ".")


def _eval(engine: Any, rule: str) -> Any:
    """One rule of the loaded pack (``data.x.y``): its value, or None when undefined."""
    return _guarded(engine.eval_rule, rule)


def _eval_text(engine: Any, rule: str) -> Any:
    """One rule of the loaded pack, its value as JSON text (``'"<undefined>"'`` when undefined)."""
    return _guarded(engine.eval_rule_as_json, rule)


def _evaluate_one(engine: Any, index: int, text: str, rules: Sequence[tuple[str, str]]) -> str:
    """The aggregate's value for one partition, as the JSON text regorus writes (the caller parses it: handing a
    string to the CLI costs less than building Python objects here and pickling them, M: ~0.4 CPU-s)."""
    _set_document(engine, index, text)
    try:
        value = _eval_text(engine, _AGGREGATE_RULE)
    except _Failed as exc:
        raise _WorkerError("runtime", [exc.raw], index) from None
    finally:
        _prints(engine)
    if not (isinstance(value, str) and value.startswith("{")):  # undefined ('"<undefined>"'): name the culprit
        for rule_id, entrypoint in rules:
            try:
                defined = _eval(engine, "data." + entrypoint.replace("/", ".")) is not None
            except _Failed as exc:
                raise _WorkerError("runtime", [exc.raw], index, rule_id) from None
            if not defined:
                raise _WorkerError("undefined", [], index, rule_id)
        raise _WorkerError("undefined", [], index)
    return value


def _engine_ready() -> None:
    """Build and probe this worker's engine ahead of its first partition (a compile error is raised again there)."""
    _engine()


def _evaluate_chunk(start: int, documents: Sequence[str], rules: Sequence[tuple[str, str]]) -> list[str]:
    engine = _engine()
    return [_evaluate_one(engine, start + offset, text, rules) for offset, text in enumerate(documents)]


def _parsed_result(text: str) -> Any:
    """A worker's JSON text as a value (orjson; what it refuses, an integer beyond 64 bits, parsed by ``json``);
    anything that is not JSON becomes a value ``check_results`` refuses as a policy error."""
    try:
        return jsonsafe.loads_fast(text)
    except ValueError:
        return f"unreadable engine output: {text[:80]!r}"


def _evaluate_rule_by_rule(documents: Sequence[tuple[int, str]], rules: Sequence[tuple[str, str]]) -> None:
    """After a crash: evaluate each rule alone on each document, recording (partition, rule) in the shared marker
    before each step, so that the parent can name where a crash happens (-1: loading the pack). Errors are
    ignored here: only a crash is being looked for."""
    marker = _STATE["marker"]
    marker[0], marker[1] = -1, -1
    engine = _engine()
    for index, text in documents:
        marker[0], marker[1] = index, -1
        try:
            _set_document(engine, index, text)
        except _WorkerError:
            continue
        for j, (_rule_id, entrypoint) in enumerate(rules):
            marker[1] = j
            with suppress(_Failed):
                _eval(engine, "data." + entrypoint.replace("/", "."))
            _prints(engine)


def _run_tests(tests: Sequence[tuple[str, str]]) -> list[tuple[str, str, Any]]:
    """Each test's value ("undefined" when undefined); an error ends the run (a policy error, exit 3)."""
    engine = _engine()
    out: list[tuple[str, str, Any]] = []
    for module, path in tests:
        try:
            value = _guarded(engine.eval_rule, path)
        except _Failed as exc:
            raise _WorkerError("compile", [exc.raw]) from None
        finally:
            _prints(engine)
        out.append((module, path.rsplit(".", 1)[-1], "undefined" if value is None else value))
    return out


# --- the CLI side -----------------------------------------------------------------------------------------------------


def _workers(count: int) -> int:
    return requested() or max(1, min(cores(), 8, count))


@contextmanager
def _pool(modules: Sequence[Module], facts: bool, probe: str, workers: int, fresh: bool = False) -> Iterator[Pool]:
    """A pool of workers, each with its own engine for ``modules``. Leaving the block normally waits for the
    workers; leaving it any other way (an error, an interruption, a generator closed early) terminates them at
    once: a signal must stop a run within seconds, and no worker may outlive the CLI."""
    context: BaseContext
    if fresh:
        # A large run: start workers from a small fork server instead of forking the CLI, whose heap (the located
        # inventory, every partition's text) forked workers would inherit and, through Python's reference counting
        # and GC, copy page by page.
        context = get_context("forkserver")
        context.set_forkserver_preload(["auditor.policy.regorus_engine"])
    else:
        context = get_context("fork")
    pool = Pool(
        max_workers=workers,
        mp_context=context,
        initializer=_init,
        initargs=([(m.name, m.text) for m in modules], facts, probe),
    )
    try:
        yield pool
    except BaseException:
        stop(pool)
        raise
    pool.shutdown(wait=True)


def _crash_site(
    modules: Sequence[Module], facts: bool, probe: str, suspects: Sequence[tuple[int, str]], pack: PolicyPack
) -> tuple[int, Any] | None:
    """(partition, rule) where evaluating ``suspects`` rule by rule crashes a fresh worker, or None."""
    context = get_context("fork")
    marker: Any = context.Array("i", 2, lock=False)
    rules = list(pack.rules)
    pool = Pool(
        max_workers=1,
        mp_context=context,
        initializer=_init,
        initargs=([(m.name, m.text) for m in modules], facts, probe, marker),
    )
    try:
        pool.submit(_evaluate_rule_by_rule, list(suspects), [(r.id, r.entrypoint) for r in rules]).result()
    except BrokenProcessPool:
        index, rule = int(marker[0]), int(marker[1])
        return (index, rules[rule]) if 0 <= rule < len(rules) else None
    except _WorkerError:
        return None
    finally:
        stop(pool)
    return None


class RegorusEngine:
    """Embedded Rego evaluation (regorus), one engine per worker process."""

    name = "embedded"

    def __init__(self) -> None:
        reason = available()
        if reason is not None:
            raise PolicyError(MISSING.format(reason=reason))

    # -- errors --------------------------------------------------------------------------------------------------------

    def _raise(self, pack: PolicyPack, err: _WorkerError, labels: Sequence[str], modules: Sequence[Module]) -> None:
        fallback = Location(str(pack.root))
        label = labels[err.partition] if 0 <= err.partition < len(labels) else f"partition {err.partition}"
        if err.kind == "compile":
            raise PolicyError(regorus_problems(err.raws, modules, fallback))
        rule = pack.rules_by_id.get(err.rule)
        if err.kind == "runtime":
            problems = regorus_problems(err.raws, modules, rule.location if rule else fallback)
            raise PolicyError([Problem(p.location, f"{p.message} (while evaluating {label})") for p in problems])
        where = rule.location if rule else fallback
        name = f"rule {err.rule}" if err.rule else "policy evaluation"
        raise PolicyError([Problem(where, f"{name} was undefined while evaluating {label}")])

    def _crashed(
        self,
        pack: PolicyPack,
        modules: Sequence[Module],
        probe: str,
        doing: str,
        suspects: Sequence[tuple[int, str]] = (),
        labels: Sequence[str] = (),
    ) -> PolicyError:
        """A worker died. If the guard explains it (it may not have finished when the crash happened), report the
        guard's problems; else evaluate the ``suspects`` (the partitions in flight) rule by rule in a fresh worker to
        name the rule and partition where the engine crashes; else say what was being done, located at the pack."""
        fallback = Location(str(pack.root))
        try:
            with _pool(modules, False, probe, 1) as pool:
                raws = pool.submit(_prepare).result()
        except _WorkerError as err:
            return PolicyError(regorus_problems(err.raws, modules, fallback))
        except BrokenProcessPool:
            raws = []
        if raws:
            return PolicyError(regorus_problems(raws, modules, fallback))
        site = _crash_site(modules, bool(pack.category_facts_packages), probe, suspects, pack) if suspects else None
        if site is not None:
            index, rule = site
            label = labels[index] if 0 <= index < len(labels) else f"partition {index}"
            return PolicyError(
                [
                    Problem(
                        rule.location,
                        f"the embedded Rego engine (regorus) crashed evaluating rule {rule.id} on {label}; "
                        "check the rule with `auditor test --engine reference`",
                    )
                ]
            )
        return PolicyError(
            [
                Problem(
                    fallback,
                    f"the embedded Rego engine (regorus) crashed while {doing}; check the pack with "
                    "`auditor test --engine reference` or run it on an OPA server (--engine opa)",
                )
            ]
        )

    # -- evaluation ----------------------------------------------------------------------------------------------------

    def evaluate(self, pack: PolicyPack, partitions: Sequence[str], labels: Sequence[str] = ()) -> list[RuleResults]:
        return list(self.evaluate_iter(pack, partitions, labels, count=len(partitions)))

    def evaluate_iter(
        self,
        pack: PolicyPack,
        partitions: Iterable[str],
        labels: Sequence[str] = (),
        *,
        count: int | None = None,
        prestart: bool = False,
    ) -> Iterator[RuleResults]:
        """Results in partition order, produced as the workers finish them. Documents are taken from
        ``partitions`` only as workers need them (the caller builds them meanwhile and never holds them all), and
        at most a few chunks' results wait for the caller. ``count`` (how many partitions there are, at most)
        sizes the pool and the chunks.

        The first task checks the pack (:func:`_prepare`, ~0.3 s of CPU) while the other workers start evaluating;
        no result is handed over before the check has passed. With ``prestart`` (the caller will hand over
        partitions, and building the first ones takes a while: the lineage), the workers are started, the pack
        checked and every worker's engine built before the first document is taken, on the core the caller leaves
        idle meanwhile; without it, no worker starts when there is no document."""
        if count is None:
            partitions = list(partitions)
            count = len(partitions)
        documents = iter(partitions)
        facts = bool(pack.category_facts_packages)
        modules = [*pack.policy_modules, pack.aggregator(category_facts=facts)]
        rules = [(r.id, r.entrypoint) for r in pack.rules]
        # A second worker pays for itself early: the first task checks the pack (~0.3 s of CPU) while the others
        # evaluate (S, 40 partitions: 1.3 -> 0.9 s on 2 cores); below 32 partitions one worker does it all (the
        # sample, 24 partitions, was no faster with two and spent ~0.2 s more CPU).
        workers = _workers(max(1, count // PARTITIONS_PER_WORKER))
        size = max(1, min(CHUNK_LIMIT, -(-count // (workers * 4))))
        chunk = [] if prestart else list(itertools.islice(documents, size))
        if not chunk and not prestart:
            return
        start = index = 0
        in_flight: dict[Future[list[str]], tuple[int, list[str]]] = {}
        digest = modules_digest(modules)

        def judge(check: Future[list[Raw]]) -> None:
            raws = check.result()
            if raws:
                raise PolicyError(regorus_problems(raws, modules, Location(str(pack.root))))
            _CHECKED.add(digest)

        try:
            with _pool(modules, facts, "data", workers, fresh=count > FORK_LIMIT) as pool:
                checked: Future[list[Raw]] | None = None if digest in _CHECKED else pool.submit(_prepare)
                if prestart:
                    # One task per worker still to start (a fork server starts workers as tasks arrive): each
                    # builds and probes its engine while the caller builds the first partitions.
                    for _ in range(workers - (checked is not None)):
                        pool.submit(_engine_ready)
                    chunk = list(itertools.islice(documents, size))
                pending: deque[Future[list[str]]] = deque()
                while chunk or pending:
                    if chunk:
                        future = pool.submit(_evaluate_chunk, start, chunk, rules)
                        pending.append(future)
                        in_flight[future] = (start, chunk)
                        start += len(chunk)
                        chunk = list(itertools.islice(documents, size))
                        if chunk and len(pending) < workers * 3:
                            continue  # keep the workers fed before waiting for the oldest chunk
                    if checked is not None:
                        judge(checked)
                        checked = None
                    done = pending.popleft()
                    values = done.result()
                    del in_flight[done]
                    for value in values:
                        yield check_results(pack, _parsed_result(value), index)
                        index += 1
                if checked is not None:  # no partition at all (a prestarted pool): the pack is still judged
                    judge(checked)
        except _WorkerError as err:
            self._raise(pack, err, labels, modules)
        except BrokenProcessPool:
            label = labels[index] if index < len(labels) else f"partition {index}"
            suspects = [(first + i, doc) for first, docs in in_flight.values() for i, doc in enumerate(docs)]
            doing = f"evaluating {label} or a partition after it"
            raise self._crashed(pack, modules, "data", doing, sorted(suspects), labels) from None

    def run_tests(self, pack: PolicyPack) -> list[TestResult]:
        """The pack's tests, one query each (regorus runs all of them in ~0.15 s); the probe evaluates all of
        ``data`` first, so conflicts and errors anywhere in the pack are policy errors (exit 3), as on real OPA."""
        tests = [(m.name, f"data.{m.package}.{t}") for m in pack.modules if m.is_test for t in test_rules(m)]
        if not tests:
            return []
        modules = list(pack.modules)
        try:
            with _pool(modules, False, "data", 1) as pool:
                raws = pool.submit(_prepare).result()
                if raws:
                    raise PolicyError(regorus_problems(raws, modules, Location(str(pack.root))))
                values = pool.submit(_run_tests, tests).result()
        except _WorkerError as err:
            self._raise(pack, err, [], modules)
            raise  # unreachable
        except BrokenProcessPool:
            raise self._crashed(pack, modules, "data", "running the policy tests") from None
        return [as_test_result(module, name, value) for module, name, value in values]
