"""Baselines: adopt the gate on an estate with existing debt.

``--write-baseline FILE`` records the fingerprints of the current findings (not the waived ones: a waiver that expires
must bring its finding back, not hide it in the baseline); ``--baseline FILE`` marks the findings already recorded
as status ``baseline`` so they no longer fail the gate, while every new finding still does. The file is JSON, sorted,
one entry per finding with its rule and subject so that a reviewer can read what was accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor import jsonsafe, safeio
from auditor.errors import InputError, Location, Problem
from auditor.findings import Finding
from auditor.inventory.loader import display_path

FORMAT = "auditor-baseline"
VERSION = 1
MAX_BYTES = 256 * 1024 * 1024  # ~1.5 million findings; far beyond any inventory's
_FINGERPRINT = re.compile(r"[0-9a-f]{8,64}")


def render(findings: Sequence[Finding]) -> str:
    entries = sorted(
        (
            {
                "fingerprint": f.fingerprint,
                "rule": f.rule_id,
                "subject": f"{f.subject_kind}/{f.subject_id}",
                "severity": f.severity,
            }
            for f in findings
            if f.status != "waived"
        ),
        key=lambda e: (e["rule"], e["subject"], e["fingerprint"]),
    )
    doc = {"format": FORMAT, "version": VERSION, "findings": entries}
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def parse(text: str, shown: str) -> frozenset[str]:
    def bad(message: str) -> InputError:
        return InputError([Problem(Location(shown), message)])

    try:
        doc: Any = jsonsafe.loads(text)
    except jsonsafe.JsonProblem as exc:
        raise InputError(
            [Problem(Location(shown, exc.line, exc.column), f"baseline is not valid JSON: {exc}")]
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise bad(f'not an auditor baseline (expected "format": "{FORMAT}"; write one with --write-baseline)')
    version = doc.get("version")
    if type(version) is not int or version != VERSION:  # not True, not 1.0: exactly the integer 1
        raise bad(f"unsupported baseline version {version!r} (this auditor reads version {VERSION})")
    unknown = sorted(set(doc) - {"format", "version", "findings"})
    if unknown:
        raise bad(f"baseline: unknown key {', '.join(map(repr, unknown))}")
    entries = doc.get("findings")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("fingerprint"), str) and _FINGERPRINT.fullmatch(e["fingerprint"])
        for e in entries
    ):
        raise bad('baseline: "findings" must be a list of objects with a "fingerprint" (hexadecimal)')
    return frozenset(e["fingerprint"] for e in entries)


def load(path: Path) -> frozenset[str]:
    shown = display_path(path)
    try:
        data = safeio.read_regular(path, MAX_BYTES)
    except safeio.FileRefused as exc:
        raise InputError([Problem(Location(*exc.location(shown)), f"baseline: {exc}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError([Problem(Location(shown, line, col), "baseline is not UTF-8 text")]) from None
    return parse(text, shown)


def apply(findings: Sequence[Finding], fingerprints: frozenset[str]) -> list[Finding]:
    """Open findings recorded in the baseline become status ``baseline`` (waived ones stay waived)."""
    return [f.with_status("baseline") if f.status == "open" and f.fingerprint in fingerprints else f for f in findings]
