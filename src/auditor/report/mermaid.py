"""The flow picture as a Mermaid ``flowchart`` for the Markdown report (GitHub renders it natively).

Reuses the lineage package's Mermaid renderer (``auditor lineage --format mermaid``) on a view of the whole estate:
every system and partner, one edge per flow labelled with its purpose, legal basis and border, flows with open
findings in red."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auditor.findings import Finding
from auditor.lineage import Lineage
from auditor.lineage.render import View, ViewEdge, render_mermaid


def estate_view(lin: Lineage, violating: Mapping[str, Sequence[Finding]]) -> View:
    edges = []
    for fid in sorted(lin.graph.edges):
        e = lin.graph.edges[fid]
        a, b = lin.graph.nodes[e.source].region, lin.graph.nodes[e.target].region
        border = f"{a} -> {b}" if a and b and a != b else None
        flagged = tuple(dict.fromkeys(f"{f.severity} {f.rule_id}" for f in violating.get(fid, ())))
        edges.append(ViewEdge(e, "carries", 1, border, (), flagged))
    nodes = tuple(lin.graph.nodes[n] for n in sorted(lin.graph.nodes))
    return View("estate", "", {}, nodes, tuple(edges))


def render(lin: Lineage, violating: Mapping[str, Sequence[Finding]]) -> str:
    return render_mermaid(estate_view(lin, violating)).rstrip("\n")
