"""Load an inventory directory: find the files, parse them safely, validate them against the JSON Schema,
check ids and references, and build the located model. Every problem of a run is collected and reported together,
one line each, as ``file:line:col: message``."""

from __future__ import annotations

import copy
import difflib
import errno
import hashlib
import itertools
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from auditor import safeio, workers
from auditor.errors import InputError, Location, Problem
from auditor.inventory import stored, yamlsafe
from auditor.model import Entity, EntityKind, Inventory, Locator

if TYPE_CHECKING:
    import jsonschema

YAML_SUFFIXES = (".yaml", ".yml")
MAX_FILES = 200_000
# Size limits (docs/security.md): far beyond any real inventory (the XL benchmark, 10,000 systems and 400,000
# fields, is 10.9 million nodes, its longest list 69 items, its largest policy input 582 items), and low enough
# that every stage stays under 2 GiB of memory.
MAX_LIST_ITEMS = 10_000  # items in any list inside an entity (a system's fields, a flow's fields, purposes...)
MAX_TOTAL_NODES = 14_000_000  # YAML nodes of the whole inventory, aliases expanded
MAX_PARTITION_ITEMS = 50_000  # fields and field references in one system's or partner's policy input

_SECTION_KIND: dict[str, EntityKind] = {
    "purposes": "purpose",
    "systems": "system",
    "partners": "partner",
    "consents": "consent",
    "flows": "flow",
}


