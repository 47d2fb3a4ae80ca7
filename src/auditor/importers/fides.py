"""``auditor import fides``: read Fides manifests (fideslang ``system``, ``dataset``, ``data_use``, ``data_category``,
``data_subject``, ``organization`` resources in YAML) and build an inventory in this project's format.

Parsing is fideslang's: each resource is validated by its pydantic model (``fideslang.model_map``), on top of this
project's safe YAML loader, which gives every value a line and column. What fideslang lets pass silently is refused
here with a located message: keys no model knows (pydantic ignores them), duplicate ``fides_key``s, and references
to categories, uses, subjects, systems or datasets that neither the manifests nor fideslang's default taxonomy
define. The mapping to this project's vocabulary is the table of :mod:`auditor.importers.fides_vocab`.

What Fides does not say and the policy needs (jurisdictions when not given, retention it cannot read, security,
data-subject rights, consents, transfer mechanisms, how each field is collected and protected...) is listed as
``# TODO`` comments in the generated files and, located, in ``FIDES-IMPORT.md``: the import never invents a fact.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

from auditor.errors import InputError, Location, Problem
from auditor.importers import emit
from auditor.importers.fides_vocab import (
    CORE_USE_ROOT,
    DATA_USE_PURPOSE,
    LEGAL_BASIS,
    PARTNER_ROLE_BY_USE,
    PROCESSOR_RESPONSIBILITIES,
    SYSTEM_KIND,
    THIRD_PARTY_TYPES,
    TRANSFER_MECHANISM,
    covers,
)
from auditor.inventory import yamlsafe
from auditor.inventory.loader import discover, display_path, parse_file

RESOURCE_TYPES = ("system", "dataset", "data_use", "data_category", "data_subject", "organization")
IGNORED_TYPES = ("policy", "evaluation")  # Fides's own policies and results: the policy pack judges instead
_ID_BAD = re.compile(r"[^a-z0-9_.-]+")
_CATEGORY = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
_JURISDICTION = re.compile(r"[A-Z]{2}")
_RETENTION = re.compile(r"\s*(\d+)\s*(d|days?|w|weeks?|m|months?|y|years?)?\s*", re.IGNORECASE)
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
UNSPECIFIED_PURPOSE = "fides-unspecified"
REPORT_NAME = "FIDES-IMPORT.md"


@dataclass
class Resource:
    kind: str
    key: str
    model: Any
    raw: Any  # the located YAML mapping
    file: str

    def loc(self, *path: Any) -> Location:
        line, col = yamlsafe.position(self.raw, path)
        return Location(self.file, line, col)


@dataclass
class Manifests:
    resources: dict[str, dict[str, Resource]] = field(default_factory=lambda: {k: {} for k in RESOURCE_TYPES})
    ignored: list[tuple[str, Location]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


# --- parsing ---------------------------------------------------------------------------------------------------


def _models() -> dict[str, Any]:
    try:
        import fideslang
    except ImportError as exc:  # pragma: no cover - a dependency of auditor
        raise InputError(f"auditor import fides needs the fideslang package: {exc}") from None
    return dict(fideslang.model_map)


def _model_classes(annotation: Any) -> list[type]:
    """The pydantic model classes an annotation can hold (through Optional, List, Dict values, Annotated...)."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type] = []
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is dict:
        args = args[1:]
    if origin is not None or args:
        for arg in args:
            found.extend(_model_classes(arg))
    return found


def _unknown_keys(model: type, raw: Any, path: list[Any], out: list[list[Any]]) -> None:
    """Paths of the keys of ``raw`` that ``model`` (and its nested models) does not define."""
    if not isinstance(raw, dict):
        return
    fields = model.model_fields  # type: ignore[attr-defined]
    names: dict[str, Any] = {}
    for name, info in fields.items():
        names[name] = info
        if info.alias:
            names[info.alias] = info
    for key, value in raw.items():
        info = names.get(key)
        if info is None:
            out.append([*path, key])
            continue
        classes = _model_classes(info.annotation)
        if not classes:
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            where = [*path, key, i] if isinstance(value, list) else [*path, key]
            if isinstance(item, dict):
                _unknown_keys(classes[0], item, where, out)


