"""``auditor lineage`` views: where a field goes, or what flows into and out of a system, as text, JSON, Graphviz
dot or Mermaid. Formatters return text; the CLI owns I/O.

A view is a set of flows around a focus (a field: every flow carrying it; a system: its upstream and downstream
flows, breadth-first, optionally bounded by ``depth``), each with its purpose, legal basis, the border it crosses
and the findings located at it (``violations``: flow id -> rule ids, from an audit run by the CLI).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.escape import printable
from auditor.lineage.analysis import Lineage
from auditor.lineage.graph import Edge, Node

FORMATS = ("text", "json", "dot", "mermaid")


@dataclass(frozen=True, slots=True)
class ViewEdge:
    edge: Edge
    direction: str  # upstream | downstream | carries
    hops: int  # distance from the focus (1 = adjacent)
    border: str | None  # "EU -> CN" when the flow crosses a jurisdiction
    subjects_border: tuple[str, ...]  # subject jurisdictions whose data crosses a border here (lineage)
    violations: tuple[str, ...]  # "severity rule-id" of findings located at this flow
    identifiability: str | None = None  # field views: how identifiable the field arrives
    coverage: str | None = None  # field views, external recipients: what covers ⟨field, recipient, purpose⟩

    def to_json(self) -> dict[str, Any]:
        doc = self.edge.to_json()
        doc.update(
            direction=self.direction,
            hops=self.hops,
            border=self.border,
            onward_border_subjects=list(self.subjects_border),
            violations=list(self.violations),
            violating=bool(self.violations),
        )
        if self.identifiability is not None:
            doc["identifiability"] = self.identifiability
        if self.coverage is not None:
            doc["coverage"] = self.coverage
        return doc


@dataclass(frozen=True, slots=True)
class Reached:
    node: str
    hops: int
    path: tuple[str, ...]
    identifiability: str | None


@dataclass(frozen=True, slots=True)
class View:
    kind: str  # field | system
    focus: str
    summary: Mapping[str, Any]
    nodes: tuple[Node, ...]
    edges: tuple[ViewEdge, ...]
    reached: tuple[Reached, ...] = ()  # field views: one shortest path per node reached


def _border(lin: Lineage, e: Edge) -> str | None:
    a, b = lin.graph.nodes[e.source].region, lin.graph.nodes[e.target].region
    return f"{a} -> {b}" if a and b and a != b else None


def _view_edge(
    lin: Lineage, e: Edge, direction: str, hops: int, violations: Mapping[str, Sequence[str]], fid: str | None = None
) -> ViewEdge:
    ident = cov = None
    if fid is not None:
        ident = lin.fields[fid].identifiability(e.target)
        if lin.graph.nodes[e.target].external:
            cov = lin.coverage(e, fid).by
    subjects = tuple(s for s, _ in lin.borders(e, (fid,) if fid is not None else None))
    return ViewEdge(e, direction, hops, _border(lin, e), subjects, tuple(violations.get(e.flow, ())), ident, cov)


def field_view(lin: Lineage, fid: str, violations: Mapping[str, Sequence[str]] | None = None) -> View:
    violations = violations or {}
    g = lin.graph
    f = lin.inv.fields[fid]
    fl = lin.fields.get(fid)
    origin = g.origin[fid]
    reached: list[Reached] = []
    edges: list[ViewEdge] = []
    if fl is not None:
        for n in fl.reached():
            path = fl.path(n)
            reached.append(Reached(n, len(path) - 1, path, fl.identifiability(n)))
        hops = {r.node: r.hops for r in reached}
        for e in sorted(g.carriers[fid], key=lambda x: (hops.get(x.source, 0), x.flow)):
            edges.append(_view_edge(lin, e, "carries", hops.get(e.source, 0) + 1, violations, fid))
    else:
        reached.append(Reached(origin, 0, (origin,), f.get("identifiability")))
    reached.sort(key=lambda r: (r.hops, r.node))
    node_ids = sorted({origin} | {r.node for r in reached} | {x for v in edges for x in (v.edge.source, v.edge.target)})
    summary = {
        "field": fid,
        "category": f.get("category"),
        "identifiability": f.get("identifiability"),
        "protection": f.get("protection"),
        "purposes": list(f.get("purposes") or ()),
        "declared_in": origin,
        "subject_jurisdictions": list(lin.field_subjects(fid)),
        "rejoined_at": list(fl.rejoined_at) if fl else [],
    }
    return View("field", fid, summary, tuple(g.nodes[n] for n in node_ids), tuple(edges), tuple(reached))


def system_view(
    lin: Lineage, sid: str, violations: Mapping[str, Sequence[str]] | None = None, depth: int | None = None
) -> View:
    violations = violations or {}
    g = lin.graph
    edges: list[ViewEdge] = []
    for direction in ("upstream", "downstream"):
        seen = {sid}
        queue: deque[tuple[str, int]] = deque([(sid, 0)])
        while queue:
            u, d = queue.popleft()
            if depth is not None and d >= depth:
                continue
            nexts = g.predecessors(u) if direction == "upstream" else g.successors(u)
            for e in sorted(nexts, key=lambda x: x.flow):
                edges.append(_view_edge(lin, e, direction, d + 1, violations))
                other = e.source if direction == "upstream" else e.target
                if other not in seen:
                    seen.add(other)
                    queue.append((other, d + 1))
    unique: dict[tuple[str, str], ViewEdge] = {}
    for v in edges:
        unique.setdefault((v.direction, v.edge.flow), v)
    kept = tuple(unique.values())
    node_ids = sorted({sid} | {x for v in kept for x in (v.edge.source, v.edge.target)})
    node = g.nodes[sid]
    summary = {
        "system": sid,
        "kind": node.kind,
        "operator": node.operator,
        "jurisdiction": node.jurisdiction,
        "subject_jurisdictions": list(lin.subjects.get(sid, ())),
        "upstream_flows": sum(1 for v in kept if v.direction == "upstream"),
        "downstream_flows": sum(1 for v in kept if v.direction == "downstream"),
        "cycles": [c.to_json() for c in lin.cycles if sid in c.members],
    }
    return View("system", sid, summary, tuple(g.nodes[n] for n in node_ids), kept)


# ---------------------------------------------------------------------------------------------------- formats


def _basis(e: Edge) -> str:
    if e.consent:
        return f"{e.basis} ({e.consent})"
    if e.exemption:
        return f"{e.basis} {e.exemption}"
    return e.basis or "no legal basis"


def _node_label(n: Node) -> str:
    return f"{n.id} [{n.role}, {n.operator}, {n.jurisdiction or '?'}]"


def render_text(view: View) -> str:
    out: list[str] = []
    s = view.summary
    nodes = {n.id: n for n in view.nodes}
    if view.kind == "field":
        out.append(
            f"field {view.focus}: {s['category']}, {s['identifiability'] or 'identifiability not stated'}, "
            f"{s['protection'] or 'protection not stated'}"
        )
        out.append(f"  declared in {_node_label(nodes[s['declared_in']])}")
        out.append(f"  collected for: {', '.join(s['purposes']) or '(no purpose)'}")
        out.append(f"  subjects in: {', '.join(s['subject_jurisdictions']) or '(unknown)'}")
        if s["rejoined_at"]:
            out.append(f"  RE-IDENTIFIED at: {', '.join(s['rejoined_at'])}")
        out.append("")
        out.append(f"reaches {len(view.reached)} node(s):")
        width = max((len(r.node) for r in view.reached), default=0)
        for r in view.reached:
            out.append(
                f"  {r.node:<{width}}  {r.hops} hop{'s' if r.hops != 1 else ' '}  "
                f"{r.identifiability or '?':<12}  {' -> '.join(r.path)}"
            )
        sections = [("flows carrying it", [v for v in view.edges])]
    else:
        out.append(f"system {_node_label(nodes[view.focus])}")
        out.append(f"  holds data of subjects in: {', '.join(s['subject_jurisdictions']) or '(none)'}")
        for c in s["cycles"]:
            out.append(f"  in a sync loop: {' -> '.join(c['path'])} (closed by {c['closing_flow']})")
        sections = [
            ("upstream (where its data comes from)", [v for v in view.edges if v.direction == "upstream"]),
            ("downstream (where its data goes)", [v for v in view.edges if v.direction == "downstream"]),
        ]
    for title, edges in sections:
        out.append("")
        out.append(f"{title}: {len(edges)} flow(s)")
        for v in edges:
            e = v.edge
            mark = "✗" if v.violations else " "
            out.append(f"{mark} {e.flow}  (hop {v.hops})")
            src, dst = nodes[e.source], nodes[e.target]
            line = f"    {src.id} ({src.jurisdiction or '?'}) -> {dst.id} ({dst.jurisdiction or '?'}, {dst.role})"
            if v.border:
                line += f"   border {v.border}"
            out.append(line)
            detail = f"    purpose {e.purpose}; basis {_basis(e)}"
            if e.mechanism or v.border:
                detail += f"; transfer {e.mechanism or 'none declared'}"
            out.append(detail)
            if v.subjects_border:
                out.append(f"    data of {', '.join(v.subjects_border)} subjects crosses a border here")
            if view.kind == "field":
                extra = f"    arrives {v.identifiability or '?'}"
                if v.coverage:
                    extra += f"; covered by {v.coverage.replace('_', ' ')}"
                out.append(extra)
            else:
                shown = ", ".join(e.fields[:6]) + (f", ... (+{len(e.fields) - 6})" if len(e.fields) > 6 else "")
                out.append(f"    fields: {shown}")
            for rule in v.violations:
                out.append(f"    ✗ {rule}")
    n_bad = sum(1 for v in view.edges if v.violations)
    out.append("")
    out.append(f"{len(view.edges)} flow(s), {n_bad} with findings (marked ✗)")
    return "\n".join(out) + "\n"


def render_json(view: View) -> str:
    doc = {
        "kind": view.kind,
        "focus": view.focus,
        "summary": dict(view.summary),
        "nodes": [n.to_json() for n in view.nodes],
        "edges": [v.to_json() for v in view.edges],
    }
    if view.kind == "field":
        doc["reached"] = [
            {"node": r.node, "hops": r.hops, "path": list(r.path), "identifiability": r.identifiability}
            for r in view.reached
        ]
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _dot_id(text: str) -> str:
    """A double-quoted DOT string; line breaks become ``\\n`` (a centred line in a label)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    escaped = printable(escaped)  # other control characters visible (a raw CR or ESC has no place in a DOT file)
    return f'"{escaped}"'


