"""Finding messages, titles and remediations in the reader's language, from gettext catalogues shipped with the pack.

Rules build their messages with ``lib.findings.msg(fmt, args)``: a finding carries the format and the arguments, and
:func:`english` prints its English text (what JSON and SARIF show) as Rego's ``sprintf`` would. A pack ships one
catalogue per language, ``<pack>/locale/<lang>.po`` (gettext PO, read with Babel): the msgid of a message is its
English format (``"flow %s sends %s to %s"``), the msgid of a rule title or remediation is the English text of its
METADATA. A company writing its own pack ships its own catalogue beside its rules. Entries with the context ``value``
translate argument values that are English words rather than inventory ids (``(not stated)``) and the separators of
lists built with ``lib.findings.joined`` (each item translated on its own). Formats use Rego's ``sprintf`` verbs:
``%s``, ``%d``, ``%v``, ``%%``, and ``%[n]s`` to take the n-th argument when the translation needs another word order.
A message, title or remediation without a translation stays English (tests/test_messages.py fails on any).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

VALUE_CONTEXT = "value"
_VERB = re.compile(r"%(?:\[(\d+)\])?([sdv%])")
_ANY_VERB = re.compile(r"%(?:\[\d+\])?.")


class FormatError(ValueError):
    """A format uses a verb this renderer does not know, or more arguments than it is given."""


def verbs(fmt: str) -> list[tuple[int, str]]:
    """The placeholders of ``fmt`` as (argument index from 1, verb), in order; ``%%`` is not one."""
    return [(index + 1, verb) for index, verb in _compiled(fmt)[1]]


def _value(v: Any, verb: str) -> str:
    if verb == "d":
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise FormatError(f"%d of {v!r}")
        if isinstance(v, float):
            if not v.is_integer():
                raise FormatError(f"%d of {v!r}")
            v = int(v)
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@lru_cache(maxsize=4096)  # a pack has a few hundred formats; one building them from data must not grow it
def _compiled(fmt: str) -> tuple[tuple[str, ...], tuple[tuple[int, str], ...]]:
    """``fmt`` split once into its literal pieces (one more than its verbs) and its verbs as (argument index from 0,
    verb); every message of a run is rendered with it (XL: ~700k)."""
    pieces: list[str] = []
    slots: list[tuple[int, str]] = []
    literal: list[str] = []
    last = 0
    nxt = 0
    for m in _ANY_VERB.finditer(fmt):
        literal.append(fmt[last : m.start()])
        last = m.end()
        if m.group(0) == "%%":
            literal.append("%")
            continue
        v = _VERB.fullmatch(m.group(0))
        if v is None:
            raise FormatError(f"unsupported verb {m.group(0)!r} in {fmt!r}")
        index = int(v.group(1)) - 1 if v.group(1) else nxt
        pieces.append("".join(literal))
        literal = []
        slots.append((index, v.group(2)))
        nxt = index + 1
    literal.append(fmt[last:])
    pieces.append("".join(literal))
    return tuple(pieces), tuple(slots)


def sprintf(fmt: str, args: Sequence[Any]) -> str:
    """``fmt`` with ``args``, as Rego's sprintf prints strings, integers and booleans (with ``%[n]s`` indexes)."""
    pieces, slots = _compiled(fmt)
    out = [pieces[0]]
    for (index, verb), piece in zip(slots, pieces[1:], strict=True):
        if not 0 <= index < len(args):
            raise FormatError(f"{fmt!r} needs argument {index + 1}, has {len(args)}")
        value = args[index]
        out.append(value if verb == "s" and type(value) is str else _value(value, verb))
        out.append(piece)
    return "".join(out)


@dataclass(frozen=True)
class Catalogue:
    """One language's translations: English text or format -> translation, and argument values."""

    lang: str
    texts: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None

    def text(self, english: str) -> str | None:
        """The translation of a title, a remediation or a message without arguments (None: none)."""
        return self.texts.get(english)

    def value(self, english: str) -> str:
        return self.values.get(english, english)

    def render(self, fmt: str, args: Sequence[Any]) -> str | None:
        """The message of format ``fmt`` in this language (None when the format or one of its phrase arguments has
        no translation, or when the translation does not fit the arguments)."""
        target = self.texts.get(fmt)
        if target is None:
            return None
        rendered: list[Any] = []
        for a in args:
            sub = self._argument(a)
            if sub is None:
                return None
            rendered.append(sub)
        try:
            return sprintf(target, rendered)
        except FormatError:
            return None

    def _argument(self, a: Any) -> Any:
        """One argument in this language: a phrase (``msg``) rendered, a list (``joined``) item by item, an English
        value word translated; None when a phrase has no translation."""
        if isinstance(a, dict) and isinstance(a.get("fmt"), str):
            return self.render(a["fmt"], a.get("args") or [])
        if isinstance(a, dict) and isinstance(a.get("join"), str) and isinstance(a.get("items"), list):
            items = [self._argument(i) for i in a["items"]]
            if any(i is None for i in items):
                return None
            return self.value(a["join"]).join(_value(i, "s") for i in items)
        if isinstance(a, str):
            return self.value(a)
        if a is None:
            return self.value(NOT_STATED)
        return a


# What a message shows for a fact absent from the inventory (a null argument), in English; translated as a value.
NOT_STATED = "(not stated)"


def _english_argument(a: Any) -> Any:
    if a is None:
        return NOT_STATED
    if isinstance(a, dict) and isinstance(a.get("fmt"), str):
        return english(a["fmt"], a.get("args") or [])
    if isinstance(a, dict) and isinstance(a.get("join"), str) and isinstance(a.get("items"), list):
        return a["join"].join(_value(_english_argument(i), "s") for i in a["items"])
    return a


