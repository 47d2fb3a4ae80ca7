#!/usr/bin/env python3
"""Where one run of the CLI spends its wall time, phase by phase, timed from outside the code.

    python benchmarks/phases.py [--python PY] [--cwd DIR] -- check inventory --cache C --diff-base HEAD ...

``--timings`` adds up stages that overlap (with ``--cache`` a keyer process builds the partitions while the CLI reads
their findings back), so it cannot say what a run waits for. This runs the CLI of the interpreter ``PY`` (default:
this one; give another installation's ``.venv/bin/python`` to time it) in a fresh process, with marks wrapped around
a few of its functions: the gate's inputs (``ci.prepare``), ``pipeline.load``, ``pipeline.audit``, the keyer's
batches, the engine's pool, ``ci.build`` and ``cli.write_output``. Nothing is installed or edited: the installation's
source, whose digest keys every cache entry, stays as it is, so a warm cache stays warm. It prints each phase's
start and length, then the run's exit code and wall time. It asserts nothing; a mark that no longer exists (a
function renamed) is named on stderr and its phases left out.

Session 18's table of the XL pull request (docs/performance.md) was taken this way.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

# Run as ``python -c``: no __main__ file for a fork server to import again.
WRAPPER = r"""
import json, sys, time
from contextlib import contextmanager
T0 = time.perf_counter()
marks = {}
missing = []

def mark(name):
    marks.setdefault(name, time.perf_counter() - T0)

def last(name):
    marks[name] = time.perf_counter() - T0

def wrap(module, name, label):
    real = getattr(module, name, None)
    if real is None:
        missing.append(f"{module.__name__}.{name}")
        return
    def timed(*args, **kwargs):
        mark(label + " start")
        try:
            return real(*args, **kwargs)
        finally:
            last(label + " end")
    setattr(module, name, timed)

from auditor import ci, cli, pipeline
wrap(ci, "prepare", "gate inputs")
wrap(pipeline, "load", "load")
wrap(pipeline, "audit", "audit")
wrap(ci, "build", "gate")
wrap(cli, "write_output", "format")
keyer = getattr(pipeline, "Keyer", None)
if keyer is not None:
    batches = keyer.batches
    def timed_batches(self):
        for batch in batches(self):
            mark("first keys")
            last("last keys")
            yield batch
    keyer.batches = timed_batches
try:
    from auditor.policy import regorus_engine
    pool = regorus_engine._pool
    @contextmanager
    def timed_pool(*args, **kwargs):
        mark("engine pool start")
        with pool(*args, **kwargs) as p:
            yield p
    regorus_engine._pool = timed_pool
except (ImportError, AttributeError):
    missing.append("auditor.policy.regorus_engine._pool")

code = 0
sys.argv = ["auditor", *sys.argv[1:]]
try:
    cli.main()
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
finally:
    sys.stderr.write("\nAUDITOR-PHASES " + json.dumps({"marks": marks, "missing": missing}) + "\n")
sys.exit(code)
"""

# (phase, from mark, to mark, runs with a keyer: True, False, or None for both), in the order a run goes through them;
# a phase whose marks are absent is left out.
PHASES = (
    ("start (imports, pack, engine)", None, "gate inputs start", None),
    ("gate inputs (base revision, stored audit)", "gate inputs start", "gate inputs end", None),
    ("load", "load start", "load end", None),
    ("audit until the keyer's first keys", "audit start", "first keys", True),
    ("keyer's batches", "first keys", "last keys", True),
    ("audit after the last keys", "last keys", "audit end", True),
    ("audit", "audit start", "audit end", False),
    ("gate", "gate start", "gate end", None),
    ("format (written)", "format start", "format end", None),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the installation to time")
    parser.add_argument("--cwd", default=None, help="the directory to run in")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the CLI's arguments, after --")
    opts = parser.parse_args()
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args
    started = time.perf_counter()
    proc = subprocess.run(
        [opts.python, "-c", WRAPPER, *args],
        cwd=opts.cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    found = [line for line in proc.stderr.splitlines() if line.startswith("AUDITOR-PHASES ")]
    other = [line for line in proc.stderr.splitlines() if line and not line.startswith("AUDITOR-PHASES ")]
    if not found:
        sys.stderr.write("\n".join(other[-20:]) + "\nno phases reported: the CLI did not get as far as its end\n")
        return 2
    report = json.loads(found[-1][len("AUDITOR-PHASES ") :])
    marks: dict[str, float] = report["marks"]
    for name in report["missing"]:
        sys.stderr.write(f"mark not set, its phases left out: {name} no longer exists\n")
    keyer = "first keys" in marks
    print("| phase | from s | seconds |")
    print("|---|---|---|")
    end = 0.0
    for phase, first, second, with_keyer in PHASES:
        if with_keyer not in (None, keyer) or (first is not None and first not in marks) or second not in marks:
            continue
        begin = marks[first] if first is not None else 0.0
        print(f"| {phase} | {begin:.2f} | {marks[second] - begin:.2f} |")
        end = max(end, marks[second])
    if "engine pool start" in marks:
        print(f"| (the engine's pool started at {marks['engine pool start']:.2f}) | | |")
    print(f"| after the output, to the process's exit | {end:.2f} | {wall - end:.2f} |")
    print(f"\nexit {proc.returncode}, wall {wall:.2f} s (marks from the wrapper's start, ~0.1 s after the process's)")
    for line in other[-5:]:
        print(f"stderr: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
