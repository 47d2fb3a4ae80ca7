#!/usr/bin/env python3
"""Where the CLI's memory peaks and what its garbage collector costs (issue 14): one auditor command run in this
process, its resident memory sampled every 0.25 s with the stack of the main thread at each new high, and the time
spent in cyclic collections counted by generation.

    python benchmarks/peak.py check INVENTORY [auditor options...]
    python benchmarks/peak.py check inventory --diff-base HEAD --cache .auditor-cache --format json -o out.json

It prints each new high (MiB, then the innermost frames, innermost first), then the peak (``ru_maxrss``) and the
collections, on stderr, after the command's own output. Only this process is sampled: the embedded engine's workers
are processes of their own (a few hundred MiB at most), the CLI is what grows with the inventory. Session 9 found
the XL pull-request run's peak at the end of the evaluation, when every finding exists, and L's collections walking
the growing findings (docs/performance.md). It asserts nothing.
"""

from __future__ import annotations

import gc
import resource
import sys
import threading
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src")]

from auditor import cli  # noqa: E402


def _rss_mib() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() // 2**20


def main() -> int:
    main_thread = threading.get_ident()
    highs: list[tuple[int, str]] = []
    done = threading.Event()

    def sample() -> None:
        best = 0
        while not done.wait(0.25):
            rss = _rss_mib()
            if rss > best:
                best = rss
                frame = sys._current_frames().get(main_thread)
                stack = traceback.extract_stack(frame)[-6:] if frame is not None else []
                highs.append((rss, " <- ".join(f"{s.name}:{s.lineno}" for s in reversed(stack))))

    collections = {generation: [0, 0.0] for generation in (0, 1, 2)}
    started = [0.0]

    def collected(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            count = collections[info["generation"]]
            count[0] += 1
            count[1] += time.perf_counter() - started[0]

    gc.callbacks.append(collected)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sys.argv = ["auditor", *sys.argv[1:]]
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        done.set()
        sampler.join()
        gc.callbacks.remove(collected)
        for rss, where in highs[-12:]:
            print(f"{rss:6d} MiB  {where}", file=sys.stderr)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"peak (ru_maxrss): {peak} MiB; exit {code}", file=sys.stderr)
        spent = ", ".join(f"gen {g}: {n} in {s:.2f} s" for g, (n, s) in collections.items())
        print(f"cyclic collections: {spent}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
