"""Policy input documents: one per partition, with the facts each rule needs joined in.

regopy scans collections on every keyed lookup (ENGINES.md), so rules must not join: every entity arrives with
the facts about its neighbours already attached (a field with its purposes and their consents, a flow with its
endpoints, its fields and its consent, lineage facts from the graph). Partitions: one per system (the system,
its fields, the flows leaving it), one per partner (with the fields it receives), and one ``global`` partition
(organization, purposes, consents).
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from auditor.model import Entity, Inventory

FlowFacts = Callable[[Entity], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Pending:
    """A partition not built yet (:func:`pending`): ``make()`` builds its document; ``weight`` is roughly what that
    costs (the entities it holds), to share the building between processes. ``inputs()`` lists what the document
    is made from, much cheaper than building it: the digests of the files of every entity it reads and the values
    derived from other partitions' entities that it reads (subject jurisdictions, received fields, the lineage's
    facts...). Two partitions with equal ``inputs()`` (JSON) have equal documents, in this revision or another one
    of the same code; None when the inventory's file digests are unknown."""

    label: str
    weight: int
    make: Callable[[], dict[str, Any]]
    inputs: Callable[[], list[Any]] | None = None


def _node_facts(inv: Inventory, node_id: str) -> dict[str, Any]:
    system = inv.systems.get(node_id)
    if system is not None:
        return {
            "id": node_id,
            "type": "system",
            "kind": system.get("kind"),
            "operator": system.get("operator"),
            "role": "first_party" if system.get("operator") == "first_party" else system.get("operator"),
            "jurisdiction": system.get("jurisdiction"),
            "deidentifies": bool(system.get("deidentifies", False)),
            "subject_jurisdictions": list(system.get("subject_jurisdictions") or []),
            "subject_areas": _areas(system.get("subject_jurisdictions") or ()),
            "area": legal_area(system.get("jurisdiction")),
            "retention": system.get("retention"),
        }
    partner = inv.partners[node_id]
    embedded_in = list(partner.get("embedded_in") or [])
    return {
        "id": node_id,
        "type": "partner",
        "kind": "partner",
        "operator": partner.get("operator", "third_party"),
        "role": partner.get("role"),
        "jurisdiction": partner.get("jurisdiction"),
        "deidentifies": False,
        "embedded_in": embedded_in,
        # The partner places cookies, pixels or SDKs in Creality's sites and apps (the cookie clauses' partners).
        "places_trackers": bool(embedded_in) or any(partner.get(k) for k in TRACKER_KEYS),
        "subject_jurisdictions": [],
        "subject_areas": [],
        "area": legal_area(partner.get("jurisdiction")),
        "retention": partner.get("retention"),
    }


# A partner's trackers: `cookies` (the original key) and `trackers` (any technology); both are read.
TRACKER_KEYS = ("cookies", "trackers")


def tracker_entries(partner: Entity, purpose_of: Callable[[str], Any]) -> list[dict[str, Any]]:
    """Every tracker of a partner, from both keys, with its `technology` (default cookie), its position (`path`,
    e.g. ``trackers.0``, where findings point) and its purpose's facts."""
    return [
        {
            **c,
            "technology": c.get("technology", "cookie"),
            "index": i,
            "path": f"{key}.{i}",
            "purpose_info": purpose_of(c["purpose"]) if c.get("purpose") else None,
        }
        for key in TRACKER_KEYS
        for i, c in enumerate(partner.get(key) or ())
    ]


def _purpose_facts(inv: Inventory, consents_by_purpose: Mapping[str, list[dict[str, Any]]], pid: str) -> dict[str, Any]:
    purpose = inv.purposes[pid]
    return {
        "id": pid,
        "policy_purpose": purpose.get("policy_purpose"),
        "data_use": purpose.get("data_use"),
        "requires_consent": purpose.get("requires_consent"),
        "core": purpose.get("core"),
        "consents": consents_by_purpose.get(pid, []),
    }


def _consent_facts(consent: Entity) -> dict[str, Any]:
    return {
        "id": consent.id,
        "purpose": consent.get("purpose"),
        "mechanism": consent.get("mechanism"),
        "channels": list(consent.get("channels") or []),
        "scope": list(consent.get("scope") or []),
        "withdrawal": consent.get("withdrawal"),
        "proof_ref": consent.get("proof_ref"),
    }


