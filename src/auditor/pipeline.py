"""The audit pipeline, stage by stage, timed: load -> lineage -> partitions -> evaluate -> findings.

The CLI, the report and the benchmarks all run the audit through here, so there is one wiring of the stages.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from auditor import findings as findings_mod
from auditor import inventory
from auditor.findings import Finding
from auditor.lineage import Lineage, analyse, field_hook, flow_hook
from auditor.model import Inventory
from auditor.policy import Engine, PolicyPack, inputs
from auditor.policy.engine import dumps


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, started: float) -> float:
        now = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + (now - started)
        return now


@dataclass(frozen=True)
class Audit:
    inventory: Inventory
    pack: PolicyPack
    findings: list[Finding]
    timings: Timings
    lineage: Lineage | None = None


def load(paths: Sequence[Path], timings: Timings | None = None) -> Inventory:
    t = time.perf_counter()
    inv = inventory.load(paths)
    if timings is not None:
        timings.add("load+validate", t)
    return inv


def audit(inv: Inventory, pack: PolicyPack, engine: Engine, timings: Timings | None = None) -> Audit:
    timings = timings or Timings()
    t = time.perf_counter()
    lin = analyse(inv)
    t = timings.add("lineage", t)
    partitions = inputs.build(inv, flow_facts=flow_hook(lin), field_facts=field_hook(lin))
    t = timings.add("partitions", t)
    documents = [dumps(p.document) for p in partitions]
    t = timings.add("serialise", t)
    results = engine.evaluate(pack, documents, [p.label for p in partitions])
    t = timings.add("evaluate", t)
    found = findings_mod.build(pack, inv, results)
    timings.add("findings", t)
    return Audit(inv, pack, found, timings, lin)
