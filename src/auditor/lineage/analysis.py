"""What the lineage means for the policy: coverage of every ⟨field, recipient, purpose⟩, borders crossed by the
data's subjects, re-identification joins and cycles — and the compact facts attached to the policy partitions.

Coverage of a field reaching a recipient for the purpose of the flow that delivers it (II.IV.2.e):
- ``not_personal``: what arrives is not personal data (a ``system.*`` category, or anonymous or aggregate there):
  II.IV.2.e is about "vos informations";
- ``declared_purpose``: the field is collected for that purpose (``fields[].purposes``);
- ``consent``: the delivering flow cites a consent for that purpose, obtained by a real mechanism (opt-in,
  separate, banner); for marketing messages (MKT.MESSAGES) the mechanism, the channel and the withdrawal are
  judged once, by the II.IV.1.a rules on that flow. Channels are judged where a message leaves to the person: on
  an ``email``/``sms``/``push``/``phone`` flow the consent's channels include that channel (or ``any``); internal
  feeds (batch, api, stream, sdk) are not judged on the message channel. A consent scoped to a surface (``web``,
  ``app``) covers the data collected on that surface (the field's collection point), wherever the data travels
  from, not a field collected on another surface;
- ``exemption``: the delivering flow cites a II.IV.3 exemption. Whether it applies (recipient, purpose, trigger,
  evidence...) is judged once, on that flow, by the exemption validator (``creality.exemptions``), so the same
  clause gets the same verdict at every level;
- ``none`` otherwise.

Facts attached to a flow describe what completes *at* that flow (its last hop): the rules locate their findings
there. Every hop is a fact, the first one from the declaring system included (``declared_here``); a field a flow
carries although its source neither declares nor receives it arrives through an *implied* hop from the declaring
system (``lineage_implied`` on that flow, and ``implied`` on the reach facts whose path starts with it). A field a
de-identification step lowered leaves it de-identified whatever it declares: ``lineage_lowered`` lists its
positions on each flow carrying it so.
"""

from __future__ import annotations

import gc
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from auditor.lineage.graph import Edge, LineageGraph, build, region
from auditor.lineage.propagate import (
    DIRECT_ID_CATEGORIES,
    UNLINKABLE,
    FieldLineage,
    held_identifiers,
    identifies,
    propagate,
)
from auditor.model import Entity, Inventory

VALID_CONSENT = frozenset({"opt_in", "separate", "banner"})
SURFACES = frozenset({"app", "web"})
# Channels on which a message reaches the person (II.IV.1.a); mirrors data.creality.vocab.message_channels.
MESSAGE_CHANNELS = frozenset({"email", "sms", "push", "phone"})
# Partner roles the sharing rule (II.III.a) reads reach facts for; mirrors creality.lineage.sharing_roles.
SHARING_ROLES = frozenset({"advertiser", "analytics", "social", "other"})
MIXED_SAMPLE = 10  # field ids shown in a mixed-store fact


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
    system_facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Flow and system facts left to be computed when asked for (``analyse(inv, facts=False)``): ``flow_facts`` and
    # ``system_facts`` stay empty, the hooks compute each entity's (:func:`flow_hook`, :func:`system_hook`).
    deferred: bool = False

    # ---------------------------------------------------------------- queries used by the CLI and the facts
    def field_subjects(self, fid: str) -> tuple[str, ...]:
        """Whose data a field is: the people a collection point collects from, or for a field a system derives,
        everyone whose data that system holds (an over-approximation: a missing fact never passes silently)."""
        return self.origin_subjects.get(self.graph.origin[fid], ())

    def coverage(self, edge: Edge, fid: str) -> Coverage:
        fl = self.fields.get(fid)
        return coverage(self.inv, self.graph, edge, fid, fl.identifiability(edge.target) if fl else None)

    def borders(self, edge: Edge, fields: tuple[str, ...] | None = None) -> list[tuple[str, list[str]]]:
        """(subject jurisdiction, fields) for every subject whose data crosses a border on ``edge`` that the flow's
        own endpoints do not show: the data reached ``edge.source`` from elsewhere, and ``edge.target`` lies
        outside both the source's jurisdiction and the subjects' home. Only personal data crosses: anonymous or
        aggregate data (there) and ``system.*`` categories never make a flow a transfer (interpretation.md 2.17)."""
        src = self.graph.nodes[edge.source]
        dst = self.graph.nodes[edge.target]
        to, frm = dst.region, src.region
        if to is None or to == frm:
            return []
        own = {region(j) for j in src.subject_jurisdictions}
        by_subject: dict[str, list[str]] = defaultdict(list)
        for fid in fields if fields is not None else edge.fields:
            f = self.inv.fields[fid]
            fl = self.fields.get(fid)
            level = fl.identifiability(edge.target) if fl is not None else f.get("identifiability")
            if level in UNLINKABLE or not str(f.get("category") or "").startswith("user."):
                continue
            for s in self.field_subjects(fid):
                if s != to and s not in own:
                    by_subject[s].append(fid)
        return sorted(by_subject.items())

    def path_via(self, edge: Edge, fid: str) -> tuple[str, ...]:
        """The field's path to ``edge.source`` followed by ``edge.target``: the path this flow completes."""
        lin = self.fields[fid]
        return (*lin.path(edge.source), edge.target)


