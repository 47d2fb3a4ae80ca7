#!/usr/bin/env python3
"""What one step of a rule costs the embedded engine (regorus), per item of a comprehension: the cost model behind
docs/performance.md's session 10, for whoever rewrites rules for speed.

    python benchmarks/rego_costs.py [--items N] [--repeat R]

Each probe is a comprehension over N synthetic fields (``some f in input.fields``) with one more step than the
baseline (``f.n < 0``: iterate and compare); the figure is CPU microseconds per item, and what the step adds to
the baseline. Every probe keeps no item except the ones building output, so the output's own cost is measured
apart (``object literal, kept``). It prints figures and asserts nothing. Session 10 on this machine: a builtin
call (object.get, startswith, concat) +1.7-2.2 us, a call of a function +2.8-3.3 us (+8 with ``not`` around a
boolean one), a data constant through an import alias +1.9 us (and its whole package is evaluated once per
evaluation: ~0.2 ms for creality.vocab), through its full path +0.8, bound to a variable before the loop +0.3, an
object built +1.4 (object.union +3.7), against 0.6 us for the baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

PROBES = {
    "baseline: iterate, compare a field": "[f | some f in input.fields; f.n < 0]",
    "dot access (f.n)": "[f | some f in input.fields; f.n > 1000000000]",
    "object.get(f, k, default)": '[f | some f in input.fields; object.get(f, "zz", 0) > 0]',
    "data constant via an import alias": "[f | some f in input.fields; f.category in lib.kinds]",
    "data constant via its full path": "[f | some f in input.fields; f.category in data.lib.kinds]",
    "data constant bound before the loop": "[f | k := lib.kinds; some f in input.fields; f.category in k]",
    "call of a function of another package": '[f | some f in input.fields; lib.value(f) == "x"]',
    "not + call of a boolean function": "[f | some f in input.fields; not lib.personal(f)]",
    "call of a function of the same package": '[f | some f in input.fields; local(f) == "x"]',
    "startswith builtin": '[f | some f in input.fields; startswith(f.category, "zzz")]',
    "concat builtin": '[f | some f in input.fields; concat("", [f.category, "."]) == "x"]',
    "object literal, dropped": '[f | some f in input.fields; x := {"a": f.id, "b": f.category}; x.a == "q"]',
    "object.union, dropped": '[f | some f in input.fields; x := object.union({"a": f.id}, {"b": 1}); x.a == "q"]',
    "object literal, kept (output)": '[x | some f in input.fields; x := {"a": f.id, "b": f.category}]',
}

LIBRARY = """package lib
import rego.v1
kinds := {"backend", "datastore", "warehouse"}
value(x) := x.category
personal(x) if startswith(x.category, "nobody.")
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    import regorus

    engine = regorus.Engine()
    engine.add_policy("lib.rego", LIBRARY)
    rules = "\n".join(f"p{i} := {body}" for i, body in enumerate(PROBES.values()))
    header = "package probe\nimport rego.v1\nimport data.lib\nlocal(x) := x.category\n"
    engine.add_policy("probe.rego", f"{header}{rules}\n")
    fields = [{"id": f"f{i}", "n": i, "category": "user.contact.email"} for i in range(args.items)]
    engine.set_input_json(json.dumps({"fields": fields}))
    costs = {}
    for i, name in enumerate(PROBES):
        rule = f"data.probe.p{i}"
        engine.eval_rule(rule)
        started = time.process_time()
        for _ in range(args.repeat):
            engine.eval_rule(rule)
        costs[name] = (time.process_time() - started) / args.repeat / args.items * 1e6
    base = costs["baseline: iterate, compare a field"]
    from importlib.metadata import version

    print(f"regorus {version('gordon-to-regorus')}, {args.items} items, {args.repeat} evaluations each")
    print("| step | CPU us per item | added to the baseline |\n|---|---|---|")
    for name, cost in costs.items():
        print(f"| {name} | {cost:.2f} | {cost - base:+.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
