#!/usr/bin/env python3
"""How many partitions a one-system change really changes (issue 14, point 4): the least an incremental pull-request
run must rebuild and evaluate, whatever it tracks, because these partitions' input documents differ.

    python benchmarks/dirty.py INVENTORY

It builds every partition document of INVENTORY as ``check`` does (model, lineage, partitions), then, for each of
a few edits of one system's file (the middle one of ``systems/`` by name), builds them again from an edited copy and
counts the partitions whose document differs (by digest of its JSON text), and what the lineage computes that
differs (each travelling field's search, the facts attached to flows, fields and systems, each node's subjects): what
a lineage maintained by value (session 13's point 2) would recompute. The inventory is a generated one
(``benchmarks/generate.py``: each system's flows in its own file).
Edits: the retention made indefinite (``run.py --diff``'s edit), the system moved to China (``jurisdiction``), its
first field made anonymous (``identifiability``) or its category financial data, and the same two for the first
field its first flow sends and for its field that the most other files name (forwarded by other systems). Compare
the counts with ``benchmarks/closure.py``, which counts what reachability alone would have to redo. It asserts
nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src")]

from auditor import pipeline  # noqa: E402
from auditor.lineage import analyse  # noqa: E402


def _digest(value: object) -> bytes:
    return hashlib.blake2b(json.dumps(value, sort_keys=True, default=repr).encode("utf-8"), digest_size=16).digest()


def documents(inventory: Path) -> tuple[dict[str, bytes], dict[str, bytes], dict[str, bytes]]:
    """Every partition's label and the digest of its document's JSON text, and of its listed inputs
    (``inputs.Pending.inputs``: what a pull request compares to decide whether to build it; files are named as
    given, so both revisions are copies named ``inventory``, loaded from their parent); and what the lineage computes,
    by name
    (``field <id>``: a travelling field's search, where it reaches raw or lowered and from where; ``flow <id>``,
    ``field facts <id>``, ``system <id>``: the facts attached to the partitions; ``subjects <node>``) and digest."""
    here = Path.cwd()
    os.chdir(inventory.parent)
    try:
        inv = pipeline.load([Path(inventory.name)])
    finally:
        os.chdir(here)
    with pipeline.long_lived():
        lin = analyse(inv)
        parts: dict[str, bytes] = {}
        listed: dict[str, bytes] = {}
        for item in pipeline._pending(inv, lin):
            text = pipeline.dumps(item.make())
            parts[item.label] = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
            if item.inputs is not None:
                listed[item.label] = pipeline.input_digest(item.inputs())
        facts: dict[str, bytes] = {}
        for fid, fl in lin.fields.items():
            search = (
                fl.origin, fl.declared, fl.lowerable, sorted(fl.raw.items()), sorted(fl.low.items()), fl.implied,
                fl.rejoined_at, sorted(fl.reverted), fl.reverted_to, fl.deidentified_by,
            )  # fmt: skip
            facts[f"field {fid}"] = _digest(search)
        for kind, known in (("flow", lin.flow_facts), ("field facts", lin.field_facts), ("system", lin.system_facts)):
            for key, value in known.items():
                facts[f"{kind} {key}"] = _digest(value)
        for node, subjects in lin.subjects.items():
            facts[f"subjects {node}"] = _digest(subjects)
        return parts, listed, facts


def _changed(before: dict[str, bytes], after: dict[str, bytes]) -> int:
    """How many names have another digest, or are in only one of the two."""
    return sum(1 for k, v in after.items() if before.get(k) != v) + sum(1 for k in before if k not in after)


def _first(pattern: str, replacement: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        changed, n = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
        if n != 1:
            raise SystemExit(f"dirty.py: the edit {pattern!r} found nothing to change")
        return changed

    return edit


def _field(key: str, value: str, pick: Callable[[str], str]) -> Callable[[str], str]:
    """Set ``key`` of the field ``pick`` names (given the system file's text)."""

    def edit(text: str) -> str:
        field = re.escape(pick(text))
        return _first(rf"^(\s+- id: {field}\n(?:\s+[a-z_]+: .*\n)*?\s+{key}: )\S+$", rf"\g<1>{value}")(text)

    return edit


def _first_sent(text: str) -> str:
    """The field the system's first flow sends first."""
    sent = re.search(r"^\s+fields: \[([^,\]\s]+)", text[text.index("\nflows:") :], flags=re.MULTILINE)
    if sent is None:
        raise SystemExit("dirty.py: the system sends no field")
    return sent.group(1)


def _most_forwarded(inventory: Path, target: Path) -> str:
    """The target system's field named in the most other files (forwarded by other systems' flows)."""
    text = target.read_text(encoding="utf-8")
    own = re.findall(r"^\s+- id: (\S+)$", text[: text.index("\nflows:")], flags=re.MULTILINE)
    others = [p.read_text(encoding="utf-8") for p in sorted(inventory.rglob("*.yaml")) if p != target]
    counts = {f: sum(f"{f}," in o or f"{f}]" in o for o in others) for f in own if "." in f}
    return max(sorted(counts), key=counts.__getitem__)


EDITS: dict[str, Callable[[str], str]] = {
    "retention made indefinite": _first(r"^(\s+)retention:\n", r"\1retention:\n\1  indefinite: true\n"),
    "system moved to China": _first(r"^(\s+)jurisdiction: \S+$", r"\1jurisdiction: CN"),
    "first field made anonymous": _first(r"^(\s+)identifiability: \S+$", r"\1identifiability: anonymous"),
    "first field's category made financial": _first(r"^(\s+)category: \S+$", r"\1category: user.financial"),
    "a sent field made anonymous": _field("identifiability", "anonymous", _first_sent),
    "a sent field's category made financial": _field("category", "user.financial", _first_sent),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inventory", type=Path)
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory()
    original = Path(scratch.name) / "base" / "inventory"
    shutil.copytree(args.inventory, original, ignore=shutil.ignore_patterns(".complete"))
    base, base_inputs, base_facts = documents(original)
    systems = sorted((args.inventory / "systems").glob("*.yaml"))
    target = systems[len(systems) // 2].relative_to(args.inventory)
    print(f"{args.inventory}: {len(base)} partitions, {len(base_facts)} lineage results; edits of {target}")
    print(
        "| edit | partitions whose document changed | share | partitions whose inputs changed (a pull request builds "
        "them) | lineage results changed (of which fields' searches) |"
    )
    print("|---|---|---|---|---|")
    forwarded = _most_forwarded(args.inventory, args.inventory / target)  # read once, not once per edit

    def pick(_text: str) -> str:
        return forwarded

    edits = {
        **EDITS,
        "the most forwarded field made anonymous": _field("identifiability", "anonymous", pick),
        "the most forwarded field's category made financial": _field("category", "user.financial", pick),
    }
    with scratch, tempfile.TemporaryDirectory() as tmp:
        for name, edit in edits.items():
            copy = Path(tmp) / "inventory"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(args.inventory, copy, ignore=shutil.ignore_patterns(".complete"))
            path = copy / target
            path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
            after, after_inputs, after_facts = documents(copy)
            changed = _changed(base, after)
            rebuilt = _changed(base_inputs, after_inputs)
            facts = _changed(base_facts, after_facts)
            searches = _changed(
                {k: v for k, v in base_facts.items() if k.startswith("field ")},
                {k: v for k, v in after_facts.items() if k.startswith("field ")},
            )
            print(f"| {name} | {changed} | {changed / len(base):.1%} | {rebuilt} | {facts} ({searches}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
