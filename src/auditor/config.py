"""Project configuration: ``auditor.toml`` or ``[tool.auditor]`` in ``pyproject.toml`` (working directory).

Keys: ``law`` (a list of overlays, or "all" / "none"), ``fail_on`` (error, warning, info, never) and ``policy`` (a
policy pack directory, relative to the configuration file). Command-line flags override the file. ``auditor.toml``
wins over ``pyproject.toml`` when both exist; a ``pyproject.toml`` without ``[tool.auditor]`` is ignored.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import safeio
from auditor.errors import InputError, Location, Problem

OVERLAY_NAMES = ("gdpr", "cnil", "pipl")
FAIL_ON = ("error", "warning", "info", "never")
KEYS = ("law", "fail_on", "policy")


@dataclass(frozen=True, slots=True)
class Config:
    law: str | None = None  # in --law syntax: "gdpr,cnil", "all" or "none"
    fail_on: str | None = None
    policy: Path | None = None
    source: Path | None = None  # the file the values came from


MAX_BYTES = 1024 * 1024


def _problem(path: Path, message: str, line: int = 1, column: int = 1) -> InputError:
    return InputError([Problem(Location(str(path), line, column), message)])


def _key_line(text: str, key: str, in_tool_table: bool) -> int:
    """The line where ``key = ...`` is set (in ``[tool.auditor]`` for pyproject.toml), 1 when not found."""
    table = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("["):
            table = line.strip("[] \t")
            continue
        if not in_tool_table:
            prefixes = [""] if table == "" else []
        else:
            prefixes = {"": ["tool.auditor."], "tool": ["auditor."], "tool.auditor": [""]}.get(table, [])
        if any(re.match(rf"{re.escape(p + key)}\s*=", line) for p in prefixes):
            return number
    return 1


def _table(path: Path) -> tuple[dict[str, Any] | None, str]:
    try:
        data = safeio.read_regular(path, MAX_BYTES)
        text = data.decode("utf-8")
    except safeio.FileRefused as exc:
        raise _problem(path, f"configuration file: {exc}") from None
    except UnicodeDecodeError:
        raise _problem(path, "configuration file is not UTF-8 text") from None
    try:
        doc = tomllib.loads(text)  # TOML itself refuses duplicate keys
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(where.group(1)), int(where.group(2))) if where else (1, 1)
        raise _problem(path, f"invalid TOML: {str(exc).split(' (at line')[0]}", line, col) from None
    if path.name == "pyproject.toml":
        tool = doc.get("tool")
        table = tool.get("auditor") if isinstance(tool, dict) else None
        if table is None:
            return None, text
        if not isinstance(table, dict):
            raise _problem(path, "[tool.auditor] must be a table", _key_line(text, "auditor", False))
        return table, text
    return doc, text


_LAW_HELP = 'name the overlays (e.g. ["gdpr", "cnil"]), or "all", or "none" for the policy alone'


def parse_law(value: Any) -> str:
    """``law`` (configuration) or ``--law`` (command line) in --law syntax: "gdpr,cnil", "all" or "none".

    Empty or blank values are refused rather than read as "no overlay": dropping every legal check must be said
    (``none``), never the accident of an empty list or a stray comma. Raises ValueError with the reason."""
    if isinstance(value, str):
        raw = value.split(",")
    elif isinstance(value, list) and all(isinstance(x, str) for x in value):
        raw = list(value)
    else:
        raise ValueError(f"law must be a list of overlays or a string: {_LAW_HELP}")
    items = [x.strip().lower() for x in raw]
    if not any(items):
        raise ValueError(f"law is empty: {_LAW_HELP}")
    if not all(items):
        raise ValueError(f"law has an empty item ({value!r}): {_LAW_HELP}")
    if items in (["all"], ["none"]):
        return items[0]
    unknown = [x for x in items if x not in OVERLAY_NAMES]
    if unknown:
        choices = ", ".join(OVERLAY_NAMES)
        extra = " ('all' and 'none' stand alone)" if set(unknown) & {"all", "none"} else ""
        raise ValueError(f"unknown overlay {', '.join(unknown)}{extra}; choose from {choices}, all, none")
    return ",".join(dict.fromkeys(items))


def _exists(path: Path) -> bool:
    """Whether ``path`` is there at all (a dangling symlink or a FIFO counts: reading it reports the problem)."""
    return os.path.lexists(path)


def load(directory: Path | None = None) -> Config:
    """The configuration found in ``directory`` (default: the working directory), or an empty one."""
    directory = directory or Path.cwd()
    for name in ("auditor.toml", "pyproject.toml"):
        path = directory / name
        if not _exists(path):
            continue
        table, text = _table(path)
        if table is None:
            continue
        in_tool = name == "pyproject.toml"
        unknown = sorted(k for k in table if k not in KEYS)
        if unknown:
            raise _problem(
                path,
                f"unknown configuration key {', '.join(unknown)}; known keys: {', '.join(KEYS)}",
                _key_line(text, unknown[0], in_tool),
            )
        law = None
        if "law" in table:
            try:
                law = parse_law(table["law"])
            except ValueError as exc:
                raise _problem(path, str(exc), _key_line(text, "law", in_tool)) from None
        fail_on = table.get("fail_on")
        if fail_on is not None and (not isinstance(fail_on, str) or fail_on not in FAIL_ON):
            raise _problem(path, f"fail_on must be one of {', '.join(FAIL_ON)}", _key_line(text, "fail_on", in_tool))
        policy = table.get("policy")
        policy_dir = None
        if policy is not None:
            where = _key_line(text, "policy", in_tool)
            if not isinstance(policy, str) or not policy.strip():
                raise _problem(path, "policy must be a policy pack directory (a non-empty string)", where)
            policy_dir = path.parent / policy
            if not policy_dir.is_dir():
                state = "does not exist" if not _exists(policy_dir) else "is not a directory"
                raise _problem(path, f"policy: {policy_dir} {state}", where)
        return Config(law, fail_on, policy_dir, path)
    return Config()