def _plain(value: Any) -> Any:
    """A located YAML value as plain dicts and lists (what pydantic expects)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _validation_problems(exc: Any, doc: Any, prefix: list[Any], file: str, what: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if not (isinstance(p, str) and p.startswith("function-"))]
        line, col = yamlsafe.position(doc, [*prefix, *loc])
        where = ".".join(str(p) for p in loc)
        message = str(err.get("msg", "invalid")).splitlines()[0]
        problems.append(Problem(Location(file, line, col), f"{what}{': ' + where if where else ''}: {message}"))
    return problems


def parse(paths: Sequence[Path]) -> Manifests:
    """Every resource of the manifests under ``paths``, validated; InputError with every problem otherwise."""
    from pydantic import ValidationError

    models = _models()
    files, problems = discover(paths)
    manifests = Manifests()
    for path in files:
        shown = display_path(path)
        manifests.files.append(shown)
        doc, parse_problems = parse_file(path, shown)
        problems.extend(parse_problems)
        if parse_problems or doc is None:
            continue
        if not isinstance(doc, dict):
            problems.append(Problem(Location(shown, 1, 1), "a Fides manifest is a mapping of resource types to lists"))
            continue
        for kind, items in doc.items():
            kloc = Location(shown, *yamlsafe.position(doc, [kind]))
            if kind in IGNORED_TYPES:
                manifests.ignored.append((kind, kloc))
                continue
            if kind not in RESOURCE_TYPES:
                import difflib

                hint = difflib.get_close_matches(str(kind), [*RESOURCE_TYPES, *IGNORED_TYPES], n=1)
                suffix = f" (did you mean {hint[0]!r}?)" if hint else f"; expected one of {', '.join(RESOURCE_TYPES)}"
                problems.append(Problem(kloc, f"unknown Fides resource type {kind!r}{suffix}"))
                continue
            if not isinstance(items, list):
                problems.append(Problem(kloc, f"{kind}: expected a list of resources"))
                continue
            for i, raw in enumerate(items):
                line, col = yamlsafe.position(doc, [kind, i])
                if not isinstance(raw, dict):
                    problems.append(Problem(Location(shown, line, col), f"{kind}: expected a mapping"))
                    continue
                key = raw.get("fides_key")
                what = f"{kind} {key!r}" if isinstance(key, str) else kind
                unknown: list[list[Any]] = []
                _unknown_keys(models[kind], raw, [], unknown)
                for upath in unknown:
                    uline, ucol = yamlsafe.position(doc, [kind, i, *upath])
                    if upath[-1] == "cookies":  # fideslang 3 deprecated them (it warns and drops them)
                        manifests.ignored.append(("cookies (deprecated by fideslang 3)", Location(shown, uline, ucol)))
                        continue
                    problems.append(
                        Problem(Location(shown, uline, ucol), f"{what}: unknown key {'.'.join(map(str, upath))!r}")
                    )
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        model = models[kind].model_validate(_plain(raw))
                except ValidationError as exc:
                    problems.extend(_validation_problems(exc, doc, [kind, i], shown, what))
                    continue
                except (ValueError, TypeError, AssertionError) as exc:
                    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    problems.append(Problem(Location(shown, line, col), f"{what}: {message}"))
                    continue
                resource = Resource(kind, model.fides_key, model, raw, shown)
                first = manifests.resources[kind].get(resource.key)
                if first is not None:
                    problems.append(
                        Problem(
                            resource.loc("fides_key"),
                            f"duplicate {kind} {resource.key!r} (first at {first.loc('fides_key')})",
                        )
                    )
                    continue
                manifests.resources[kind][resource.key] = resource
    if not problems and not manifests.resources["system"] and not manifests.resources["dataset"]:
        where = ", ".join(str(p) for p in paths)
        problems.append(Problem(Location(where), "no Fides system or dataset found: nothing to import"))
    if problems:
        raise InputError(problems)
    return manifests


# --- mapping -------------------------------------------------------------------------------------------------------


@dataclass
class Todo:
    """A fact the policy needs that Fides does not state: where the comment is, and what to fill."""

    file: str
    line: int
    text: str


@dataclass
class Result:
    files: dict[str, str]  # relative path -> YAML text
    todos: list[Todo]
    notes: list[str]
    counts: dict[str, int]


class _Mapper:
    def __init__(self, m: Manifests, jurisdiction: str | None) -> None:
        from fideslang.default_taxonomy import DEFAULT_TAXONOMY

        self.m = m
        self.default_jurisdiction = jurisdiction
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.taxonomy: dict[str, dict[str, str | None]] = {
            "data_category": {c.fides_key: c.parent_key for c in DEFAULT_TAXONOMY.data_category},
            "data_use": {u.fides_key: u.parent_key for u in DEFAULT_TAXONOMY.data_use},
            "data_subject": {s.fides_key: None for s in DEFAULT_TAXONOMY.data_subject},
        }
        self.names: dict[str, dict[str, str]] = {
            "data_use": {u.fides_key: u.name or u.fides_key for u in DEFAULT_TAXONOMY.data_use},
        }
        for kind in ("data_category", "data_use", "data_subject"):
            for key, res in m.resources[kind].items():
                self.taxonomy[kind][key] = getattr(res.model, "parent_key", None)
                if kind == "data_use":
                    self.names["data_use"][key] = res.model.name or key
        self.ids: dict[str, tuple[str, Location]] = {}

    # ids -----------------------------------------------------------------------------------------------------------

    def new_id(self, raw: str, kind: str, where: Location) -> str:
        ident = _ID_BAD.sub("-", raw.lower()).strip("-._") or "x"
        if len(ident) > 200:
            ident = ident[:180] + "-" + hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()
        first = self.ids.get(ident)
        if first is not None:
            self.problems.append(
                Problem(where, f"{kind} {raw!r} becomes id {ident!r}, already taken by the {first[0]} at {first[1]}")
            )
        else:
            self.ids[ident] = (kind, where)
        return ident

    # references ----------------------------------------------------------------------------------------------------

    def known(self, kind: str, key: str, where: Location, what: str) -> bool:
        if key in self.taxonomy[kind]:
            if kind != "data_subject" and not _CATEGORY.fullmatch(key):
                self.problems.append(
                    Problem(
                        where,
                        f"{what}: {kind.replace('_', ' ')} {key!r} is not a lower-case dotted key the inventory"
                        " accepts",
                    )
                )
                return False
            return True
        label = kind.replace("_", " ")
        self.problems.append(
            Problem(
                where,
                f"{what} refers to unknown {label} {key!r} (neither in fideslang's default taxonomy nor a {kind}"
                " of the manifests)",
            )
        )
        return False

    def check_parents(self) -> None:
        for kind in ("data_category", "data_use"):
            for key, res in self.m.resources[kind].items():
                parent = res.model.parent_key
                if parent is not None and parent not in self.taxonomy[kind]:
                    self.problems.append(
                        Problem(res.loc("parent_key"), f"{kind} {key!r}: unknown parent_key {parent!r}")
                    )

    def purpose_of(self, use: str) -> str | None:
        seen: set[str] = set()
        key: str | None = use
        while key is not None and key not in seen:
            seen.add(key)
            if key in DATA_USE_PURPOSE:
                return DATA_USE_PURPOSE[key]
            parent = self.taxonomy["data_use"].get(key)
            key = parent if parent is not None else (key.rsplit(".", 1)[0] if "." in key else None)
        return None


def _norm(text: str) -> str:
    return re.sub(r"[\s_-]+", " ", text.strip().lower())


def _retention_days(text: str) -> int | None:
    match = _RETENTION.fullmatch(text)
    if match is None:
        return None
    unit = (match.group(2) or "d")[0].lower()
    return int(match.group(1)) * _UNIT_DAYS[unit]


@dataclass
class _System:
    res: Resource
    ident: str
    data: dict[str, Any]
    partner: bool
    jurisdiction: str
    fields: list[dict[str, Any]] = field(default_factory=list)
    flows: list[dict[str, Any]] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)


def convert(m: Manifests, *, jurisdiction: str | None = None) -> Result:
    """The inventory files for manifests ``m``; InputError (located) for what cannot be mapped."""
    mp = _Mapper(m, jurisdiction)
    mp.check_parents()
    res = m.resources

    # References first: a dangling one would only give confusing output below.
    for sres in res["system"].values():
        s = sres.model
        for i, decl in enumerate(s.privacy_declarations):
            what = f"system {s.fides_key!r} privacy declaration {decl.name or i!r}"
            mp.known("data_use", decl.data_use, sres.loc("privacy_declarations", i, "data_use"), what)
            for j, cat in enumerate(decl.data_categories):
                mp.known("data_category", cat, sres.loc("privacy_declarations", i, "data_categories", j), what)
            for j, subj in enumerate(decl.data_subjects):
                mp.known("data_subject", subj, sres.loc("privacy_declarations", i, "data_subjects", j), what)
            for j, ds in enumerate(decl.dataset_references or ()):
                if ds not in res["dataset"]:
                    loc = sres.loc("privacy_declarations", i, "dataset_references", j)
                    mp.problems.append(Problem(loc, f"{what} refers to unknown dataset {ds!r}"))
        for j, ds in enumerate(s.dataset_references):
            if ds not in res["dataset"]:
                mp.problems.append(
                    Problem(
                        sres.loc("dataset_references", j), f"system {s.fides_key!r} refers to unknown dataset {ds!r}"
                    )
                )
        for direction in ("egress", "ingress"):
            for j, flow in enumerate(getattr(s, direction) or ()):
                where = sres.loc(direction, j, "fides_key")
                if flow.type == "system" and flow.fides_key not in res["system"]:
                    mp.problems.append(
                        Problem(
                            where, f"system {s.fides_key!r} {direction} refers to unknown system {flow.fides_key!r}"
                        )
                    )
                if flow.type == "dataset" and flow.fides_key not in res["dataset"]:
                    mp.problems.append(
                        Problem(
                            where, f"system {s.fides_key!r} {direction} refers to unknown dataset {flow.fides_key!r}"
                        )
                    )
                for k, cat in enumerate(flow.data_categories or ()):
                    mp.known(
                        "data_category",
                        cat,
                        sres.loc(direction, j, "data_categories", k),
                        f"system {s.fides_key!r} {direction}",
                    )
    for dres in res["dataset"].values():
        _check_dataset_refs(mp, dres)
    if mp.problems:
        raise InputError(mp.problems)

    # Systems and partners.
    systems: dict[str, _System] = {}
    for key in sorted(res["system"]):
        sres = res["system"][key]
        systems[key] = _system(mp, sres)
    # Datasets: in the one system that references them, else their own datastore system.
    owners: dict[str, list[str]] = {}
    for key, sysm in systems.items():
        refs = set(sysm.res.model.dataset_references)
        for decl in sysm.res.model.privacy_declarations:
            refs.update(decl.dataset_references or ())
        for ds in refs:
            owners.setdefault(ds, []).append(key)
    dataset_owner: dict[str, _System] = {}
    for ds_key in sorted(res["dataset"]):
        dres = res["dataset"][ds_key]
        holders = sorted(owners.get(ds_key, []))
        holder = systems[holders[0]] if len(holders) == 1 and not systems[holders[0]].partner else None
        if holder is None:
            holder = _dataset_system(mp, dres, holders, systems)
            systems[f"dataset:{ds_key}"] = holder
        dataset_owner[ds_key] = holder
        _dataset_fields(mp, dres, holder)
    if mp.problems:
        raise InputError(mp.problems)

    # Purposes: one per data use met.
    purposes: dict[str, dict[str, Any]] = {}
    consent_uses: set[str] = set()
    for sres in res["system"].values():
        for decl in sres.model.privacy_declarations:
            if decl.legal_basis_for_processing == "Consent":
                consent_uses.add(decl.data_use)
    purpose_ids: dict[str, str] = {}

    def purpose(use: str, where: Location) -> str:
        if use in purpose_ids:
            return purpose_ids[use]
        ident = mp.new_id(use, "purpose", where)
        purpose_ids[use] = ident
        entry: dict[str, Any] = {"id": ident, "name": mp.names["data_use"].get(use, use)}
        mapped = mp.purpose_of(use)
        if mapped is not None:
            entry["policy_purpose"] = mapped
        else:
            entry["_todo"] = (
                f"data use {use} is no purpose the policy declares: processing for it needs prior consent"
                " (II.IV.2.e) unless you set policy_purpose"
            )
        entry["data_use"] = use
        if use in consent_uses:
            entry["requires_consent"] = True
        if covers(CORE_USE_ROOT, use):
            entry["core"] = True
        purposes[ident] = entry
        return ident

    # Flows, then declarations: a system declares the fields of its categories that neither its datasets hold nor
    # its inbound flows bring (a field is declared once, where it is first collected, and travels by its id).
    _flows(mp, systems, dataset_owner, purpose)
    if mp.problems:
        raise InputError(mp.problems)

    return _render(mp, systems, purposes, m)


def _check_dataset_refs(mp: _Mapper, dres: Resource) -> None:
    d = dres.model
    for j, cat in enumerate(d.data_categories or ()):
        mp.known("data_category", cat, dres.loc("data_categories", j), f"dataset {d.fides_key!r}")
    for ci, coll in enumerate(d.collections):
        raw_colls = dres.raw.get("collections") or []
        raw_index = _raw_index(raw_colls, coll.name, ci)
        for j, cat in enumerate(coll.data_categories or ()):
            mp.known(
                "data_category",
                cat,
                dres.loc("collections", raw_index, "data_categories", j),
                f"dataset {d.fides_key!r}",
            )

        def walk(fields: Iterable[Any], raw_fields: Any, path: list[Any]) -> None:
            for fi, fld in enumerate(fields):
                ri = _raw_index(raw_fields or [], fld.name, fi)
                for j, cat in enumerate(fld.data_categories or ()):
                    mp.known(
                        "data_category",
                        cat,
                        dres.loc(*path, ri, "data_categories", j),
                        f"dataset {d.fides_key!r} field {fld.name!r}",
                    )
                for j, use in enumerate(fld.data_uses or ()):
                    mp.known(
                        "data_use",
                        use,
                        dres.loc(*path, ri, "data_uses", j),
                        f"dataset {d.fides_key!r} field {fld.name!r}",
                    )
                for j, subj in enumerate(fld.data_subjects or ()):
                    mp.known(
                        "data_subject",
                        subj,
                        dres.loc(*path, ri, "data_subjects", j),
                        f"dataset {d.fides_key!r} field {fld.name!r}",
                    )
                if fld.fields:
                    sub = (raw_fields[ri] if raw_fields and ri < len(raw_fields) else {}).get("fields")
                    walk(fld.fields, sub, [*path, ri, "fields"])

        walk(
            coll.fields,
            (raw_colls[raw_index] if raw_index < len(raw_colls) else {}).get("fields"),
            ["collections", raw_index, "fields"],
        )


def _raw_index(raw_items: Any, name: str, fallback: int) -> int:
    """fideslang sorts collections and fields by name: find the item's index in the file."""
    for i, item in enumerate(raw_items or ()):
        if isinstance(item, dict) and item.get("name") == name:
            return i
    return fallback