def _edge_label(v: ViewEdge) -> str:
    parts = [v.edge.purpose, _basis(v.edge)]
    if v.border:
        parts.append(f"{v.border} ({v.edge.mechanism or 'no mechanism'})")
    return "\n".join(parts)


def _by_jurisdiction(nodes: Sequence[Node]) -> dict[str, list[Node]]:
    groups: dict[str, list[Node]] = {}
    for n in nodes:
        groups.setdefault(n.region or "unknown", []).append(n)
    return dict(sorted(groups.items()))


def render_dot(view: View) -> str:
    out = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    out.append('  edge [fontname="Helvetica", fontsize=9];')
    for i, (juris, nodes) in enumerate(_by_jurisdiction(view.nodes).items()):
        out.append(f"  subgraph cluster_{i} {{")
        out.append(f"    label={_dot_id(juris)};")
        for n in nodes:
            shape = "box" if n.type == "system" else "ellipse"
            style = ', style="bold"' if n.id == view.focus else ""
            label = f"{n.id}\n{n.role} · {n.operator}"
            out.append(f"    {_dot_id(n.id)} [label={_dot_id(label)}, shape={shape}{style}];")
        out.append("  }")
    for v in view.edges:
        attrs = [f"label={_dot_id(_edge_label(v))}"]
        if v.violations:
            attrs += ['color="red"', 'fontcolor="red"', "penwidth=2"]
        out.append(f"  {_dot_id(v.edge.source)} -> {_dot_id(v.edge.target)} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid_text(text: str) -> str:
    """Label text safe inside a quoted Mermaid label (entity codes for quotes and angle brackets)."""
    text = printable(text).replace(" -> ", " → ").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return text.replace("`", "#96;")  # a fence inside the Markdown report's ```mermaid block cannot close it


def render_mermaid(view: View) -> str:
    ids = {n.id: f"n{i}" for i, n in enumerate(view.nodes)}
    out = ["flowchart LR"]
    for i, (juris, nodes) in enumerate(_by_jurisdiction(view.nodes).items()):
        out.append(f'  subgraph j{i}["{_mermaid_text(juris)}"]')
        for n in nodes:
            label = f"{_mermaid_text(n.id)}<br/>{_mermaid_text(n.role)} · {_mermaid_text(n.operator)}"
            out.append(f'    {ids[n.id]}["{label}"]' if n.type == "system" else f'    {ids[n.id]}(["{label}"])')
        out.append("  end")
    red: list[int] = []
    for k, v in enumerate(view.edges):
        label = "<br/>".join(_mermaid_text(x) for x in _edge_label(v).split("\n"))
        out.append(f'  {ids[v.edge.source]} -->|"{label}"| {ids[v.edge.target]}')
        if v.violations:
            red.append(k)
    if view.focus in ids:
        out.append(f"  style {ids[view.focus]} stroke-width:3px")
    if red:
        out.append(f"  linkStyle {','.join(str(k) for k in red)} stroke:#d00,stroke-width:3px,color:#d00")
    return "\n".join(out) + "\n"


def render(view: View, fmt: str) -> str:
    return {"text": render_text, "json": render_json, "dot": render_dot, "mermaid": render_mermaid}[fmt](view)
