"""Located documents as plain JSON data and back, for the parsed-file cache (``check --cache``, :mod:`auditor.cache`).

A parsed file is a tree of :class:`~auditor.inventory.yamlsafe.LocDict`/``LocList`` whose positions are packed in
one array per container. It is stored as ``{"v": CODEC, "nodes": n, "doc": <the plain value>, "at": "<base64>"}``,
where ``at`` concatenates the position arrays of every container in depth-first order, as unsigned 32-bit
little-endian integers: JSON only, so reading an entry runs no code (no pickle), and :func:`decode` refuses anything
that is not exactly what :func:`encode` writes (wrong types, a position array of the wrong length, positions left
over, nesting deeper than the parser allows). Reading an entry back costs a JSON parse and one step per container,
a fraction of parsing the YAML again.

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
from typing import Any

import orjson

from auditor.inventory.yamlsafe import _SHARED_CHARS, MAX_DEPTH, LocDict, LocList

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


def encode(doc: LocDict, nodes: int) -> dict[str, Any]:
    """The plain JSON value storing ``doc`` (a parsed file) and its node count."""
    at: array[int] = array("I")

    def walk(node: Any) -> None:
        if isinstance(node, LocDict):
            at.extend(node._at)
            for value in node.values():
                if isinstance(value, (LocDict, LocList)):
                    walk(value)
        elif isinstance(node, LocList):
            at.extend(node._at)
            for value in node:
                if isinstance(value, (LocDict, LocList)):
                    walk(value)
        else:
            raise TypeError(f"not a located container: {type(node).__name__}")

    walk(doc)
    return {"v": CODEC, "nodes": nodes, "doc": doc, "at": _positions_text(at)}


def dumps(doc: LocDict, nodes: int) -> bytes:
    """:func:`encode` as JSON bytes: what the parsed-file cache stores and the parsing helper process sends."""
    return orjson.dumps(encode(doc, nodes))


def loads(data: bytes) -> tuple[LocDict, int] | None:
    """:func:`decode` of JSON bytes; None when they are not JSON or not what :func:`dumps` writes."""
    try:
        return decode(orjson.loads(data))
    except orjson.JSONDecodeError:
        return None


class _Malformed(Exception):
    pass


def decode(value: Any) -> tuple[LocDict, int] | None:
    """The document and node count :func:`encode` stored in ``value``, or None when ``value`` is anything else."""
    if not isinstance(value, dict) or value.get("v") != CODEC or set(value) != {"v", "nodes", "doc", "at"}:
        return None
    nodes, doc, at = value["nodes"], value["doc"], _positions_array(value["at"])
    if type(nodes) is not int or nodes < 0 or type(doc) is not dict or at is None:
        return None
    cursor = 0
    size = len(at)
    intern = sys.intern
    shared = _SHARED_CHARS
    new_dict, new_list = dict.__new__, list.__new__  # the containers made without __init__'s placeholder positions

    def build(node: Any, depth: int) -> Any:
        # One comprehension a container (no call per key): XL's 10,003 files, 1.2M containers, read back in ~2/3 of
        # the time a loop setting each key took. A container's positions are taken before its children's, as
        # :func:`encode` wrote them (depth first), in place (a call per container to take them cost ~8 %).
        nonlocal cursor
        if depth > MAX_DEPTH:
            raise _Malformed
        depth += 1
        start = cursor
        cursor = start + 2 + 2 * len(node)
        if cursor > size:
            raise _Malformed
        if type(node) is dict:
            out: Any = new_dict(LocDict)
            out._at = at[start:cursor]
            dict.update(
                out,
                {
                    intern(key): build(item, depth)
                    if type(item) is dict or type(item) is list
                    else intern(item)
                    if type(item) is str and len(item) <= shared
                    else item
                    for key, item in node.items()
                },
            )
            return out
        out = new_list(LocList)
        out._at = at[start:cursor]
        list.extend(
            out,
            [
                build(item, depth)
                if type(item) is dict or type(item) is list
                else intern(item)
                if type(item) is str and len(item) <= shared
                else item
                for item in node
            ],
        )
        return out

    try:
        built = build(doc, 1)
    except (_Malformed, TypeError, OverflowError, ValueError, RecursionError):
        return None
    if cursor != size:
        return None
    return built, nodes