def _meta(sres: Resource) -> dict[str, Any]:
    meta = getattr(sres.model, "meta", None)
    return meta if isinstance(meta, dict) else {}


def _jurisdiction(mp: _Mapper, sres: Resource, what: str) -> str:
    value = _meta(sres).get("jurisdiction")
    if value is not None:
        if isinstance(value, str) and _JURISDICTION.fullmatch(value):
            return value
        mp.problems.append(
            Problem(
                sres.loc("meta", "jurisdiction"),
                f"{what}: meta.jurisdiction must be a two-letter code such as EU, CN or US",
            )
        )
        return "XX"
    if mp.default_jurisdiction is None:
        mp.problems.append(
            Problem(
                sres.loc("fides_key"),
                f"{what}: Fides does not say where it processes data: set meta.jurisdiction (EU, CN, US...) on it,"
                " or pass --jurisdiction for every system that does not say",
            )
        )
        return "XX"
    return mp.default_jurisdiction


def _system(mp: _Mapper, sres: Resource) -> _System:
    s = sres.model
    meta = _meta(sres)
    stype = _norm(s.system_type)
    partner = stype in THIRD_PARTY_TYPES or bool(s.vendor_id) or meta.get("partner") is True
    what = f"system {s.fides_key!r}"
    jurisdiction = _jurisdiction(mp, sres, what)
    ident = mp.new_id(s.fides_key, "partner" if partner else "system", sres.loc("fides_key"))
    data: dict[str, Any] = {"id": ident, "name": s.name or s.fides_key}
    if s.description:
        data["description"] = s.description
    responsibilities = set(s.responsibility or ())
    processor = bool(responsibilities) and responsibilities <= PROCESSOR_RESPONSIBILITIES
    todos: list[str] = []
    if partner:
        uses = sorted({d.data_use for d in s.privacy_declarations})
        role = next((r for prefix, r in PARTNER_ROLE_BY_USE for u in uses if covers(prefix, u)), None)
        data["role"] = role or ("processor" if processor else "other")
        data["operator"] = "processor" if processor else "third_party"
        data["jurisdiction"] = jurisdiction
        if s.dpa_location:
            data["dpa_ref"] = s.dpa_location
        else:
            todos.append("dpa_ref: the data processing / sharing agreement with this partner (III.III.b)")
        if s.privacy_policy:
            data["own_policy_url"] = str(s.privacy_policy)
        if s.uses_cookies or s.uses_non_cookie_access:
            todos.append(
                "cookies: Fides says this partner uses cookies; list each (name, type, max_age_days,"
                " fires_before_consent) (II.II, II.III)"
            )
        todos.append("embedded_in: the systems (web, app) that embed its SDK, pixel or cookies, if any (II.II.a)")
    else:
        kind = meta.get("kind")
        if kind is None:
            kind = SYSTEM_KIND.get(stype)
            if kind is None:
                mp.problems.append(
                    Problem(
                        sres.loc("system_type"),
                        f"{what}: system_type {s.system_type!r} has no auditor kind; set meta.kind to one of"
                        f" {', '.join(sorted(set(SYSTEM_KIND.values())))} (see docs/fides.md)",
                    )
                )
                kind = "backend"
        data["kind"] = kind
        data["operator"] = "processor" if processor else "first_party"
        if processor and s.dpa_location:
            data["dpa_ref"] = s.dpa_location
        elif processor:
            todos.append("dpa_ref: the processing agreement with the vendor that runs this system (III.III.b)")
        if s.administrating_department and s.administrating_department != "Not defined":
            data["owner_team"] = s.administrating_department
        else:
            todos.append("owner_team: the team accountable for this system (III.VII.2.a)")
        if isinstance(meta.get("region"), str):
            data["region"] = meta["region"]
        data["jurisdiction"] = jurisdiction
        todos.append(
            "subject_jurisdictions: where the people whose data this system collects live, if it collects (III.3)"
        )
        data["processes_personal_data"] = bool(s.processes_personal_data)
        retention = _retention(mp, sres)
        if retention is not None:
            data["retention"] = {"days": retention}
        else:
            todos.append(
                "retention: days (or legal_ref) records are kept; Fides gives no retention period this tool can"
                " read (III.0)"
            )
        todos.append("security: tls_min, encryption_at_rest, mfa_admin, need_to_know, audit_log... (III.I, III.III)")
        if s.data_security_practices:
            todos.append(f"security: Fides describes it as {s.data_security_practices[:120]!r}")
        todos.append("dsr: access, rectify, delete, propagates (IV.a)")
    return _System(sres, ident, data, partner, jurisdiction, todos=todos)


