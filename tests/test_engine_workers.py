"""The embedded engine (regorus) and its worker pool: forked for small runs, started from a fork server for large
ones (so that workers do not inherit the CLI's heap), both giving the same results; a crashed worker is a located
exit 3; and without regorus (a platform without its wheels) the CLI says what to install and the OPA server engine
still works."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from tests.conftest import ROOT, SAMPLE, run_auditor

from auditor import pipeline
from auditor.errors import PolicyError
from auditor.lineage import analyse
from auditor.policy import load_pack
from auditor.policy import regorus_engine as engine_mod


def test_fork_server_workers_give_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    inv = pipeline.load([SAMPLE])
    docs, labels = pipeline.partition_documents(inv, analyse(inv))
    pack = load_pack()
    forked = engine_mod.RegorusEngine().evaluate(pack, docs, labels)
    monkeypatch.setattr(engine_mod, "FORK_LIMIT", 0)
    served = engine_mod.RegorusEngine().evaluate(pack, docs, labels)
    assert served == forked
    assert sum(len(v) for r in served for v in r.values()) > 0


def test_documents_are_taken_as_workers_need_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """At scale the partitions' documents must never all be in memory: the engine takes them from a generator a few
    chunks ahead of the results it hands over, in order, and identical to evaluating the list at once."""
    inv = pipeline.load([SAMPLE])
    docs, labels = pipeline.partition_documents(inv, analyse(inv))
    docs, labels = docs * 3, labels * 3
    pack = load_pack()
    whole = engine_mod.RegorusEngine().evaluate(pack, docs, labels)
    monkeypatch.setattr(engine_mod, "CHUNK_LIMIT", 2)
    taken: list[int] = []

    def lazily() -> Iterator[str]:
        for i, doc in enumerate(docs):
            taken.append(i)
            yield doc

    results = engine_mod.RegorusEngine().evaluate_iter(pack, lazily(), labels, count=len(docs))
    first = next(results)
    assert len(taken) < len(docs) // 2, f"{len(taken)} of {len(docs)} documents taken before the first result"
    assert [first, *results] == whole
    assert len(taken) == len(docs)


def _without_regorus(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in an interpreter where ``import regorus`` fails, as on a platform without its wheels."""
    code = (
        "import sys; sys.modules['regorus'] = None; sys.argv = ['auditor', *sys.argv[1:]]\n"
        "from auditor.cli import main\n"
        "main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_without_regorus_the_embedded_engine_says_what_to_install_and_the_alternative() -> None:
    proc = _without_regorus("check", str(SAMPLE))
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    first, summary = proc.stderr.strip().splitlines()
    assert "pip install 'auditor[embedded]'" in first and "--engine opa --opa-url" in first, first
    assert summary == "auditor: 1 policy/engine error; exit 3"


def test_without_regorus_the_opa_server_engine_still_works(opa_url: str) -> None:
    proc = _without_regorus("check", str(SAMPLE), "--format", "json", "--engine", "opa", "--opa-url", opa_url)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert proc.stdout == run_auditor("check", str(SAMPLE), "--format", "json").out


def test_a_crashed_worker_is_a_policy_error_naming_the_rule_and_partition(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers are forked, so a crash planted in the engine call (SIGSEGV, as regorus gives on a recursive function)
    reaches them: the CLI does not die with them, it evaluates the partitions in flight rule by rule in a fresh
    worker and reports the rule (at its METADATA location) and the partition where the engine crashes."""
    inv = pipeline.load([SAMPLE])
    docs, labels = pipeline.partition_documents(inv, analyse(inv))
    pack = load_pack()
    culprit = pack.rules_by_id["creality.cookies.embedded_without_flow"]
    real_eval = engine_mod._eval

    def crashing(engine: object, rule: str) -> object:
        value = real_eval(engine, rule)
        mine = rule == "data." + culprit.entrypoint.replace("/", ".")
        if (mine or rule.endswith(".findings")) and value and (not isinstance(value, dict) or value.get(culprit.id)):
            os.kill(os.getpid(), signal.SIGSEGV)
        return value

    real_text = engine_mod._eval_text

    def crashing_text(engine: object, rule: str) -> object:  # the aggregate, as JSON text
        value = real_text(engine, rule)
        if isinstance(value, str) and f'"{culprit.id}": [\n    {{' in value:
            os.kill(os.getpid(), signal.SIGSEGV)
        return value

    monkeypatch.setattr(engine_mod, "_eval", crashing)
    monkeypatch.setattr(engine_mod, "_eval_text", crashing_text)
    with pytest.raises(PolicyError) as caught:
        engine_mod.RegorusEngine().evaluate(pack, docs, labels)
    (problem,) = caught.value.problems
    assert problem.location == culprit.location
    assert f"crashed evaluating rule {culprit.id} on partner 'payments'" in problem.message, problem.message
    assert not multiprocessing.active_children()


def test_an_unexplained_crash_is_still_a_policy_error(monkeypatch: pytest.MonkeyPatch) -> None:
    inv = pipeline.load([SAMPLE])
    docs, labels = pipeline.partition_documents(inv, analyse(inv))

    def crash(*_args: object) -> None:
        os.kill(os.getpid(), signal.SIGSEGV)

    monkeypatch.setattr(engine_mod, "_evaluate_one", crash)
    with pytest.raises(PolicyError) as caught:
        engine_mod.RegorusEngine().evaluate(load_pack(), docs, labels)
    (problem,) = caught.value.problems
    assert "the embedded Rego engine (regorus) crashed while evaluating" in problem.message
    assert not multiprocessing.active_children()
