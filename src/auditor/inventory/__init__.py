"""Inventory loading: safe YAML, JSON Schema validation, ids and references, source locations."""

from auditor.inventory.loader import discover, display_path, load, load_sources, schema

__all__ = ["discover", "display_path", "load", "load_sources", "schema"]