def _retention(mp: _Mapper, sres: Resource) -> int | None:
    days: list[int] = []
    for decl in sres.model.privacy_declarations:
        if decl.retention_period is None:
            return None
        value = _retention_days(decl.retention_period)
        if value is None:
            return None
        days.append(value)
    return max(days) if days else None


def _dataset_system(mp: _Mapper, dres: Resource, holders: list[str], systems: dict[str, _System]) -> _System:
    d = dres.model
    ident = mp.new_id(d.fides_key, "system", dres.loc("fides_key"))
    jurisdiction = _meta(dres).get("jurisdiction") if isinstance(_meta(dres).get("jurisdiction"), str) else None
    if jurisdiction is None or not _JURISDICTION.fullmatch(jurisdiction):
        jurisdiction = _jurisdiction(mp, dres, f"dataset {d.fides_key!r}")
    why = (
        "no system lists it in dataset_references"
        if not holders
        else f"several systems or a partner reference it ({', '.join(holders)})"
    )
    mp.notes.append(f"dataset {d.fides_key} became its own datastore system {ident}: {why}")
    data: dict[str, Any] = {
        "id": ident,
        "name": d.name or d.fides_key,
        "kind": "datastore",
        "operator": "first_party",
        "jurisdiction": jurisdiction,
        "processes_personal_data": True,
    }
    if d.description:
        data["description"] = d.description
    todos = [
        f"this datastore is the Fides dataset {d.fides_key} ({why}); check the flows that fill and read it",
        "owner_team, retention (III.0), security (III.I), dsr (IV.a)",
    ]
    return _System(dres, ident, data, False, jurisdiction, todos=todos)


