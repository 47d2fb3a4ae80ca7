"""Benchmarks for auditor: a deterministic synthetic inventory generator (``generate.py``)."""