def coverage(inv: Inventory, g: LineageGraph, edge: Edge, fid: str, level: str | None = None) -> Coverage:
    """How the use of ``fid`` at ``edge.target`` for ``edge.purpose`` is covered (module docstring). ``level``: the
    field's identifiability there (the lineage's, after de-identification and re-joins), when known."""
    f = inv.fields[fid]
    if not str(f.get("category") or "").startswith("user.") or (level or f.get("identifiability")) in UNLINKABLE:
        return Coverage("not_personal")
    if edge.purpose in (f.get("purposes") or ()):
        return Coverage("declared_purpose", edge.purpose)
    if edge.basis == "consent" and edge.consent is not None:
        consent = inv.consents[edge.consent]
        if consent.get("purpose") == edge.purpose and (
            inv.purposes[edge.purpose].get("policy_purpose") == "MKT.MESSAGES"  # mechanism, channel: II.IV.1.a rules
            or (
                consent.get("mechanism") in VALID_CONSENT
                and consent_channel_covers(
                    set(consent.get("channels") or ()), edge.channel, g.nodes[g.origin[fid]].kind
                )
            )
        ):
            return Coverage("consent", consent.id)
    if edge.basis == "exemption" and edge.exemption:
        return Coverage("exemption", edge.exemption)
    return Coverage("none")


def consent_channel_covers(channels: set[str], channel: str | None, collected_on: str) -> bool:
    """A consent's channels cover a use: the message channel where the message leaves to the person, and the
    surface (web, app) the data was collected on when the consent is scoped to surfaces. Internal feeds are not
    judged on channel (docs/interpretation.md 2.17, "Marketing consent")."""
    if "any" in channels:
        return True
    if channel in MESSAGE_CHANNELS:
        return channel in channels
    if channels & SURFACES and collected_on in SURFACES:
        return collected_on in channels
    return True