def _dataset_fields(mp: _Mapper, dres: Resource, holder: _System) -> None:
    d = dres.model
    base_cats = list(d.data_categories or ())

    def add(path: list[str], cats: list[str], uses: list[str], subjects: list[str], where: Location) -> None:
        name = ".".join(path)
        for cat in cats:
            suffix = "" if len(cats) == 1 else "." + cat.rsplit(".", 1)[-1]
            prefix = holder.ident if holder.res is dres else f"{holder.ident}.{d.fides_key}"
            ident = mp.new_id(f"{prefix}.{name}{suffix}", "field", where)
            fld: dict[str, Any] = {"id": ident, "name": name, "category": cat}
            fld["_uses"] = list(uses)
            fld["_subjects"] = list(subjects)
            holder.fields.append(fld)

    for ci, coll in enumerate(d.collections):
        raw_colls = dres.raw.get("collections") or []
        rci = _raw_index(raw_colls, coll.name, ci)
        coll_cats = list(coll.data_categories or ()) or base_cats

        def walk(
            fields: Iterable[Any], raw_fields: Any, prefix: list[str], inherited: list[str], path: list[Any]
        ) -> None:
            for fi, fld in enumerate(fields):
                ri = _raw_index(raw_fields or [], fld.name, fi)
                cats = list(fld.data_categories or ()) or inherited
                where = dres.loc(*path, ri, "name")
                if fld.fields:
                    sub = (raw_fields[ri] if raw_fields and ri < len(raw_fields) else {}).get("fields")
                    walk(fld.fields, sub, [*prefix, fld.name], cats, [*path, ri, "fields"])
                    if not fld.data_categories:
                        continue
                if cats:
                    add([*prefix, fld.name], cats, list(fld.data_uses or ()), list(fld.data_subjects or ()), where)

        walk(
            coll.fields,
            (raw_colls[rci] if rci < len(raw_colls) else {}).get("fields"),
            [coll.name],
            coll_cats,
            ["collections", rci, "fields"],
        )


