"""Waivers: accepted findings, each with a justification, an owner and an expiry date.

A waivers file (YAML, read with the project's safe parser)::

    waivers:
      - rule: creality.purposes.undeclared_purpose_field   # the finding: rule + subject ...
        subject: field/ml-platform.labelled_frames         # "kind/id" (or {kind: field, id: ...})
        justification: Covered by the R&D consent campaign, see DPO ticket PRIV-42
        owner: dpo@example.com
        expires: 2026-06-30                                 # inclusive: waives until the end of that day
      - fingerprint: c1962a2048ace7b0fc02                    # ... or its fingerprint
        justification: ...
        owner: ...
        expires: ...

Every key of a waiver is required (``rule`` + ``subject`` or ``fingerprint``); a file that breaks this is refused
(exit 2, one located line per problem). A waiver whose date has passed stops waiving (its findings are open again)
and is reported as a note; so is a waiver that matches no finding.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import safeio
from auditor.errors import InputError, Location, Problem
from auditor.findings import Finding
from auditor.inventory import yamlsafe
from auditor.inventory.loader import checked_against, compile_fast, display_path, validator_for
from auditor.model import ENTITY_KINDS

if TYPE_CHECKING:
    import jsonschema

_NON_BLANK = r"\S"
_SUBJECT = r"^(" + "|".join(ENTITY_KINDS) + r")/\S+$"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["waivers"],
    "properties": {
        "version": {"const": 1},
        "waivers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["justification", "owner", "expires"],
                "properties": {
                    "rule": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.]*$"},
                    "subject": {
                        "oneOf": [
                            {"type": "string", "pattern": _SUBJECT},
                            {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["kind", "id"],
                                "properties": {
                                    "kind": {"enum": list(ENTITY_KINDS)},
                                    "id": {"type": "string", "minLength": 1},
                                },
                            },
                        ]
                    },
                    "fingerprint": {"type": "string", "pattern": r"^[0-9a-f]{8,64}$"},
                    "justification": {"type": "string", "pattern": _NON_BLANK},
                    "owner": {"type": "string", "pattern": _NON_BLANK},
                    "expires": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                },
                "oneOf": [
                    {"required": ["rule", "subject"], "not": {"required": ["fingerprint"]}},
                    {
                        "required": ["fingerprint"],
                        "not": {"anyOf": [{"required": ["rule"]}, {"required": ["subject"]}]},
                    },
                ],
            },
        },
    },
}


@functools.cache
def _fast_validator() -> Callable[[Any], Any]:
    return compile_fast(SCHEMA)  # 100,000 waivers: ~20x faster than jsonschema


@dataclass(frozen=True, slots=True)
class Waiver:
    location: Location  # where the waiver is declared (the list item)
    justification: str
    owner: str
    expires: dt.date
    rule: str = ""
    subject_kind: str = ""
    subject_id: str = ""
    fingerprint: str = ""

    @property
    def target(self) -> str:
        if self.fingerprint:
            return f"fingerprint {self.fingerprint}"
        return f"{self.rule} on {self.subject_kind}/{self.subject_id}"

    def matches(self, f: Finding) -> bool:
        if self.fingerprint:
            return f.fingerprint == self.fingerprint
        return (f.rule_id, f.subject_kind, f.subject_id) == (self.rule, self.subject_kind, self.subject_id)

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def as_dict(self) -> dict[str, str]:
        return {
            "justification": self.justification,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
            "declared_at": str(self.location),
        }


@dataclass(frozen=True, slots=True)
class WaiverNote:
    """Something the gate tells about a waiver: ``expired`` (no longer waives) or ``unused`` (matches nothing)."""

    kind: str
    waiver: Waiver

    @property
    def message(self) -> str:
        w = self.waiver
        if self.kind == "expired":
            return (
                f"waiver for {w.target} expired on {w.expires.isoformat()} (owner {w.owner}); "
                "its findings are open again: fix them or renew the waiver"
            )
        return f"waiver for {w.target} matches no finding (owner {w.owner}); remove it"


def _problem_text(err: jsonschema.ValidationError) -> str:
    path = [p for p in err.absolute_path if not isinstance(p, int)]
    what = ".".join(str(p) for p in path) or "waivers file"
    if err.validator == "required":
        return f"waiver: missing required key {err.message.split(' is a required')[0]}"
    if err.validator == "additionalProperties":
        return f"{what}: {err.message}"
    if err.validator == "pattern" and path and path[-1] in ("justification", "owner"):
        return f"waiver: {path[-1]} must not be empty"
    if err.validator == "pattern" and path and path[-1] == "expires":
        return f"waiver: expires must be a date YYYY-MM-DD, got {err.instance!r}"
    if err.validator == "oneOf" and len(path) == 1:
        return "waiver must name its finding by rule + subject, or by fingerprint (not both)"
    if err.validator == "oneOf" and path[-1:] == ["subject"]:
        return f"waiver: subject must be 'kind/id' (kinds: {', '.join(ENTITY_KINDS)}) or {{kind, id}}"
    return f"{what}: {err.message}"


def _yaml_error(exc: yamlsafe.YamlError, shown: str) -> InputError:
    return InputError([Problem(Location(shown, exc.problem.line, exc.problem.column), exc.problem.message)])


def parse(text: str, shown: str) -> list[Waiver]:
    """Parse and validate a waivers file; raise InputError listing every located problem."""
    try:
        doc = yamlsafe.parse(text)
    except yamlsafe.YamlError as exc:
        raise _yaml_error(exc, shown) from None
    if doc is None:
        doc = {"waivers": []}

    def located() -> list[Problem]:
        errors = sorted(validator_for(SCHEMA).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
        return [Problem(Location(shown, *yamlsafe.position(doc, e.absolute_path)), _problem_text(e)) for e in errors]

    refusal = Problem(Location(shown), "waivers file failed validation")
    problems = checked_against(_fast_validator(), doc, located, refusal)
    if problems:
        raise InputError(problems)
    waivers: list[Waiver] = []
    items = doc["waivers"]
    for i, item in enumerate(items):
        line, col = items.loc_of(i) if isinstance(items, yamlsafe.LocList) else (0, 0)
        where = Location(shown, line, col)
        try:
            expires = dt.date.fromisoformat(item["expires"])
        except ValueError:
            line, col = yamlsafe.position(doc, ["waivers", i, "expires"])
            problems.append(Problem(Location(shown, line, col), f"waiver: expires {item['expires']!r} is not a date"))
            continue
        subject = item.get("subject")
        if isinstance(subject, str):
            kind, _, sid = subject.partition("/")
        elif isinstance(subject, dict):
            kind, sid = subject["kind"], subject["id"]
        else:
            kind, sid = "", ""
        waivers.append(
            Waiver(
                location=where,
                justification=item["justification"].strip(),
                owner=item["owner"].strip(),
                expires=expires,
                rule=item.get("rule", ""),
                subject_kind=kind,
                subject_id=sid,
                fingerprint=item.get("fingerprint", ""),
            )
        )
    if problems:
        raise InputError(problems)
    return waivers


def load(path: Path, shown: str | None = None) -> list[Waiver]:
    shown = shown or display_path(path)
    try:
        data = safeio.read_regular(path, yamlsafe.MAX_FILE_BYTES)
    except safeio.FileRefused as exc:
        raise InputError([Problem(Location(*exc.location(shown)), f"waivers file: {exc}")]) from None
    try:
        text = yamlsafe.decode(data)
    except yamlsafe.YamlError as exc:
        raise _yaml_error(exc, shown) from None
    return parse(text, shown)


def apply(
    findings: Sequence[Finding], waivers: Sequence[Waiver], today: dt.date
) -> tuple[list[Finding], list[WaiverNote]]:
    """Mark the findings matched by a live waiver as waived; report expired and unused waivers.

    The first live waiver (in file order) that matches a finding is the one recorded on it."""
    live = [w for w in waivers if not w.expired(today)]
    # With no live waiver there is nothing to match (XL: 940k findings looked up in empty indexes, ~1 s).
    out, used = _matched(findings, live) if live else (list(findings), set())
    notes = [WaiverNote("expired", w) for w in waivers if w.expired(today)]
    notes += [WaiverNote("unused", w) for i, w in enumerate(live) if i not in used]
    notes.sort(key=lambda n: (n.waiver.location, n.kind))
    return out, notes


def _matched(findings: Sequence[Finding], live: Sequence[Waiver]) -> tuple[list[Finding], set[int]]:
    """The findings, those a live waiver matches marked waived, and the positions in ``live`` of the waivers used."""
    # Indexed by what a waiver names (its fingerprint, or its rule and subject): one lookup per finding, however
    # many waivers (100k waivers took 80 s as a scan). Each key keeps its first waiver in file order.
    by_fingerprint: dict[str, int] = {}
    by_target: dict[tuple[str, str, str], int] = {}
    for i, w in enumerate(live):
        if w.fingerprint:
            by_fingerprint.setdefault(w.fingerprint, i)
        else:
            by_target.setdefault((w.rule, w.subject_kind, w.subject_id), i)
    used: set[int] = set()
    out: list[Finding] = []
    for f in findings:
        hits = [
            i
            for i in (by_fingerprint.get(f.fingerprint), by_target.get((f.rule_id, f.subject_kind, f.subject_id)))
            if i is not None
        ]
        if not hits:
            out.append(f)
            continue
        hit = min(hits)
        used.add(hit)
        out.append(f.with_status("waived", live[hit].as_dict()))
    return out, used