def data_subject_jurisdictions(inv: Inventory) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Where the people whose data each field and each system holds live, before the lineage stage refines it.

    A field declared by a collection point (a system with ``subject_jurisdictions``) concerns those people; a field
    a system creates or derives concerns everyone whose data that system holds (its own subject jurisdictions plus
    those of every field it receives) - an over-approximation on purpose: a missing fact never passes silently.
    Returns (by field id, by system id), each a sorted list; the fixpoint terminates on cycles.
    """
    parent = {fid: f.parent or "" for fid, f in inv.fields.items()}
    by_system, held = _subject_jurisdictions(inv, parent)
    # The fields of a system share its list: documents are serialised as built, never changed (XL's 400k fields
    # each with a copy held ~33 MB more while the partitions were built).
    by_field = dict(zip(parent, map(by_system.__getitem__, parent.values()), strict=True))
    return by_field, held


def _subject_jurisdictions(
    inv: Inventory, parent: Mapping[str, str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """:func:`data_subject_jurisdictions` by declaring system: (the list of the fields each system declares, by
    system id, for every system declaring one, "" for fields without a system; every system's list), given each
    field's declaring system (``parent``, "" for none)."""
    own = {sid: set(s.get("subject_jurisdictions") or ()) for sid, s in inv.systems.items()}
    held = {sid: set(j) for sid, j in own.items()}
    # What a field concerns depends only on the system declaring it, so each recipient's fixpoint step looks at the
    # distinct systems its incoming fields come from, not at every field of every flow (L: 100k field references,
    # ~2,000 systems; the same sets, so the same result).
    incoming: dict[str, set[str]] = defaultdict(set)
    for flow in inv.flows.values():
        if flow.data["to"] in held:
            incoming[flow.data["to"]].update(map(parent.__getitem__, flow.data["fields"]))
    empty: set[str] = set()

    def of_system(sid: str) -> set[str]:
        return own.get(sid) or held.get(sid, empty)

    changed = True
    while changed:
        changed = False
        for sid, origins in incoming.items():
            mine = held[sid]
            before = len(mine)
            for origin in origins:
                mine |= of_system(origin)
            changed = changed or len(mine) != before
    return {sid: sorted(of_system(sid)) for sid in {*parent.values()}}, {sid: sorted(j) for sid, j in held.items()}


EEA = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
        "EU",
    ]
)


def _areas(jurisdictions: Iterable[str]) -> list[str]:
    """Jurisdictions as legal areas (EEA codes -> EU), sorted: rules test ``"EU" in areas`` without a lookup set."""
    return sorted({legal_area(j) or j for j in jurisdictions})


def legal_area(jurisdiction: str | None) -> str | None:
    """EU/EEA member codes count as one legal area ``EU`` (a transfer FR -> DE crosses no border)."""
    return "EU" if jurisdiction in EEA else jurisdiction


def _security_facts(inv: Inventory, node_id: str) -> dict[str, Any] | None:
    system = inv.systems.get(node_id)
    if system is None:
        return None
    sec = system.get("security") or {}
    return {k: sec.get(k) for k in ("tls_min", "encryption_at_rest", "need_to_know")}


def _crosses_border(inv: Inventory, flow: Entity) -> bool:
    """The flow's destination is in another legal area than its source, or than the people its source collects
    from (a collection point's ``subject_jurisdictions``) - docs/inventory.md, "Jurisdictions"."""
    src, dst = inv.systems[flow.data["from"]], inv.node(flow.data["to"])
    if dst is None:
        return False
    dst_area = legal_area(dst.get("jurisdiction"))
    if dst_area is None:
        return False
    areas = {legal_area(src.get("jurisdiction"))} | {legal_area(j) for j in src.get("subject_jurisdictions") or ()}
    return any(a is not None and a != dst_area for a in areas)


_UNLINKABLE = frozenset({"anonymous", "aggregate"})


