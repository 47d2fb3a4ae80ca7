"""Data lineage: the graph of systems, partners and flows, field propagation, and the facts the rules read."""

from auditor.lineage.analysis import (
    Coverage,
    Cycle,
    Lineage,
    analyse,
    coverage,
    field_hook,
    flow_hook,
    system_hook,
)
from auditor.lineage.graph import Edge, LineageGraph, Node, build, region
from auditor.lineage.propagate import FieldLineage, propagate

__all__ = [
    "Coverage",
    "Cycle",
    "Edge",
    "FieldLineage",
    "Lineage",
    "LineageGraph",
    "Node",
    "analyse",
    "build",
    "coverage",
    "field_hook",
    "flow_hook",
    "propagate",
    "region",
    "system_hook",
]
