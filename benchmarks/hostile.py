#!/usr/bin/env python3
"""Hostile inputs at and beyond the limits: peak memory and CPU time of ``auditor check`` on each (issue 15, point 11).

    python benchmarks/hostile.py [--workdir DIR] [--cases a,b,...] [--engine embedded]

Each case writes a small hostile inventory (deterministic), runs ``auditor check <inv> --format json -o /dev/null``
in a fresh process (``run_in_fresh_process`` of benchmarks/run.py) and prints its exit code, the first line it printed
on stderr, its CPU time (every process of the run) and the peak RSS of its process tree (the largest process). It
asserts nothing: the unit tests assert the located refusals, this script measures what they cost, and what the
accepted worst cases cost.

Cases (the limits are in src/auditor/inventory/loader.py and yamlsafe.py, documented in docs/security.md):

- ``repeat-list``: the campaign's 3.4 MB file, one flow listing the same field 200,000 times (6.2 GB before);
- ``anchor-20k``: the campaign's 223 KB file, a 20,000-id anchor reused by 4 flows (5.4 GB and 5 minutes before);
- ``anchor-spread``: the same ids as 10,000-item anchors in 20 flows (every list within the list limit);
- ``sparse-3gb``: a 3 GB sparse file named ``*.yaml`` (read whole before the size check, 3.1 GB, before);
- ``alias-bomb``: nested aliases expanding past the node limit;
- ``partition-limit``: accepted, one system whose policy input is just under MAX_PARTITION_ITEMS (fields and flows
  carrying them): the largest engine input the loader lets through;
- ``list-limit``: accepted, a system with MAX_LIST_ITEMS fields and one flow carrying them all;
- ``waivers-100k``: accepted, a small inventory with 100,000 waivers (matched through an index).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(HERE)]

from run import run_in_fresh_process  # noqa: E402

from auditor.inventory.loader import MAX_LIST_ITEMS, MAX_PARTITION_ITEMS  # noqa: E402

HEAD = """\
purposes:
  - id: support
    name: Customer support
    policy_purpose: FACILITATE
systems:
  - id: app
    name: App
    kind: app
    operator: first_party
    jurisdiction: EU
    subject_jurisdictions: [EU]
    fields:
"""
CRM = """\
  - id: crm
    name: CRM
    kind: saas
    operator: third_party
    jurisdiction: US
