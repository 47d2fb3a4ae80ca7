"""What the lineage means for the policy: coverage of every ⟨field, recipient, purpose⟩, borders crossed by the
data's subjects, re-identification joins and cycles — and the compact facts attached to the policy partitions.

Coverage of a field reaching a recipient for the purpose of the flow that delivers it:
- ``declared_purpose``: the field is collected for that purpose (``fields[].purposes``);
- ``consent``: the delivering flow cites a consent for that purpose, obtained by a real mechanism (opt-in,
  separate, banner), whose channels include the flow's channel, ``any``, or the surface the flow leaves from
  (a consent asked in the app covers what the app sends, not a server-side upload by another system);
- ``exemption``: the delivering flow cites a II.IV.3 exemption whose scope allows that recipient (authorities for
  (1)-(3), research institutes for (10), Creality and its processors for (4)-(9), any recipient for (11)), never for
  a marketing or advertising purpose (II.IV.3: exemptions cover collection, not marketing);
- ``none`` otherwise.

Facts attached to a flow describe what completes *at* that flow (its last hop): the rules locate their findings
there. Only multi-hop facts are attached (a field that did not originate at the flow's source): single-hop facts
are the flow's own ``fields_info`` / ``purpose_info`` / ``consent_info``, which the direct rules read.
"""

from __future__ import annotations

import gc
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from auditor.lineage.graph import Edge, LineageGraph, build, region
from auditor.lineage.propagate import DIRECT_ID_CATEGORIES, FieldLineage, is_identifier, propagate
from auditor.model import Entity, Inventory

VALID_CONSENT = frozenset({"opt_in", "separate", "banner"})
# Policy purposes no II.IV.3 exemption may cover (marketing, advertising, commercial use).
NO_EXEMPTION_PURPOSES = frozenset(
    {"MKT.MESSAGES", "PARTNER.ADS", "PARTNER.AD_MEASURE", "PARTNER.ANALYTICS", "COOKIE.ADS", "DEID.COMMERCIAL"}
)
EXEMPTION_ROLES = {
    "II.IV.3(1)": frozenset({"authority"}),
    "II.IV.3(2)": frozenset({"authority"}),
    "II.IV.3(3)": frozenset({"authority"}),
    "II.IV.3(10)": frozenset({"research_institute"}),
}
INTERNAL_EXEMPTIONS = frozenset(f"II.IV.3({n})" for n in range(4, 10))
SURFACES = frozenset({"app", "web"})
# Partner roles the sharing rule (II.III.a) reads reach facts for; mirrors creality.lineage.sharing_roles.
SHARING_ROLES = frozenset({"advertiser", "analytics", "other"})


@dataclass(frozen=True, slots=True)
class Coverage:
    by: str  # declared_purpose | consent | exemption | none
    ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"by": self.by, "ref": self.ref}


@dataclass(frozen=True, slots=True)
class Cycle:
    """A sync loop (one per strongly connected component of systems), closed by ``closing_flow``."""

    path: tuple[str, ...]  # start ... start
    flows: tuple[str, ...]
    closing_flow: str
    members: tuple[str, ...]  # every system of the component

    def to_json(self) -> dict[str, Any]:
        return {
            "path": list(self.path),
            "flows": list(self.flows),
            "closing_flow": self.closing_flow,
            "members": list(self.members),
        }


@dataclass
class Lineage:
    inv: Inventory
    graph: LineageGraph
    fields: dict[str, FieldLineage]
    subjects: dict[str, tuple[str, ...]]  # node id -> subject jurisdictions of the data it holds
    cycles: list[Cycle]
    origin_subjects: dict[str, tuple[str, ...]] = field(default_factory=dict)  # whose data a node's own fields are
    flow_facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    field_facts: dict[str, dict[str, Any]] = field(default_factory=dict)

    # ---------------------------------------------------------------- queries used by the CLI and the facts
    def field_subjects(self, fid: str) -> tuple[str, ...]:
        """Whose data a field is: the people a collection point collects from, or for a field a system derives,
        everyone whose data that system holds (an over-approximation: a missing fact never passes silently)."""
        return self.origin_subjects.get(self.graph.origin[fid], ())

    def coverage(self, edge: Edge, fid: str) -> Coverage:
        return coverage(self.inv, self.graph, edge, fid)

    def borders(self, edge: Edge, fields: tuple[str, ...] | None = None) -> list[tuple[str, list[str]]]:
        """(subject jurisdiction, fields) for every subject whose data crosses a border on ``edge`` that the flow's
        own endpoints do not show: the data reached ``edge.source`` from elsewhere, and ``edge.target`` lies
        outside both the source's jurisdiction and the subjects' home."""
        src = self.graph.nodes[edge.source]
        dst = self.graph.nodes[edge.target]
        to, frm = dst.region, src.region
        if to is None or to == frm:
            return []
        own = {region(j) for j in src.subject_jurisdictions}
        by_subject: dict[str, list[str]] = defaultdict(list)
        for fid in fields if fields is not None else edge.fields:
            for s in self.field_subjects(fid):
                if s != to and s not in own:
                    by_subject[s].append(fid)
        return sorted(by_subject.items())

    def path_via(self, edge: Edge, fid: str) -> tuple[str, ...]:
        """The field's path to ``edge.source`` followed by ``edge.target``: the path this flow completes."""
        lin = self.fields[fid]
        return (*lin.path(edge.source), edge.target)