def _declared_fields(mp: _Mapper, sysm: _System, purpose: Any, received: list[dict[str, Any]]) -> None:
    """Purposes and subjects of the fields a system holds or receives, from its privacy declarations; a new field for
    every declared category that none of them covers."""
    s = sysm.res.model
    for i, decl in enumerate(s.privacy_declarations):
        where = sysm.res.loc("privacy_declarations", i, "data_use")
        pid = purpose(decl.data_use, where)
        for j, cat in enumerate(decl.data_categories):
            held = [f for f in [*sysm.fields, *received] if covers(cat, f["category"])]
            if not held:
                ident = mp.new_id(
                    f"{sysm.ident}.{cat.replace('.', '_')}",
                    "field",
                    sysm.res.loc("privacy_declarations", i, "data_categories", j),
                )
                fld: dict[str, Any] = {"id": ident, "category": cat, "_uses": [], "_subjects": []}
                sysm.fields.append(fld)
                held = [fld]
            for f in held:
                if pid not in f.setdefault("_pids", []):
                    f["_pids"].append(pid)
                for subj in decl.data_subjects:
                    if subj not in f["_subjects"]:
                        f["_subjects"].append(subj)
    for f in sysm.fields:
        for use in f.get("_uses", ()):
            pid = purpose(use, sysm.res.loc("fides_key"))
            if pid not in f.setdefault("_pids", []):
                f["_pids"].append(pid)


def _flows(mp: _Mapper, systems: dict[str, _System], dataset_owner: dict[str, _System], purpose: Any) -> None:
    by_key = {k: s for k, s in systems.items() if not k.startswith("dataset:")}

    def endpoint(kind: str, key: str) -> _System | None:
        if kind == "system":
            return by_key.get(key)
        if kind == "dataset":
            return dataset_owner.get(key)
        return None

    # (from system key, to system key) -> categories (None: unstated), declarations naming it, where it is written
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for sysm in by_key.values():
        s = sysm.res.model
        for direction in ("egress", "ingress"):
            for j, flow in enumerate(getattr(s, direction) or ()):
                other = endpoint(flow.type, flow.fides_key)
                if other is None:
                    continue  # "user": people, not a system (a collection point); nothing to draw
                src, dst = (sysm, other) if direction == "egress" else (other, sysm)
                if src is dst:
                    continue
                if src.partner:
                    mp.notes.append(
                        f"{src.ident} -> {dst.ident}: data received from a third party; mark the fields it brings"
                        " `collection: third_party` in " + dst.ident
                    )
                    continue
                edge = edges.setdefault(
                    (src.ident, dst.ident),
                    {
                        "src": src,
                        "dst": dst,
                        "cats": set(),
                        "all": False,
                        "decls": [],
                        "where": sysm.res.loc(direction, j, "fides_key"),
                    },
                )
                if flow.data_categories:
                    edge["cats"].update(flow.data_categories)
                else:
                    edge["all"] = True
                for i, decl in enumerate(s.privacy_declarations):
                    if flow.fides_key in (getattr(decl, direction) or ()):
                        edge["decls"].append((sysm, i, decl))

    available: dict[str, list[dict[str, Any]]] = {s.ident: list(s.fields) for s in systems.values()}
    planned: list[dict[str, Any]] = []
    for _pair, edge in sorted(edges.items()):
        src = edge["src"]
        decls = edge["decls"] or [(src, i, d) for i, d in enumerate(src.res.model.privacy_declarations)]
        uses: dict[str, list[Any]] = {}
        for owner, i, decl in decls:
            cats = edge["cats"] if not edge["all"] else set(decl.data_categories)
            if (
                not edge["decls"]
                and not edge["all"]
                and not any(covers(c, k) or covers(k, c) for c in decl.data_categories for k in cats)
            ):
                continue
            uses.setdefault(decl.data_use, []).append((owner, i, decl))
        if not uses:
            uses = {"": []}
        for use, named in sorted(uses.items()):
            cats = set(edge["cats"]) if not edge["all"] else {c for _, _, d in named for c in d.data_categories}
            planned.append({"edge": edge, "use": use, "decls": named, "cats": sorted(cats)})

    # Fields travel: a flow carries the fields its sender holds or receives, of the flow's categories.
    carried: dict[int, list[str]] = {}
    _travel(planned, available, carried)
    for sysm in _senders_first(by_key, planned):
        own = {f["id"] for f in sysm.fields}
        before = len(sysm.fields)
        _declared_fields(mp, sysm, purpose, [f for f in available[sysm.ident] if f["id"] not in own])
        if len(sysm.fields) > before:
            available[sysm.ident].extend(sysm.fields[before:])
            _travel(planned, available, carried)
    for plan in planned:  # a datastore made from a dataset keeps what flows bring it for their purposes
        receiver = plan["edge"]["dst"]
        if receiver.res.kind == "dataset" and plan["use"]:
            pid = purpose(plan["use"], plan["edge"]["where"])
            for f in receiver.fields:
                if any(covers(c, f["category"]) for c in plan["cats"]) and pid not in f.setdefault("_pids", []):
                    f["_pids"].append(pid)
    _finish_flows(mp, systems, planned, carried, purpose)


def _senders_first(by_key: dict[str, _System], planned: list[dict[str, Any]]) -> list[_System]:
    """Our systems, each after the systems that send it data (in a cycle, by id): a system then sees every field
    its inbound flows bring before it declares its own."""
    remaining = {s.ident: s for s in by_key.values() if not s.partner}
    inbound: dict[str, set[str]] = {k: set() for k in remaining}
    for plan in planned:
        src, dst = plan["edge"]["src"].ident, plan["edge"]["dst"].ident
        if dst in inbound and src in remaining:
            inbound[dst].add(src)
    order: list[_System] = []
    while remaining:
        ready = sorted(k for k in remaining if not inbound[k] & remaining.keys()) or [min(remaining)]
        for k in ready:
            order.append(remaining.pop(k))
    return order