def _subjects(g: LineageGraph, own: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Subject jurisdictions of the data each node holds: its own (``own``: collection points) plus those of every
    node it receives data from. A worklist fixpoint: a node's set only grows, at most once per jurisdiction, so the
    cost is linear in flows times the (small) number of jurisdictions, cycles included."""
    held: dict[str, set[str]] = {nid: set(regions) for nid, regions in own.items()}
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
    facts_of = _facts_of_flows(lin)
    for edge in lin.graph.edges.values():
        facts = facts_of(edge)
        if facts:
            lin.flow_facts[edge.flow] = facts


def _facts_of_flows(lin: Lineage) -> Callable[[Edge], dict[str, Any]]:
    """What computes the facts completing at a flow (its last hop; empty when none). It reads the lineage only: any
    flow's facts, in any order, in any process (:func:`flow_hook` of a :attr:`Lineage.deferred` lineage)."""
    # The identifiers a re-joining node holds, and the flows bringing them: once per node, however many flows
    # complete a re-identification there (a research partner fed by a hundred de-identified exports).
    holding: dict[str, tuple[list[str], list[str]]] = {}
    # The sync loop each flow closes (the last one, when it closes several).
    cycles = {c.closing_flow: {"path": list(c.path), "members": len(c.members)} for c in lin.cycles}

    def facts_of(edge: Edge) -> dict[str, Any]:
        facts = _edge_facts(lin, edge, holding)
        cycle = cycles.get(edge.flow)
        if cycle is not None:
            facts["lineage_cycle"] = cycle
        return facts

    return facts_of


def _edge_facts(lin: Lineage, edge: Edge, holding: dict[str, tuple[list[str], list[str]]]) -> dict[str, Any]:
    """The facts completing at ``edge`` but its cycle's (:func:`_facts_of_flows`); ``holding`` memoises
    :func:`held_identifiers` by node."""
    inv, g = lin.inv, lin.graph
    target = g.nodes[edge.target]
    reach: list[dict[str, Any]] = []
    rejoin: dict[str, Any] | None = None  # the re-identification at edge.target this flow completes
    implied: list[dict[str, Any]] = []
    lowered: list[int] = []  # positions of fields a de-identification step upstream lowered
    travelled: list[str] = []  # fields that reached the source from elsewhere (an implied hop included)
    source_deidentifies = g.nodes[edge.source].deidentifies
    for i, fid in enumerate(edge.fields):
        fl = lin.fields[fid]
        here = fl.is_root(edge.source)  # declared at the source: the flow's first hop
        if fl.lowerable and fl.deidentified_by is None and fl.leaves_deidentified(edge.source, source_deidentifies):
            lowered.append(i)
        if not here:
            travelled.append(fid)
        if fl.is_implied(edge.source):
            # In a loop of such sources the chosen one does receive the field, from systems that lack it too.
            fed = any(fid in e.fields for e in g.predecessors(edge.source))
            implied.append({"field": fid, "index": i, "origin": fl.origin, "fed_by_others": fed})
        cov = lin.coverage(edge, fid) if target.external else None
        # Reach facts for recipients outside Creality that a rule reads: uncovered ones, and sharing partners.
        if cov is not None and (cov.by == "none" or target.role in SHARING_ROLES):
            f = inv.fields[fid]
            path = lin.path_via(edge, fid)
            entry = {
                "field": fid,
                "index": i,
                "category": f.get("category"),
                "protection": f.get("protection") or "plain",
                "identifiability": fl.identifiability(edge.target),
                "hops": len(path) - 1,
                "path": list(path),
                "covered_by": cov.by,
                "declared_here": here,
            }
            if len(path) > 2 and path[1] in fl.implied:
                entry["implied"] = [path[0], path[1]]
            reach.append(entry)
        if edge.target in fl.rejoined_at and fl.leaves_deidentified(edge.source, source_deidentifies):
            if rejoin is None:
                if edge.target not in holding:
                    holding[edge.target] = held_identifiers(inv, g, edge.target)
                idents, via = holding[edge.target]
                path = lin.path_via(edge, fid)
                deid = [n for n in path if g.nodes[n].deidentifies]
                rejoin = {
                    "node": edge.target,
                    "index": i,
                    "deidentified_by": deid[-1] if deid else fl.origin,
                    "fields": [],
                    "identifiers": idents,
                    "identifier_flows": [x for x in via if x != edge.flow][:10],
                    "path": list(path),
                }
            rejoin["fields"].append(fid)
    if rejoin is not None:
        rejoin["identifiers"] = [x for x in rejoin["identifiers"] if x not in rejoin["fields"]][:10]
    facts: dict[str, Any] = {}
    if reach:
        facts["lineage_reach"] = reach
    if rejoin is not None:
        facts["lineage_rejoins"] = [rejoin]
    if implied:
        facts["lineage_implied"] = implied
    if lowered:
        facts["lineage_lowered"] = lowered
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
    return facts


def _cross_border_consent(inv: Inventory, cid: str | None) -> bool:
    if cid is None:
        return False
    c = inv.consents[cid]
    return c.get("mechanism") in VALID_CONSENT and "cross_border" in (c.get("scope") or ())


def _field_facts(lin: Lineage) -> None:
    """Per field: where it is re-identified, and the purposes every flow using it for cites an exemption for."""
    for fid, fl in lin.fields.items():
        if fl.rejoined_at:
            lin.field_facts[fid] = {"lineage_rejoined_at": list(fl.rejoined_at)}
    # II.IV.3 waives consent "pour la collecte": a field collected for a purpose only ever used under a cited
    # exemption is judged where the exemption is cited (the exemption validator), not again at the field.
    g, inv = lin.graph, lin.inv
    exempted: dict[str, list[str]] = defaultdict(list)
    candidates = sorted(
        {
            (fid, e.purpose)
            for e in g.edges.values()
            if e.basis == "exemption" and e.exemption
            for fid in e.fields
            if e.purpose in (inv.fields[fid].get("purposes") or ())
        }
    )
    for fid, purpose in candidates:
        if all(e.basis == "exemption" and e.exemption for e in g.carriers[fid] if e.purpose == purpose):
            exempted[fid].append(purpose)
    for fid, purposes in exempted.items():
        lin.field_facts.setdefault(fid, {})["exempted_purposes"] = purposes


def _system_facts(lin: Lineage) -> None:
    """III.I.c: a store that holds de-identified data next to identified data, counting what it receives through
    flows (and sends on without declaring it) at the identifiability the lineage gives it there. A de-identification
    step receives identified data by design: only the fields it declares count."""
    maybe = _maybe_mixed(lin)
    if not maybe:
        return
    for sid in lin.inv.systems:
        facts = _mixed_store(lin, sid, maybe)
        if facts is not None:
            lin.system_facts[sid] = facts


def _maybe_mixed(lin: Lineage) -> set[str]:
    """The fields that can make a store mixed: only one de-identified somewhere can, declared so or lowered by a
    step."""
    maybe = {fid for fid, f in lin.inv.fields.items() if f.get("identifiability") == "deidentified"}
    maybe.update(fid for fid, fl in lin.fields.items() if fl.low or fl.deidentified_by is not None)
    return maybe


def _mixed_store(lin: Lineage, sid: str, maybe: set[str]) -> dict[str, Any] | None:
    """System ``sid``'s ``lineage_mixed`` fact (:func:`_system_facts`), or None; ``maybe`` is :func:`_maybe_mixed`.
    Reads the lineage only: any system's in any order, in any process."""
    inv, g = lin.inv, lin.graph
    unrelated = maybe.isdisjoint
    own = [f["id"] for f in inv.systems[sid].get("fields") or ()]
    edges = () if g.nodes[sid].deidentifies else (*g.predecessors(sid), *g.successors(sid))
    if unrelated(own) and all(unrelated(e.fields) for e in edges):
        return None
    moved = [fid for e in edges for fid in e.fields]
    levels: dict[str, str | None] = {fid: inv.fields[fid].get("identifiability") for fid in own}
    for fid in moved:
        if fid not in levels:
            fl = lin.fields.get(fid)
            levels[fid] = fl.identifiability(sid) if fl is not None else None
    for fid, level in levels.items():
        if level == "deidentified" and identifies(inv.fields[fid].data):
            levels[fid] = "identified"  # a weakly hashed e-mail labelled de-identified is the e-mail
    personal = {x: v for x, v in levels.items() if str(inv.fields[x].get("category") or "").startswith("user.")}
    deid = sorted(x for x, v in personal.items() if v == "deidentified")
    ident = sorted(x for x, v in personal.items() if v == "identified")
    if not (deid and ident):
        return None
    return {
        "lineage_mixed": {
            "deidentified": deid[:MIXED_SAMPLE],
            "deidentified_count": len(deid),
            "identified": ident[:MIXED_SAMPLE],
            "identified_count": len(ident),
        }
    }


def analyse(inv: Inventory, facts: bool = True) -> Lineage:
    """Build the graph, propagate every field, find cycles and compute the facts the rules read. With ``facts``
    False, each flow's and system's facts are computed only when :func:`flow_hook` and :func:`system_hook` are asked
    for them (:attr:`Lineage.deferred`): a pull request's keyer and its helper each compute those of their half of
    the partitions (XL: ~2 s of facts); such a lineage's graph no longer lists the flows carrying each field
    (``graph.carriers`` is empty).

    The cyclic garbage collector is paused meanwhile: the stage allocates many small containers while the loaded
    inventory holds millions of tracked objects, and each full collection walks all of them (measured on benchmark
    L: two thirds of the stage's time). Nothing built here is cyclic garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _analyse(inv, facts)
    finally:
        if enabled:
            gc.enable()


def _analyse(inv: Inventory, facts: bool) -> Lineage:
    g = build(inv)
    own = {
        nid: tuple(sorted({r for r in (region(j) for j in n.subject_jurisdictions) if r})) for nid, n in g.nodes.items()
    }
    held = _subjects(g, own)
    origin_subjects = {nid: own[nid] or held[nid] for nid in g.nodes}
    lin = Lineage(inv, g, propagate(inv, g), held, _cycles(g), origin_subjects, deferred=not facts)
    _field_facts(lin)
    if facts:
        _flow_facts(lin)
        _system_facts(lin)
    else:
        # The flows carrying each field (XL: ~26 MB) are what the propagation and the field facts walk; the facts
        # left to the hooks do not read them, and the two processes that compute them would each copy their pages.
        g.carriers = {}
    return lin


def _known(computed: Mapping[str, Mapping[str, Any]]) -> Any:
    """A hook answering from facts computed beforehand, by entity id (nothing when none)."""
    empty: Mapping[str, Any] = {}

    def facts(entity: Entity) -> Mapping[str, Any]:
        return computed.get(entity.id, empty)

    return facts


def flow_hook(lin: Lineage) -> Any:
    """``inputs.pending(flow_facts=...)``: the lineage facts completing at a flow (nothing when none). The hook holds
    the facts, not the lineage (see pipeline.partition_stream), unless they are :attr:`Lineage.deferred`: then it
    computes a flow's each time it is asked (the same facts, :func:`_flow_facts`)."""
    if not lin.deferred:
        return _known(lin.flow_facts)
    empty: Mapping[str, Any] = {}
    facts_of, edges = _facts_of_flows(lin), lin.graph.edges

    def deferred(flow: Entity) -> Mapping[str, Any]:
        # Not kept: a flow's facts are asked for by its source's partition only, once for its inputs and, when its
        # document is built (a pull request builds a few), once more.
        return facts_of(edges[flow.id]) or empty

    return deferred


def field_hook(lin: Lineage) -> Any:
    """``inputs.pending(field_facts=...)``: where a de-identified field is re-identified, and the purposes it is used
    for only under an exemption (nothing otherwise)."""
    return _known(lin.field_facts)


def system_hook(lin: Lineage) -> Any:
    """``inputs.pending(system_facts=...)``: a store mixing de-identified and identified data (nothing otherwise);
    computed each time it is asked when the lineage's facts are :attr:`Lineage.deferred`."""
    if not lin.deferred:
        return _known(lin.system_facts)
    empty: Mapping[str, Any] = {}
    maybe = _maybe_mixed(lin)

    def deferred(s: Entity) -> Mapping[str, Any]:
        return _mixed_store(lin, s.id, maybe) or empty  # not kept, as flow_hook's

    return deferred


__all__ = [
    "DIRECT_ID_CATEGORIES",
    "Coverage",
    "Cycle",
    "Lineage",
    "analyse",
    "consent_channel_covers",
    "coverage",
    "field_hook",
    "flow_hook",
    "system_hook",
]
