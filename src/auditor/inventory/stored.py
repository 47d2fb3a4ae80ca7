"""Located documents as plain JSON data and back, for the parsed-file cache (``check --cache``, :mod:`auditor.cache`).

A parsed file is a tree of :class:`~auditor.inventory.yamlsafe.LocDict`/``LocList`` whose positions are packed in
one array per container. It is stored as ``{"v": CODEC, "nodes": n, "doc": <the plain value>, "at": "<base64>"}``,
where ``at`` concatenates the position arrays of every container in depth-first order, as unsigned 32-bit
little-endian integers: JSON only, so reading an entry runs no code (no pickle), and :func:`decode` refuses anything
that is not exactly what :func:`encode` writes (wrong types, a position array of the wrong length, positions left
over, nesting deeper than the parser allows). Reading an entry back costs a JSON parse and one walk of the document:
its containers stay the JSON parser's plain dicts and lists, and the root (:class:`Stored`) keeps the position array
in a :class:`Positions`, which the entities of the file ask (``Entity.loc``) and which finds where each container's
positions start the first time it is asked.

The positions are bytes, not a JSON array of numbers (codec 1): written as a list, every position became a Python
integer, millions of short-lived objects made while the loaded documents are being built, which left the memory of
a run that stores its parsed files fragmented (L: +45 MiB at its peak, XL: ~+225 MiB) and made reading them back
build those integers again.
"""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from collections.abc import Iterator
from typing import Any

import orjson

from auditor.inventory.yamlsafe import _SHARED_CHARS, MAX_DEPTH, LocDict, LocList, Pos

CODEC = 2
_BIG_ENDIAN = sys.byteorder == "big"


def _positions_text(at: array[int]) -> str:
    """Positions as stored: base64 of unsigned 32-bit little-endian integers."""
    if _BIG_ENDIAN:
        at = array("I", at)
        at.byteswap()
    return base64.b64encode(at.tobytes()).decode("ascii")


def _positions_array(text: Any) -> array[int] | None:
    """What :func:`_positions_text` wrote, or None when ``text`` is not exactly that."""
    if type(text) is not str:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) % 4:
        return None
    at = array("I")
    if at.itemsize != 4:  # no platform Python supports has it otherwise; never a misread
        return None
    at.frombytes(raw)
    if _BIG_ENDIAN:
        at.byteswap()
    return at


def _depth_first(root: Any) -> Iterator[Any]:
    """The containers (dicts and lists) of a document in the order their positions are stored: depth first, each
    before its children, children in order. :func:`encode` writes in this order and :class:`Positions` reads in it,
    only as far as it needs."""
    pending = [root]  # the next container last
    while pending:
        node = pending.pop()
        yield node
        values = node.values() if isinstance(node, dict) else node
        pending.extend(reversed([v for v in values if isinstance(v, (dict, list))]))


def encode(doc: LocDict, nodes: int) -> dict[str, Any]:
    """The plain JSON value storing ``doc`` (a parsed file) and its node count."""
    at: array[int] = array("I")
    for node in _depth_first(doc):
        if not isinstance(node, (LocDict, LocList)):
            raise TypeError(f"not a located container: {type(node).__name__}")
        at.extend(node._at)
    return {"v": CODEC, "nodes": nodes, "doc": doc, "at": _positions_text(at)}


def dumps(doc: LocDict, nodes: int) -> bytes:
    """:func:`encode` as JSON bytes: what the parsed-file cache stores and the parsing helper process sends."""
    return orjson.dumps(encode(doc, nodes))


def loads(data: bytes) -> tuple[Stored, int] | None:
    """:func:`decode` of JSON bytes; None when they are not JSON or not what :func:`dumps` writes."""
    try:
        return decode(orjson.loads(data))
    except orjson.JSONDecodeError:
        return None


class _Malformed(Exception):
    pass


class Stored(dict[str, Any]):
    """The root of a document read back from the store. Its containers are the plain dicts and lists the JSON parser
    made; where each of them stands is in :attr:`positions` (a :class:`Positions`)."""

    __slots__ = ("positions",)

    positions: Positions


