#!/usr/bin/env python3
"""What writing a large report costs the kernel, by the most bytes one ``os.write`` is given.

    python benchmarks/write_size.py [--mb 855] [--caps 65536,1048576] [--rounds 2] [--dir DIR]

Writes ``--mb`` MB of pieces of JSON made by orjson into a new file in ``--dir`` (default: the system's temporary
directory) with the CLI's own writer (``cli._write_fd``: ~1 MB batches, each written by ``os.write`` calls of at
most ``cli.WRITE_MAX`` bytes), that cap set to each of ``--caps`` in turn. Prints wall, user and system seconds per
cap and round, alternated; the file is deleted after each. It asserts no speed: on this project's machines (Linux
6.18 in a VM, session 27) writes of 128 KB and more took, for ten minutes, 6-10x the kernel time of writes of 64 KB,
and at other times 64 KB writes cost a little more: the CLI caps them to bound the worst case.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src")]

from auditor import cli  # noqa: E402


def _used() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _pieces(total: int) -> Iterator[bytes]:
    """``total`` bytes of report-like JSON, a new object each time, as each slice of findings is."""
    piece = orjson.dumps([{"message": "m" * 800, "line": i} for i in range(100)], option=orjson.OPT_INDENT_2)
    for _ in range(total // (len(piece) + 1) + 1):
        yield b"," + piece


def write(path: Path, total: int, cap: int) -> tuple[float, float, float]:
    """Wall, user and system seconds to write ``total`` bytes into ``path`` with the CLI's writer, at most ``cap``
    bytes an ``os.write``."""
    cli.WRITE_MAX = cap
    user, system = _used()
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        cli._write_fd(fd, _pieces(total))
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
