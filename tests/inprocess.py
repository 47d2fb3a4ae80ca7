"""Audit many small inventories in-process against one compiled policy pack (property and consistency tests).

`auditor check` in a subprocess costs a few seconds per inventory (start-up, compiling the pack); generated tests
audit hundreds. This runs :func:`auditor.pipeline.audit` itself (load and validate, lineage, partitions, evaluation,
findings) with the reference engine (real OPA in-process, which `tests/test_conformance.py` holds equal to every
other engine): the engine keeps the compiled pack for the next audit in this process, and no partition result is
reused from an earlier inventory.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import POLICIES

from auditor import inventory, pipeline
from auditor.findings import Finding
from auditor.policy import load_pack
from auditor.policy.reference_engine import ReferenceEngine


class InProcessAuditor:
    """``check(inventory)`` -> sorted findings, like `auditor check --law all`, without a subprocess."""

    def __init__(self) -> None:
        self.pack = load_pack(POLICIES)
        self._engine = ReferenceEngine()

    def check(self, inv: str | dict[str, Any]) -> list[Finding]:
        text = inv if isinstance(inv, str) else json.dumps(inv)  # JSON is YAML, and much faster to write
        loaded = inventory.load_sources([("inv.yaml", text.encode("utf-8"))])
        return pipeline.audit(loaded, self.pack, self._engine, cache=None).findings
