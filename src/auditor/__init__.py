"""auditor: a privacy policy encoded as Rego, checked against a YAML data inventory."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__version__ = "0.1.0"


@functools.cache
def source_digest(root: Path | None = None) -> str:
    """A digest of auditor's own code and data files (``*.py``, ``*.json``, ``*.yaml`` under ``root``, default this
    package), hex. What ``check --cache`` keys its entries by besides the version: the version is not bumped for
    every change, and an entry written by other code (another locating rule, another parser) must never be read
    back as if this code had written it. Files that cannot be read are left out (the version still applies)."""
    base = root if root is not None else Path(__file__).resolve().parent
    h = hashlib.blake2b(digest_size=20)
    h.update(__version__.encode("utf-8") + b"\x00")
    for path in sorted(p for ext in ("*.py", "*.json", "*.yaml") for p in base.rglob(ext)):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        name = path.relative_to(base).as_posix().encode("utf-8")
        h.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()
