"""Inventory loading: safe YAML, JSON Schema validation, ids and references, source locations."""

from auditor.inventory.loader import (
    DocumentStore,
    blob_id,
    content_digest,
    discover,
    display_path,
    load,
    load_sources,
    schema,
    use_document_store,
)

__all__ = [
    "DocumentStore",
    "blob_id",
    "content_digest",
    "discover",
    "display_path",
    "load",
    "load_sources",
    "schema",
    "use_document_store",
]
