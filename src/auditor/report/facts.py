"""The facts a DPO report shows, computed from the inventory, the lineage, the policy pack and the findings.

Everything here is language-neutral data (ids, codes, numbers, booleans); the renderers translate. The flow picture,
the subjects' jurisdictions and the borders come from the lineage stage (``auditor.lineage``). Clause coverage comes
from ``auditor.coverage`` (the computation ``auditor clauses`` shows).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from auditor import coverage as coverage_mod
from auditor.findings import SEVERITY_RANK, Finding
from auditor.lineage import Lineage, region
from auditor.model import Entity, Inventory
from auditor.policy.catalogue import SEVERITIES, Clause, PolicyPack

STATUSES = tuple(s.replace(" ", "_") for s in coverage_mod.STATUSES)  # locale keys of the coverage statuses
AREA_ORDER = (
    "disclosure",
    "purpose",
    "consent",
    "exemption",
    "sharing",
    "cross_border",
    "retention",
    "security",
    "incident",
    "rights",
    "not_checkable",
)


def zone(jurisdiction: str) -> str:
    """The legal zone of a jurisdiction code: ``EU`` for any EU/EEA member, else the code itself."""
    return region(jurisdiction) or jurisdiction


# ------------------------------------------------------------------ coverage


@dataclass(frozen=True, slots=True)
class ClauseCoverage:
    clause: Clause
    status: str  # one of STATUSES
    rules: tuple[str, ...]
    open: tuple[Finding, ...]
    waived: tuple[Finding, ...]


def coverage(pack: PolicyPack, findings: Sequence[Finding]) -> list[ClauseCoverage]:
    """Every enabled clause with its status from ``auditor.coverage`` (the computation ``auditor clauses`` shows),
    and the findings the report lists under it."""
    by_clause: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_clause[f.clause_id].append(f)
    out: list[ClauseCoverage] = []
    for c in coverage_mod.compute(pack, findings):
        mine = by_clause.get(c.clause.id, [])
        out.append(
            ClauseCoverage(
                c.clause,
                (c.status or "").replace(" ", "_"),
                tuple(r.id for r in c.rules),
                tuple(f for f in mine if f.status == "open"),
                tuple(f for f in mine if f.status != "open"),
            )
        )
    return out


# ------------------------------------------------------------------ summary


@dataclass(frozen=True, slots=True)
class AreaSummary:
    area: str
    clauses: int
    counts: Mapping[str, int]  # open findings per severity
    statuses: Mapping[str, int]  # clauses per coverage status
    verdict: str  # non_compliant | to_review | incomplete | compliant | compliant_checkable | not_checkable | unchecked


def area_summaries(cov: Sequence[ClauseCoverage]) -> list[AreaSummary]:
    areas: dict[str, list[ClauseCoverage]] = defaultdict(list)
    for c in cov:
        areas[c.clause.kind or "not_checkable"].append(c)
    order = {a: i for i, a in enumerate(AREA_ORDER)}
    out: list[AreaSummary] = []
    for area in sorted(areas, key=lambda a: (order.get(a, len(order)), a)):
        items = areas[area]
        counts = {s: sum(1 for c in items for f in c.open if f.severity == s) for s in SEVERITIES}
        statuses = {s: sum(1 for c in items if c.status == s) for s in STATUSES}
        if counts["error"]:
            verdict = "non_compliant"
        elif statuses["findings"]:
            verdict = "to_review"
        elif statuses["evidence_missing"]:
            verdict = "incomplete"
        elif statuses["compliant"] and statuses["not_checkable"]:
            # Some clauses passed, the others cannot be checked from an inventory: "compliant" would vouch for them.
            verdict = "compliant_checkable"
        elif statuses["compliant"]:
            verdict = "compliant"
        elif statuses["no_rules"]:
            verdict = "unchecked"
        else:
            verdict = "not_checkable"
        out.append(AreaSummary(area, len(items), counts, statuses, verdict))
    return out


# ------------------------------------------------------------------ flow graph


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    label: str
    kind: str  # system | partner
    jurisdiction: str
    operator: str  # first_party | processor | third_party
    role: str  # system kind (app, warehouse...) or partner role (advertiser...)


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    flows: tuple[str, ...]
    violating: tuple[str, ...]  # the flows of this edge with open findings
    cross_border: bool


@dataclass(frozen=True, slots=True)
class FlowPicture:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    graph: Any  # networkx.DiGraph of node ids (one edge per (source, target) pair)

    @property
    def jurisdictions(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for n in self.nodes:
            seen.setdefault(n.jurisdiction, None)
        return tuple(seen)


def violating_flows(inv: Inventory, findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Flow id -> the open findings located at that flow. A multi-hop finding is located at the flow that completes
    the path (the lineage rules' convention), so the earlier, innocent hops stay grey; the path itself is shown with
    the finding."""
    out: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.status == "open" and f.subject_kind == "flow" and f.subject_id in inv.flows:
            out[f.subject_id].append(f)
    return dict(sorted(out.items()))


