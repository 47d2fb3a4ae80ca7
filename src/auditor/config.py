"""Project configuration: ``auditor.toml`` or ``[tool.auditor]`` in ``pyproject.toml`` (working directory).

Keys: ``law`` (a list of overlays, or "all" / "none"), ``fail_on`` (error, warning, info, never) and ``policy`` (a
policy pack directory, relative to the configuration file). Command-line flags override the file. ``auditor.toml``
wins over ``pyproject.toml`` when both exist; a ``pyproject.toml`` without ``[tool.auditor]`` is ignored.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def _problem(path: Path, message: str) -> InputError:
    return InputError([Problem(Location(str(path), 1, 1), message)])


def _table(path: Path) -> dict[str, Any] | None:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise _problem(path, f"invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _problem(path, f"cannot read configuration: {exc}") from None
    if path.name == "pyproject.toml":
        tool = doc.get("tool")
        table = tool.get("auditor") if isinstance(tool, dict) else None
        if table is None:
            return None
        if not isinstance(table, dict):
            raise _problem(path, "[tool.auditor] must be a table")
        return table
    return doc


def _law(path: Path, value: Any) -> str:
    if isinstance(value, str):
        items = [x.strip().lower() for x in value.split(",") if x.strip()]
    elif isinstance(value, list) and all(isinstance(x, str) for x in value):
        items = [x.strip().lower() for x in value]
    else:
        raise _problem(path, 'law must be a list of overlays (e.g. ["gdpr", "cnil"]), "all" or "none"')
    if items in (["all"], ["none"]):
        return items[0]
    if not items:
        return "none"
    unknown = [x for x in items if x not in OVERLAY_NAMES]
    if unknown:
        choices = ", ".join(OVERLAY_NAMES)
        raise _problem(path, f"law: unknown overlay {', '.join(unknown)}; choose from {choices}, all, none")
    return ",".join(items)


def load(directory: Path | None = None) -> Config:
    """The configuration found in ``directory`` (default: the working directory), or an empty one."""
    directory = directory or Path.cwd()
    for name in ("auditor.toml", "pyproject.toml"):
        path = directory / name
        if not path.is_file():
            continue
        table = _table(path)
        if table is None:
            continue
        unknown = sorted(k for k in table if k not in KEYS)
        if unknown:
            raise _problem(path, f"unknown configuration key {', '.join(unknown)}; known keys: {', '.join(KEYS)}")
        law = _law(path, table["law"]) if "law" in table else None
        fail_on = table.get("fail_on")
        if fail_on is not None and fail_on not in FAIL_ON:
            raise _problem(path, f"fail_on must be one of {', '.join(FAIL_ON)}")
        policy = table.get("policy")
        if policy is not None and not isinstance(policy, str):
            raise _problem(path, "policy must be a directory path (a string)")
        return Config(law, fail_on, (path.parent / policy) if policy else None, path)
    return Config()