def _travel(
    planned: list[dict[str, Any]], available: dict[str, list[dict[str, Any]]], carried: dict[int, list[str]]
) -> None:
    """Propagate fields along the planned flows until nothing changes (bounded: one more round than flows)."""
    for _ in range(len(planned) + 1):
        changed = False
        for n, plan in enumerate(planned):
            src = plan["edge"]["src"]
            dst = plan["edge"]["dst"]
            chosen = [f["id"] for f in available[src.ident] if any(covers(c, f["category"]) for c in plan["cats"])]
            if not plan["cats"]:
                chosen = [f["id"] for f in available[src.ident]]
            if chosen != carried.get(n):
                carried[n] = chosen
                changed = True
            if not dst.partner:
                have = {f["id"] for f in available[dst.ident]}
                for f in available[src.ident]:
                    if f["id"] in chosen and f["id"] not in have:
                        available[dst.ident].append(f)
                        changed = True
        if not changed:
            break


def _finish_flows(
    mp: _Mapper,
    systems: dict[str, _System],
    planned: list[dict[str, Any]],
    carried: dict[int, list[str]],
    purpose: Any,
) -> None:
    fields_by_id = {f["id"]: f for s in systems.values() for f in s.fields}
    for n, plan in enumerate(planned):
        edge = plan["edge"]
        sender, receiver = edge["src"], edge["dst"]
        use = plan["use"]
        pid = purpose(use, edge["where"]) if use else _unspecified(mp, purpose, edge["where"])
        field_ids = sorted(carried.get(n, []))
        for cat in plan["cats"]:
            if not any(covers(cat, fields_by_id[f]["category"]) for f in field_ids if f in fields_by_id):
                ident = mp.new_id(f"{sender.ident}.{cat.replace('.', '_')}", "field", edge["where"])
                fld: dict[str, Any] = {"id": ident, "category": cat, "_uses": [], "_subjects": [], "_pids": [pid]}
                fld["_todo"] = (
                    f"Fides says {sender.ident} sends {cat} to {receiver.ident} but none of its datasets holds it"
                )
                sender.fields.append(fld)
                fields_by_id[ident] = fld
                field_ids.append(ident)
        if not field_ids:
            mp.notes.append(
                f"{sender.ident} -> {receiver.ident}: no data category stated and no field known: flow not imported"
            )
            continue
        flow_id = mp.new_id(f"{sender.ident}-to-{receiver.ident}" + (f".{use}" if use else ""), "flow", edge["where"])
        item: dict[str, Any] = {
            "id": flow_id,
            "from": sender.ident,
            "to": receiver.ident,
            "fields": sorted(set(field_ids)),
            "purpose": pid,
        }
        bases = sorted({d.legal_basis_for_processing for _, _, d in plan["decls"] if d.legal_basis_for_processing})
        todos: list[str] = []
        if len(bases) == 1 and bases[0] in LEGAL_BASIS:
            item["legal_basis"] = {"kind": LEGAL_BASIS[bases[0]]}
            if bases[0] == "Consent":
                todos.append("legal_basis.consent: the consent record that covers this flow (add it under consents:)")
        else:
            todos.append(
                "legal_basis: kind (consent + consent id, contract, legal_obligation, exemption...)"
                " (II.IV.2.e, GDPR Art. 6)"
            )
        if sender.jurisdiction != receiver.jurisdiction:
            mechanisms = (
                sorted(
                    {
                        TRANSFER_MECHANISM[b]
                        for b in sender.res.model.legal_basis_for_transfers
                        if b in TRANSFER_MECHANISM
                    }
                )
                if sender.res.kind == "system"
                else []
            )
            if len(mechanisms) == 1:
                item["transfer"] = {"mechanism": mechanisms[0]}
            todos.append(
                "transfer: mechanism, ref and tia_ref for this cross-border flow (III.1-III.3, GDPR Chapter V,"
                " PIPL Art. 38)"
            )
        item["_todos"] = todos
        sender.flows.append(item)


def _unspecified(mp: _Mapper, purpose: Any, where: Location) -> str:
    return str(purpose(UNSPECIFIED_PURPOSE, where))


# --- rendering -----------------------------------------------------------------------------------------------------


def _clean_field(f: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in f.items() if not k.startswith("_")}
    if f.get("_subjects"):
        out["subjects"] = sorted({_ID_BAD.sub("-", s.lower()) for s in f["_subjects"]})
    out["purposes"] = sorted(f.get("_pids", []))
    if f.get("_todo"):
        out["_comment"] = emit.Comment(f"TODO: {f['_todo']}")
    out["_comment2"] = emit.Comment("TODO: collection, identifiability, protection (Fides does not say)")
    return out


