"""Field propagation: for every field, the nodes it reaches, one shortest path to each, and how identifiable it is
when it gets there.

One breadth-first search per field over the flows that carry it (``flows[].fields`` lists field ids, and a field
keeps its id wherever it travels), so the cost is linear in the number of (flow, field) pairs; cycles terminate
because each (node, state) is visited once.

De-identification (``deidentifies: true`` systems, II.IV.2.d). The search has two states per node: the field
arrives *raw* (as declared) or *lowered* (it passed through a de-identification step, so it is at most
``deidentified``). A de-identification step lowers what it forwards, except identifiers (a ``join_key`` field or a
direct-identifier category): a value forwarded verbatim is not de-identified. The fields a de-identification step
declares itself (tokens, buckets) are de-identified as declared. Lowering holds only if nothing downstream re-joins
the data: where a node reached by de-identified data also holds an identifier (a ``join_key`` or direct-identifier
field that is not de-identified: :func:`identifies`), the data is re-identified there, and its identifiability
reverts — to the declared value for a lowered field, to the highest identifiability of the step's inputs for a
field the step derived — at that node and everywhere downstream of it. A join needs something to join on: the
de-identified data is keyed per record (a ``join_key``, a ``tokenized`` field) or a flow brings it with such a key or
an identifier; keyless de-identified data (statistics) merely stored next to identified data is the mixed-store
rule's (III.I.c). A node *holds* an identifier when it
declares it, receives it through a flow, or sends it on (a flow leaving a node carries only what the node holds).

Implied hops. A flow may carry a field its source neither declares nor receives through a declared flow (an SDK fed
the account number after login). The inventory then contradicts itself; the lineage does not let the field start
afresh there: it assumes an undeclared path from the declaring system to that source (an *implied* hop, reported
by the rules as a gap) and follows the field on from it, so every rule sees the field where it actually travels.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from auditor.lineage.graph import Edge, LineageGraph, Node
from auditor.model import Inventory

RANK = {"aggregate": 0, "anonymous": 1, "deidentified": 2, "pseudonymous": 3, "identified": 4}
LEVELS = {v: k for k, v in RANK.items()}
UNLINKABLE = frozenset({"anonymous", "aggregate"})

# Categories that identify a person directly; mirrors data.creality.vocab.direct_ids (the rules' definition).
DIRECT_ID_CATEGORIES = frozenset(
    {
        "user.contact.email",
        "user.contact.phone_number",
        "user.contact.address",
        "user.contact",
        "user.name",
        "user.unique_id",
        "user.account.username",
        "user.device.device_id.imei",
        "user.device.device_id.imsi",
        "user.device.device_id.mac",
        "user.government_id",
    }
)

# A parent pointer in the search: (previous node, previous state lowered?, flow id, None for an implied hop); None
# where the field is declared.
Parent = tuple[str, bool, str | None] | None

# The table of nodes reached lowered shared by the fields no de-identification step lowers (never written to).
_NOT_LOWERED: dict[str, Parent] = {}


@dataclass(slots=True)
class FieldLineage:
    """Where one field goes. ``raw`` / ``low`` map each node reached in that state to its BFS parent."""

    field: str
    origin: str
    declared: str | None  # declared identifiability
    raw: dict[str, Parent]
    low: dict[str, Parent] = dc_field(default_factory=dict)
    rejoined_at: tuple[str, ...] = ()
    reverted: frozenset[str] = frozenset()
    reverted_to: str | None = None
    deidentified_by: str | None = None  # the de-identification step that declares this field, if any
    lowerable: bool = False  # a de-identification step lowers it (not an identifier, above deidentified)
    implied: tuple[str, ...] = ()  # sources that carry the field without declaring or receiving it (implied hop)

    def reached(self) -> list[str]:
        """Every node the field reaches (its origin included), sorted."""
        return sorted(set(self.raw) | set(self.low))

    def arrives_raw(self, node: str) -> bool:
        return node in self.raw

    def _walk(self, node: str, lowered: bool) -> list[tuple[str, str | None]]:
        steps: list[tuple[str, str | None]] = []
        state: tuple[str, bool] | None = (node, lowered)
        while state is not None:
            table = self.low if state[1] else self.raw
            parent = table[state[0]]
            steps.append((state[0], parent[2] if parent else None))
            state = (parent[0], parent[1]) if parent else None
        steps.reverse()
        return steps

    def path(self, node: str) -> tuple[str, ...]:
        """One shortest path (node ids) from where the field is declared to ``node`` (an implied hop included); the
        raw path when identified data gets there, else the path through the de-identification step."""
        return tuple(n for n, _ in self._walk(node, node not in self.raw))

    def flows(self, node: str) -> tuple[str, ...]:
        """The flow ids along :meth:`path`."""
        return tuple(f for _, f in self._walk(node, node not in self.raw) if f is not None)

    def identifiability(self, node: str) -> str | None:
        """How identifiable the field is at ``node`` (None when the inventory does not say or it never gets there)."""
        if node not in self.raw and node not in self.low:
            return None
        if node in self.reverted:
            return self.reverted_to
        if node in self.raw or self.declared is None:
            return self.declared
        return LEVELS[min(RANK.get(self.declared, 4), RANK["deidentified"])]

    def is_root(self, node: str) -> bool:
        """The field is declared at ``node``: it did not travel there (an implied hop is travelling)."""
        return node in self.raw and self.raw[node] is None

    def is_implied(self, node: str) -> bool:
        """The field reaches ``node`` only through an implied hop from where it is declared."""
        return node in self.implied

    def leaves_deidentified(self, node: str, deidentifies: bool) -> bool:
        """The field leaves ``node`` de-identified (``deidentifies``: ``node`` is a de-identification step)."""
        if node in self.reverted:
            return False
        if self.deidentified_by is not None:
            return True
        return self.lowerable and (
            (node in self.low and node not in self.raw) or (deidentifies and node in self.raw and node != self.origin)
        )

    def deidentified_at(self, node: str) -> bool:
        """The field reaches ``node`` only in de-identified form (lowered by a step, or derived by one), and has
        not been re-identified there."""
        if node in self.reverted:
            return False
        if self.deidentified_by is not None:
            return node != self.deidentified_by
        return node in self.low and node not in self.raw


def identifies(data: Any) -> bool:
    """A field (its YAML mapping) that can re-join records with a person: a direct identifier that is neither
    aggregated away nor tokenised (a plain, encrypted or weakly hashed e-mail is still the e-mail, whatever
    identifiability it declares: docs/inventory.md, ``hashed_weak``), or a join key that is not de-identified.
    The same definition as the rules' ``deidentification.direct_plain`` and ``vocab.direct_ids``."""
    level = data.get("identifiability") or "identified"
    if level in UNLINKABLE:
        return False
    if data.get("category") in DIRECT_ID_CATEGORIES and data.get("protection") != "tokenized":
        return True
    return bool(data.get("join_key")) and RANK.get(level, 4) >= RANK["pseudonymous"]


