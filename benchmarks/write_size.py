#!/usr/bin/env python3
"""What writing a large report costs the kernel, by the most bytes one ``os.write`` is given.

    python benchmarks/write_size.py [--mb 855] [--caps 65536,1048576] [--rounds 2] [--dir DIR]

Writes ``--mb`` MB into a new file in ``--dir`` (default: the system's temporary directory) as the CLI writes a
report: pieces of JSON made by orjson, joined into ~1 MB batches, each batch written by ``os.write`` calls of at most
``cap`` bytes (``cli.WRITE_MAX`` is that cap). Prints wall, user and system seconds per cap and round, alternated; the
file is deleted after each. It asserts no speed: on this project's machines (Linux 6.18 in a VM, session 27) writes of
128 KB and more took 6-10x the kernel time of writes of 64 KB, which is why the CLI caps them.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import orjson


def _used() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def write(path: Path, total: int, cap: int) -> tuple[float, float, float]:
    """Wall, user and system seconds to write ``total`` bytes of report-like JSON into ``path``, at most ``cap`` bytes
    an ``os.write``."""
    piece = orjson.dumps([{"message": "m" * 800, "line": i} for i in range(100)], option=orjson.OPT_INDENT_2)
    user, system = _used()
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        written = 0
        batch: list[bytes] = []
        size = 0
        while written < total:
            batch.append(b"," + piece)  # a new object each time, as each slice of findings is
            size += len(piece) + 1
            if size >= 1 << 20:
                data = memoryview(b"".join(batch))
                batch, size = [], 0
                written += len(data)
                while data:
                    data = data[os.write(fd, data[:cap]) :]
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - started
    user2, system2 = _used()
    return elapsed, user2 - user, system2 - system


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=855, help="MB to write (XL's JSON report: 855)")
    ap.add_argument("--caps", default="65536,1048576", help="most bytes an os.write is given, comma-separated")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = ap.parse_args()
    caps = [int(c) for c in args.caps.split(",")]
    print(f"{args.mb} MB into {args.dir}, kernel {os.uname().release}")
    for r in range(args.rounds):
        for cap in caps:
            path = args.dir / f"auditor-write-size-{os.getpid()}.bin"
            try:
                wall, user, system = write(path, args.mb * 1_000_000, cap)
            finally:
                path.unlink(missing_ok=True)
            shown = f"{wall:.2f} s wall, {user:.2f} user, {system:.2f} system"
            print(f"round {r + 1}, writes of at most {cap:,} bytes: {shown}")
            time.sleep(1)  # let writeback settle between the two
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