def _render(mp: _Mapper, systems: dict[str, _System], purposes: dict[str, dict[str, Any]], m: Manifests) -> Result:
    files: dict[str, str] = {}
    todos: list[Todo] = []
    counts = {"systems": 0, "partners": 0, "fields": 0, "flows": 0, "purposes": len(purposes)}
    header = [
        "Imported from Fides manifests by `auditor import fides` (see FIDES-IMPORT.md).",
        "Lines marked TODO are facts the policy needs and Fides does not state.",
    ]

    def record(name: str, text: str) -> None:
        files[name] = text
        for n, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith("# TODO"):
                todos.append(Todo(name, n, stripped[len("# TODO") :].lstrip(": ").strip()))

    purpose_list: list[Any] = []
    for ident in sorted(purposes):
        entry = dict(purposes[ident])
        todo = entry.pop("_todo", None)
        if ident == UNSPECIFIED_PURPOSE or entry.get("data_use") == UNSPECIFIED_PURPOSE:
            entry = {"id": ident, "name": "Unspecified (a Fides flow no privacy declaration explains)"}
            todo = "say why these flows happen: replace this purpose by the right one on each flow"
        if todo:
            entry["_comment"] = emit.Comment(f"TODO: {todo}")
        purpose_list.append(entry)
    record("purposes.yaml", emit.document(header, {"version": 1, "purposes": purpose_list}))

    partners = [s for s in systems.values() if s.partner]
    if partners:
        plist: list[Any] = []
        for p in sorted(partners, key=lambda x: x.ident):
            entry = dict(p.data)
            for k, t in enumerate(p.todos):
                entry[f"_todo{k}"] = emit.Comment(f"TODO: {t}")
            plist.append(entry)
        counts["partners"] = len(plist)
        record("partners.yaml", emit.document(header, {"version": 1, "partners": plist}))

    for sysm in sorted((s for s in systems.values() if not s.partner), key=lambda x: x.ident):
        entry = dict(sysm.data)
        for k, t in enumerate(sysm.todos):
            entry[f"_todo{k}"] = emit.Comment(f"TODO: {t}")
        flds = [_clean_field(f) for f in sorted(sysm.fields, key=lambda f: f["id"])]
        if flds:
            entry["fields"] = flds
        body: dict[str, Any] = {"version": 1, "systems": [entry]}
        flows = []
        for flow in sorted(sysm.flows, key=lambda f: f["id"]):
            item = {k: v for k, v in flow.items() if not k.startswith("_")}
            for k, t in enumerate(flow.get("_todos", ())):
                item[f"_todo{k}"] = emit.Comment(f"TODO: {t}")
            flows.append(item)
        if flows:
            body["flows"] = flows
        counts["systems"] += 1
        counts["fields"] += len(flds)
        counts["flows"] += len(flows)
        record(f"systems/{sysm.ident}.yaml", emit.document(header, body))

    org = _organization(mp, m)
    if org is not None:
        record("organization.yaml", emit.document(header, {"version": 1, "organization": org}))
    notes = list(mp.notes)
    for kind, loc in m.ignored:
        if kind.startswith("cookies"):
            notes.append(f"{loc}: {kind} not imported: list the cookies under the partner that sets them")
        else:
            notes.append(f"{loc}: {kind} resources are not imported (the auditor's policy pack judges the inventory)")
    return Result(files, todos, sorted(set(notes)), counts)


def _organization(mp: _Mapper, m: Manifests) -> dict[str, Any] | None:
    orgs = sorted(m.resources["organization"].values(), key=lambda r: r.key)
    if not orgs:
        mp.notes.append(
            "no Fides organization: write organization.yaml (name, contact_email, dsr_intake, dpo, incident_response)"
        )
        return None
    if len(orgs) > 1:
        mp.notes.append(
            f"{len(orgs)} Fides organizations: only {orgs[0].key} imported (the inventory has one controller)"
        )
    o = orgs[0].model
    controller = o.controller
    email = controller.email if controller is not None else None
    if not email or "@" not in email:
        mp.notes.append(
            f"organization {o.fides_key}: no controller email, so no organization.yaml (contact_email is required)"
        )
        return None
    org: dict[str, Any] = {
        "name": (controller.name if controller and controller.name else o.name) or o.fides_key,
        "contact_email": email,
    }
    if controller is not None and controller.address:
        org["address"] = controller.address
    for source, target in ((o.data_protection_officer, "dpo"), (o.representative, "eu_representative")):
        if source is not None and source.name:
            contact = {"name": source.name}
            if source.email:
                contact["email"] = source.email
            if source.address:
                contact["address"] = source.address
            org[target] = contact
    org["_t1"] = emit.Comment(
        "TODO: jurisdiction, dsr_intake (PRE.c, IV.c), policy_version, classification_scheme (III.II.a)"
    )
    org["_t2"] = emit.Comment(
        "TODO: incident_response: plan_ref, team, notify_channels, regulator_procedures (III.VII.2)"
    )
    org["_t3"] = emit.Comment("TODO: consents: add a consents: section for each consent the flows rely on (II.IV)")
    return org


def report(result: Result, sources: Sequence[str], purposes_used: dict[str, str | None] | None = None) -> str:
    """FIDES-IMPORT.md: what was imported, every fact to fill (file:line of its TODO comment), and the notes."""
    c = result.counts
    lines = [
        "# Imported from Fides",
        "",
        "Written by `auditor import fides`; the mapping is documented in docs/fides.md. Fides manifests read:",
        "",
        *[f"- `{emit.safe_text(s)}`" for s in sources],
        "",
        f"{c['systems']} systems, {c['partners']} partners, {c['fields']} fields, {c['flows']} flows, "
        f"{c['purposes']} purposes.",
        "",
        f"## Facts to fill ({len(result.todos)})",
        "",
        "Fides does not state these and the policy needs them. Until they are filled, `auditor check` reports them as",
        "gaps (or as violations where the policy's default is strict, e.g. an undeclared purpose needs consent).",
        "",
    ]
    lines += [f"- `{t.file}:{t.line}` {t.text}" for t in result.todos]
    if result.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {emit.safe_text(n)}" for n in result.notes]
    return "\n".join(lines) + "\n"


__all__ = ["REPORT_NAME", "Manifests", "Result", "convert", "parse", "report"]