def is_identifier(inv: Inventory, field_id: str) -> bool:
    """:func:`identifies` for a field of the inventory."""
    return identifies(inv.fields[field_id].data)


def held_identifiers(inv: Inventory, g: LineageGraph, node: str) -> tuple[list[str], list[str]]:
    """The identifiers ``node`` holds (declares, receives, or sends on), sorted, and the flows bringing them in."""
    held: set[str] = set()
    system = inv.systems.get(node)
    if system is not None:
        held.update(f["id"] for f in system.get("fields") or () if identifies(f))
    via: set[str] = set()
    for e in g.predecessors(node):
        ids = [x for x in e.fields if is_identifier(inv, x)]
        if ids:
            held.update(ids)
            via.add(e.flow)
    for e in g.successors(node):
        held.update(x for x in e.fields if is_identifier(inv, x))
    return sorted(held), sorted(via)


def _search(
    adj: dict[str, list[Edge]],
    nodes: dict[str, Node],
    raw: dict[str, Parent],
    low: dict[str, Parent],
    queue: deque[tuple[str, bool]],
    lowerable: bool,
    origin: str,
) -> None:
    """Breadth-first from what ``queue`` holds, each node reached in the state it arrives in (raw, or lowered by a
    de-identification step upstream other than the origin), recorded with its parent in ``raw`` or ``low``."""
    while queue:
        u, lowered = queue.popleft()
        out_lowered = lowered or (lowerable and nodes[u].deidentifies and u != origin)
        table = low if out_lowered else raw
        for e in adj.get(u, ()):
            v = e.target
            if v not in table:
                table[v] = (u, lowered, e.flow)
                queue.append((v, out_lowered))