@cache
def schema() -> dict[str, Any]:
    text = resources.files("auditor.inventory").joinpath("schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


_DOLLAR = re.compile(r"(?<!\\)\$")  # an unescaped ``$``: the one fastjsonschema rewrites to ``\Z``


@cache
def _end_anchored(pattern: str) -> re.Pattern[str]:
    """A schema ``pattern`` compiled with JSON Schema's (ECMA-262) meaning of ``$``: the end of the string. Python's
    ``$`` also matches before a final newline, so ``"US\\n"`` passed ``^[A-Z]{2}$`` in jsonschema while the fast
    validator (which rewrites ``$`` as ``\\Z``) refused it: both now read patterns the same way."""
    return re.compile(_DOLLAR.sub(r"\\Z", pattern))


@cache
def _validator_class() -> Any:
    """Draft 2020-12 with JSON Schema's ``pattern``. jsonschema is imported here, not with the module: only a document
    the fast validator refuses needs it, and importing it cost a fifth of the CPU time of ``auditor validate``."""
    import jsonschema

    def ecma_pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not _end_anchored(pattern).search(instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")

    return jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, {"pattern": ecma_pattern}
    )


def validator_for(document_schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A Draft 2020-12 validator for ``document_schema`` whose ``pattern`` keeps JSON Schema's ``$`` (end of string,
    no trailing newline), as every schema of this project (inventory, waivers) is checked."""
    return cast("jsonschema.Draft202012Validator", _validator_class()(document_schema))


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return validator_for(schema())


def compile_fast(document_schema: dict[str, Any]) -> Callable[[Any], Any]:
    """``document_schema`` compiled to Python code (fastjsonschema, ~40x faster than jsonschema): the fast path for
    valid documents (see :func:`checked_against`). It only decides *whether* a document is valid; every located
    message comes from jsonschema (tests/test_hostile_files.py checks both agree on every pattern)."""
    import fastjsonschema

    # A copy: fastjsonschema rewrites the "$ref"s of the dict it compiles into absolute URIs, and schema() is the
    # cached dict that `auditor schema` prints (its shipped copy then looked stale after any validation).
    return fastjsonschema.compile(copy.deepcopy(document_schema), use_default=False, use_formats=False)


def checked_against(
    fast: Callable[[Any], Any], doc: Any, locate: Callable[[], list[Problem]], refusal: Problem
) -> list[Problem]:
    """No problem when the compiled validator ``fast`` accepts ``doc``: a valid file is validated once. Otherwise
    the problems ``locate`` finds with jsonschema; if it finds none, the two validators disagree and ``refusal``
    (its message followed by the fast validator's reason) refuses the document all the same: fail closed."""
    try:
        fast(doc)
        return []
    except Exception as exc:  # invalid, or a fast-path surprise
        refused = " ".join(str(exc).split())[:200] or type(exc).__name__
    return locate() or [Problem(refusal.location, f"{refusal.message}: {refused}")]


@cache
def _fast_validator() -> Callable[[Any], Any]:
    return compile_fast(schema())


def working_dir() -> str:
    """The working directory, symlinks resolved, as :func:`display_path` compares paths with it."""
    return os.path.realpath(Path.cwd())  # never raises, even on a symlink loop (Path.resolve does on 3.11)


def display_path(path: Path, cwd: str | None = None) -> str:
    """A path as users see it in messages: relative to the working directory when below it. ``cwd``: that directory
    as :func:`working_dir` gives it, when the caller names many paths (XL's 10,004 files: 0.1 s less)."""
    return _shown_real(os.path.realpath(path), cwd)


def _shown_real(resolved: str, cwd: str | None = None) -> str:
    """:func:`display_path` of a path already resolved (``os.path.realpath``)."""
    real = Path(resolved)
    try:
        return real.relative_to(cwd if cwd is not None else working_dir()).as_posix()
    except ValueError:
        return real.as_posix()


def _shown_entry(path: Path) -> str:
    """How messages name a directory entry: its parent as users see it, then its own name (never its target)."""
    parent = display_path(path.parent)
    return path.name if parent == "." else f"{parent}/{path.name}"


def _link_target(link: Path, real_root: Path, what: str) -> tuple[Path | None, Problem | None]:
    """Where the symlink ``link`` leads, or the problem that refuses it: broken, a loop, or outside the inventory."""
    try:
        target = Path(os.path.realpath(link, strict=True))
    except OSError as exc:  # ELOOP, ENOENT (dangling), EACCES...
        reason = "symlink loop" if exc.errno == errno.ELOOP else exc.strerror or type(exc).__name__
        return None, Problem(Location(_shown_entry(link)), f"cannot follow {what}: {reason}; refused")
    if not target.is_relative_to(real_root):
        message = f"{what} points outside the inventory (to {target.as_posix()}); refused"
        return None, Problem(Location(_shown_entry(link)), message)
    return target, None


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    """The YAML files under ``paths`` (sorted). Refused, each with a located problem: symlinks (to a file or a
    directory) that leave their root, broken or looping symlinks, and entries that are not regular files (named
    pipes, sockets, devices named ``*.yaml``). A symlinked directory inside the inventory is not followed: its
    target is read at its own place."""
    found, problems = _discovered(paths)
    return [path for path, _ in found], problems


def _discovered(paths: Sequence[Path]) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """:func:`discover`, each file with where it really is (``os.path.realpath``): a file that is not a symlink is
    its directory's real path and its name, so each directory is resolved once (XL: 10,004 files resolved one by
    one took ~0.2 s, twice a run)."""
    files: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    for root in paths:
        try:
            root_mode = os.stat(root).st_mode
        except OSError as exc:
            reason = "no such file or directory" if exc.errno == errno.ENOENT else exc.strerror or str(exc)
            problems.append(Problem(Location(str(root)), reason))
            continue
        if not stat.S_ISDIR(root_mode):
            if not stat.S_ISREG(root_mode):
                problems.append(
                    Problem(Location(str(root)), f"{safeio.kind_of(root_mode)}, not a regular file; refused")
                )
                continue
            files.append((root, os.path.realpath(root)))
            continue
        real_root = Path(os.path.realpath(root))
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            here = Path(dirpath)
            real_here = os.path.realpath(dirpath)
            kept = []
            for d in sorted(dirnames):
                if d.startswith("."):
                    continue
                if (here / d).is_symlink():
                    _target, problem = _link_target(here / d, real_root, "symlinked directory")
                    if problem is not None:
                        problems.append(problem)
                    continue  # inside the inventory: its files are read where they really are
                kept.append(d)
            dirnames[:] = kept
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                candidate = here / name
                if not name.endswith(YAML_SUFFIXES):
                    # A link os.walk could not follow (dangling, or a loop) may have been a directory of the
                    # inventory: one without a file suffix is refused rather than silently skipped.
                    if "." not in name and candidate.is_symlink() and not candidate.exists():
                        problems.append(
                            _link_target(candidate, real_root, "symlink")[1]
                            or Problem(Location(_shown_entry(candidate)), "cannot follow symlink; refused")
                        )
                    continue
                try:
                    mode = os.lstat(candidate).st_mode
                except OSError as exc:
                    problems.append(Problem(Location(_shown_entry(candidate)), f"cannot read file: {exc.strerror}"))
                    continue
                real = os.path.join(real_here, name)
                if stat.S_ISLNK(mode):
                    target, problem = _link_target(candidate, real_root, "symlink")
                    if problem is not None or target is None:
                        problems.extend([problem] if problem is not None else [])
                        continue
                    mode = os.stat(target).st_mode
                    real = str(target)
                if not stat.S_ISREG(mode):
                    message = f"{safeio.kind_of(mode)}, not a regular file; refused"
                    problems.append(Problem(Location(_shown_entry(candidate)), message))
                    continue
                files.append((candidate, real))
                if len(files) > MAX_FILES:
                    problems.append(Problem(Location(str(root)), f"more than {MAX_FILES} YAML files"))
                    return files, problems
    unique: dict[str, tuple[Path, str]] = {}
    for f, real in files:
        unique.setdefault(real, (f, real))
    return sorted(unique.values(), key=lambda item: item[0].as_posix()), problems


def _read(path: Path, shown: str) -> bytes | Problem:
    """The bytes of the regular file ``path`` (at most the YAML size limit), or the located problem refusing it."""
    try:
        return safeio.read_regular(path, yamlsafe.MAX_FILE_BYTES)
    except safeio.FileRefused as exc:
        return Problem(Location(*exc.location(shown)), str(exc))


def parse_file(path: Path, shown: str) -> tuple[Any, list[Problem]]:
    """One YAML file read and parsed safely, without the inventory's list limit (the importers' files)."""
    data = _read(path, shown)
    if isinstance(data, Problem):
        return None, [data]
    doc, problems, _nodes = _parsed(data, shown)
    return doc, problems


def _parsed(data: bytes, shown: str, max_items: int | None = None) -> tuple[Any, list[Problem], int]:
    """The document in ``data``, its problems (located) and its alias-expanded node count."""
    try:
        doc, nodes = yamlsafe.parse_counted(yamlsafe.decode(data), max_items=max_items)
    except yamlsafe.YamlError as exc:
        p = exc.problem
        return None, [Problem(Location(shown, p.line, p.column), p.message)], 0
    except RecursionError:
        return None, [Problem(Location(shown), "YAML nesting too deep")], 0
    return doc, [], nodes


MAX_EXACT = 2**53 - 1  # the bound of every number in the schema (``$defs/count`` and ``$defs/hours``)


def _first_sentence(text: str) -> str:
    """The first sentence of a schema description: up to a full stop that ends the text or precedes a space, so an
    ellipsis or a dotted example ("(CN, US, FR, ...)", "e.g. 1.2") is kept whole."""
    return re.split(r"(?<!e\.g)(?<!i\.e)\.(?:\s|$)", text, maxsplit=1)[0]


def _number_text(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"


def _describe(path: Sequence[Any]) -> str:
    """'system', 'field', 'flow.legal_basis'... for a schema path."""
    words: list[str] = []
    for part in path:
        if isinstance(part, int):
            continue
        if part in _SECTION_KIND:
            words = [_SECTION_KIND[part]]
        elif part == "fields" and words == ["system"]:
            words = ["field"]
        elif part in ("cookies", "trackers"):
            words = ["cookie" if part == "cookies" else "tracker"]
        else:
            words.append(str(part))
    return ".".join(words) or "file"


def _schema_problems(doc: Any, shown: str) -> list[Problem]:
    refusal = Problem(Location(shown), "schema validation failed")
    return checked_against(_fast_validator(), doc, lambda: _located_schema_problems(doc, shown), refusal)


def _located_schema_problems(doc: Any, shown: str) -> list[Problem]:
    problems: list[Problem] = []
    for err in _validator().iter_errors(doc):
        path = list(err.absolute_path)
        what = _describe(path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = sorted(err.schema.get("properties", {}))
            for key in sorted(set(err.instance) - set(allowed)):
                line, col = yamlsafe.position(doc, [*path, key])
                hint = difflib.get_close_matches(key, allowed, n=1)
                suffix = f" (did you mean {hint[0]!r}?)" if hint else f"; allowed keys: {', '.join(allowed)}"
                problems.append(Problem(Location(shown, line, col), f"unknown key {key!r} in {what}{suffix}"))
            continue
        line, col = yamlsafe.position(doc, path)
        if err.validator == "required":
            message = f"missing required key in {what}: {err.message.split(' is a required')[0]}"
        elif err.validator == "enum":
            choices = ", ".join(str(c) for c in err.validator_value)
            message = f"{what}: {err.instance!r} is not one of: {choices}"
        elif err.validator == "type":
            message = f"{what} must be of type {err.validator_value}, got {type(err.instance).__name__}"
        elif err.validator == "pattern":
            desc = err.schema.get("description", "")
            message = f"{what}: {err.instance!r} is not valid" + (f" ({_first_sentence(desc)})" if desc else "")
        elif err.validator == "const":
            message = f"{what} must be {err.validator_value!r}"
        elif err.validator in ("minimum", "maximum") and err.schema.get("maximum") == MAX_EXACT:
            message = (
                f"{what}: {_number_text(err.instance)} is out of range: numbers must be from 0 to {MAX_EXACT} "
                "(2^53 - 1, the largest whole number every engine represents exactly)"
            )
        else:
            message = f"{what}: {err.message}"
        if len(message) > 300:
            message = message[:297] + "..."
        problems.append(Problem(Location(shown, line, col), message))
    return problems


class _Builder:
    """Collects entities from validated documents, checking ids and references."""

    def __init__(self) -> None:
        self.by_kind: dict[EntityKind, dict[str, Entity]] = {
            k: {} for k in ("purpose", "system", "field", "partner", "consent", "flow")
        }
        self.ids: dict[str, Entity] = {}
        self.organization: Entity | None = None
        self.problems: list[Problem] = []

    def add(
        self, kind: EntityKind, data: Any, file: str, parent: str | None = None, where: Locator | None = None
    ) -> None:
        entity = Entity(kind, data["id"], file, data, parent, where)
        first = self.ids.get(entity.id)
        if first is not None:
            self.problems.append(
                Problem(
                    entity.loc("id"),
                    f"duplicate id {entity.id!r} ({first.kind} first defined at {first.loc('id')})",
                )
            )
            return
        self.ids[entity.id] = entity
        self.by_kind[kind][entity.id] = entity

    def add_document(self, doc: Any, file: str) -> None:
        # A document read back from the parse cache keeps its positions beside its containers (stored.Positions).
        where = doc.positions if isinstance(doc, stored.Stored) else None
        if "organization" in doc:
            org = doc["organization"]
            entity = Entity("organization", "organization", file, org, None, where)
            if self.organization is not None:
                self.problems.append(
                    Problem(entity.loc(), f"organization defined twice (first at {self.organization.loc()})")
                )
            else:
                self.organization = entity
        for section, kind in _SECTION_KIND.items():
            for item in doc.get(section) or ():
                self.add(kind, item, file, None, where)
                if kind == "system":
                    for fld in item.get("fields") or ():
                        self.add("field", fld, file, item["id"], where)

    def _ref(self, entity: Entity, path: str, value: str, kinds: tuple[EntityKind, ...]) -> None:
        if any(value in self.by_kind[k] for k in kinds):
            return
        names = " or ".join(kinds)
        candidates = [i for k in kinds for i in self.by_kind[k]]
        hint = difflib.get_close_matches(value, candidates, n=1)
        suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
        wrong = self.ids.get(value)
        if wrong is not None:
            suffix = f" ({value!r} is a {wrong.kind}, expected a {names})"
        self.problems.append(
            Problem(entity.loc(path), f"{entity.kind} {entity.id!r} refers to unknown {names} {value!r}{suffix}")
        )

    def check_partition_sizes(self) -> None:
        """Refuse a system or partner whose policy input would pass MAX_PARTITION_ITEMS (after the references are
        known to resolve)."""
        for node_id, n in sorted(_partition_sizes(self.by_kind).items()):
            if n > MAX_PARTITION_ITEMS:
                entity = self.ids[node_id]
                self.problems.append(
                    Problem(
                        entity.loc("id"),
                        f"{entity.kind} {node_id!r}: its policy input would hold {n:,} fields and field references "
                        f"(its fields, the fields of its flows, the fields it receives), beyond the "
                        f"{MAX_PARTITION_ITEMS:,} limit no real inventory reaches; split it or its flows",
                    )
                )

    def check_references(self) -> None:
        k = self.by_kind
        # The two references met by the million (a field's purposes, a flow's fields: XL 1.2M) are looked up here,
        # and only one that does not resolve goes to _ref for its message (XL: 1.8 -> 0.9-1.0 s).
        purposes, fields = k["purpose"], k["field"]
        for fld in fields.values():
            for i, p in enumerate(fld.get("purposes") or ()):
                if p not in purposes:
                    self._ref(fld, f"purposes.{i}", p, ("purpose",))
        for flow in k["flow"].values():
            self._ref(flow, "from", flow.data["from"], ("system",))
            self._ref(flow, "to", flow.data["to"], ("system", "partner"))
            self._ref(flow, "purpose", flow.data["purpose"], ("purpose",))
            for i, f in enumerate(flow.data["fields"]):
                if f not in fields:
                    self._ref(flow, f"fields.{i}", f, ("field",))
            basis = flow.get("legal_basis") or {}
            if "consent" in basis:
                self._ref(flow, "legal_basis.consent", basis["consent"], ("consent",))
            transfer = flow.get("transfer") or {}
            if "separate_consent" in transfer:
                self._ref(flow, "transfer.separate_consent", transfer["separate_consent"], ("consent",))
        for consent in k["consent"].values():
            self._ref(consent, "purpose", consent.data["purpose"], ("purpose",))
            if "collected_by" in consent.data:
                self._ref(consent, "collected_by", consent.data["collected_by"], ("system",))
        for partner in k["partner"].values():
            for i, s in enumerate(partner.get("embedded_in") or ()):
                self._ref(partner, f"embedded_in.{i}", s, ("system",))
            for key in ("cookies", "trackers"):
                for i, cookie in enumerate(partner.get(key) or ()):
                    if "purpose" in cookie:
                        self._ref(partner, f"{key}.{i}.purpose", cookie["purpose"], ("purpose",))


class DocumentStore(Protocol):
    """Where parsed files are kept between runs (``check --cache``): the CLI's cache, wired in by the pipeline."""

    def get_many(self, keys: Sequence[bytes], validate: Callable[[Any], Any | None]) -> dict[bytes, Any]:
        """The values of ``keys`` the store holds that ``validate`` accepts (it returns what to use, or None)."""
        ...

    def put_many(self, items: dict[bytes, bytes]) -> None:
        """Keep ``items`` (key -> JSON bytes)."""
        ...


@cache
def _store_salt() -> bytes:
    """What a stored parsed file depends on besides its bytes: the auditor's code (:func:`auditor.source_digest`:
    version and sources), the schema, the parser's limits and the stored form. A file is stored only once it passed
    all of them, so a change to any is a new key."""
    from auditor import source_digest

    h = hashlib.blake2b(digest_size=32)
    limits = (
        yamlsafe.MAX_FILE_BYTES,
        yamlsafe.MAX_DEPTH,
        yamlsafe.MAX_NODES,
        yamlsafe.MAX_SCALAR_CHARS,
        yamlsafe.MAX_NUMBER_CHARS,
        MAX_LIST_ITEMS,
    )
    for part in (source_digest(), json.dumps(schema(), sort_keys=True), repr(limits), str(stored.CODEC)):
        h.update(part.encode("utf-8") + b"\x00")
    return h.digest()


_Document = tuple[str, Any, list[Problem], int]  # shown path, document (None if none or invalid), problems, nodes


def _partition_sizes(by_kind: dict[EntityKind, dict[str, Entity]]) -> dict[str, int]:
    """How many fields and field references each system's and partner's policy input will hold (see
    ``auditor.policy.inputs``): a system's fields with their purposes, the fields of the flows leaving it, the fields
    it receives, the partners embedded in it with their trackers; a partner's received fields, hosts and trackers.
    Linear in the inventory; it bounds what one engine evaluation is handed."""
    size: dict[str, int] = dict.fromkeys((*by_kind["system"], *by_kind["partner"]), 0)
    received: dict[str, set[str]] = {}
    for flow in by_kind["flow"].values():
        fields = flow.data["fields"]
        size[flow.data["from"]] += len(fields)
        received.setdefault(flow.data["to"], set()).update(fields)
    for node, fields in received.items():
        size[node] += len(fields)
    for system in by_kind["system"].values():
        for fld in system.get("fields") or ():
            size[system.id] += 1 + len(fld.get("purposes") or ())
    for partner in by_kind["partner"].values():
        trackers = len(partner.get("cookies") or ()) + len(partner.get("trackers") or ())
        hosts = partner.get("embedded_in") or ()
        size[partner.id] += len(hosts) + trackers
        for sid in hosts:
            size[sid] += 1 + trackers
    return size


class _Reuse:
    """Valid documents of the last two loads by content digest: ``check --diff-base`` loads the working tree and
    then the base revision, whose unchanged files need not be parsed and validated again. Documents are never
    mutated after loading, so two inventories can share them (each entity keeps its own file name).

    With a :class:`DocumentStore` (``check --cache``), files parsed by earlier runs are read back from it
    (:mod:`auditor.inventory.stored`) and every file that passed parsing and validation is given to it."""

    def __init__(self) -> None:
        self.previous: dict[bytes, tuple[Any, int]] = {}  # document and its alias-expanded node count
        self.current: dict[bytes, tuple[Any, int]] = {}
        self.store: DocumentStore | None = None
        self._unstored: dict[bytes, bytes] = {}
        # Files of the last load: parsed, taken from an earlier load of this process, read back from the store.
        self.counts = {"parsed": 0, "reused": 0, "read back": 0}
        self.digests: dict[str, bytes] = {}  # shown path -> digest of its bytes, for the last load

    def start(self) -> None:
        self.previous, self.current = {**self.previous, **self.current}, {}
        self.counts = dict.fromkeys(self.counts, 0)
        self.digests = {}

    def checked_many(self, batch: Sequence[tuple[str, bytes]]) -> list[_Document]:
        """Each file of ``batch`` (shown path, bytes) parsed and validated, or taken from an earlier load or from
        the store: the store is asked once for the whole batch (one query a file cost L's 2,004 files ~0.6 s)."""
        keys = [content_digest(data) for _, data in batch]
        stored_keys = [b""] * len(batch)
        found: dict[bytes, Any] = {}
        if self.store is not None:
            salt = _store_salt()
            for i, key in enumerate(keys):
                if key not in self.current and key not in self.previous:
                    stored_keys[i] = store_key(key, salt)
            wanted = sorted({k for k in stored_keys if k})
            if wanted:
                found = self.store.get_many(wanted, stored.decode)
        return [
            self._checked(shown, data, key, stored_key, found)
            for (shown, data), key, stored_key in zip(batch, keys, stored_keys, strict=True)
        ]

    def _checked(self, shown: str, data: bytes, key: bytes, stored_key: bytes, found: dict[bytes, Any]) -> _Document:
        self.digests[shown] = key
        known = self.current.get(key) or self.previous.get(key)  # (document, node count)
        if known is not None:
            self.counts["reused"] += 1
        elif stored_key:
            known = found.get(stored_key)
            if known is not None:
                self.counts["read back"] += 1
        if known is not None:
            self.current[key] = known
            return shown, known[0], [], known[1]
        self.counts["parsed"] += 1
        result = _checked(shown, data)
        if result[1] is not None and not result[2]:
            self.current[key] = (result[1], result[3])
            if self.store is not None and isinstance(result[1], yamlsafe.LocDict):
                self._keep(stored_key, stored.dumps(result[1], result[3]))
        return result

    def _keep(self, stored_key: bytes, value: bytes) -> None:
        """A parsed file's stored form (:func:`stored.dumps`), for the store, written 64 at a time."""
        self._unstored[stored_key] = value
        if len(self._unstored) >= 64:
            self.flush()

    def first_load(self) -> bool:
        """Nothing to reuse from an earlier load in this process."""
        return not self.previous and not self.current

    def adopt(self, shown: str, parsed: _Parsed) -> _Document | None:
        """A file the helper process parsed (:func:`_parse_in_helper`), recorded as :meth:`checked` records a file
        it parses, and stored as it stores one; its document is decoded from the stored form (None if that is
        malformed: parse it here)."""
        _shown, sent, problems, nodes, key, in_store = parsed
        counted = "parsed"
        if sent is None:  # a file with problems, or an empty one
            result: _Document = (shown, None, problems, nodes)
        else:
            known = self.current.get(key)
            if known is not None:  # the same bytes as a file before it
                counted = "reused"
            else:
                known = stored.loads(sent)
                if known is None:
                    return None
                self.current[key] = known
                if in_store:
                    self._keep(in_store, sent)  # what _checked stores of a file it parses: the same bytes
            result = (shown, known[0], [], known[1])
        self.digests[shown] = key
        self.counts[counted] += 1
        return result

    def flush(self) -> None:
        if self.store is not None and self._unstored:
            self.store.put_many(self._unstored)
        self._unstored = {}

    def finish(self) -> None:
        self.flush()
        self.previous = {k: v for k, v in self.previous.items() if k in self.current}


def store_key(digest: bytes, salt: bytes) -> bytes:
    """The key of a file's parsed form in the store of parsed files: its :func:`content_digest`, keyed by
    :func:`_store_salt`. Made from the digest, not the bytes again: hashing XL's 155 MB a second time cost its load
    ~0.2 s."""
    return hashlib.blake2b(digest, digest_size=20, key=salt).digest()


def content_digest(data: bytes | memoryview) -> bytes:
    """The digest a file's bytes are known by (:attr:`Inventory.digests`): SHA-256 cut to 20 bytes, which the
    processor computes in hardware where it can (x86-64 SHA extensions, ARMv8 crypto): here 1.7 GB/s against
    BLAKE2b's 0.9."""
    return hashlib.sha256(data).digest()[:20]


def blob_id(data: bytes | memoryview) -> str:
    """The id git gives a blob of these bytes in a SHA-1 repository, in hexadecimal. (A SHA-256 repository's ids never
    match one: there, only the ids a pull request stores, as git listed them, are found by the next.)"""
    h = hashlib.sha1()
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def last_load_counts() -> dict[str, int]:
    """How many files the last load parsed, took from an earlier load of this process, or read back from the
    store (files over the size limit, refused before any of this, are not counted)."""
    return dict(_REUSE.counts)


def use_document_store(store: DocumentStore | None) -> None:
    """Read parsed files from ``store`` and give it every file that passed the checks (None: stop)."""
    _REUSE.flush()
    _REUSE.store = store


_REUSE = _Reuse()


def _documents(paths: Sequence[Path]) -> Iterator[_Document]:
    files, problems = _discovered(paths)
    for p in problems:
        yield p.location.file, None, [p], 0
    cwd = working_dir()
    named = [(path, _shown_real(real, cwd)) for path, real in files]
    if len(named) >= PARALLEL_FILES and _REUSE.first_load() and _helpers() > 0:
        if _REUSE.store is None:
            yield from _documents_in_two(named)
            return
        # With the store of parsed files, its answer for the first batch tells whether it holds this inventory (a
        # pull request's: read back, far cheaper than parsing) or not (a cold cache, the first run after an upgrade:
        # the rest parsed by two processes, and stored; L's load 7.6 -> 5.2 s).
        first, rest = named[:STORE_BATCH], named[STORE_BATCH:]
        yield from _batch(first)
        if _REUSE.counts["read back"] == 0 and len(rest) >= PARALLEL_FILES:
            yield from _documents_in_two(rest)
            return
        named = rest
    for part in _store_batches(named):
        yield from _batch(part)


def _document(path: Path, shown: str) -> _Document:
    return _batch([(path, shown)])[0]


def _batch(named: Sequence[tuple[Path, str]]) -> list[_Document]:
    """The documents of ``named`` files in order (the store, if any, asked once for all of them)."""
    read = [(shown, _read(path, shown)) for path, shown in named]
    checked = iter(_REUSE.checked_many([(shown, data) for shown, data in read if not isinstance(data, Problem)]))
    return [(shown, None, [data], 0) if isinstance(data, Problem) else next(checked) for shown, data in read]


_T = TypeVar("_T")

STORE_BATCH = 64  # files read, and asked of the store, at a time


def _store_batches(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``items`` in order, :data:`STORE_BATCH` at a time."""
    return (items[start : start + STORE_BATCH] for start in range(0, len(items), STORE_BATCH))


# A first load of at least this many files is parsed by two processes, the CLI and one helper, when there is a core to
# spare: YAML parsing is the CLI's largest serial stage (M: 2.2 of ~8 s; XL: ~80 s), and a parsed file comes back
# from the helper as its stored form (:mod:`stored`), which costs about an eighth of parsing it to read.
PARALLEL_FILES = 64
PARALLEL_CHUNK = 8  # files per task: the two processes take turns, so neither waits long for the other
PARALLEL_AHEAD = 4  # tasks the helper may be given ahead of the CLI (what waits for the CLI stays small)


def _helpers() -> int:
    return min(1, workers.processes() - 1)


# _Document, but the document as its stored form; and the digest, and with a store its key there (else b"")
_Parsed = tuple[str, Any, list[Problem], int, bytes, bytes]


def _parse_in_helper(items: Sequence[tuple[str, str]], salt: bytes | None = None) -> list[_Parsed]:
    """In the helper process: read, parse and validate files exactly as :func:`_document` does, each valid document
    returned in its stored form (JSON, checked again by :func:`stored.decode` when it arrives); with ``salt`` (the
    store's: :func:`_store_salt`), each file's key in the store of parsed files too."""
    out: list[_Parsed] = []
    for path, shown in items:
        data = _read(Path(path), shown)
        if isinstance(data, Problem):
            out.append((shown, None, [data], 0, b"", b""))
            continue
        shown, doc, problems, nodes = _checked(shown, data)
        # Nothing uses the document of a file with problems.
        sent = stored.dumps(doc, nodes) if isinstance(doc, yamlsafe.LocDict) and not problems else None
        digest = content_digest(data)
        in_store = store_key(digest, salt) if salt is not None else b""
        out.append((shown, sent, problems, nodes, digest, in_store))
    return out


def _documents_in_two(named: Sequence[tuple[Path, str]]) -> Iterator[_Document]:
    """:func:`_document` of every file, in order, every other chunk of files parsed by a helper process. If the
    helper cannot start or dies, the CLI parses its files itself: the result never depends on it."""
    from concurrent.futures import Future
    from multiprocessing import get_context

    chunks = [named[i : i + PARALLEL_CHUNK] for i in range(0, len(named), PARALLEL_CHUNK)]
    try:
        pool: workers.Pool | None = workers.Pool(1, get_context("fork"), initializer=workers.init_child)
    except (ValueError, OSError):  # no fork on this platform, or no process to spare
        pool = None
    remote: dict[int, Future[list[_Parsed]]] = {}
    sent = -1  # the last chunk given to the helper: it runs a few chunks ahead, never the whole inventory
    salt = _store_salt() if _REUSE.store is not None else None
    try:
        for i, chunk in enumerate(chunks):
            while pool is not None and sent < i + 2 * PARALLEL_AHEAD:
                sent += 2  # the odd chunks: 1, 3, 5...
                if sent < len(chunks):
                    todo = [(str(path), shown) for path, shown in chunks[sent]]
                    remote[sent] = pool.submit(_parse_in_helper, todo, salt)
            parsed = _from_helper(remote.pop(i, None))
            if parsed is None or len(parsed) != len(chunk):
                yield from _batch(chunk)  # the store, if any, asked once for the chunk
                continue
            for (path, shown), result in zip(chunk, parsed, strict=True):
                adopted = _REUSE.adopt(shown, result) if result[0] == shown else None
                yield adopted if adopted is not None else _document(path, shown)
    finally:
        # Idle by now when all went well; stopped mid-file when the load was abandoned (an input error ending it
        # early, a signal): never a wait on the executor, which a signal may have interrupted inside its own locks.
        if pool is not None:
            workers.stop(pool)


def _from_helper(future: Any) -> list[_Parsed] | None:
    """A helper task's result, or None when there is none (not sent, or the helper failed or died)."""
    if future is None:
        return None
    try:
        result = future.result()
    except Exception:  # whatever went wrong there, the CLI parses the files itself
        return None
    return result if isinstance(result, list) else None


def _checked(shown: str, data: bytes) -> _Document:
    """Parse (lists inside entities bounded by MAX_LIST_ITEMS) and validate one inventory file."""
    doc, problems, nodes = _parsed(data, shown, MAX_LIST_ITEMS)
    if doc is None:
        return shown, None, problems, 0  # an empty file is allowed: no problem
    return shown, doc, _schema_problems(doc, shown), nodes


def load(paths: Sequence[Path]) -> Inventory:
    """Load and validate an inventory, raising InputError with every problem found."""
    return _assemble(_documents(paths), ", ".join(str(p) for p in paths))


def load_sources(sources: Sequence[tuple[str, bytes]], where: str = "") -> Inventory:
    """Load and validate an inventory given in memory as ``(shown path, content)`` pairs (e.g. the files of a
    git revision), with exactly the checks and messages of :func:`load`."""
    documents = itertools.chain.from_iterable(map(_REUSE.checked_many, _store_batches(sorted(sources))))
    return _assemble(documents, where or ", ".join(shown for shown, _ in sources))


def _assemble(documents: Iterable[_Document], where: str) -> Inventory:
    _REUSE.start()
    try:
        return _assemble_documents(documents, where)
    finally:
        _REUSE.finish()


def _assemble_documents(documents: Iterable[_Document], where: str) -> Inventory:
    builder = _Builder()
    problems: list[Problem] = []
    files: list[str] = []
    total = 0
    for shown, doc, doc_problems, nodes in documents:
        files.append(shown)
        problems.extend(doc_problems)
        total += nodes
        if total > MAX_TOTAL_NODES:
            problems.append(
                Problem(
                    Location(shown),
                    f"the inventory passes {MAX_TOTAL_NODES:,} YAML nodes (aliases expanded) with this file: "
                    "beyond the size the auditor keeps under 2 GiB of memory; audit it in parts",
                )
            )
            break
        if doc is not None and not doc_problems:
            builder.add_document(doc, shown)
    if not problems:  # references into a file that failed to parse or validate would only be noise
        builder.check_references()
    if not problems and not builder.problems:
        builder.check_partition_sizes()
    problems.extend(builder.problems)
    if not problems and not builder.by_kind["system"]:
        problems.append(Problem(Location(where), "no systems found: an empty inventory cannot be audited"))
    if problems:
        raise InputError(problems)
    k = builder.by_kind
    digests = tuple(_REUSE.digests.get(shown, b"") for shown in files)
    return Inventory(
        files=tuple(files),
        digests=digests if all(digests) else (),
        organization=builder.organization,
        purposes=k["purpose"],
        systems=k["system"],
        fields=k["field"],
        partners=k["partner"],
        consents=k["consent"],
        flows=k["flow"],
    )