def _retention_basis(
    inv: Inventory, own_fields: list[Entity], personal: list[Entity], incoming: set[str]
) -> dict[str, list[Any]]:
    """What III.0 judges a system's retention against (creality.retention.retention_beyond_purposes): the purposes
    its personal data is held for (its own fields' purposes and the purposes of the flows bringing data to it) and
    the categories of the linkable personal data it holds (anonymous and aggregate data are not personal data)."""
    own = {f.id for f in own_fields}
    purpose_ids = set(incoming)
    for f in personal:
        if f.id in own:
            purpose_ids.update(f.data.get("purposes") or ())
    return {
        "purposes": [
            {"id": pid, "policy_purpose": inv.purposes[pid].data.get("policy_purpose")}
            for pid in sorted(purpose_ids)
            if pid in inv.purposes
        ],
        "categories": sorted(
            {
                str(f.data.get("category"))
                for f in personal
                if f.data.get("identifiability") not in _UNLINKABLE and isinstance(f.data.get("category"), str)
            }
        ),
    }


def _is_content(f: Entity) -> bool:
    """Content a user uploads (III.VII.3): what a flow to cloud storage lists with how it reached Creality, and so
    what its partition's inputs list the uploads of."""
    return str(f.data.get("category", "")).startswith("user.content")


_RECEIVED_KEYS = ("id", "category", "identifiability", "subject_jurisdictions", "subject_areas")


def may_cross_border(inv: Inventory, flow: Entity) -> bool:
    """A superset of the flows any transfer rule can concern (lib.candidates.border_flows): the destination's
    jurisdiction differs from the source's or from one of the source's subject jurisdictions, or one of them is
    unknown. Raw jurisdictions, not legal areas: two codes of one area differ here, so every rule's own notion of
    a transfer (GDPR areas, PIPL's CN, the policy's crosses_border) stays inside it."""
    src, dst = inv.systems[flow.data["from"]], inv.node(flow.data["to"])
    if dst is None:
        return True
    dst_j, src_j = dst.get("jurisdiction"), src.get("jurisdiction")
    if dst_j is None or src_j is None or dst_j != src_j:
        return True
    # Every area is a function of the jurisdiction: with all of them equal, _crosses_border is False too.
    return any(j != dst_j for j in src.get("subject_jurisdictions") or ())


# The groupings of lib.candidates.flows_where / fields_where: name -> the raw value a rule tests.
_FLOW_GROUPS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "basis": lambda d: (d.get("legal_basis") or {}).get("kind"),
    "to_role": lambda d: (d.get("to_node") or {}).get("role"),
    "policy_purpose": lambda d: (d.get("purpose_info") or {}).get("policy_purpose"),
    "mechanism": lambda d: (d.get("transfer") or {}).get("mechanism"),
    "channel": lambda d: d.get("channel"),
}
_FIELD_GROUPS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "category": lambda d: d.get("category"),
    "collection": lambda d: d.get("collection"),
}


def _group(items: list[dict[str, Any]], value_of: Callable[[dict[str, Any]], Any]) -> dict[str, list[int]]:
    """Positions of the items by the value a rule tests (strings only: nothing else can equal a rule's literal)."""
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        value = value_of(item)
        if isinstance(value, str):
            groups.setdefault(value, []).append(i)
    return groups


def _candidates(fields: list[dict[str, Any]], flows: list[dict[str, Any]], border: list[int]) -> dict[str, Any]:
    """input.candidates (policies/rego/lib/candidates.rego): positions of the items each family of rules can
    concern. Supersets by construction; tests/test_candidates.py checks that they change no finding."""
    return {
        "border_flows": border,
        "flows_by": {name: _group(flows, value_of) for name, value_of in _FLOW_GROUPS.items()},
        "fields_by": {name: _group(fields, value_of) for name, value_of in _FIELD_GROUPS.items()},
    }


def partition_count(inv: Inventory) -> int:
    """How many partitions :func:`pending` gives: the global one, one per partner, one per system."""
    return 1 + len(inv.partners) + len(inv.systems)