def _bfs(g: LineageGraph, fid: str, origin: str, carriers: list[Edge], lowerable: bool) -> FieldLineage:
    # Once per travelling field (XL: 200k): no closure made per field.
    adj: dict[str, list[Edge]] = {}
    for e in carriers:
        found = adj.get(e.source)
        if found is None:
            adj[e.source] = [e]
        else:
            found.append(e)
    nodes = g.nodes
    raw: dict[str, Parent] = {origin: None}
    low: dict[str, Parent] = {}
    queue: deque[tuple[str, bool]] = deque([(origin, False)])
    _search(adj, nodes, raw, low, queue, lowerable, origin)
    # Sources carrying the field without declaring or receiving it: an implied hop from the declaring system (not
    # lowered: nothing says a de-identification step is on that path). Start where no other such source feeds the
    # field in, so a source that does receive it from one of them is not mistaken for one; in a loop of such
    # sources, at the smallest id.
    implied: list[str] = []
    while any(e.source not in raw and e.source not in low for e in carriers):
        pending = sorted({e.source for e in carriers if e.source not in raw and e.source not in low})
        unreached = set(pending)
        fed = {e.target for e in carriers if e.source in unreached}
        for root in [s for s in pending if s not in fed] or pending[:1]:
            if root not in raw and root not in low:
                implied.append(root)
                raw[root] = (origin, False, None)
                queue.append((root, False))
                _search(adj, nodes, raw, low, queue, lowerable, origin)
    # Most fields never pass a de-identification step: they share one empty table (never written after the search).
    return FieldLineage(fid, origin, None, raw, low or _NOT_LOWERED, implied=tuple(sorted(implied)))


def propagate(inv: Inventory, g: LineageGraph, fields: Iterable[str] | None = None) -> dict[str, FieldLineage]:
    """Lineage of every field that travels (is carried by at least one flow), or of ``fields`` only."""
    wanted = sorted(g.carriers) if fields is None else sorted(f for f in fields if f in g.carriers)
    rank: dict[str, int] = {}
    ident: dict[str, bool] = {}
    for fid in g.carriers:
        data = inv.fields[fid].data
        rank[fid] = RANK.get(data.get("identifiability") or "identified", 4)
        ident[fid] = identifies(data)
    deid_input_rank: dict[str, int] = {}
    # Fields that key records, so that a store holding an identifier can join on them: join keys, per-record tokens
    # (protection tokenized) and identifiers. De-identified data without one (statistics) cannot be re-joined.
    keys = {
        fid
        for fid in g.carriers
        if ident[fid] or inv.fields[fid].data.get("join_key") or inv.fields[fid].data.get("protection") == "tokenized"
    }
    for e in g.edges.values():
        if g.nodes[e.target].deidentifies:
            top = max(rank[x] for x in e.fields)
            deid_input_rank[e.target] = max(deid_input_rank.get(e.target, 0), top)
    # The identifiers a node holds, asked only where de-identified data arrives (_rejoin), once per node.
    holds: dict[str, set[str]] = {}

    def held(node: str) -> set[str]:
        found = holds.get(node)
        if found is None:
            found = holds[node] = set(held_identifiers(inv, g, node)[0])
        return found

    result: dict[str, FieldLineage] = {}
    for fid in wanted:
        origin = g.origin[fid]
        lowerable = rank[fid] > RANK["deidentified"] and not ident[fid]
        lin = _bfs(g, fid, origin, g.carriers[fid], lowerable)
        lin.declared = inv.fields[fid].data.get("identifiability")
        lin.lowerable = lowerable
        if g.nodes[origin].deidentifies and rank[fid] <= RANK["deidentified"]:
            lin.deidentified_by = origin
        if lin.low or lin.deidentified_by is not None:
            _rejoin(g, lin, held, keys, deid_input_rank)
        result[fid] = lin
    return result


def _rejoin(
    g: LineageGraph,
    lin: FieldLineage,
    held: Callable[[str], set[str]],
    keys: set[str],
    deid_input_rank: dict[str, int],
) -> None:
    """Where de-identified data is re-identified: a node that holds an identifier, reached by the data together
    with something to join on (the field is itself a join key such as a token, or a flow brings it with one)."""

    def linkable(n: str) -> bool:
        return lin.field in keys or any(
            lin.field in e.fields and any(y in keys for y in e.fields if y != lin.field) for e in g.predecessors(n)
        )

    candidates = [
        n
        for n in (set(lin.raw) | set(lin.low))
        if lin.deidentified_at(n) and not g.nodes[n].deidentifies and held(n) - {lin.field} and linkable(n)
    ]
    if not candidates:
        return
    lin.rejoined_at = tuple(sorted(candidates))
    # Re-identified at each join node and everywhere downstream of it along the flows carrying the field.
    adj: dict[str, list[str]] = defaultdict(list)
    for e in g.carriers[lin.field]:
        adj[e.source].append(e.target)
    seen = set(candidates)
    queue = deque(candidates)
    while queue:
        u = queue.popleft()
        for v in adj.get(u, ()):
            if v not in seen:
                seen.add(v)
                queue.append(v)
    lin.reverted = frozenset(seen)
    if lin.deidentified_by is not None:
        lin.reverted_to = LEVELS[max(deid_input_rank.get(lin.deidentified_by, 4), RANK["pseudonymous"])]
    else:
        lin.reverted_to = lin.declared
