"""The inventory model: frozen entities that keep their source location.

Every entity keeps the validated YAML mapping it was read from (``data``), which remembers the line and column of
each of its keys, so any later stage can point at the exact node that causes a finding.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from auditor.errors import Location

EntityKind = Literal["organization", "purpose", "system", "field", "partner", "consent", "flow"]
ENTITY_KINDS: tuple[EntityKind, ...] = (
    "organization",
    "purpose",
    "system",
    "field",
    "partner",
    "consent",
    "flow",
)


class Locator(Protocol):
    """Where the containers of a document whose containers do not carry their own positions stand (a document read
    back from the parse cache: ``auditor.inventory.stored.Positions``)."""

    def pos(self, node: Any) -> tuple[int, int]: ...

    def loc_of(self, node: Any, key: str | int) -> tuple[int, int]: ...


@dataclass(frozen=True, slots=True)
class Entity:
    """One inventory entity (a system, a field, a flow...) with where it was declared."""

    kind: EntityKind
    id: str
    file: str
    data: Mapping[str, Any]
    parent: str | None = None  # the system id of a field
    # Where ``data``'s containers stand when they do not say it themselves (parsed YAML's containers do).
    positions: Locator | None = field(default=None, compare=False, repr=False)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def loc(self, path: str | None = None) -> Location:
        """Location of the node at a dotted ``path`` inside this entity (``security.tls_min``,
        ``fields.2``); the deepest existing node when the path is only partly present."""
        node: Any = self.data
        where = self.positions
        pos = where.pos(node) if where is not None else getattr(node, "pos", (0, 0))
        if path:
            for part in path.split("."):
                key: str | int
                if isinstance(node, dict) and part in node:
                    key = part
                elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    key = int(part)
                else:
                    break
                if where is not None:
                    pos = where.loc_of(node, key)
                else:
                    loc_of = getattr(node, "loc_of", None)  # located YAML (auditor.inventory.yamlsafe)
                    if loc_of is not None:
                        pos = loc_of(key)
                node = node[key]
        return Location(self.file, pos[0], pos[1])


@dataclass(frozen=True, slots=True)
class Inventory:
    """A whole inventory: every entity by kind and id, and the files it came from."""

    files: tuple[str, ...]
    organization: Entity | None = None
    purposes: Mapping[str, Entity] = field(default_factory=dict)
    systems: Mapping[str, Entity] = field(default_factory=dict)
    fields: Mapping[str, Entity] = field(default_factory=dict)
    partners: Mapping[str, Entity] = field(default_factory=dict)
    consents: Mapping[str, Entity] = field(default_factory=dict)
    flows: Mapping[str, Entity] = field(default_factory=dict)
    # A digest of each file's bytes (same order as ``files``; empty when unknown): what ``check --cache`` keys a
    # whole audit by.
    digests: tuple[bytes, ...] = ()

    def by_kind(self, kind: EntityKind) -> Mapping[str, Entity]:
        if kind == "organization":
            org = self.organization
            return {org.id: org} if org is not None else {}
        return {
            "purpose": self.purposes,
            "system": self.systems,
            "field": self.fields,
            "partner": self.partners,
            "consent": self.consents,
            "flow": self.flows,
        }[kind]

    def entity(self, kind: EntityKind, entity_id: str) -> Entity | None:
        return self.by_kind(kind).get(entity_id)

    def node(self, node_id: str) -> Entity | None:
        """A flow endpoint: a system or a partner."""
        return self.systems.get(node_id) or self.partners.get(node_id)

    def fields_of(self, system_id: str) -> Iterator[Entity]:
        for f in self.systems[system_id].get("fields") or ():
            yield self.fields[f["id"]]
