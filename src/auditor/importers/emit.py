"""A small YAML writer for generated inventory files: block style, keys in the order given, ``# comments`` where the
importer wants the reader's attention, and every string that is not a plain identifier double-quoted with every
control or invisible character escaped (text from a manifest can hold anything: it must not break the YAML, forge a
line, or hide in a terminal). Deterministic: the same values give the same bytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*|[0-9]+[A-Za-z_][A-Za-z0-9_.-]*")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}
_NUMBERISH = re.compile(r"[-+]?(\.[0-9]|[0-9])|0[xo]|\.(inf|nan)", re.IGNORECASE)


@dataclass(frozen=True)
class Comment:
    """A ``# text`` line at this place of a mapping (its key is ignored) or of a sequence."""

    text: str


def _escape_char(c: str) -> str:
    named = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
    if c in named:
        return named[c]
    if unicodedata.category(c)[0] in "CZ" and c != " ":  # controls, format, unassigned, line/para separators
        code = ord(c)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return c


def quote(text: str) -> str:
    return '"' + "".join(_escape_char(c) for c in text) + '"'


def safe_text(text: str) -> str:
    """``text`` on one line with controls and invisible characters escaped (for comments)."""
    return "".join(_escape_char(c) if c not in '\\"' else c for c in text)


def scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED and not _NUMBERISH.match(text):
        return text
    return quote(text)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (Mapping, list, tuple))


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Comment):
                out.append(f"{pad}# {safe_text(item.text)}")
            elif _is_scalar(item):
                out.append(f"{pad}{scalar(key)}: {scalar(item)}")
            elif isinstance(item, Mapping) and not item:
                out.append(f"{pad}{scalar(key)}: {{}}")
            elif isinstance(item, (list, tuple)) and all(_is_scalar(x) for x in item):
                out.append(f"{pad}{scalar(key)}: [{', '.join(scalar(x) for x in item)}]")
            else:
                out.append(f"{pad}{scalar(key)}:")
                out.extend(_lines(item, indent + 2))
    else:
        for item in value:
            if isinstance(item, Comment):
                out.append(f"{pad}# {safe_text(item.text)}")
                continue
            inner = _lines(item, indent + 2) if not _is_scalar(item) else [f"{pad}  {scalar(item)}"]
            first = inner[0]
            out.append(f"{pad}- {first[indent + 2 :]}")
            out.extend(inner[1:])
    return out


def document(header: Sequence[str], body: Mapping[str, Any]) -> str:
    """A YAML file: ``# header`` lines, then ``body`` (a mapping of sections)."""
    lines = [f"# {safe_text(h)}" if h else "#" for h in header]
    lines += _lines(body, 0)
    return "\n".join(lines) + "\n"


__all__ = ["Comment", "document", "quote", "safe_text", "scalar"]
