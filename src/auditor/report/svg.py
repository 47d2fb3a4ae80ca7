"""The personal-data flow picture as inline SVG, laid out in Python (no graphviz).

Layout: nodes are placed in columns by longest-path layer (sources on the left; strongly connected components share
a layer so cycles terminate) and in horizontal bands, one per jurisdiction. Inside a band cell the nodes are ordered
by the barycentre of their predecessors to limit crossings. Third parties are pills, systems rectangles; colour
says who operates the node; flows with open findings are red.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from html import escape
from typing import Any

import networkx as nx

from auditor.report.facts import FlowPicture, Node

NODE_W, NODE_H = 156, 30
COL_W = 214
ROW_H = 42
BAND_HEAD = 24
BAND_PAD = 10
LEFT = 64
LEGEND_H = 64

FILL = {
    "first_party": ("#e0ecff", "#2f5fb3"),
    "processor": ("#e3f4e1", "#2e7d32"),
    "third_party": ("#fdebd8", "#c25e00"),
}
RED = "#c62828"
GREY = "#7b8794"


def layers(graph: Any) -> dict[str, int]:
    """Longest-path layer of every node, on the condensation so cycles share one layer."""
    cond = nx.condensation(graph)
    level: dict[int, int] = {}
    for c in nx.topological_sort(cond):
        preds = list(cond.predecessors(c))
        level[c] = 1 + max(level[p] for p in preds) if preds else 0
    mapping = cond.graph["mapping"]
    out = {n: level[mapping[n]] for n in graph.nodes}
    # Pull sinks right next to their deepest source so partners sit close to the system that feeds them.
    for n in graph.nodes:
        preds = list(graph.predecessors(n))
        if not list(graph.successors(n)) and preds:
            out[n] = max(out[p] for p in preds) + 1
    return out


def layout(picture: FlowPicture) -> tuple[dict[str, tuple[float, float]], list[tuple[str, float, float]], float, float]:
    """Positions (top-left) of every node, the bands (jurisdiction, y, height), the width and the height."""
    graph = picture.graph
    level = layers(graph)
    nodes = {n.id: n for n in picture.nodes}
    # Band order: jurisdictions whose nodes start earliest first (collection points' zone on top).
    first: dict[str, tuple[int, int]] = {}
    for n in picture.nodes:
        key = (level[n.id], -sum(1 for m in picture.nodes if m.jurisdiction == n.jurisdiction))
        first[n.jurisdiction] = min(first.get(n.jurisdiction, key), key)
    bands = sorted(first, key=lambda j: (*first[j], j))
    cells: dict[tuple[str, int], list[str]] = defaultdict(list)
    for n in picture.nodes:
        cells[(n.jurisdiction, level[n.id])].append(n.id)
    pos: dict[str, tuple[float, float]] = {}
    band_rows: list[tuple[str, float, float]] = []
    y = 0.0
    max_layer = max(level.values(), default=0)
    for j in bands:
        rows = max(len(v) for (bj, _), v in cells.items() if bj == j)
        height = BAND_HEAD + rows * ROW_H + BAND_PAD
        for lay in range(max_layer + 1):
            members = cells.get((j, lay), [])

            def bary(nid: str) -> tuple[float, str]:
                ys = [pos[p][1] for p in graph.predecessors(nid) if p in pos]
                return (sum(ys) / len(ys) if ys else 0.0, nid)

            members.sort(key=bary)
            # Centre a short stack in the band.
            offset = (rows - len(members)) * ROW_H / 2
            for i, nid in enumerate(members):
                pos[nid] = (LEFT + lay * COL_W, y + BAND_HEAD + offset + i * ROW_H + (ROW_H - NODE_H) / 2)
        band_rows.append((j, y, height))
        y += height
    width = LEFT + (max_layer + 1) * COL_W
    del nodes
    return pos, band_rows, float(width), y


def _edge_path(a: tuple[float, float], b: tuple[float, float], bend: float) -> str:
    ax, ay = a[0] + NODE_W, a[1] + NODE_H / 2
    bx, by = b[0], b[1] + NODE_H / 2
    if bx > ax:
        dx = max(40.0, (bx - ax) / 2)
        return f"M{ax:.1f},{ay:.1f} C{ax + dx:.1f},{ay + bend:.1f} {bx - dx:.1f},{by + bend:.1f} {bx - 2:.1f},{by:.1f}"
    # Backward edge (a cycle): leave from the bottom, come back under the row.
    sx, sy = a[0] + NODE_W / 2, a[1] + NODE_H
    tx, ty = b[0] + NODE_W / 2, b[1] + NODE_H
    low = max(sy, ty) + 26
    return f"M{sx:.1f},{sy:.1f} C{sx:.1f},{low:.1f} {tx:.1f},{low:.1f} {tx:.1f},{ty + 2:.1f}"


def render(picture: FlowPicture, t: Callable[..., str], jurisdiction_names: Mapping[str, str] | None = None) -> str:
    """The SVG element (no XML prolog), sized by its viewBox so it scales to the page width."""
    pos, bands, width, height = layout(picture)
    total_h = height + LEGEND_H
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flows" viewBox="0 0 {width:.0f} {total_h:.0f}" '
        f'width="{width:.0f}" height="{total_h:.0f}" role="img" aria-labelledby="flows-title">',
        f'<title id="flows-title">{escape(t("flows.title"))}</title>',
        "<defs>",
        f'<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{GREY}"/></marker>',
        f'<marker id="arrow-red" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{RED}"/></marker>',
        "</defs>",
    ]
    names = jurisdiction_names or {}
    for i, (j, y, h) in enumerate(bands):
        fill = "#f6f8fa" if i % 2 == 0 else "#ffffff"
        out.append(f'<rect x="0" y="{y:.1f}" width="{width:.0f}" height="{h:.1f}" fill="{fill}" stroke="#d0d7de"/>')
        label = f"{j} — {names[j]}" if j in names else j
        out.append(f'<text x="8" y="{y + 16:.1f}" class="band">{escape(label)}</text>')
    # Edges first (under the nodes); normal ones, then red ones on top.
    for red in (False, True):
        for k, e in enumerate(picture.edges):
            if bool(e.violating) != red or e.source not in pos or e.target not in pos:
                continue
            bend = ((k % 3) - 1) * 6.0
            colour, marker = (RED, "arrow-red") if red else (GREY, "arrow")
            dash = ' stroke-dasharray="6 3"' if e.cross_border else ""
            w = 2.4 if red else 1.3
            tip = f"{e.source} → {e.target}: {', '.join(e.flows)}"
            if e.violating:
                tip += f" ({t('flows.violating')}{t('punct.colon')} {', '.join(e.violating)})"
            out.append(
                f'<path d="{_edge_path(pos[e.source], pos[e.target], bend)}" fill="none" stroke="{colour}" '
                f'stroke-width="{w}"{dash} marker-end="url(#{marker})"><title>{escape(tip)}</title></path>'
            )
    for n in picture.nodes:
        if n.id not in pos:
            continue
        x, y = pos[n.id]
        out.append(_node(n, x, y))
    out.append(_legend(t, height + 12, width))
    out.append("</svg>")
    return "\n".join(out)


def _node(n: Node, x: float, y: float) -> str:
    fill, stroke = FILL.get(n.operator, FILL["third_party"])
    rx = NODE_H / 2 if n.kind == "partner" else 4
    label = n.id if len(n.id) <= 22 else n.id[:21] + "…"
    tip = f"{n.label} ({n.id}) — {n.jurisdiction}, {n.operator}{', ' + n.role if n.role else ''}"
    weight = ' font-weight="600"' if n.kind == "system" else ""
    return (
        f'<g class="node"><title>{escape(tip)}</title>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="{rx}" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="1.4"/>'
        f'<text x="{x + NODE_W / 2:.1f}" y="{y + NODE_H / 2 + 4:.1f}" text-anchor="middle"{weight}>'
        f"{escape(label)}</text></g>"
    )


def _legend(t: Callable[..., str], y: float, width: float) -> str:
    parts = [f'<g class="legend" transform="translate(8,{y:.1f})">']
    x = 0.0
    items: list[tuple[str, str]] = []
    for op in ("first_party", "processor", "third_party"):
        fill, stroke = FILL[op]
        items.append(
            (
                f'<rect x="{{x}}" y="0" width="26" height="14" rx="3" fill="{fill}" stroke="{stroke}"/>',
                t(f"operator.{op}"),
            )
        )
    items.append(('<rect x="{x}" y="0" width="26" height="14" rx="3" fill="#fff" stroke="#555"/>', t("flows.system")))
    items.append(('<rect x="{x}" y="0" width="26" height="14" rx="7" fill="#fff" stroke="#555"/>', t("flows.partner")))
    for i, (shape, label) in enumerate(items):
        if i and x + 26 + 8 + 7 * len(label) > width - 20:
            break
        parts.append(shape.replace("{x}", f"{x:.0f}"))
        parts.append(f'<text x="{x + 32:.0f}" y="11">{escape(label)}</text>')
        x += 32 + 7 * len(label) + 22
    x = 0.0
    lines = [
        (GREY, "", "arrow", t("flows.edge")),
        (GREY, ' stroke-dasharray="6 3"', "arrow", t("flows.cross_border")),
        (RED, "", "arrow-red", t("flows.violating_legend")),
    ]
    for colour, dash, marker, label in lines:
        parts.append(
            f'<path d="M{x:.0f},34 L{x + 34:.0f},34" stroke="{colour}" stroke-width="2"{dash} '
            f'marker-end="url(#{marker})"/>'
        )
        parts.append(f'<text x="{x + 42:.0f}" y="38">{escape(label)}</text>')
        x += 42 + 7 * len(label) + 26
    parts.append("</g>")
    return "".join(parts)
