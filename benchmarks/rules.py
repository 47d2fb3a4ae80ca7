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
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src")]

from auditor import pipeline  # noqa: E402
from auditor.policy import OVERLAYS, POLICY_PACK, load_pack  # noqa: E402
from auditor.policy import regorus_engine as worker  # noqa: E402
from auditor.policy.catalogue import default_policy_dir  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("inventory", type=Path)
    ap.add_argument("--every", type=int, default=1, help="time every N-th partition only (default: all)")
    ap.add_argument("--top", type=int, default=30, help="how many rules to list (default 30)")
    ap.add_argument("--policy", type=Path, default=None, help="policy directory (default: the shipped pack)")
    args = ap.parse_args()

    inv = pipeline.load([args.inventory])
    pack = load_pack(args.policy or default_policy_dir(), (POLICY_PACK, *OVERLAYS))
    documents, _labels = pipeline.partition_documents(inv, pipeline.analyse(inv))
    documents = documents[:: max(1, args.every)]
    facts = bool(pack.category_facts_packages)
    modules = [*pack.policy_modules, pack.aggregator(category_facts=facts)]
    worker._STATE.update(facts=facts, modules=[(m.name, m.text) for m in modules], probe="data")
    engine = worker._loaded()
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


if __name__ == "__main__":
    sys.exit(main())