def coverage(inv: Inventory, g: LineageGraph, edge: Edge, fid: str) -> Coverage:
    purposes = inv.fields[fid].get("purposes") or ()
    if edge.purpose in purposes:
        return Coverage("declared_purpose", edge.purpose)
    if edge.basis == "consent" and edge.consent is not None:
        consent = inv.consents[edge.consent]
        channels = set(consent.get("channels") or ())
        surface = g.nodes[edge.source].kind
        offered = {edge.channel, "any", surface if surface in SURFACES else None}
        if (
            consent.get("purpose") == edge.purpose
            and consent.get("mechanism") in VALID_CONSENT
            and channels & {c for c in offered if c is not None}
        ):
            return Coverage("consent", consent.id)
    if edge.basis == "exemption" and edge.exemption:
        target = g.nodes[edge.target]
        policy_purpose = inv.purposes[edge.purpose].get("policy_purpose")
        allowed = (
            target.role in EXEMPTION_ROLES.get(edge.exemption, frozenset())
            or (edge.exemption in INTERNAL_EXEMPTIONS and target.operator in ("first_party", "processor"))
            or edge.exemption == "II.IV.3(11)"
        )
        if allowed and policy_purpose not in NO_EXEMPTION_PURPOSES:
            return Coverage("exemption", edge.exemption)
    return Coverage("none")


def _subjects(g: LineageGraph) -> dict[str, tuple[str, ...]]:
    """Subject jurisdictions of the data each node holds: its own (collection points) plus those of every node
    it receives data from. A worklist fixpoint: a node's set only grows, at most once per jurisdiction, so the
    cost is linear in flows times the (small) number of jurisdictions, cycles included."""
    held: dict[str, set[str]] = {
        nid: {r for r in (region(j) for j in n.subject_jurisdictions) if r} for nid, n in g.nodes.items()
    }
    queue = deque(nid for nid in sorted(held) if held[nid])
    queued = set(queue)
    while queue:
        u = queue.popleft()
        queued.discard(u)
        mine = held[u]
        for e in g.successors(u):
            theirs = held[e.target]
            if not mine <= theirs:
                theirs |= mine
                if e.target not in queued:
                    queued.add(e.target)
                    queue.append(e.target)
    return {nid: tuple(sorted(j)) for nid, j in held.items()}


def _cycles(g: LineageGraph) -> list[Cycle]:
    systems = nx.DiGraph()  # partners are sinks (flows leave systems only): never part of a cycle
    systems.add_edges_from((e.source, e.target) for e in g.edges.values() if g.nodes[e.target].type == "system")
    out: list[Cycle] = []
    for comp in nx.strongly_connected_components(systems):
        if len(comp) == 1:
            (only,) = comp
            if not systems.has_edge(only, only):
                continue
        # Start where data enters the loop from outside (so the closing flow is the one syncing back to it).
        entries = sorted(n for n in comp if any(e.source not in comp for e in g.predecessors(n)))
        start = entries[0] if entries else min(comp)
        parent: dict[str, tuple[str, str]] = {}
        closing: tuple[str, str] | None = None
        queue = deque([start])
        seen = {start}
        while queue and closing is None:
            u = queue.popleft()
            for e in sorted(g.successors(u), key=lambda x: x.flow):
                if e.target == start:
                    closing = (u, e.flow)
                    break
                if e.target in comp and e.target not in seen:
                    seen.add(e.target)
                    parent[e.target] = (u, e.flow)
                    queue.append(e.target)
        assert closing is not None  # a strongly connected component always leads back to its start
        nodes, flows = [start], [closing[1]]
        cur = closing[0]
        while cur != start:
            nodes.append(cur)
            prev, flow = parent[cur]
            flows.append(flow)
            cur = prev
        nodes.append(start)
        nodes.reverse()
        flows.reverse()
        out.append(Cycle(tuple(nodes), tuple(flows), closing[1], tuple(sorted(comp))))
    return sorted(out, key=lambda c: c.closing_flow)


