#!/usr/bin/env python3
"""A/B of the pull-request run: two installations of auditor, one inventory, one sitting, runs alternated.

    python benchmarks/ab.py A_VENV B_VENV [--size XL] [--runs 3] [--seed 1] [--workdir DIR] [--engine embedded]
                            [--action]

This machine's speed moves by a third from one hour to the next (docs/performance.md, sessions 13 and 14), so a
change to the pull-request run is measured against the code it changes in the same sitting. ``A_VENV`` and
``B_VENV`` are virtual environments each holding an auditor (``make .venv/.installed`` in two clones, say main's
and the change's). For each: a cache filled by its own main-branch run (``check --cache`` on the base revision: the
code's digest is part of every key, so the two never share entries), kept as a template. Then one system is changed
as ``benchmarks/run.py --diff`` changes it, and ``check --diff-base HEAD --cache`` runs ``--runs`` times for each,
alternated (A, B, A, B...), each run from a fresh copy of its template. Printed: each run's wall and CPU seconds,
the largest process's peak RSS (``benchmarks/run.py``'s measures), the peak of the summed PSS of every process of
the run (the CLI, its helpers, the engine's workers; sampled every 0.25 s from ``/proc/PID/smaps_rollup`` on Linux),
the stage times, then medians and mean stages per side. It exits 2 when a run failed or any two reports differ:
figures of a different report compare nothing.

``--action`` times the pull request as the GitHub Action runs it (``action.yml``: ``--format github --sarif-output
FILE --sarif-max-results N`` with ``GITHUB_STEP_SUMMARY`` set: ``run.as_the_action``) instead of ``--format json``;
its report is then the annotations, the SARIF file and the job summary, all three compared. Both installations must
know ``--sarif-max-results`` (since 910c238).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import SIZES  # noqa: E402
from run import (  # noqa: E402
    STAGES,
    as_the_action,
    base_repository,
    change_one_system,
    generate,
    run_in_fresh_process,
    timings_of,
)


def _summed_pss(marker: str) -> int:
    """The summed PSS (kB) of the processes whose command line contains ``marker`` (0 where /proc cannot tell)."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker not in (proc / "cmdline").read_bytes().decode("utf-8", "replace"):
                continue
            for line in (proc / "smaps_rollup").read_text(encoding="utf-8").splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total


class PssPeak:
    """The peak summed PSS of a run's processes, sampled in a thread while the run lasts."""

    def __init__(self, marker: str) -> None:
        self.marker, self.peak_kb = marker, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self.peak_kb = max(self.peak_kb, _summed_pss(self.marker))

    def __enter__(self) -> PssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="virtual environment of side A (its bin/auditor is run)")
    ap.add_argument("b", type=Path, help="virtual environment of side B")
    ap.add_argument("--size", default="XL", choices=list(SIZES))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/auditor-bench"))
    ap.add_argument("--engine", default="embedded")
    ap.add_argument("--action", action="store_true", help="time the GitHub Action's command (annotations + SARIF)")
    args = ap.parse_args()
    sides = {"A": args.a.resolve(), "B": args.b.resolve()}
    for name, venv in sides.items():
        if not (venv / "bin" / "auditor").exists():
            ap.error(f"{name}: no {venv / 'bin' / 'auditor'}")
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    inv = generate(args.size, args.seed, workdir)
    repo = base_repository(inv, workdir / f"{args.size}-abrepo")
    common = ["check", "inventory", "--engine", args.engine, "--fail-on", "never"]

    def auditor(name: str) -> list[str]:
        return [str(sides[name] / "bin" / "auditor")]

    templates = {}
    for name in sides:
        template = workdir / f"ab-cache-{name}"
        if template.exists():
            shutil.rmtree(template)
        warm_argv = [*auditor(name), *common, "--format", "json", "--cache", str(template), "-o", os.devnull]
        warm, wall, rss, cpu = run_in_fresh_process(warm_argv, cwd=repo)
        if warm.returncode not in (0, 1):
            sys.stderr.write(f"{name}: the main-branch run failed: {warm.stderr[-500:]}\n")
            return 2
        print(f"{name}: main-branch run {wall:.2f} s / {cpu:.2f} CPU-s, peak RSS {rss:.0f} MiB", flush=True)
        templates[name] = template
    change_one_system(repo)

    results: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    reports: dict[str, set[str]] = {name: set() for name in sides}  # each run's report, by digest (XL: 855 MB)
    for i in range(args.runs):
        for name in sides:
            cache = workdir / f"ab-cache-{name}-run"
            if cache.exists():
                shutil.rmtree(cache)
            shutil.copytree(templates[name], cache)
            argv = [*auditor(name), *common, "--cache", str(cache), "--diff-base", "HEAD", "--timings"]
            env: dict[str, str] | None = None
            summary = workdir / f"ab-summary-{name}.md"
            if args.action:
                out = workdir / f"ab-report-{name}.sarif"
                summary.unlink(missing_ok=True)
                output, env = as_the_action(out, summary)
                argv += output
            else:
                out = workdir / f"ab-report-{name}.json"
                argv += ["--format", "json", "-o", str(out)]
            with PssPeak(str(sides[name])) as pss:
                proc, wall, rss, cpu = run_in_fresh_process(argv, cwd=repo, env=env)
            if proc.returncode not in (0, 1):
                sys.stderr.write(f"{name}: the pull-request run failed: {proc.stderr[-500:]}\n")
                return 2
            stages = timings_of(proc)
            row = {"wall": wall, "cpu": cpu, "rss": rss, "pss": pss.peak_kb / 1024}
            row.update({k: float(stages.get(k, 0.0)) for k in (*STAGES, "partitions evaluated")})
            results[name].append(row)
            with out.open("rb") as report:
                digest = hashlib.file_digest(report, "sha256").hexdigest()
            if args.action:  # the annotations and the job summary too
                digest += hashlib.sha256(proc.stdout.encode("utf-8") + summary.read_bytes()).hexdigest()
            reports[name].add(digest)
            shown = " ".join(f"{k} {row[k]:.2f}" for k in STAGES)
            print(
                f"run {i + 1} {name}: {wall:.2f} s / {cpu:.2f} CPU-s, peak RSS {rss:.0f} MiB, summed PSS "
                f"{row['pss']:.0f} MiB, {row['partitions evaluated']:.0f} partitions evaluated; {shown}",
                flush=True,
            )
    same = len(reports["A"] | reports["B"]) == 1
    print(f"every report of A and B identical: {'yes' if same else 'NO'}")
    for name, rows in results.items():
        walls = [r["wall"] for r in rows]
        mean = {k: statistics.fmean(r[k] for r in rows) for k in STAGES}
        print(
            f"{name}: wall median {statistics.median(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f}), CPU median "
            f"{statistics.median(r['cpu'] for r in rows):.2f} s, summed PSS up to {max(r['pss'] for r in rows):.0f} "
            f"MiB; mean stages: " + ", ".join(f"{k} {v:.2f}" for k, v in mean.items())
        )
    return 0 if same else 2


if __name__ == "__main__":
    sys.exit(main())