def flow_graph(lin: Lineage, findings: Sequence[Finding]) -> FlowPicture:
    """The picture's graph from the lineage graph: every system and partner, one edge per (source, target) pair
    carrying the ids of its flows, violating when one of them has an open finding."""
    inv = lin.inv
    bad = violating_flows(inv, findings)
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for e in lin.graph.edges.values():
        grouped[(e.source, e.target)].append(e.flow)
    nodes = tuple(
        Node(n.id, n.name or n.id, n.type, n.jurisdiction or "?", n.operator, n.role) for n in lin.graph.nodes.values()
    )
    graph = nx.DiGraph()
    graph.add_nodes_from(n.id for n in nodes)
    edges = []
    for (a, b), fids in sorted(grouped.items()):
        graph.add_edge(a, b)
        cross = region(lin.graph.nodes[a].jurisdiction) != region(lin.graph.nodes[b].jurisdiction)
        edges.append(Edge(a, b, tuple(sorted(fids)), tuple(sorted(f for f in fids if f in bad)), cross))
    return FlowPicture(nodes, tuple(edges), graph)


# ------------------------------------------------------------------ transfers and cookies


@dataclass(frozen=True, slots=True)
class Transfer:
    flow: str
    source: str
    destination: str
    source_jurisdiction: str
    destination_jurisdiction: str
    subject_jurisdictions: tuple[str, ...]
    mechanism: str  # "" when the flow has no transfer block
    reference: str
    tia: str
    separate_consent: str
    purpose: str
    findings: tuple[Finding, ...]  # open findings that name this flow

    @property
    def status(self) -> str:
        if any(f.severity == "error" for f in self.findings):
            return "non_compliant"
        if self.findings:
            return "to_review"
        return "compliant" if self.mechanism else "no_mechanism"