def _flow_facts(lin: Lineage) -> None:
    inv, g = lin.inv, lin.graph
    for edge in g.edges.values():
        target = g.nodes[edge.target]
        reach: list[dict[str, Any]] = []
        rejoins: dict[str, dict[str, Any]] = {}
        travelled: list[str] = []  # fields that reached the source from elsewhere
        for i, fid in enumerate(edge.fields):
            fl = lin.fields[fid]
            if fl.is_root(edge.source):
                continue  # declared (or first seen) here: a single-hop fact
            travelled.append(fid)
            cov = lin.coverage(edge, fid) if target.external else None
            # Reach facts for recipients outside Creality that a rule reads: uncovered ones, and sharing partners.
            if cov is not None and (cov.by == "none" or target.role in SHARING_ROLES):
                f = inv.fields[fid]
                path = lin.path_via(edge, fid)
                reach.append(
                    {
                        "field": fid,
                        "index": i,
                        "category": f.get("category"),
                        "protection": f.get("protection") or "plain",
                        "identifiability": fl.identifiability(edge.target),
                        "hops": len(path) - 1,
                        "path": list(path),
                        "covered_by": cov.by,
                    }
                )
            if edge.target in fl.rejoined_at and fl.leaves_deidentified(edge.source, g.nodes[edge.source].deidentifies):
                entry = rejoins.get(edge.target)
                if entry is None:
                    idents = sorted(
                        x for x in {y for e in g.predecessors(edge.target) for y in e.fields} if is_identifier(inv, x)
                    )
                    via = sorted({e.flow for e in g.predecessors(edge.target) if set(e.fields) & set(idents)})
                    path = lin.path_via(edge, fid)
                    deid = [n for n in path if g.nodes[n].deidentifies]
                    entry = rejoins[edge.target] = {
                        "node": edge.target,
                        "index": i,
                        "deidentified_by": deid[-1] if deid else fl.origin,
                        "fields": [],
                        "identifiers": [x for x in idents if x != fid][:10],
                        "identifier_flows": [x for x in via if x != edge.flow][:10],
                        "path": list(path),
                    }
                entry["fields"].append(fid)
        facts: dict[str, Any] = {}
        if reach:
            facts["lineage_reach"] = reach
        if rejoins:
            facts["lineage_rejoins"] = [rejoins[k] for k in sorted(rejoins)]
        if travelled and target.region != g.nodes[edge.source].region:
            borders = []
            for subject, fids in lin.borders(edge, tuple(travelled)):
                borders.append(
                    {
                        "subject": subject,
                        "from": g.nodes[edge.source].region,
                        "to": target.region,
                        "mechanism": edge.mechanism,
                        "separate_consent": _cross_border_consent(inv, edge.separate_consent),
                        "fields": fids[:10],
                        "path": list(lin.path_via(edge, fids[0])),
                    }
                )
            if borders:
                facts["lineage_borders"] = borders
        if facts:
            lin.flow_facts[edge.flow] = facts
    for cycle in lin.cycles:
        lin.flow_facts.setdefault(cycle.closing_flow, {})["lineage_cycle"] = {
            "path": list(cycle.path),
            "members": len(cycle.members),
        }


def _cross_border_consent(inv: Inventory, cid: str | None) -> bool:
    if cid is None:
        return False
    c = inv.consents[cid]
    return c.get("mechanism") in VALID_CONSENT and "cross_border" in (c.get("scope") or ())


def _field_facts(lin: Lineage) -> None:
    for fid, fl in lin.fields.items():
        if fl.rejoined_at:
            lin.field_facts[fid] = {"lineage_rejoined_at": list(fl.rejoined_at)}


def analyse(inv: Inventory) -> Lineage:
    """Build the graph, propagate every field, find cycles and compute the facts the rules read.

    The cyclic garbage collector is paused meanwhile: the stage allocates many small containers while the loaded
    inventory holds millions of tracked objects, and each full collection walks all of them (measured on benchmark
    L: two thirds of the stage's time). Nothing built here is cyclic garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _analyse(inv)
    finally:
        if enabled:
            gc.enable()


def _analyse(inv: Inventory) -> Lineage:
    g = build(inv)
    held = _subjects(g)
    own = {
        nid: tuple(sorted({r for r in (region(j) for j in n.subject_jurisdictions) if r})) for nid, n in g.nodes.items()
    }
    origin_subjects = {nid: own[nid] or held[nid] for nid in g.nodes}
    lin = Lineage(inv, g, propagate(inv, g), held, _cycles(g), origin_subjects)
    _flow_facts(lin)
    _field_facts(lin)
    return lin


def flow_hook(lin: Lineage) -> Any:
    """``inputs.build(flow_facts=...)``: the lineage facts completing at a flow (nothing when none)."""
    empty: Mapping[str, Any] = {}

    def facts(flow: Entity) -> Mapping[str, Any]:
        return lin.flow_facts.get(flow.id, empty)

    return facts


def field_hook(lin: Lineage) -> Any:
    """``inputs.build(field_facts=...)``: where a de-identified field is re-identified (nothing otherwise)."""
    empty: Mapping[str, Any] = {}

    def facts(f: Entity) -> Mapping[str, Any]:
        return lin.field_facts.get(f.id, empty)

    return facts


__all__ = ["DIRECT_ID_CATEGORIES", "Coverage", "Cycle", "Lineage", "analyse", "coverage", "field_hook", "flow_hook"]
