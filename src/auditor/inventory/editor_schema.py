"""The inventory JSON Schema as editors want it (``auditor schema``): ``schema.json`` with a ``title`` and a
``description`` on every property, taken from ``schema_help.yaml``.

Validation reads ``schema.json`` alone; the help only adds annotations, which change nothing a validator accepts
(``tests/test_schema_cli.py`` checks that every sample file validates against the printed schema). Editors
(yaml-language-server, VS Code's YAML extension) show them on hover and in completion lists.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import yaml

from auditor.inventory.loader import schema

FORMAT_VERSION = 1
SHIPPED_PATH = "schemas/inventory-v1.json"  # the copy in the repository the sample inventory points at


@cache
def help_entries() -> dict[str, dict[str, str]]:
    """``schema_help.yaml``: help key -> {title, description}."""
    text = resources.files("auditor.inventory").joinpath("schema_help.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    return {str(k): {str(a): str(b) for a, b in (v or {}).items()} for k, v in data.items()}


def nodes(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every annotatable node of the schema with its help key: top-level properties (``file.<key>``), every
    definition (``<def>``) and every property below them (``<def>.<key>...``; array items are transparent)."""

    def below(node: Any, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if not isinstance(node, dict):
            return
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict):
                yield f"{key}.{name}", sub
                yield from below(sub, f"{key}.{name}")
        if isinstance(node.get("items"), dict):
            yield from below(node["items"], key)

    for name, sub in (doc.get("properties") or {}).items():
        yield f"file.{name}", sub
    for name, sub in (doc.get("$defs") or {}).items():
        yield name, sub
        yield from below(sub, name)


def unused_help(doc: dict[str, Any] | None = None) -> list[str]:
    """Help keys that match no node of the schema (a renamed or removed key)."""
    keys = {k for k, _ in nodes(doc if doc is not None else schema())}
    return sorted(set(help_entries()) - keys)


@cache
def _annotated() -> str:
    doc = copy.deepcopy(schema())
    entries = help_entries()
    for key, node in nodes(doc):
        entry = entries.get(key, {})
        for attr in ("title", "description"):
            if attr not in node and entry.get(attr):
                node[attr] = entry[attr]
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def text() -> str:
    """The annotated schema as printed by ``auditor schema`` (deterministic: schema.json's key order)."""
    return _annotated()


def annotated() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_annotated())
    return loaded
