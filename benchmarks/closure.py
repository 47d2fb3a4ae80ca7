#!/usr/bin/env python3
"""How far one system's change can reach through the flows (issue 14, point 4): what an incremental pull-request run
would have to recompute if it tracked dependencies by reachability alone.

    python benchmarks/closure.py INVENTORY [--samples N]

It loads INVENTORY, builds the flow graph (systems and partners as nodes, one edge per flow) and prints the size of
its largest weakly connected component, then, for N systems spread evenly over the sorted ids, the number of nodes
that are an ancestor or a descendant of each (the partitions whose lineage facts could depend on that system):
minimum, median and maximum, as a count and a share of the nodes. It asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import networkx as nx

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src")]

from auditor import lineage, pipeline  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inventory", type=Path)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    inv = pipeline.load([args.inventory])
    graph = lineage.build(inv).graph  # what `auditor lineage` draws: systems, partners, one edge per flow
    nodes = graph.number_of_nodes()
    components = sorted((len(c) for c in nx.weakly_connected_components(graph)), reverse=True)
    systems = sorted(inv.systems)
    step = max(1, len(systems) // max(1, args.samples))
    reach = [len(nx.ancestors(graph, s) | nx.descendants(graph, s)) for s in systems[::step][: args.samples]]
    print(f"{args.inventory}: {nodes} nodes, {graph.number_of_edges()} flow edges")
    share = components[0] / nodes
    print(f"largest weakly connected component: {components[0]} nodes ({share:.0%}), {len(components)} components")
    print(
        f"ancestors + descendants of {len(reach)} systems: min {min(reach)}, median {statistics.median(reach):.0f}, "
        f"max {max(reach)} ({max(reach) / nodes:.0%} of the nodes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