def transfers(lin: Lineage, findings: Sequence[Finding]) -> list[Transfer]:
    """Every flow that crosses a border: its endpoints are in different legal zones, or the people whose data it
    carries (the lineage's subject jurisdictions of its fields) live outside the destination's zone, or it declares
    a transfer block (docs/inventory.md §5)."""
    inv = lin.inv
    bad = violating_flows(inv, findings)
    out: list[Transfer] = []
    for fid in sorted(lin.graph.edges):
        edge = lin.graph.edges[fid]
        src, dst = lin.graph.nodes[edge.source], lin.graph.nodes[edge.target]
        subjects = sorted({s for f in edge.fields if f in lin.fields for s in lin.field_subjects(f)})
        transfer = inv.flows[fid].get("transfer") or {}
        crosses = src.region != dst.region or any(s != dst.region for s in subjects)
        if not crosses and not transfer:
            continue
        out.append(
            Transfer(
                fid,
                edge.source,
                edge.target,
                src.jurisdiction or "?",
                dst.jurisdiction or "?",
                tuple(subjects),
                str(transfer.get("mechanism") or ""),
                str(transfer.get("ref") or ""),
                str(transfer.get("tia_ref") or ""),
                str(transfer.get("separate_consent") or ""),
                edge.purpose,
                tuple(bad.get(fid, ())),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class CookieRow:
    partner: str
    partner_name: str
    role: str
    embedded_in: tuple[str, ...]
    cookie: str  # "" for a partner that sets no cookie (an SDK or server-side API)
    type: str
    purpose: str
    max_age_days: int | None
    first_party: bool | None
    fires_before_consent: bool | None
    data_received: tuple[str, ...]  # data categories reaching the partner through flows
    findings: tuple[Finding, ...]
    technology: str = "cookie"  # cookie, local_storage, sdk_identifier, pixel, fingerprinting

    @property
    def consent_first(self) -> str:
        """yes | no | exempt (strictly necessary) | unknown"""
        if self.fires_before_consent is None:
            return "unknown" if self.cookie else ""
        if not self.fires_before_consent:
            return "yes"
        return "exempt" if self.type == "strictly_necessary" else "no"


def _data_received(inv: Inventory, partner_id: str) -> tuple[str, ...]:
    cats: set[str] = set()
    for flow in inv.flows.values():
        if flow.get("to") == partner_id:
            for fid in flow.get("fields") or ():
                field_entity = inv.fields.get(str(fid))
                cats.add(str(field_entity.get("category")) if field_entity is not None else str(fid))
    return tuple(sorted(cats))


def cookie_partners(inv: Inventory, findings: Sequence[Finding]) -> list[CookieRow]:
    """One row per cookie of each partner embedded in a web site or app (partners with cookies or an SDK)."""
    out: list[CookieRow] = []
    for pid in sorted(inv.partners):
        partner = inv.partners[pid]
        # Both keys (inputs.TRACKER_KEYS): a tracker that is not a cookie shows its technology beside its type.
        cookies = [(f"{key}.{i}", c) for key in ("cookies", "trackers") for i, c in enumerate(partner.get(key) or ())]
        embedded = tuple(str(x) for x in partner.get("embedded_in") or ())
        if not cookies and not embedded:
            continue
        received = _data_received(inv, pid)
        own = [f for f in findings if f.status == "open" and f.subject_kind == "partner" and f.subject_id == pid]
        base = (pid, str(partner.get("name") or pid), str(partner.get("role") or ""), embedded)
        if not cookies:
            out.append(CookieRow(*base, "", "", "", None, None, None, received, tuple(own)))
        for path, c in cookies:
            mine = tuple(f for f in own if f.attribute == path or f.attribute.startswith(f"{path}.") or not f.attribute)
            age = c.get("max_age_days")
            technology = str(c.get("technology") or "cookie")
            out.append(
                CookieRow(
                    *base,
                    str(c.get("name") or ""),
                    str(c.get("type") or ""),
                    str(c.get("purpose") or ""),
                    int(age) if isinstance(age, int) else None,
                    c.get("first_party") if isinstance(c.get("first_party"), bool) else None,
                    c.get("fires_before_consent") if isinstance(c.get("fires_before_consent"), bool) else None,
                    received,
                    mine,
                    technology,
                )
            )
    return out


# ------------------------------------------------------------------ Article 30 register

ROPA_COLUMNS = (
    "activity",
    "activity_name",
    "controller",
    "dpo",
    "purpose",
    "legal_basis",
    "data_subjects",
    "data_categories",
    "recipients",
    "transfers",
    "erasure",
    "security",
    "gaps",
)
# Columns whose emptiness (or an unstated part) is a gap of the register (Art. 30(1)(a)-(g)). An empty recipients
# column is not a gap: the data stays with Creality's own systems (reported as "internal only").
ROPA_REQUIRED = (
    "controller",
    "dpo",
    "purpose",
    "legal_basis",
    "data_subjects",
    "data_categories",
    "erasure",
    "security",
)


@dataclass(frozen=True, slots=True)
class RopaItem:
    """A value of the register: ``text`` parts (already language-neutral: ids, codes) and whether part of it is not
    stated in the inventory (``missing`` names the entity that lacks it)."""

    parts: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RopaRow:
    activity: str
    activity_name: str
    cells: Mapping[str, RopaItem] = field(default_factory=dict)

    @property
    def gaps(self) -> tuple[str, ...]:
        return tuple(c for c in ROPA_REQUIRED if not self.cells[c].parts or self.cells[c].missing)


def _systems_for_purpose(inv: Inventory, pid: str) -> tuple[list[Entity], list[Entity], list[Entity]]:
    """(fields collected for the purpose, systems holding them or receiving flows for it, flows for it)."""
    fields = [f for f in inv.fields.values() if pid in (f.get("purposes") or ())]
    flows = [fl for fl in inv.flows.values() if fl.get("purpose") == pid]
    sys_ids: dict[str, None] = {}
    for f in fields:
        if f.parent:
            sys_ids.setdefault(f.parent, None)
    for fl in flows:
        for end in (fl.get("from"), fl.get("to")):
            if end in inv.systems:
                sys_ids.setdefault(str(end), None)
    return fields, [inv.systems[s] for s in sys_ids], flows


def _retention(system: Entity) -> tuple[str | None, bool]:
    """(description or None when not stated, whether it is a gap)."""
    r = system.get("retention")
    if not isinstance(r, Mapping):
        return None, True
    if r.get("indefinite"):
        return "indefinite", True
    days = r.get("days")
    text = f"{days}d" if isinstance(days, int) else ""
    if r.get("legal_ref"):
        text = f"{text} legal:{r.get('legal_ref')}".strip()
    return (text or None), not text


SECURITY_TOKENS = ("tls", "encryption_at_rest", "mfa_admin", "need_to_know", "audit_log", "isolation")


def _security(system: Entity) -> list[str] | None:
    s = system.get("security")
    if not isinstance(s, Mapping):
        return None
    out: list[str] = []
    if s.get("tls_min"):
        out.append(f"tls:{s.get('tls_min')}")
    for key in ("encryption_at_rest", "mfa_admin", "need_to_know", "audit_log"):
        if s.get(key) is True:
            out.append(key)
        elif s.get(key) is False:
            out.append(f"no:{key}")
    if s.get("isolation"):
        out.append(f"isolation:{s.get('isolation')}")
    return out


def ropa(inv: Inventory, transfer_rows: Sequence[Transfer]) -> list[RopaRow]:
    """The GDPR Article 30(1) register: one processing activity per purpose of the inventory. Parts are encoded as
    small language-neutral tokens (``system=value``) that the renderers spell out."""
    org = inv.organization
    org_data: Mapping[str, Any] = org.data if org is not None else {}
    controller = RopaItem(
        tuple(str(x) for x in (org_data.get("name"), org_data.get("address"), org_data.get("contact_email")) if x)
    )
    dpo_data = org_data.get("dpo") or {}
    dpo = RopaItem(tuple(str(dpo_data.get(k)) for k in ("name", "email") if dpo_data.get(k)))
    rep = org_data.get("eu_representative")
    consents = {c.id: c for c in inv.consents.values()}
    rows: list[RopaRow] = []
    for pid in sorted(inv.purposes):
        purpose = inv.purposes[pid]
        fields, systems, flows = _systems_for_purpose(inv, pid)
        bases: dict[str, None] = {}
        for fl in flows:
            lb = fl.get("legal_basis") or {}
            kind = str(lb.get("kind") or "")
            if kind == "consent" and lb.get("consent") in consents:
                kind = f"consent:{consents[str(lb.get('consent'))].get('mechanism')}"
            elif kind == "exemption" and lb.get("exemption"):
                kind = f"exemption:{lb.get('exemption')}"
            if kind:
                bases.setdefault(kind, None)
        missing_bases = tuple(str(fl.id) for fl in flows if not (fl.get("legal_basis") or {}).get("kind"))
        # The data processed for the purpose: what is collected for it, and what flows carry for it (a flow under an
        # exemption discloses fields collected for other purposes).
        carried = [inv.fields[str(x)] for fl in flows for x in fl.get("fields") or () if str(x) in inv.fields]
        processed = {f.id: f for f in (*fields, *carried)}.values()
        subjects = sorted({str(s) for f in processed for s in f.get("subjects") or ()})
        no_subjects = tuple(sorted(f.id for f in processed if not f.get("subjects")))
        categories = sorted({str(f.get("category")) for f in processed if f.get("category")})
        recipients = sorted(
            {str(fl.get("to")) for fl in flows if fl.get("to") in inv.partners}
            | {
                str(fl.get("to"))
                for fl in flows
                if fl.get("to") in inv.systems
                and inv.systems[str(fl.get("to"))].get("operator") in ("processor", "third_party")
            }
        )
        mine = [t for t in transfer_rows if t.purpose == pid]
        transfers_item = RopaItem(
            tuple(
                f"{t.source_jurisdiction}>{t.destination_jurisdiction}|{t.flow}|{t.mechanism or '-'}"
                + ("+tia" if t.tia else "")
                for t in mine
            ),
            tuple(t.flow for t in mine if not t.mechanism),
        )
        erasure_parts: list[str] = []
        erasure_missing: list[str] = []
        security_parts: list[str] = []
        security_missing: list[str] = []
        for s in sorted(systems, key=lambda e: e.id):
            text, gap = _retention(s)
            if text is not None:
                erasure_parts.append(f"{s.id}={text}")
            if gap:
                erasure_missing.append(s.id)
            sec = _security(s)
            if sec is None:
                security_missing.append(s.id)
            else:
                security_parts.append(f"{s.id}=" + ",".join(sec))
        name = str(purpose.get("name") or pid)
        policy_purpose = str(purpose.get("policy_purpose") or "")
        cells = {
            "controller": controller
            if not rep
            else RopaItem((*controller.parts, f"eu_rep:{rep.get('name') if isinstance(rep, Mapping) else rep}")),
            "dpo": dpo,
            "purpose": RopaItem((name, f"policy:{policy_purpose}" if policy_purpose else "policy:-"), ()),
            "legal_basis": RopaItem(tuple(bases), missing_bases),
            "data_subjects": RopaItem(tuple(subjects), no_subjects),
            "data_categories": RopaItem(tuple(categories)),
            "recipients": RopaItem(tuple(recipients)),
            "transfers": transfers_item,
            "erasure": RopaItem(tuple(erasure_parts), tuple(erasure_missing)),
            "security": RopaItem(tuple(security_parts), tuple(security_missing)),
        }
        rows.append(RopaRow(pid, name, cells))
    return rows


# ------------------------------------------------------------------ misc


def pack_digest(pack: PolicyPack) -> str:
    """A short content hash of the policy pack (clauses + Rego modules), the pack's version in the report."""
    h = hashlib.sha256()
    for path in sorted((pack.root / n for n in ("clauses.yaml", "overlays.yaml")), key=str):
        if path.is_file():
            h.update(path.read_bytes())
    for m in sorted(pack.modules, key=lambda m: m.name):
        h.update(m.name.encode())
        h.update(m.text.encode())
    return h.hexdigest()[:12]


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], *f.sort_key()))
