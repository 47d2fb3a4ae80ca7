#!/usr/bin/env python3
"""What writing a JSON report costs per finding, by the number of findings orjson dumps in one call (``SLICE`` of
``auditor.formats.jsonstream``).

    python benchmarks/report_write.py [--findings 400000] [--slices 1,100,1000] [--rounds 2]

Builds ``--findings`` findings shaped like XL's (the same rule, message, remediation and location lengths), then writes
the JSON report's findings list to a temporary file as the CLI writes it (``cli._write_fd`` over
``jsonstream.chunks``) once per slice size and round, alternated, and prints the seconds of each. Every output is
compared with the first: a slice size that changed a byte would be an error (exit 1). It asserts no speed.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src")]

from auditor import cli  # noqa: E402
from auditor.errors import Location  # noqa: E402
from auditor.findings import Finding  # noqa: E402
from auditor.formats import json_format, jsonstream  # noqa: E402


def findings(n: int) -> list[Finding]:
    return [
        Finding(
            f"{i:020x}",
            "creality.retention.excess_on_flow",
            "III.IV",
            "policy",
            "warning",
            "violation",
            "Flow carrying data its purpose does not need",
            f"flow flow.web-portal-{i // 90:05d}.012 carries web-portal-{i // 90:05d}.member_id (user.unique_id) for "
            f"update (UPDATE), which does not need that category ({i})",
            "flow",
            f"flow.web-portal-{i // 90:05d}.012",
            "fields.2",
            Location(f"inventory/systems/web-portal-{i // 90:05d}.yaml", i % 5000 + 1, 69),
            (),
            "Drop the field from the flow, or send it under the purpose that needs it (its own flow, its own legal "
            "basis).",
        )
        for i in range(n)
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--findings", type=int, default=400_000)
    ap.add_argument("--slices", default="1,100,1000")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    found = findings(args.findings)
    gc.freeze()  # as the CLI holds its findings: built once, never collected
    sizes = [int(s) for s in args.slices.split(",")]
    digests: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        for round_ in range(args.rounds):
            for size in sizes:
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                started = time.perf_counter()
                chunks = jsonstream.chunks({"findings": None}, ("findings",), found, json_format.finding_dict, size)
                cli._write_fd(fd, chunks)
                os.close(fd)
                took = time.perf_counter() - started
                digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
                print(
                    f"round {round_ + 1}, slices of {size}: {took:.3f} s ({took / len(found) * 1e6:.2f} µs a finding)"
                )
    if len(digests) != 1:
        print("the slice sizes wrote different bytes", file=sys.stderr)
        return 1
    print("every output identical")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
