"""The flow picture as a Mermaid ``flowchart`` for the Markdown report (GitHub renders it natively).

Stand-in until the lineage package exposes its own Mermaid renderer: jurisdictions become subgraphs, third parties
are stadium shapes, flows with open findings are red (``linkStyle``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from auditor.report.facts import FlowPicture

_SAFE = re.compile(r"[^A-Za-z0-9_]")


def _mid(node_id: str) -> str:
    return "n_" + _SAFE.sub("_", node_id)


def _label(text: str) -> str:
    return text.replace('"', "#quot;")


def render(picture: FlowPicture, t: Callable[..., str], names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    lines = ["flowchart LR"]
    for j in picture.jurisdictions:
        title = f"{j} — {names[j]}" if j in names else j
        lines.append(f'  subgraph z_{_SAFE.sub("_", j)}["{_label(title)}"]')
        for n in picture.nodes:
            if n.jurisdiction != j:
                continue
            shape = ('(["', '"])') if n.kind == "partner" else ('["', '"]')
            lines.append(f"    {_mid(n.id)}{shape[0]}{_label(n.id)}{shape[1]}:::{n.operator}")
        lines.append("  end")
    red: list[int] = []
    for i, e in enumerate(picture.edges):
        arrow = "-.->" if e.cross_border else "-->"
        lines.append(f"  {_mid(e.source)} {arrow} {_mid(e.target)}")
        if e.violating:
            red.append(i)
    lines.append("  classDef first_party fill:#e0ecff,stroke:#2f5fb3")
    lines.append("  classDef processor fill:#e3f4e1,stroke:#2e7d32")
    lines.append("  classDef third_party fill:#fdebd8,stroke:#c25e00")
    if red:
        lines.append(f"  linkStyle {','.join(str(i) for i in red)} stroke:#c62828,stroke-width:3px")
    return "\n".join(lines)
