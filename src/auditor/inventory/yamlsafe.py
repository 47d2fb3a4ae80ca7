"""Safe, located YAML loading.

PyYAML's loaders build values recursively (deep nesting ends in RecursionError), expand aliases without a
budget (alias bombs), silently keep the last of duplicate keys and forget where each value came from. This
module drives libyaml's event parser itself and builds plain JSON-like values iteratively, with:

- a location (line, column) for every mapping value and sequence item (``LocDict.loc_of``/``LocList.loc_of``);
- YAML 1.2 core-schema scalars (``true``/``false`` only; ``yes``/``no``/``on``/``off`` stay strings);
- no tags beyond the core ones (``!!python/object`` and friends are refused);
- limits on nesting depth, total (alias-expanded) node count, scalar length and file size;
- duplicate mapping keys reported as errors.
"""

from __future__ import annotations

import math
import re
import sys
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import yaml

_Parser: Any
try:  # libyaml's C parser when available: several times faster
    from yaml.cyaml import CParser as _CParser  # type: ignore[attr-defined]

    _Parser = _CParser
except ImportError:  # pragma: no cover - pure-Python fallback
    _Parser = yaml.BaseLoader

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 5_000_000
MAX_SCALAR_CHARS = 1_000_000
_SHARED_CHARS = 64  # scalars up to this length are interned (one copy of each key, category, jurisdiction...)

Pos = tuple[int, int]


class LocDict(dict[str, Any]):
    """A mapping that remembers where it starts and where each of its keys stands (1-based line, column).

    Positions are packed in one array, in the keys' order (mappings are never changed after parsing): at XL a
    ``(line, column)`` tuple per key took more memory than the values themselves."""

    __slots__ = ("_at",)

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self._at = array("I", pos)

    @property
    def pos(self) -> Pos:
        return self._at[0], self._at[1]

    def loc_of(self, key: str) -> Pos:
        """Where ``key`` stands (KeyError when absent)."""
        for i, k in enumerate(self):
            if k == key:
                return self._at[2 + 2 * i], self._at[3 + 2 * i]
        raise KeyError(key)

    def _set(self, key: str, value: Any, pos: Pos) -> None:
        self[key] = value
        self._at.extend(pos)


class LocList(list[Any]):
    """A sequence that remembers where it and each of its items start (packed like :class:`LocDict`'s)."""

    __slots__ = ("_at",)

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self._at = array("I", pos)

    @property
    def pos(self) -> Pos:
        return self._at[0], self._at[1]

    def loc_of(self, index: int) -> Pos:
        """Where item ``index`` starts (IndexError when absent)."""
        i = range(len(self))[index]
        return self._at[2 + 2 * i], self._at[3 + 2 * i]

    def _add(self, value: Any, pos: Pos) -> None:
        self.append(value)
        self._at.extend(pos)


@dataclass(frozen=True, slots=True)
class YamlProblem:
    line: int
    column: int
    message: str


class YamlError(Exception):
    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq")}
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_INT_OCT = re.compile(r"^0o[0-7]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")


_MAYBE_NOT_STR = frozenset("0123456789+-.~nNtTfF")


MAX_NUMBER_CHARS = 40  # a number literal longer than this is far beyond what any engine represents exactly


class _BadNumber(Exception):
    """A number scalar refused where it stands: non-finite, or absurdly long (see :func:`_number`)."""


def _number(value: float) -> int | float:
    """A YAML float as the inventory keeps it. Non-finite values are refused: NaN compares false with everything and
    infinities have no JSON form, so engines disagree on them (a check could silently pass). An integral float
    (``730.0``, ``1e3``) becomes the int it equals: JSON has one number type, the schema's ``integer`` accepts both,
    and engines format ``730.0`` differently in messages (one of them failed on ``%d``)."""
    if not math.isfinite(value):
        raise _BadNumber("is not a finite number: NaN and infinities are refused")
    if value.is_integer():
        return int(value)
    return value


# The core schema's number forms, in the order they are tried, each with its conversion.
_NUMBER_FORMS: tuple[tuple[re.Pattern[str], Callable[[str], int | float]], ...] = (
    (_INT, int),
    (_FLOAT, lambda v: _number(float(v))),
    (_INT_OCT, lambda v: int(v[2:], 8)),
    (_INT_HEX, lambda v: int(v[2:], 16)),
)


