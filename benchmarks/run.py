#!/usr/bin/env python3
"""Benchmark the auditor on the synthetic reference inventories (PRODUCT.md §7). Prints figures, no time limits.

    python benchmarks/run.py [--sizes S,M,L,XL] [--seed N] [--workdir DIR] [--engine embedded] [--diff]

For every size: generate the inventory with ``benchmarks/generate.py`` (cached in the workdir by size and seed),
then run ``auditor check --format json -o /dev/null --timings`` in a fresh subprocess and report:

* the per-stage wall time the pipeline measured (``auditor.pipeline.Timings``: load+validate, lineage,
  partitions, serialise, evaluate, findings, gate, format);
* the end-to-end wall time of the subprocess and its peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``, which
  covers the CLI and its engine worker processes: the largest of them, not their sum);
* the floor: time to parse the same files with PyYAML's C loader (``yaml.load(f, Loader=yaml.CSafeLoader)``),
  measured in another fresh subprocess, and the ratio check / floor;
* the growth between consecutive sizes: seconds per 1,000 systems and per 10k fields, and the time ratio against
  the size ratio (1.0 = linear growth).

``--diff`` also measures a pull-request run on the largest size: a copy of the inventory in a git repository, a
main-branch run filling a result cache (``--cache``), one system changed in the working tree, then
``check --diff-base HEAD --cache`` against a full run of the changed tree, and ``check --diff-base HEAD`` without a
cache (both revisions audited in one run: its time and peak memory; its report must be the cached run's, byte for
byte), then the same pull request as the GitHub Action runs it (``action.yml``: ``--format github --sarif-output``
and ``--sarif-max-results 25000``, with ``GITHUB_STEP_SUMMARY`` set) on a copy of the cache the main-branch run
filled (its SARIF's results must be the cached run's findings that matter most, in order: :func:`foremost`).

It exits 2 when a measured run was a tool error (exit 2 or 3) or the pull-request run's findings differ from the
full run's: such figures measure nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import mmap
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import SIZES  # noqa: E402

STAGES = ("load+validate", "lineage", "partitions", "serialise", "evaluate", "findings", "gate", "format")

_PARSE_FLOOR = """
import sys, time, pathlib, yaml
files = sorted(p for p in pathlib.Path(sys.argv[1]).rglob("*") if p.suffix in (".yaml", ".yml"))
t = time.perf_counter()
for p in files:
    with open(p, encoding="utf-8") as f:
        yaml.load(f, Loader=yaml.CSafeLoader)
