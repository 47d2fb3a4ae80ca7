"""Audit many small inventories in-process against one compiled policy pack (property and consistency tests).

`auditor check` in a subprocess costs a few seconds per inventory (start-up, compiling the pack); generated tests
audit hundreds. This keeps one real-OPA engine (the reference engine, which `tests/test_conformance.py` holds equal
to every other engine) loaded and runs the same stages as `pipeline.audit`: load and validate, lineage, partitions,
evaluation, findings.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import POLICIES

from auditor import findings, inventory
from auditor.findings import Finding
from auditor.lineage import analyse
from auditor.pipeline import partition_stream
from auditor.policy import load_pack
from auditor.policy.engine import check_results
from auditor.policy.reference_engine import AGGREGATE_DOC, ReferenceEngine


class InProcessAuditor:
    """``check(inventory)`` -> sorted findings, like `auditor check --law all`, without a subprocess."""

    def __init__(self) -> None:
        self.pack = load_pack(POLICIES)
        self._reference = ReferenceEngine()
        self._engine = self._reference._load(self.pack, [*self.pack.policy_modules, self.pack.aggregator()])

    def check(self, inv: str | dict[str, Any]) -> list[Finding]:
        text = inv if isinstance(inv, str) else json.dumps(inv)  # JSON is YAML, and much faster to write
        loaded = inventory.load_sources([("inv.yaml", text.encode("utf-8"))])
        lin = analyse(loaded)
        results = [
            check_results(self.pack, self._engine.eval_document(AGGREGATE_DOC, json.loads(doc)), i)
            for i, (doc, _label) in enumerate(partition_stream(loaded, lin))
        ]
        return findings.build(self.pack, loaded, results)

    def close(self) -> None:
        self._engine.close()