def _plain_scalar(value: str) -> Any:
    if value and value[0] not in _MAYBE_NOT_STR:
        return value  # fast path: most scalars are words, which no core-schema rule below can match
    if _NULL.match(value):
        return None
    if value in _BOOL:
        return _BOOL[value]
    for form, convert in _NUMBER_FORMS:
        if form.match(value):
            if len(value) > MAX_NUMBER_CHARS:
                raise _BadNumber(f"is a number of {len(value)} characters, beyond any engine's exact range")
            return convert(value)
    if _INF.match(value) or _NAN.match(value):
        raise _BadNumber("is not a finite number: NaN and infinities are refused")
    return value


def _scalar(value: str, pos: Pos) -> Any:
    """:func:`_plain_scalar`, a refused number located at ``pos``."""
    try:
        return _plain_scalar(value)
    except _BadNumber as exc:
        shown = repr(value) if len(value) <= 40 else repr(value[:20] + "...")
        raise YamlError(YamlProblem(pos[0], pos[1], f"{shown} {exc} (quote it for text)")) from None


def _tagged_scalar(tag: str, value: str, pos: Pos) -> Any:
    kind = tag[len(_CORE) :]
    if kind == "str":
        return value
    resolved = _scalar(value, pos)
    expected: Any = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}.get(kind)
    if expected is None or not isinstance(resolved, expected) or (kind == "int" and isinstance(resolved, bool)):
        raise YamlError(YamlProblem(pos[0], pos[1], f"value {value[:40]!r} is not a valid !!{kind}"))
    return resolved


def parse(text: str) -> Any:
    """Parse one YAML document into LocDict/LocList/scalars. Raises YamlError with a position.

    An empty document gives None. More than one document in a file is an error.
    """
    return parse_counted(text)[0]


