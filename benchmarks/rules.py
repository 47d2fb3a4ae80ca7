#!/usr/bin/env python3
"""Where the embedded engine's time goes, rule by rule (issue 14): CPU seconds of each rule of the pack on an
inventory's partitions, in one process, with the worker's own set-up (tabulated category facts, JSON hand-over).

    python benchmarks/rules.py INVENTORY [--every N] [--top K] [--policy DIR]

It loads INVENTORY, builds its partitions as ``check`` does, then for every N-th partition hands the document to one
regorus engine exactly as a worker does and times the aggregate (what ``check`` evaluates), then each rule alone.
It prints the aggregate's CPU time, then the rules by CPU time with their share of the sum and how many findings
each gave. The sum of the rules alone exceeds the aggregate (each query has a fixed cost); the order is what
matters. It asserts nothing. ``--every 2`` halves the time but is not representative of the whole inventory
(partitions alternate in kind): compare figures taken with the same N. Session 7's A/B figures in
docs/performance.md were taken this way (and with two policy directories, the aggregate only).

    python benchmarks/rules.py INVENTORY --against OTHER_POLICY_DIR [--policy DIR] [--rounds N]

compares two packs instead (a rewrite of some rules): one engine each in this process, the aggregate of every
partition evaluated with each in turn for N rounds (alternated: this machine's speed drifts within minutes), and
says whether every partition's aggregate is the same JSON text with both (the findings are then the same bytes).
Identical packs differ by up to ±8 % here (session 10): a change is measured only beyond that.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src")]

from auditor import pipeline  # noqa: E402
from auditor.policy import OVERLAYS, POLICY_PACK, load_pack  # noqa: E402
from auditor.policy import regorus_engine as worker  # noqa: E402
from auditor.policy.catalogue import PolicyPack, default_policy_dir  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("inventory", type=Path)
    ap.add_argument("--every", type=int, default=1, help="time every N-th partition only (default: all)")
    ap.add_argument("--top", type=int, default=30, help="how many rules to list (default 30)")
    ap.add_argument("--policy", type=Path, default=None, help="policy directory (default: the shipped pack)")
    ap.add_argument("--against", type=Path, default=None, help="compare with this policy directory (aggregate only)")
    ap.add_argument("--rounds", type=int, default=3, help="alternated rounds with --against (default 3)")
    args = ap.parse_args()

    inv = pipeline.load([args.inventory])
    documents, _labels = pipeline.partition_documents(inv, pipeline.analyse(inv))
    documents = documents[:: max(1, args.every)]
    if args.against is not None:
        return compare(documents, args.policy or default_policy_dir(), args.against, args.rounds)
    pack = load_pack(args.policy or default_policy_dir(), (POLICY_PACK, *OVERLAYS))
    engine = _engine_for(pack)
    entrypoints = [(r.id, "data." + r.entrypoint.replace("/", ".")) for r in pack.rules]
    spent = dict.fromkeys([rule for rule, _ in entrypoints], 0.0)
    found = dict.fromkeys(spent, 0)
    aggregate = 0.0
    for index, document in enumerate(documents):
        worker._set_document(engine, index, document)
        started = time.process_time()
        engine.eval_rule(worker._AGGREGATE_RULE)
        aggregate += time.process_time() - started
        for rule, entrypoint in entrypoints:
            started = time.process_time()
            value = engine.eval_rule(entrypoint)
            spent[rule] += time.process_time() - started
            found[rule] += len(value) if isinstance(value, list) else 0
    total = sum(spent.values()) or 1.0
    print(f"{len(documents)} partitions of {args.inventory}: aggregate {aggregate:.2f} CPU-s, rules alone {total:.2f}")
    print("| CPU ms | share | findings | rule |\n|---|---|---|---|")
    for rule, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"| {seconds * 1e3:.0f} | {100 * seconds / total:.1f}% | {found[rule]} | {rule} |")
    return 0


def _engine_for(pack: PolicyPack) -> Any:
    """A worker's engine for ``pack`` in this process (its state left in ``worker._STATE``)."""
    facts = bool(pack.category_facts_packages)
    modules = [*pack.policy_modules, pack.aggregator(category_facts=facts)]
    worker._STATE.clear()
    worker._STATE.update(facts=facts, modules=[(m.name, m.text) for m in modules], probe="data")
    return worker._loaded()


def compare(documents: list[str], mine: Path, other: Path, rounds: int) -> int:
    """The aggregate's CPU time with each pack, alternated, and whether their outputs are the same text."""
    engines = []
    for directory in (mine, other):
        engine = _engine_for(load_pack(directory, (POLICY_PACK, *OVERLAYS)))
        engines.append((directory, engine, dict(worker._STATE)))
    spent = [0.0, 0.0]
    outputs: list[list[str]] = [[], []]
    for round_ in range(max(1, rounds)):
        for k, (_directory, engine, state) in enumerate(engines):
            worker._STATE.clear()
            worker._STATE.update(state)  # each engine's tabulated category facts
            started = time.process_time()
            for index, document in enumerate(documents):
                worker._set_document(engine, index, document)
                text = engine.eval_rule_as_json(worker._AGGREGATE_RULE)
                if round_ == 0:
                    outputs[k].append(text)
            spent[k] += time.process_time() - started
            state.update(worker._STATE)
    for k, (directory, _engine, _state) in enumerate(engines):
        print(f"{directory}: aggregate {spent[k] / max(1, rounds):.2f} CPU-s per round ({len(documents)} partitions)")
    differ = [i for i, (a, b) in enumerate(zip(*outputs, strict=True)) if a != b]
    print("same output on every partition" if not differ else f"different output on {len(differ)} partitions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