class Positions:
    """Where the containers of a document read back from the store stand (a
    :class:`~auditor.model.Locator`): the position array :func:`encode` wrote, and where each container's
    positions start in it, found by walking the document in :func:`_depth_first`'s order as far as a position asked
    needs (a system's own position is among the first; its last field's, the whole file).

    Rebuilding every container as a ``LocDict``/``LocList`` with its own position array cost XL's pull request
    ~3.5 s of its load and ~210 MiB, for the positions of the few entities whose findings are located in that run
    (every other partition's findings are read back located). Walking each whole document at its first position
    cost the SARIF report of that pull request ~1.8 s, for the position of each system's id (XL: 10,000 files)."""

    __slots__ = ("_at", "_cursor", "_root", "_starts", "_walk")

    def __init__(self, root: Stored, at: array[int]) -> None:
        self._root = root  # keeps every container alive: the ids in ``_starts`` are theirs alone
        self._at = at
        self._starts: dict[int, int] = {}
        self._walk = _depth_first(root)  # the containers not reached yet
        self._cursor = 0  # where the next container's positions start

    def _start(self, node: Any) -> int:
        """Where ``node``'s positions start (KeyError when it is not a container of this document)."""
        starts, key = self._starts, id(node)
        found = starts.get(key)
        if found is not None:
            return found
        cursor = self._cursor
        for container in self._walk:
            starts[id(container)] = cursor
            cursor += 2 + 2 * len(container)
            if id(container) == key:
                break
        self._cursor = cursor
        return starts[key]

    def pos(self, node: Any) -> Pos:
        """Where the container ``node`` starts."""
        start = self._start(node)
        return self._at[start], self._at[start + 1]

    def loc_of(self, node: Any, key: str | int) -> Pos:
        """Where ``key`` (a mapping's key, or a sequence's index) of the container ``node`` stands (KeyError or
        IndexError when absent)."""
        start = self._start(node)
        if isinstance(node, dict):
            for i, k in enumerate(node):
                if k == key:
                    return self._at[start + 2 + 2 * i], self._at[start + 3 + 2 * i]
            raise KeyError(key)
        if not isinstance(key, int):
            raise IndexError(key)
        i = range(len(node))[key]
        return self._at[start + 2 + 2 * i], self._at[start + 3 + 2 * i]


def decode(value: Any) -> tuple[Stored, int] | None:
    """The document and node count :func:`encode` stored in ``value``, or None when ``value`` is anything else.

    The document is ``value``'s own containers (the caller gives up ``value``): one walk checks that the position
    array holds exactly the positions of its containers and keys, that it nests no deeper than the parser allows,
    and interns its short strings (one copy of each id, category, jurisdiction... as the parser keeps them)."""
    if not isinstance(value, dict) or value.get("v") != CODEC or set(value) != {"v", "nodes", "doc", "at"}:
        return None
    nodes, doc, at = value["nodes"], value["doc"], _positions_array(value["at"])
    if type(nodes) is not int or nodes < 0 or type(doc) is not dict or at is None:
        return None
    intern = sys.intern
    shared = _SHARED_CHARS

    def walk(node: Any, depth: int) -> int:
        """How many positions ``node`` and its containers take. Short string values are interned in place (a key
        cannot be replaced in place; the JSON parser already shares its short keys)."""
        if depth > MAX_DEPTH:
            raise _Malformed
        depth += 1
        taken = 2 + 2 * len(node)
        if type(node) is dict:
            for key, item in node.items():
                if type(item) is str:
                    if len(item) <= shared:
                        node[key] = intern(item)
                elif type(item) is dict or type(item) is list:
                    taken += walk(item, depth)
        else:
            for i, item in enumerate(node):
                if type(item) is str:
                    if len(item) <= shared:
                        node[i] = intern(item)
                elif type(item) is dict or type(item) is list:
                    taken += walk(item, depth)
        return taken

    try:
        if walk(doc, 1) != len(at):
            return None
    except (_Malformed, RecursionError):
        return None
    root = Stored(doc)
    root.positions = Positions(root, at)
    return root, nodes
