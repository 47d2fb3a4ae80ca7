"""Escaping inventory text for the human-readable outputs. Every string of an inventory (names, descriptions, cookie
names, file names, waiver owners...) is attacker-controlled: a newline starts a forged line (``::error`` is a GitHub
workflow command), an ESC or OSC sequence drives the terminal, Markdown turns ``![x](https://...)`` into a tracking
image and ``<img onerror=...>`` into HTML, a spreadsheet runs a cell starting with ``=``.

- :func:`printable`: text and error lines (terminal, CI logs, ``-o`` files): control characters, line and paragraph
  separators and bidirectional overrides become visible escapes (``\\n``, ``\\x1b``, ``\\u202e``).
- :func:`no_command`: a line that would start (after blanks) with ``::`` gets its first colon escaped, so no line
  of ours is a workflow command.
- :func:`md_text` / :func:`md_code`: Markdown text (every character that opens inline markup backslash-escaped, so
  no emphasis, link, image, HTML or table cell break can form) and code spans (a backtick fence longer than any run
  inside, ``|`` escaped for GFM tables).
- :func:`csv_cell`: a spreadsheet cell (OWASP CSV injection: a leading ``=``, ``+``, ``-``, ``@``, tab or CR is
  prefixed with ``'``).
"""

from __future__ import annotations

import re

# C0 controls (tab and newline included: a message is one line), DEL, C1 controls (0x9b is CSI, 0x9d OSC), the
# Unicode line and paragraph separators, and the bidirectional controls ("Trojan Source").
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` on one line with every control character visible as an escape (backslashes are kept as they are:
    the result is for reading, not for parsing back)."""
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_escape_char, text)


def no_command(line: str) -> str:
    """``line``, unless it would read as a GitHub workflow command (``::`` after leading blanks): then with its first
    colon written ``\\x3a``."""
    stripped = line.lstrip()
    if not stripped.startswith("::"):
        return line
    return line[: len(line) - len(stripped)] + "\\x3a" + stripped[1:]


def safe_line(text: str) -> str:
    """One line of human-readable output made of untrusted text: :func:`printable` then :func:`no_command`."""
    return no_command(printable(text))


# CommonMark lets any ASCII punctuation be backslash-escaped, and then it is literal text. Escaped: every character
# that can open or close inline markup (emphasis, strikethrough, code, links and images, raw HTML, entities, GFM table
# cells, GitHub math). Left as they are, because without those openers they are inert inside a line: . , / : ; = ?
# ' " % @ ( ) - + (a leading - or + is escaped too: it could start a nested list).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>!#$&^|~])")


def md_text(text: str) -> str:
    """Inventory text as literal Markdown inline text (one line): no HTML, image, link or emphasis can form."""
    out = _MD_SPECIAL.sub(r"\\\1", printable(text))
    if out[:1] in ("-", "+"):
        out = "\\" + out
    return out


def md_code(text: str, *, table: bool = False) -> str:
    """Inventory text as a Markdown code span: literal whatever it holds (backticks included), on one line. In a GFM
    table cell (``table=True``) ``|`` is escaped: GFM splits cells on it even inside code."""
    body = printable(text)
    if table:
        body = body.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or longest else ""
    return f"{fence}{pad}{body}{pad}{fence}"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A spreadsheet-safe cell (OWASP): a value a spreadsheet would read as a formula starts with ``'``."""
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text
