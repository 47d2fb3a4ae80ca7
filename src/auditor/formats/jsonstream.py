"""Pretty JSON written piece by piece as UTF-8, byte-identical to ``json.dumps(doc, ensure_ascii=False, indent=2,
sort_keys=True)`` encoded, for documents without floats (no report holds one: see :func:`dumps_indented`).

At XL a report holds ~750,000 findings: building every finding's dict and then one string of ~600 MB (and its
UTF-8 copy when written) tripled the peak memory of a run. Here the document is dumped with its one long list
replaced by a marker, and the list's items are dumped a slice at a time, indented to where the marker stood, as the
writer asks for them, a slice in one call of orjson (:data:`SLICE`). The pieces are bytes as orjson writes them: no
decoding to text and encoding back for the writer (~2 µs a finding, ~1.9 s of writing XL's JSON report).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import orjson

T = TypeVar("T")
_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def dumps_indented(value: Any, pad: bytes) -> bytes:
    """``value`` as :func:`chunks` writes a list item: pretty JSON, UTF-8, whose lines after the first start with
    ``pad``.

    Written by orjson: for strings, integers, booleans, None, lists and dicts with string keys its bytes are
    ``json.dumps``'s text encoded, byte for byte (same escapes with non-ASCII kept, same separators and indentation,
    keys in code point order), ~20x faster than ``json``'s pure-Python indenting encoder, which was the largest cost
    of writing a large JSON or SARIF report. What orjson refuses (an integer beyond 64 bits, a non-string key, a lone
    surrogate, another type) is written by ``json`` and encoded (a lone surrogate then fails to encode, as it would
    when written). Floats are the one difference (orjson spells ``1e16`` and ``NaN`` as ``1e16`` and ``null``,
    ``json`` as ``1e+16`` and ``NaN``): report items hold none (findings are strings, locations integers)."""
    try:
        data = orjson.dumps(value, option=_PRETTY)
    except TypeError:  # orjson.JSONEncodeError
        data = _dumps(value).encode("utf-8")
    return data.replace(b"\n", b"\n" + pad) if pad else data


# Items dumped by one call of orjson: ~90 KB of findings' JSON, which stays in the processor's cache while it is
# indented and written. Writing 400k findings took 1.1-1.4 s in slices of 100, 1.6-2.0 s one at a time, 1.3-1.7 s in
# slices of 1,000 (benchmarks/report_write.py); XL's pull-request run spent 5.9, 6.9 and 10.7 s in its format stage.
SLICE = 100


def chunks(
    doc: Any,
    path: tuple[str | int, ...],
    items: Iterable[T],
    value: Callable[[T], Any] = lambda item: item,
    slice_size: int = SLICE,
    keys_sorted: bool = False,
) -> Iterator[bytes]:
    """The JSON of ``doc`` (with a final newline) in pieces of UTF-8, with the list at ``path`` (keys and indexes from
    the root) made lazily of ``value(item)`` for each of ``items``, taken ``slice_size`` at a time. ``doc`` must hold a
    placeholder at ``path`` (its value is ignored).

    A slice is dumped as one list by orjson, its lines after the first indented to where the list stands: the same
    bytes as each item written by :func:`dumps_indented`. A slice orjson refuses is written item by item so.
    ``keys_sorted``: every mapping ``value`` makes has its keys in code point order already (orjson keeps them so)."""
    node = doc
    for step in path[:-1]:
        node = node[step]
    for n in itertools.count():  # a marker no other value of the document contains
        marker = json.dumps(f"\x00auditor-stream-{n}\x00")
        node[path[-1]] = json.loads(marker)
        text = _dumps(doc)
        if text.count(marker) == 1:
            break
    head, _, tail = text.partition(marker)
    line = head.rsplit("\n", 1)[-1]  # e.g. '  "findings": '
    indent = line[: len(line) - len(line.lstrip(" "))].encode("utf-8")
    yield head.encode("utf-8")
    pad = indent + b"  "
    newline = b"\n" + indent
    # The slice dumped where orjson indents it as the list stands here: nested in as many one-key objects as the
    # list is levels deep (``json.dumps`` indents two spaces a level), whose opening and closing lines are cut off.
    # Shifting each line of a slice dumped at the top (a copy of its bytes) took as long again as dumping it (XL's
    # report: ~0.6 s).
    depth = len(indent) // 2
    start = len(b"".join(b"{\n" + b"  " * (level + 1) + b'"": ' for level in range(depth)) + b"[")
    end = len(newline + b"]" + b"".join(b"\n" + b"  " * level + b"}" for level in range(depth)))
    option = orjson.OPT_INDENT_2 if keys_sorted else _PRETTY
    first = True
    it = iter(items)
    while True:
        values = [value(item) for item in itertools.islice(it, slice_size)]
        if not values:
            break
        wrapped: Any = values
        for _ in range(depth):
            wrapped = {"": wrapped}
        body: bytes | memoryview
        try:
            # b'[\n  A,\n  B\n]' at the top: the items at two spaces, their own lines deeper; here at ``pad``.
            data = orjson.dumps(wrapped, option=option)
        except TypeError:  # orjson.JSONEncodeError: what it refuses is written by json, item by item
            body = b",".join(b"\n" + pad + dumps_indented(v, pad) for v in values)
        else:
            body = memoryview(data)[start : len(data) - end]  # copied once, below
        yield (b"[" if first else b",") + body
        first = False
    yield b"[]" if first else newline + b"]"
    yield (tail + "\n").encode("utf-8")