def english(fmt: str, args: Sequence[Any]) -> str:
    """What the rule's own sprintf printed, re-rendered here (tests compare the two on real inventories)."""
    return sprintf(fmt, [_english_argument(a) for a in args])


def catalogue_path(pack_root: Path, lang: str) -> Path:
    return pack_root / "locale" / f"{lang}.po"


@cache
def load(pack_root: Path, lang: str) -> Catalogue:
    """The catalogue of ``lang`` shipped with the pack at ``pack_root`` (empty when it ships none: English).
    Fuzzy and empty entries are not translations."""
    path = catalogue_path(pack_root, lang)
    if lang == "en" or not path.is_file():
        return Catalogue(lang)
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        po = read_po(handle, locale=lang)
    texts: dict[str, str] = {}
    values: dict[str, str] = {}
    for message in po:
        if not message.id or message.fuzzy or not isinstance(message.id, str):
            continue
        target = message.string if isinstance(message.string, str) else ""
        if not target:
            continue
        if message.context == VALUE_CONTEXT:
            values[message.id] = target
        elif message.context is None:
            texts[message.id] = target
    return Catalogue(lang, texts, values, path)


# ------------------------------------------------------------------ what a pack must translate


@dataclass(frozen=True, slots=True)
class Source:
    """One English text a pack shows its readers: a message format, a rule title or a remediation."""

    msgid: str
    kind: str  # message | title | remediation
    where: str  # file:line
    owner: str  # the rule (or helper function) that shows it


_CALL = re.compile(r"(?<![\w.])(msg|finding)\(")
_HEAD = re.compile(r"^([a-z_][a-z0-9_]*)\b")


def _string_at(text: str, i: int) -> tuple[str, int] | None:
    """The Rego string literal starting at ``text[i]`` (after blanks) and the index after it, if any."""
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    if i < len(text) and text[i] == '"':
        j = i + 1
        while j < len(text) and text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        return json.loads(text[i : j + 1]), j + 1
    if i < len(text) and text[i] == "`":
        j = text.index("`", i + 1)
        return text[i + 1 : j], j + 1
    return None


def _arguments(text: str, i: int) -> list[tuple[int, int]]:
    """Spans of the top-level arguments of the call whose ``(`` ends just before ``text[i]``."""
    spans: list[tuple[int, int]] = []
    depth, start, j = 0, i, i
    while j < len(text):
        c = text[j]
        if c == '"':
            end = _string_at(text, j)
            j = end[1] if end else j + 1
            continue
        if c == "#":
            j = text.find("\n", j)
            j = len(text) if j < 0 else j
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                spans.append((start, j))
                return spans
            depth -= 1
        elif c == "," and depth == 0:
            spans.append((start, j))
            start = j + 1
        j += 1
    return spans


def module_messages(text: str, shown: str) -> list[Source]:
    """The message texts of one module: the format of every ``msg(...)`` and every string literal given as the
    message of ``finding(...)``, each with the definition it appears in."""
    lines = text.splitlines()
    owners: list[str] = []
    current = ""
    for line in lines:
        m = _HEAD.match(line)
        if m and m.group(1) not in ("package", "import", "else", "default"):
            current = m.group(1)
        owners.append(current)
    out: list[Source] = []
    code = "\n".join(line if not line.lstrip().startswith("#") else "" for line in lines)
    for m in _CALL.finditer(code):
        args = _arguments(code, m.end())
        index = 0 if m.group(1) == "msg" else 3
        if len(args) <= index:
            continue
        start, end = args[index]
        literal = _string_at(code, start)
        if literal is None or code[literal[1] : end].strip():
            continue
        row = code.count("\n", 0, m.start()) + 1
        out.append(Source(literal[0], "message", f"{shown}:{row}", owners[row - 1]))
    return out


def sources(pack: Any) -> list[Source]:
    """Every English text of ``pack`` (a ``PolicyPack``) a reader sees: message formats from the Rego sources, rule
    titles and remediations from the METADATA."""
    out: list[Source] = []
    for module in pack.policy_modules:
        shown = f"{pack.root.name}/rego/{module.name}"
        out += module_messages(module.text, shown)
    for rule in pack.rules:
        where = f"{rule.location.file}:{rule.location.line}"
        out.append(Source(rule.title, "title", where, rule.id))
        if rule.remediation:
            out.append(Source(rule.remediation, "remediation", where, rule.id))
    return out


def missing(pack: Any, lang: str) -> list[Source]:
    """The texts of ``pack`` its ``lang`` catalogue does not translate (one per msgid)."""
    cat = load(pack.root, lang)
    seen: set[str] = set()
    out: list[Source] = []
    for s in sources(pack):
        if s.msgid and s.msgid not in seen and cat.text(s.msgid) is None:
            seen.add(s.msgid)
            out.append(s)
    return out


def po_entry(s: Source) -> str:
    """A PO entry to paste into the catalogue for ``s`` (msgstr to fill)."""
    import io

    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    cat = Catalog(header_comment="", fuzzy=False)
    path, _, line = s.where.rpartition(":")
    message = cat.add(s.msgid, "", locations=[(path, int(line))] if line.isdigit() else [])
    message.auto_comments = [f"{s.kind} of {s.owner}"]
    message.flags.discard("python-format")
    buf = io.BytesIO()
    write_po(buf, cat, omit_header=True, width=120)
    return buf.getvalue().decode("utf-8").strip()