def parse_counted(text: str, *, max_items: int | None = None, free_depth: int = 2) -> tuple[Any, int]:
    """:func:`parse`, also returning the document's alias-expanded node count (what the later stages will walk).

    ``max_items`` bounds the length of every list nested deeper than ``free_depth`` (an inventory's top-level
    sections, at depth 1, are bounded by the node limits only; the lists inside its entities are bounded by this),
    aliased lists included, each refused at the first item too many."""
    parser = _Parser(text)
    stack: list[tuple[Any, str | None, Pos | None]] = []  # (container, pending key, pending key pos)
    sizes: list[int] = []  # alias-expanded node count of each open container
    caps: list[int] = []  # most items each open list may hold (sys.maxsize: unbounded)
    unbounded = sys.maxsize

    def cap_at(depth: int) -> int:
        return max_items if max_items is not None and depth >= free_depth else unbounded

    def too_many(pos: Pos) -> YamlError:
        return YamlError(
            YamlProblem(pos[0], pos[1], f"list of more than {max_items} items (a limit no real inventory reaches)")
        )

    anchors: dict[str, tuple[Any, int]] = {}
    nodes = 0
    root: Any = None
    documents = 0
    pending_anchor: list[tuple[str, Any]] = []

    def attach(value: Any, pos: Pos, size: int = 1) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        sizes[-1] += size
        container, key, key_pos = stack[-1]
        if isinstance(container, LocList):
            if len(container) >= caps[-1]:
                raise too_many(pos)
            container._add(value, pos)
            return
        if key is None:
            if isinstance(value, (dict, list)):
                raise YamlError(YamlProblem(pos[0], pos[1], "mapping keys must be scalars"))
            if value is None or isinstance(value, (bool, float)):
                key_text = "" if value is None else str(value).lower()
            else:
                key_text = str(value)
            if key_text in container:
                raise YamlError(YamlProblem(pos[0], pos[1], f"duplicate key {key_text!r} in this mapping"))
            stack[-1] = (container, key_text, pos)
            return
        container._set(key, value, key_pos if key_pos is not None else pos)
        stack[-1] = (container, None, None)

    try:
        while True:
            event: Any = parser.get_event()
            kind = type(event)
            if kind is yaml.StreamEndEvent:
                break
            if kind is yaml.ScalarEvent:
                mark = event.start_mark
                pos = (mark.line + 1, mark.column + 1)
                nodes += 1
                value_text: str = event.value
                if len(value_text) > MAX_SCALAR_CHARS:
                    raise YamlError(
                        YamlProblem(pos[0], pos[1], f"scalar of {len(value_text)} characters exceeds the limit")
                    )
                tag = event.tag
                if tag is not None and tag != "!" and tag not in _ALLOWED_TAGS:
                    raise YamlError(YamlProblem(pos[0], pos[1], f"YAML tag {tag!r} is not allowed (safe YAML only)"))
                if tag in _ALLOWED_TAGS:
                    value: Any = _tagged_scalar(tag, value_text, pos)
                elif not event.style and event.implicit[0]:
                    if value_text and value_text[0] not in _MAYBE_NOT_STR:
                        value = value_text  # a word: the hot path, no core-schema rule can match it
                    else:
                        value = _scalar(value_text, pos)
                else:
                    value = value_text
                if type(value) is str and len(value) <= _SHARED_CHARS:
                    value = sys.intern(value)  # keys and vocabulary terms recur on every field: keep one copy
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1)
                attach(value, pos)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                mark = event.start_mark
                pos = (mark.line + 1, mark.column + 1)
                nodes += 1
                tag = event.tag
                if tag is not None and tag != "!" and tag not in _ALLOWED_TAGS:
                    raise YamlError(YamlProblem(pos[0], pos[1], f"YAML tag {tag!r} is not allowed (safe YAML only)"))
                if len(stack) >= MAX_DEPTH:
                    raise YamlError(YamlProblem(pos[0], pos[1], f"nesting deeper than {MAX_DEPTH} levels"))
                container: Any = LocDict(pos) if kind is yaml.MappingStartEvent else LocList(pos)
                attach(container, pos, 0)
                if event.anchor is not None:
                    pending_anchor.append((event.anchor, container))
                caps.append(cap_at(len(stack)))
                stack.append((container, None, None))
                sizes.append(1)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                done, _, _ = stack.pop()
                caps.pop()
                size = sizes.pop()
                if sizes:
                    sizes[-1] += size
                if pending_anchor and pending_anchor[-1][1] is done:
                    name, _ = pending_anchor.pop()
                    anchors[name] = (done, size)
            elif kind is yaml.AliasEvent:
                mark = event.start_mark
                pos = (mark.line + 1, mark.column + 1)
                target = anchors.get(event.anchor)
                if target is None:
                    raise YamlError(YamlProblem(pos[0], pos[1], f"unknown alias *{event.anchor}"))
                nodes += target[1]
                if nodes > MAX_NODES:
                    raise YamlError(
                        YamlProblem(
                            pos[0],
                            pos[1],
                            f"alias *{event.anchor} expands past {MAX_NODES} nodes (alias bomb?)",
                        )
                    )
                if isinstance(target[0], LocList) and len(target[0]) > cap_at(len(stack)):
                    raise too_many(pos)  # a long list defined where lists are unbounded, aliased where they are not
                attach(target[0], pos, target[1])
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    mark = event.start_mark
                    raise YamlError(
                        YamlProblem(mark.line + 1, mark.column + 1, "more than one YAML document in a file")
                    )
            if nodes > MAX_NODES:
                raise YamlError(YamlProblem(1, 1, f"more than {MAX_NODES} YAML nodes"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            what = f"{exc.context}: {exc.problem}" if "while" not in exc.context else exc.problem
        raise YamlError(YamlProblem(line, col, f"YAML syntax error: {what}")) from None
    except yaml.YAMLError as exc:
        raise YamlError(YamlProblem(1, 1, f"YAML error: {str(exc).splitlines()[0]}")) from None
    return root, nodes


def decode(data: bytes) -> str:
    """Decode file bytes as UTF-8 (BOM allowed); raise YamlError located at the first bad byte."""
    if len(data) > MAX_FILE_BYTES:
        raise YamlError(YamlProblem(1, 1, f"file of {len(data)} bytes exceeds the {MAX_FILE_BYTES}-byte limit"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError(YamlProblem(line, col, "not UTF-8 text (binary file?)")) from None
    if "\x00" in text:
        idx = text.index("\x00")
        line = text.count("\n", 0, idx) + 1
        raise YamlError(YamlProblem(line, idx - (text.rfind("\n", 0, idx) + 1) + 1, "NUL byte: binary file?"))
    return text


def position(doc: Any, path: Iterable[Any]) -> tuple[int, int]:
    """(line, column) of the node at ``path`` (keys and indexes) in a parsed document; the deepest node
    that exists when the path is only partly present."""
    node = doc
    pos: tuple[int, int] = getattr(doc, "pos", (1, 1))
    for part in path:
        try:
            child = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, (LocDict, LocList)):
            pos = node.loc_of(part)
        node = child
    return pos
