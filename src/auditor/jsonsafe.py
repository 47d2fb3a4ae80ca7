"""Strict JSON reading for every JSON document the auditor is handed (baselines, OPA server answers); and, at the
end, the fast compact writing and reading of the JSON the auditor writes and reads back itself.

Python's ``json.loads`` keeps the last of duplicate keys (a baseline starting with ``"findings": []`` and repeating
the key later is read as the later value, or the other way round, silently), accepts ``NaN`` and ``Infinity``
(which no engine compares the same way) and raises ``ValueError`` or ``RecursionError`` on some inputs. Here every
such problem is a :class:`JsonProblem` with a line and column.

The fast path is the C decoder with a duplicate check; only a document it refuses for a duplicate key or a
non-finite constant is parsed again by the pure-Python scanner, which knows where each object starts.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from typing import Any

import orjson

_CONSTANTS = ("NaN", "Infinity", "-Infinity")
# The pure-Python pieces of the json package (public names, missing from the type stubs).
_JSONObject: Any = getattr(json.decoder, "JSONObject")  # noqa: B009
_JSONArray: Any = getattr(json.decoder, "JSONArray")  # noqa: B009
_py_make_scanner: Any = getattr(json.scanner, "py_make_scanner")  # noqa: B009


class JsonProblem(Exception):
    """A document that is not strict JSON: where (1-based line and column; 0 when unknown) and why."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


class _Refused(Exception):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Refused
    return out


def _constant(name: str) -> Any:
    raise _Refused


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


class _LocatingDecoder(json.JSONDecoder):
    """The pure-Python decoder, refusing duplicate keys (at the object that repeats them) and NaN/Infinity (where
    they stand)."""

    def __init__(self) -> None:
        super().__init__()

        def parse_object(s_and_end: tuple[str, int], strict: bool, *_: Any) -> tuple[dict[str, Any], int]:
            string, end = s_and_end
            pairs, after = _JSONObject(s_and_end, strict, scan, None, list, {})
            seen: set[str] = set()
            for key, _value in pairs:
                if key in seen:
                    line, col = _position(string, end - 1)
                    raise JsonProblem(line, col, f"duplicate key {key!r} in the object starting here")
                seen.add(key)
            return dict(pairs), after

        def parse_array(s_and_end: tuple[str, int], _scan: Any) -> tuple[list[Any], int]:
            return _JSONArray(s_and_end, scan)  # type: ignore[no-any-return]

        self.parse_object = parse_object
        self.parse_array = parse_array
        inner = _py_make_scanner(self)  # reads parse_object / parse_array now: set them first

        def scan(string: str, idx: int) -> tuple[Any, int]:
            if string.startswith(_CONSTANTS, idx):
                line, col = _position(string, idx)
                raise JsonProblem(line, col, "NaN and Infinity are not JSON numbers")
            return inner(string, idx)  # type: ignore[no-any-return]

        self.scan_once = scan


def loads(text: str) -> Any:
    """Parse strict JSON: no duplicate keys, no NaN/Infinity. Raises :class:`JsonProblem` (never anything else)."""
    try:
        return json.loads(text, object_pairs_hook=_unique, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise JsonProblem(exc.lineno, exc.colno, exc.msg) from None
    except _Refused:
        pass
    except RecursionError:
        raise JsonProblem(0, 0, "JSON nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts (4,300)
        message = "a number with too many digits" if "digits" in str(exc) else " ".join(str(exc).split())[:200]
        raise JsonProblem(0, 0, message) from None
    try:
        _LocatingDecoder().decode(text)
    except JsonProblem:
        raise
    except (ValueError, RecursionError) as exc:  # pragma: no cover - the fast path refused this one first
        raise JsonProblem(0, 0, " ".join(str(exc).split())[:200]) from None
    raise JsonProblem(0, 0, "duplicate key or non-finite number")  # pragma: no cover - both paths must agree


# --- JSON the auditor writes and reads back itself (partition documents, engine answers, cache entries) ------------


def dumps_compact(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON, keys in insertion order (or sorted). orjson writes it 5-8x faster than ``json``; what
    orjson refuses (an integer beyond 64 bits) is written by ``json``."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys).encode("utf-8")


def loads_fast(data: bytes | str) -> Any:
    """JSON the auditor wrote (or an engine answered), parsed by orjson; what orjson refuses (damage) is parsed by
    ``json``, which raises ValueError or RecursionError on what is not JSON. orjson reads an integer beyond 64 bits
    as a float (measured, orjson 3): none reaches here, the loader refusing numbers beyond 2^53 - 1 in an inventory,
    and fresh and cached results are read alike. Not for documents handed to the auditor: :func:`loads` checks
    those strictly."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