def pending(
    inv: Inventory,
    flow_facts: FlowFacts | None = None,
    field_facts: FlowFacts | None = None,
    system_facts: FlowFacts | None = None,
    candidates: bool = True,
) -> Iterator[Pending]:
    """Every partition of the inventory in a stable order (global, partners by id, systems by id), each built when
    asked (:attr:`Pending.make`), in any order and in any process forked after the first is yielded: what they
    share (indexes, facts) is computed before that, and building one changes nothing another reads.
    ``candidates=False`` leaves out the candidate lists (rules then look at every item: same findings, slower; used
    by the tests that prove the lists are supersets)."""
    consents_by_purpose: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for consent in sorted(inv.consents.values(), key=lambda c: c.id):
        consents_by_purpose[consent.get("purpose")].append(_consent_facts(consent))
    purposes = {pid: _purpose_facts(inv, consents_by_purpose, pid) for pid in inv.purposes}
    flows_by_source: dict[str, list[Entity]] = defaultdict(list)
    flows_by_field: Counter[str] = Counter()
    received: dict[str, set[str]] = defaultdict(set)
    sources: dict[str, set[str]] = defaultdict(set)  # recipient id -> systems with a flow to it
    incoming_purposes: dict[str, set[str]] = defaultdict(set)  # recipient id -> purposes data arrives for
    # How each content field (_is_content) left the system that declares it: the triggers of those flows ("" when
    # unstated). III.VII.3 ("que vous téléchargez") asks whether content reached Creality by a user action.
    origin_triggers: dict[str, list[dict[str, str]]] = defaultdict(list)
    # Each field's declaring system ("" for none), and each system's fields in declared order (a system's fields are
    # added one after another as declared). What a field concerns is its system's (data_subject_jurisdictions).
    parent_of = {fid: f.parent or "" for fid, f in inv.fields.items()}
    declared_ids: dict[str, list[str]] = defaultdict(list)
    for fid, parent in parent_of.items():
        declared_ids[parent].append(fid)
    declared_by = {sid: set(ids) for sid, ids in declared_ids.items()}
    content = {fid for fid, f in inv.fields.items() if _is_content(f)}
    nothing: set[str] = set()
    # One pass over every flow (XL: 100k flows, 1M field references, looked at one by one only in the flows carrying
    # content), in flow id order for origin_triggers' lists.
    for flow in sorted(inv.flows.values(), key=lambda e: e.id):
        data = flow.data
        source, target, carried = data["from"], data["to"], data["fields"]
        flows_by_source[source].append(flow)
        sources[target].add(source)
        incoming_purposes[target].add(data["purpose"])
        received[target].update(carried)
        flows_by_field.update(carried)
        own = declared_by.get(source, nothing)
        if not own.issuperset(carried):
            # A system holds what it sends on: a field it neither declares nor receives arrives by an undeclared
            # (implied) path, which the lineage reports; the system still holds it.
            received[source].update(set(carried).difference(own))
        if not content.isdisjoint(carried):
            # One entry per flow, shared by its fields' lists: documents are serialised as built, never changed.
            upload = {"flow": flow.id, "trigger": str(data.get("trigger") or "")}
            for fid in carried:
                if fid in content and fid in own:
                    origin_triggers[fid].append(upload)
    del declared_by
    nodes = {nid: _node_facts(inv, nid) for nid in (*inv.systems, *inv.partners)}
    declared_sj, system_sj = _subject_jurisdictions(inv, parent_of)
    summaries: dict[str, dict[str, Any]] = {}
    known_areas: dict[tuple[str, ...], list[str]] = {}

    def areas(jurisdictions: Iterable[str]) -> list[str]:
        """:func:`_areas`, once per distinct list: every field of a system has its system's list (L: 125k calls for
        a few dozen lists). The list returned is shared: documents are serialised as built, never changed."""
        key = tuple(jurisdictions)
        found = known_areas.get(key)
        if found is None:
            found = known_areas[key] = _areas(key)
        return found

    def field_info(fid: str) -> dict[str, Any]:
        """What a flow or a recipient sees of a field, computed once per field (flows share fields)."""
        info = summaries.get(fid)
        if info is None:
            f = inv.fields[fid]
            info = summaries[fid] = {
                "id": fid,
                "category": f.data.get("category"),
                "identifiability": f.data.get("identifiability"),
                "collection": f.data.get("collection"),
                "protection": f.data.get("protection"),
                "join_key": f.data.get("join_key", False),
                "origin": f.parent,
                "subject_jurisdictions": declared_sj[parent_of[fid]],
                "subject_areas": areas(declared_sj[parent_of[fid]]),
            }
        return info

    # Fields are the bulk of every partition, and handing the input to regopy costs time per node: a field carries
    # only what rules read of its system (id, kind) and of its purposes (id, policy purpose, the purpose, mechanism
    # and scope of their consents). The full system and purpose facts are in `systems` and on the flows.
    # A rule that needs more of a field's system or purposes must add it here (docs/performance.md, point 4).
    field_nodes = {sid: {"id": sid, "kind": nodes[sid]["kind"]} for sid in inv.systems}
    field_purposes = {
        pid: {
            "id": pid,
            "policy_purpose": info["policy_purpose"],
            "consents": [
                {"purpose": c["purpose"], "mechanism": c["mechanism"], "scope": c["scope"]} for c in info["consents"]
            ],
        }
        for pid, info in purposes.items()
    }

    def field_doc(f: Entity, system: Entity) -> dict[str, Any]:
        doc = dict(f.data)
        doc["system"] = field_nodes[system.id]
        doc["subject_jurisdictions"] = list(system.data.get("subject_jurisdictions") or [])
        doc["data_subject_areas"] = areas(declared_sj[parent_of[f.id]])
        doc["purposes_info"] = [field_purposes[p] for p in f.data.get("purposes") or ()]
        doc["flow_count"] = flows_by_field.get(f.id, 0)
        doc["received_by"] = []
        if field_facts is not None:
            doc.update(field_facts(f))
        return doc

    def flow_doc(flow: Entity) -> dict[str, Any]:
        doc = dict(flow.data)
        basis = flow.data.get("legal_basis") or {}
        transfer = flow.data.get("transfer") or {}
        doc["from_node"] = nodes[flow.data["from"]]
        doc["to_node"] = nodes[flow.data["to"]]
        doc["purpose_info"] = purposes[flow.data["purpose"]]
        doc["consent_info"] = _consent_facts(inv.consents[basis["consent"]]) if "consent" in basis else None
        doc["separate_consent_info"] = (
            _consent_facts(inv.consents[transfer["separate_consent"]]) if "separate_consent" in transfer else None
        )
        doc["fields_info"] = [field_info(fid) for fid in flow.data["fields"]]
        # Overridable by the lineage's flow_facts with a path-precise value.
        parents = set(map(parent_of.__getitem__, flow.data["fields"]))
        doc["data_subject_jurisdictions"] = sorted({j for p in parents for j in declared_sj[p]})
        doc["from_name"] = inv.systems[flow.data["from"]].get("name")
        doc["crosses_border"] = _crosses_border(inv, flow)
        if doc["to_node"]["role"] == "cloud_storage" or doc["purpose_info"]["policy_purpose"] == "CLOUD.STORAGE":
            doc["content_uploads"] = [
                {
                    "index": i,
                    "id": fid,
                    "collection": inv.fields[fid].get("collection"),
                    "origin": inv.fields[fid].parent,
                    "uploads": origin_triggers.get(fid, []),
                }
                for i, fid in enumerate(flow.data["fields"])
                if fid in content
            ]
        if doc["crosses_border"]:
            doc["from_security"] = _security_facts(inv, flow.data["from"])
            doc["to_security"] = _security_facts(inv, flow.data["to"])
        if flow_facts is not None:
            doc.update(flow_facts(flow))
        return doc

    embedded: dict[str, list[dict[str, Any]]] = defaultdict(list)  # system id -> partners embedded in it
    cookies_by_partner: dict[str, list[dict[str, Any]]] = {}
    for partner in sorted(inv.partners.values(), key=lambda p: p.id):
        cookies = cookies_by_partner[partner.id] = tracker_entries(partner, purposes.get)
        for sid in partner.get("embedded_in") or ():
            embedded[sid].append({"id": partner.id, "node": nodes[partner.id], "cookies": cookies})

    org = inv.organization
    jurisdictions = sorted({j for s in inv.systems.values() for j in s.get("subject_jurisdictions") or ()})

    def partner_doc(partner: Entity) -> dict[str, Any]:
        doc = dict(partner.data)
        doc["node"] = nodes[partner.id]
        doc["received_fields"] = [
            {k: field_info(fid)[k] for k in _RECEIVED_KEYS} for fid in sorted(received.get(partner.id, ()))
        ]
        doc["embedded_in_info"] = [nodes[s] for s in partner.get("embedded_in") or ()]
        doc["cookies_info"] = cookies_by_partner[partner.id]
        doc["sources"] = sorted(sources.get(partner.id, ()))
        return doc

    def border(flows: list[Entity]) -> list[int]:
        return [i for i, flow in enumerate(flows) if may_cross_border(inv, flow)]

    def empty(kind: str, pid: str) -> dict[str, Any]:
        return {
            "partition": {"kind": kind, "id": pid},
            "organization": None,
            "subject_jurisdictions": [],
            "purposes": [],
            "partners": [],
            "consents": [],
            "systems": [],
            "fields": [],
            "flows": [],
            **({"candidates": _candidates([], [], [])} if candidates else {}),
        }

    def global_document() -> dict[str, Any]:
        return {
            **empty("global", ""),
            "organization": dict(org.data) if org is not None else None,
            "subject_jurisdictions": jurisdictions,
            "subject_areas": _areas(jurisdictions),
            "purposes": [purposes[p] for p in sorted(inv.purposes)],
            "consents": [_consent_facts(c) for c in sorted(inv.consents.values(), key=lambda c: c.id)],
        }

    def partner_document(partner: Entity) -> dict[str, Any]:
        return {**empty("partner", partner.id), "partners": [partner_doc(partner)]}

    def system_document(sid: str) -> dict[str, Any]:
        system = inv.systems[sid]
        own_flows = sorted(flows_by_source.get(sid, ()), key=lambda e: e.id)
        flow_docs = [flow_doc(fl) for fl in own_flows]
        own = [inv.fields[f["id"]] for f in system.data.get("fields") or ()]  # the fields it declares
        received_ids = sorted(received.get(sid, ()))
        field_docs = [field_doc(f, system) for f in own]
        sdoc = {k: v for k, v in system.data.items() if k != "fields"}
        sdoc["node"] = nodes[sid]
        sdoc["field_count"] = len(own)
        sdoc["received_fields"] = received_ids
        sdoc["data_subject_jurisdictions"] = system_sj[sid]
        sdoc["data_subject_areas"] = areas(system_sj[sid])
        sdoc["embedded_partners"] = embedded.get(sid, [])
        held = own + [inv.fields[fid] for fid in received_ids]
        personal = [f for f in held if str(f.data.get("category", "")).startswith("user.")]
        sdoc["personal_data"] = bool(system.data.get("processes_personal_data")) or bool(personal)
        sdoc["held_collections"] = sorted({str(f.data.get("collection")) for f in personal if f.data.get("collection")})
        sdoc["own_collections"] = sorted(
            {
                str(f.data.get("collection"))
                for f in own
                if str(f.data.get("category", "")).startswith("user.") and f.data.get("collection")
            }
        )
        sdoc["held_identifiability"] = sorted(
            {str(f.data.get("identifiability")) for f in personal if f.data.get("identifiability")}
        )
        sdoc["retention_basis"] = _retention_basis(inv, own, personal, incoming_purposes.get(sid, set()))
        sdoc["outgoing_flow_count"] = len(flows_by_source.get(sid, ()))
        sdoc["classification_scheme"] = list(org.get("classification_scheme") or []) if org is not None else None
        if system_facts is not None:
            sdoc.update(system_facts(system))
        return {
            **empty("system", sid),
            "systems": [sdoc],
            "fields": field_docs,
            "flows": flow_docs,
            **({"candidates": _candidates(field_docs, flow_docs, border(own_flows))} if candidates else {}),
        }

    # What each document is made from (:attr:`Pending.inputs`). An entity's data is its file's: the digest of the
    # file's bytes stands for every entity declared in it (a system's fields are declared in its file). What a
    # document reads of other partitions' entities is listed as the values it reads (a field's view, a system's
    # subject jurisdictions, the flows' facts...). The organization, purposes, consents and partners are read by
    # nearly every document: the digests of the files declaring them are in every partition's inputs (an edit of
    # one of those files rebuilds every partition). Kept beside the builders above: whatever a builder starts to
    # read must be listed here too (tests/test_partition_inputs.py edits inventories at random and checks that
    # equal inputs mean equal documents).
    digest_of = dict(zip(inv.files, [d.hex() for d in inv.digests], strict=True)) if inv.digests else {}
    shared_entities = [*inv.purposes.values(), *inv.consents.values(), *inv.partners.values()]
    if org is not None:
        shared_entities.append(org)
    shared = [[name, digest_of[name]] for name in sorted({e.file for e in shared_entities})] if digest_of else []
    # A field is declared in its system's file, and concerns the people its system's fields concern
    # (data_subject_jurisdictions: one list per declaring system): what a partition reads of the fields it
    # references is their declaring systems' files and lists (parent_of, declared_ids, declared_sj above).

    def referenced(fids: Iterable[str]) -> list[Any]:
        """What a document reads of the fields ``fids`` (data, origin, subject jurisdictions): their declaring
        systems' files and lists."""
        parents = sorted(set(map(parent_of.__getitem__, fids)))
        return [[p, digest_of[inv.systems[p].file], declared_sj.get(p)] for p in parents]

    def facts(hook: FlowFacts | None, entity: Entity) -> Any:
        return hook(entity) if hook is not None else None

    def global_inputs() -> list[Any]:
        return ["global", candidates, shared, jurisdictions]

    def partner_inputs(partner: Entity) -> list[Any]:
        received_ids = sorted(received.get(partner.id, ()))
        return [
            "partner",
            partner.id,
            candidates,
            shared,
            received_ids,
            referenced(received_ids),
            [digest_of[node.file] for s in partner.get("embedded_in") or () if (node := inv.node(s)) is not None],
            sorted(sources.get(partner.id, ())),
        ]

    def flow_inputs(flow: Entity) -> list[Any]:
        target = inv.systems.get(flow.data["to"])  # a partner's data is in `shared`
        return [
            flow.id,
            digest_of[flow.file],
            digest_of[target.file] if target is not None else None,
            [origin_triggers.get(fid, []) for fid in flow.data["fields"] if fid in content],
            facts(flow_facts, flow),
        ]

    def system_inputs(sid: str) -> list[Any]:
        system = inv.systems[sid]
        ids = declared_ids.get(sid, [])
        own_flows = sorted(flows_by_source.get(sid, ()), key=lambda e: e.id)
        received_ids = sorted(received.get(sid, ()))
        own_facts: dict[str, Any] = {}
        if field_facts is not None:
            own = map(inv.fields.__getitem__, ids)
            own_facts = {fid: found for fid, found in zip(ids, map(field_facts, own), strict=True) if found}
        return [
            "system",
            sid,
            candidates,
            shared,
            digest_of[system.file],
            system_sj[sid],
            declared_sj.get(sid),
            sorted(incoming_purposes.get(sid, ())),
            received_ids,
            # The fields its flows carry are its own or among those it receives (`received` counts every field a
            # system sends on without declaring it).
            referenced(received_ids),
            [flow_inputs(flow) for flow in own_flows],
            list(map(flows_by_field.get, ids, itertools.repeat(0))),
            own_facts,
            facts(system_facts, system),
        ]

    def listed(inputs_of: Callable[[], list[Any]]) -> Callable[[], list[Any]] | None:
        return inputs_of if digest_of else None

    yield Pending(
        "the organization, purposes and consents",
        1 + len(inv.purposes) + len(inv.consents),
        global_document,
        listed(global_inputs),
    )
    # One partition per partner: every partner rule looks at one partner at a time, and a partner's received fields
    # grow with the inventory (one global partition held them all: ~60 MB at XL, more than the engine handles well).
    for partner in sorted(inv.partners.values(), key=lambda p: p.id):
        weight = 1 + len(received.get(partner.id, ()))
        yield Pending(
            f"partner {partner.id!r}",
            weight,
            functools.partial(partner_document, partner),
            listed(functools.partial(partner_inputs, partner)),
        )
    for sid in sorted(inv.systems):
        weight = 1 + len(inv.systems[sid].data.get("fields") or ()) + len(flows_by_source.get(sid, ()))
        yield Pending(
            f"system {sid!r}",
            weight,
            functools.partial(system_document, sid),
            listed(functools.partial(system_inputs, sid)),
        )