"""


def _fields(n: int) -> str:
    return "".join(
        f"      - id: app.f{i}\n        category: user.contact.email\n        purposes: [support]\n" for i in range(n)
    )


def _flow(k: int, fields: str) -> str:
    return f"  - id: fl{k}\n    from: app\n    to: crm\n    purpose: support\n    fields: {fields}\n"


def repeat_list(d: Path) -> None:
    body = HEAD + _fields(1) + CRM + "flows:\n" + _flow(0, "").rstrip(" \n") + "\n"
    body += "".join("      - app.f0\n" for _ in range(200_000))
    (d / "a.yaml").write_text(body, encoding="utf-8")


def anchor_20k(d: Path) -> None:
    ids = ", ".join(["app.f0"] * 20_000)
    flows = _flow(0, f"&ids [{ids}]") + "".join(_flow(k, "*ids") for k in range(1, 4))
    (d / "a.yaml").write_text(HEAD + _fields(1) + CRM + "flows:\n" + flows, encoding="utf-8")


def anchor_spread(d: Path) -> None:
    ids = ", ".join(["app.f0"] * MAX_LIST_ITEMS)
    flows = _flow(0, f"&ids [{ids}]") + "".join(_flow(k, "*ids") for k in range(1, 20))
    (d / "a.yaml").write_text(HEAD + _fields(1) + CRM + "flows:\n" + flows, encoding="utf-8")


def sparse_3gb(d: Path) -> None:
    (d / "a.yaml").write_text(HEAD + _fields(1), encoding="utf-8")
    with open(d / "huge.yaml", "wb") as handle:
        handle.truncate(3 * 1024**3)


def alias_bomb(d: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    prev = "a"
    for n in "bcdefghij":
        lines.append(f"{n}: &{n} [" + ",".join([f"*{prev}"] * 10) + "]")
        prev = n
    (d / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "a.yaml").write_text(HEAD + _fields(1), encoding="utf-8")


def partition_limit(d: Path) -> None:
    # A system's input: its fields (1 + 1 purpose each), the fields of its flows; the recipient receives them once.
    n = 2_000
    flows = (MAX_PARTITION_ITEMS - 2 * n) // n - 1
    ids = ", ".join(f"app.f{i}" for i in range(n))
    text = HEAD + _fields(n) + CRM + "flows:\n" + _flow(0, f"&ids [{ids}]")
    text += "".join(_flow(k, "*ids") for k in range(1, flows))
    (d / "a.yaml").write_text(text, encoding="utf-8")


def list_limit(d: Path) -> None:
    ids = ", ".join(f"app.f{i}" for i in range(MAX_LIST_ITEMS))
    (d / "a.yaml").write_text(HEAD + _fields(MAX_LIST_ITEMS) + CRM + "flows:\n" + _flow(0, f"[{ids}]"), "utf-8")


def waivers_100k(d: Path) -> None:
    """A small inventory with 100,000 waivers (80 s of matching as a scan, before): the waivers file sits beside the
    inventory directory and is passed with --waivers (see EXTRA_ARGS)."""
    (d / "inv").mkdir()
    (d / "inv" / "a.yaml").write_text(HEAD + _fields(1), encoding="utf-8")
    entries = "".join(
        f"  - rule: creality.x.rule{i % 97}\n    subject: field/app.f{i}\n    justification: j\n"
        f"    owner: o@example.com\n    expires: 2099-12-31\n"
        for i in range(100_000)
    )
    (d / "waivers.yaml").write_text("waivers:\n" + entries, encoding="utf-8")


CASES: dict[str, Callable[[Path], None]] = {
    "repeat-list": repeat_list,
    "anchor-20k": anchor_20k,
    "anchor-spread": anchor_spread,
    "sparse-3gb": sparse_3gb,
    "alias-bomb": alias_bomb,
    "list-limit": list_limit,
    "partition-limit": partition_limit,
    "waivers-100k": waivers_100k,
}
# Cases whose inventory is a subdirectory, with extra arguments (relative to the case directory).
EXTRA_ARGS: dict[str, tuple[str, list[str]]] = {"waivers-100k": ("inv", ["--waivers", "waivers.yaml"])}


def run(case: str, workdir: Path, engine: str) -> tuple[int, str, float, float, float, int]:
    d = workdir / case
    if not d.exists():
        d.mkdir(parents=True)
        CASES[case](d)
    size = sum(f.stat().st_blocks * 512 for f in d.rglob("*") if f.is_file())
    inventory, extra = EXTRA_ARGS.get(case, ("", []))
    argv = [sys.executable, "-m", "auditor", "check", str(d / inventory), "--format", "json", "-o", os.devnull]
    proc, wall, peak_mib, cpu = run_in_fresh_process([*argv, "--engine", engine, *extra], cwd=d)
    first = next((line for line in proc.stderr.splitlines() if line.strip()), "")
    return proc.returncode, first, cpu, wall, peak_mib, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "auditor-hostile")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--engine", default="embedded")
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = str(ROOT / "src")  # the runs measure this checkout, installed or not
    print(f"engine {args.engine}; limits: list {MAX_LIST_ITEMS:,} items, policy input {MAX_PARTITION_ITEMS:,} items")
    print("| case | on-disk MB | exit | first line of stderr | CPU s | wall s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        code, first, cpu, wall, peak, size = run(case, args.workdir, args.engine)
        shown = first if len(first) <= 110 else first[:107] + "..."
        print(f"| {case} | {size / 1e6:.1f} | {code} | {shown} | {cpu:.1f} | {wall:.1f} | {peak:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