print(time.perf_counter() - t)
"""


@dataclass
class Result:
    size: str
    systems: int
    fields: int
    flows: int
    mbytes: float
    exit_code: int
    wall: float
    rss_mib: float
    floor: float
    cpu: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    error: str = ""


def _auditor() -> list[str]:
    exe = Path(sys.executable).parent / "auditor"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "auditor"]


def generate(size: str, seed: int, workdir: Path) -> Path:
    out = workdir / f"{size}-seed{seed}"
    marker = out / ".complete"
    if not marker.exists():
        if out.exists():
            shutil.rmtree(out)
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), "--size", size, "--seed", str(seed), "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        marker.write_text("ok\n")
    return out


def run_in_fresh_process(
    argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    """Run ``argv`` in a fresh interpreter that reports its own children's peak RSS (MiB) and CPU time (user +
    system, s: the CLI and its engine workers), so sizes do not mix.

    The CPU time comes from ``perf stat -e task-clock`` when perf works here: above 500 partitions the engine's
    workers are started by a fork server, which the CLI does not wait for, so ``getrusage(RUSAGE_CHILDREN)`` misses
    their time (L and XL: most of it); perf counts every process the run starts. Without perf, getrusage's figure
    is printed (an undercount at L and XL)."""
    wrapper = (
        "import json, os, resource, shutil, subprocess, sys, tempfile, time\n"
        "argv = sys.argv[1:]\n"
        "fd, out = tempfile.mkstemp(suffix='.perf'); os.close(fd)\n"
        "perf = shutil.which('perf')\n"
        "if perf: argv = [perf, 'stat', '-e', 'task-clock', '-x', ',', '-o', out, '--', *argv]\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(argv, capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "sys.stdout.write(p.stdout)\n"
        "sys.stderr.write(p.stderr)\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "cpu = u.ru_utime + u.ru_stime\n"
        "for line in open(out, encoding='utf-8').read().splitlines():\n"
        "    parts = line.split(',')\n"
        "    if len(parts) > 2 and parts[2] == 'task-clock' and parts[1] == 'msec':\n"
        "        try: cpu = float(parts[0]) / 1000\n"
        "        except ValueError: pass\n"
        "os.unlink(out)\n"
        "sys.stderr.write('\\n@@' + json.dumps([p.returncode, wall, u.ru_maxrss / 1024, cpu]) + '\\n')\n"
    )
    environ = {**os.environ, **env} if env else None
    proc = subprocess.run([sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, cwd=cwd, env=environ)
    err, _, tail = proc.stderr.rpartition("\n@@")
    code, wall, rss, cpu = json.loads(tail)
    return subprocess.CompletedProcess(argv, code, proc.stdout, err), wall, rss, cpu


def measure(size: str, inv: Path, engine: str) -> Result:
    systems, fields, flows = SIZES[size]
    mbytes = sum(p.stat().st_size for p in inv.rglob("*.yaml")) / 1e6
    floor_run = subprocess.run(
        [sys.executable, "-c", _PARSE_FLOOR, str(inv)], capture_output=True, text=True, check=True
    )
    floor = float(floor_run.stdout.strip())
    argv = [*_auditor(), "check", str(inv), "--format", "json", "-o", os.devnull, "--engine", engine, "--timings"]
    proc, wall, rss, cpu = run_in_fresh_process(argv)
    stages: dict[str, float] = {}
    error = ""
    for line in proc.stderr.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                stages = json.loads(line)
        elif line.strip():
            error = line.strip()
    if proc.returncode in (0, 1):
        error = ""
    return Result(size, systems, fields, flows, mbytes, proc.returncode, wall, rss, floor, cpu, stages, error)


@dataclass
class DiffResult:
    full_wall: float
    full_cpu: float
    warm_wall: float
    warm_cpu: float
    warm_rss_mib: float
    diff_wall: float
    diff_cpu: float
    diff_rss_mib: float
    counts: dict[str, float]  # the --timings line of the pull-request run: stage times and counts
    same: bool
    cold_wall: float = 0.0  # check --diff-base HEAD without a cache: both revisions audited in the run
    cold_cpu: float = 0.0
    cold_rss_mib: float = 0.0
    cold_same: bool = False
    # The same pull request as the GitHub Action runs it (action.yml: annotations, a SARIF file, the job summary),
    # on a copy of the cache as the main-branch run left it.
    action_wall: float = 0.0
    action_cpu: float = 0.0
    action_rss_mib: float = 0.0
    action_counts: dict[str, float] = field(default_factory=dict)
    action_same: bool = False
    action_sarif_mib: float = 0.0


def base_repository(inv: Path, repo: Path) -> Path:
    """A fresh git repository at ``repo`` whose one commit holds a copy of ``inv`` as ``inventory/``."""
    if repo.exists():
        shutil.rmtree(repo)
    shutil.copytree(inv, repo / "inventory", ignore=shutil.ignore_patterns(".complete"))
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run([*git, *step], cwd=repo, check=True)
    return repo


def change_one_system(repo: Path) -> None:
    """The pull request every benchmark measures: one system's retention made indefinite in the working tree, the
    third system file by name. (It was written ``[len(SIZES) // 2]``, which reads like the middle system but is 2 at
    every size; kept, so that every session's figures measure the same edit. ``benchmarks/dirty.py`` edits the
    middle one.)"""
    target = sorted((repo / "inventory" / "systems").glob("*.yaml"))[2]
    text = target.read_text(encoding="utf-8")
    target.write_text(
        text.replace("retention:", "retention:\n      indefinite: true\n      # changed", 1), encoding="utf-8"
    )


def diff_run(size: str, inv: Path, engine: str, workdir: Path) -> DiffResult:
    """A pull-request run with one system changed: the full run, the warm-up run and ``--diff-base HEAD --cache``
    (wall and CPU seconds each), the pull-request run's stage times and counts, and whether its findings are
    identical to the full run's.

    The warm-up is what the main branch's job does: ``check --cache DIR`` on the base revision. The pull-request
    run then audits the working tree and the base revision, reading back every partition whose input is
    unchanged."""
    repo = base_repository(inv, workdir / f"{size}-diffrepo")
    common = [*_auditor(), "check", "inventory", "--format", "json", "--engine", engine, "--fail-on", "never"]
    cache = ["--cache", str(repo / ".auditor-cache")]
    warm, warm_wall, warm_rss, warm_cpu = run_in_fresh_process([*common, *cache, "-o", os.devnull], cwd=repo)
    change_one_system(repo)
    full, full_wall, _, full_cpu = run_in_fresh_process([*common, "-o", str(repo / "full.json")], cwd=repo)
    cold_argv = [*common, "--diff-base", "HEAD", "-o", str(repo / "cold.json")]
    cold, cold_wall, cold_rss, cold_cpu = run_in_fresh_process(cold_argv, cwd=repo)
    action_cache = repo / ".auditor-cache-action"
    shutil.copytree(repo / ".auditor-cache", action_cache)
    diff_argv = [*common, *cache, "--diff-base", "HEAD", "--timings", "-o", str(repo / "diff.json")]
    diff, diff_wall, diff_rss, diff_cpu = run_in_fresh_process(diff_argv, cwd=repo)
    sarif = repo / "action.sarif"
    output, summary = as_the_action(sarif, repo / "summary.md")
    action_argv = [*_auditor(), "check", "inventory", "--engine", engine, "--fail-on", "never", *output]
    action_argv += ["--cache", str(action_cache), "--diff-base", "HEAD", "--timings"]
    action, action_wall, action_rss, action_cpu = run_in_fresh_process(action_argv, cwd=repo, env=summary)
    same = cold_same = action_same = False
    runs = (warm, full, cold, diff, action)
    if all(p.returncode == 0 for p in runs):
        a = [f["fingerprint"] for f in json.loads((repo / "full.json").read_text(encoding="utf-8"))["findings"]]
        report = json.loads((repo / "diff.json").read_text(encoding="utf-8"))
        b = [f["fingerprint"] for f in report["findings"]]
        same = a == b
        cold_same = (repo / "cold.json").read_bytes() == (repo / "diff.json").read_bytes()
        # The SARIF's results, in order, are the report's findings that matter most.
        action_same = _sarif_fingerprints(sarif) == foremost(report, ACTION_SARIF_MAX_RESULTS)
        del report
    else:
        failed = " ".join(p.stderr[-300:] for p in runs)
        sys.stderr.write(f"diff run failed: {failed}\n")
    return DiffResult(
        full_wall, full_cpu, warm_wall, warm_cpu, warm_rss, diff_wall, diff_cpu, diff_rss, timings_of(diff), same,
        cold_wall, cold_cpu, cold_rss, cold_same, action_wall, action_cpu, action_rss, timings_of(action), action_same,
        sarif.stat().st_size / 2**20 if sarif.exists() else 0.0,
    )  # fmt: skip


# What the action asks for when it uploads the SARIF: its sarif-max-results input's default, read from action.yml.
ACTION_SARIF_MAX_RESULTS = int(
    yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["inputs"]["sarif-max-results"]["default"]
)


def as_the_action(sarif: Path, summary: Path) -> tuple[list[str], dict[str, str]]:
    """The output options and environment of ``auditor check`` as the GitHub Action runs it (``action.yml``:
    annotations on stdout, the SARIF file holding at most the results code scanning takes, the job summary appended
    to ``$GITHUB_STEP_SUMMARY``)."""
    output = ["--quiet", "--format", "github", "--sarif-output", str(sarif)]
    output += ["--sarif-max-results", str(ACTION_SARIF_MAX_RESULTS)]
    return output, {"GITHUB_STEP_SUMMARY": str(summary)}


def foremost(report: dict[str, Any], n: int) -> list[str]:
    """The fingerprints a SARIF limited to ``n`` results holds, worked out from the JSON report of the same run by
    sorting all its findings (``GateReport.foremost`` picks them without a sort): open before waived or baselined,
    new before unchanged, the most severe, then report order; in report order."""
    found = report["findings"]
    new = set(report["gate"]["new"]) if report["gate"]["diff_base"] is not None else None
    rank = {"error": 0, "warning": 1, "info": 2}

    def key(i: int) -> tuple[bool, bool, int, int]:
        f = found[i]
        return (f["status"] != "open", new is not None and f["fingerprint"] not in new, rank[f["severity"]], i)

    return [found[i]["fingerprint"] for i in sorted(sorted(range(len(found)), key=key)[:n])]


# The count `check --timings` gives when the keyer failed or died (auditor.pipeline.audit).
KEYER_STOPPED = "keyer stopped early (the rest built by this process)"


def timings_of(run: subprocess.CompletedProcess[str]) -> dict[str, float]:
    """The ``--timings`` line of a run's stderr: stage times and counts. A run whose keyer stopped early gave the right
    report the slow way: said loudly, since its figures measure a defect, not the code."""
    counts: dict[str, float] = {}
    for line in run.stderr.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                counts = json.loads(line)
    if counts.get(KEYER_STOPPED):
        command = " ".join(map(str, run.args)) if isinstance(run.args, list) else str(run.args)
        sys.stderr.write(f"WARNING: {command}: {KEYER_STOPPED}\n")
    return counts


def _sarif_fingerprints(path: Path) -> list[str]:
    """The fingerprints of a SARIF file's results, in order, read without parsing it (XL's is ~1.7 GB)."""
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return [m.group(1).decode("ascii") for m in re.finditer(rb'"auditorFingerprint/v1": "([0-9a-f]+)"', data)]


def _stages(counts: dict[str, float]) -> str:
    stages = {k: v for k, v in counts.items() if not k.startswith(("partitions ", "inventory files "))}
    return ", ".join(f"{k} {v:.2f}" for k, v in sorted(stages.items()))


def _fmt(x: float | None) -> str:
    return "-" if x is None else (f"{x:.2f}" if x < 100 else f"{x:.0f}")


def table(results: list[Result]) -> str:
    present = [s for s in STAGES if any(s in r.stages for r in results)]
    head = [
        "size",
        "systems",
        "fields",
        "flows",
        "MB",
        *present,
        "check wall s",
        "check CPU s",
        "peak RSS MiB",
        "C-loader s",
        "ratio",
        "exit",
    ]
    rows = [head]
    for r in results:
        rows.append(
            [
                r.size,
                str(r.systems),
                str(r.fields),
                str(r.flows),
                f"{r.mbytes:.1f}",
                *(_fmt(r.stages.get(s)) for s in present),
                _fmt(r.wall),
                _fmt(r.cpu),
                f"{r.rss_mib:.0f}",
                _fmt(r.floor),
                f"{r.wall / r.floor:.1f}x" if r.floor else "-",
                str(r.exit_code),
            ]
        )
    out = ["| " + " | ".join(row) + " |" for row in rows]
    out.insert(1, "|" + "|".join("---" for _ in head) + "|")
    return "\n".join(out)


def growth(results: list[Result]) -> str:
    lines = [
        "| from → to | s per 1,000 systems | s per 10k fields | time ratio | size ratio | linear? |",
        "|---|---|---|---|---|---|",
    ]
    for a, b in itertools.pairwise(results):
        d_sys = (b.systems - a.systems) / 1000
        d_fields = (b.fields - a.fields) / 10_000
        dt = b.wall - a.wall
        time_ratio = b.wall / a.wall if a.wall else float("inf")
        size_ratio = (b.fields + b.flows) / (a.fields + a.flows)
        verdict = "yes" if time_ratio <= size_ratio * 1.25 else "no (super-linear)"
        lines.append(
            f"| {a.size} → {b.size} | {dt / d_sys:.2f} | {dt / d_fields:.2f} | {time_ratio:.1f} "
            f"| {size_ratio:.1f} | {verdict} |"
        )
    return "\n".join(lines)


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
        ram = f"{int(mem.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        ram = "?"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    python = sys.version.split()[0]
    return f"nproc {os.cpu_count()}, CPU {model}, RAM {ram}, load average at start {load:.1f}, Python {python}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="S,M,L,XL")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "auditor-bench")
    ap.add_argument("--engine", default="embedded")
    ap.add_argument("--diff", action="store_true", help="also time check --diff-base with one system changed")
    args = ap.parse_args()
    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        ap.error(f"unknown size {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    print(f"command: {' '.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}")
    results: list[Result] = []
    for size in sizes:
        t = time.perf_counter()
        inv = generate(size, args.seed, args.workdir)
        gen = time.perf_counter() - t
        r = measure(size, inv, args.engine)
        results.append(r)
        note = f" ERROR: {r.error}" if r.error else ""
        print(
            f"{size}: check {r.wall:.2f} s (exit {r.exit_code}), floor {r.floor:.2f} s, gen/cache {gen:.1f} s{note}",
            flush=True,
        )
    print()
    print(table(results))
    if len(results) > 1:
        print()
        print(growth(results))
    if args.diff:
        size = sizes[-1]
        d = diff_run(size, generate(size, args.seed, args.workdir), args.engine, args.workdir)
        c = d.counts
        evaluated = int(c.get("partitions evaluated", -1))
        total = evaluated + int(c.get("partitions reused", 0))
        print()
        print(f"pull-request run on {size}, one system changed (wall s / CPU s):")
        print(f"- full check of the changed tree, no cache: {d.full_wall:.2f} / {d.full_cpu:.2f}")
        print(
            f"- main-branch run filling the cache (check --cache): {d.warm_wall:.2f} / {d.warm_cpu:.2f}, "
            f"peak RSS {d.warm_rss_mib:.0f} MiB"
        )
        print(
            f"- check --diff-base HEAD without a cache (both revisions audited): {d.cold_wall:.2f} / "
            f"{d.cold_cpu:.2f}, peak RSS {d.cold_rss_mib:.0f} MiB; report identical to the cached run's: "
            f"{'yes' if d.cold_same else 'NO'}"
        )
        parsed = int(c.get("inventory files parsed", -1))
        read_back = int(c.get("inventory files read back", -1))
        print(
            f"- check --diff-base HEAD --cache: {d.diff_wall:.2f} / {d.diff_cpu:.2f}, "
            f"peak RSS {d.diff_rss_mib:.0f} MiB, {evaluated} of {total} partitions evaluated, "
            f"{int(c.get('partitions not built (inputs unchanged)', 0))} not even built (their inputs the base "
            f"audit's); working-tree files "
            f"parsed {parsed}, read back from the cache {read_back}; "
            f"identical findings to the full run: {'yes' if d.same else 'NO'}"
        )
        print(f"- its stages, wall s (the working tree's; gate = the base revision: read, load, audit): {_stages(c)}")
        print(
            f"- the same pull request as the GitHub Action runs it (--format github --sarif-output, the job summary; "
            f"a copy of the cache the main-branch run filled): {d.action_wall:.2f} / {d.action_cpu:.2f}, peak RSS "
            f"{d.action_rss_mib:.0f} MiB, SARIF {d.action_sarif_mib:.0f} MiB; its results are the "
            f"findings of the run above that matter most, at most {ACTION_SARIF_MAX_RESULTS:,}: "
            f"{'yes' if d.action_same else 'NO'}; its stages: {_stages(d.action_counts)}"
        )
        if not (d.same and d.cold_same and d.action_same):
            return 2
    # Figures of a run that failed measure nothing: a tool error (exit 2 or 3) fails the benchmark (and CI's smoke job).
    return 2 if any(r.exit_code not in (0, 1) for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
