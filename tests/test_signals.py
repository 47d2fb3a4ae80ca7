"""Signals: SIGTERM (``docker stop``, a cancelled CI job) and SIGINT (Ctrl-C) stop a run promptly, leave no engine
worker behind and no temporary file, and exit 143 / 130 with a one-line message (issue 15).

The CLI runs on a generated inventory large enough to be mid-evaluation when the signal arrives; readiness is polled
(the engine's worker processes exist) with generous bounds, and nothing asserts a wall-clock duration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import ROOT

from auditor.cli import Interrupted, write_output

PATIENCE = 300.0  # seconds: hang guards for a very busy machine, not timings


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (read from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _interrupt(
    inventory: Path,
    tmp_path: Path,
    signum: int,
    group: bool,
    children: int = 2,
    auditor: tuple[str, ...] = (sys.executable, "-m", "auditor"),
    options: tuple[str, ...] = (),
) -> tuple[int, str, set[int]]:
    """Start ``check -o``, wait until it has ``children`` child processes (2: its two engine workers run; 1: the
    helper that parses half of a large inventory while the CLI loads it), send ``signum`` (to the whole process
    group, as a terminal's Ctrl-C does, or to the CLI alone, as ``docker stop`` does); return the exit code, stderr
    and the children seen."""
    out = tmp_path / "report.json"
    proc = subprocess.Popen(
        [*auditor, "check", str(inventory), "--format", "json", "-o", str(out), *options],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "AUDITOR_WORKERS": "2"},
    )
    try:
        deadline = time.monotonic() + PATIENCE
        workers: set[int] = set()
        while len(workers) < children and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02 if children == 1 else 0.1)
            workers = _children(proc.pid)
        assert len(workers) >= children, f"{children} child processes never ran (exit {proc.poll()})"
        if children > 1:
            time.sleep(0.5)  # let them start evaluating
            workers |= _children(proc.pid)
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        _, err = proc.communicate(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, err, workers


def _assert_stopped(tmp_path: Path, workers: set[int]) -> None:
    deadline = time.monotonic() + PATIENCE
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)], "engine workers survived the CLI"
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "a temporary or partial output file was left"


# SIGTERM to the CLI alone (``docker stop``), SIGINT to the whole process group (a terminal's Ctrl-C): exit and message.
SIGNALS = pytest.mark.parametrize(
    ("signum", "group", "code", "name"),
    [(signal.SIGTERM, False, 143, "terminated (SIGTERM)"), (signal.SIGINT, True, 130, "interrupted (SIGINT)")],
)


def test_sigterm_stops_the_workers_and_exits_143(large_inventory: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, err, workers = _interrupt(large_inventory, out_dir, signal.SIGTERM, group=False)
    assert code == 143, err[-2000:]
    assert err.strip().splitlines() == ["auditor: terminated (SIGTERM); exit 143"], err[-2000:]
    _assert_stopped(out_dir, workers)


@SIGNALS
def test_a_signal_while_loading_stops_the_parsing_helper(
    large_inventory: Path, tmp_path: Path, signum: int, group: bool, code: int, name: str
) -> None:
    """Generated M (304 files) is parsed by the CLI and one helper process: a signal then stops both, as it stops
    the engine workers later (the helper ignores Ctrl-C: the CLI stops it)."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    got, err, helper = _interrupt(large_inventory, out_dir, signum, group=group, children=1)
    assert got == code, err[-2000:]
    assert err.strip().splitlines() == [f"auditor: {name}; exit {code}"], err[-2000:]
    _assert_stopped(out_dir, helper)


def test_ctrl_c_stops_the_workers_and_exits_130(large_inventory: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, err, workers = _interrupt(large_inventory, out_dir, signal.SIGINT, group=True)
    assert code == 130, err[-2000:]
    assert err.strip().splitlines() == ["auditor: interrupted (SIGINT); exit 130"], err[-2000:]
    _assert_stopped(out_dir, workers)


# The CLI with the keyer process (pipeline.Keyer) from the first partition on (M has ~300, below KEYER_MIN).
WITH_KEYER = (sys.executable, "-c", "from auditor import cli, pipeline; pipeline.KEYER_MIN = 1; cli.main()")


@SIGNALS
def test_a_signal_stops_the_keyer_and_the_workers(
    large_inventory: Path, tmp_path: Path, signum: int, group: bool, code: int, name: str
) -> None:
    """With --cache, a fork of the CLI (the keyer) builds the partitions while the engine workers evaluate those
    the cache does not hold (an empty cache: all of them): a signal stops the three of them (the keyer ignores
    Ctrl-C: the CLI stops it)."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cache = ("--cache", str(tmp_path / "cache"))
    got, err, children = _interrupt(large_inventory, out_dir, signum, group, 3, WITH_KEYER, cache)
    assert got == code, err[-2000:]
    assert err.strip().splitlines() == [f"auditor: {name}; exit {code}"], err[-2000:]
    _assert_stopped(out_dir, children)


HELD = """
import os, signal
from concurrent.futures import ProcessPoolExecutor
from auditor import cli, workers

def starting_a_worker(self, fn, /, *args, **kwargs):  # a signal lands while the pool starts a worker
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(100_000):  # bytecodes run: an unheld handler would have raised by now
        pass
    seen.append("started")

ProcessPoolExecutor.submit = starting_a_worker
cli.install_signal_handlers()
seen = []
try:
    workers.Pool(1).submit(print)  # every pool of auditor is a workers.Pool
except cli.Interrupted as exc:
    seen.append(f"interrupted {exc.signum}")
cli.install_signal_handlers()  # the first signal made the handlers ignore further ones
try:
    os.kill(os.getpid(), signal.SIGTERM)  # no start under way: raised at once
    for _ in range(100_000):
        pass
    seen.append("not interrupted")
except cli.Interrupted as exc:
    seen.append(f"interrupted {exc.signum}")
print(seen)
"""


def test_a_signal_while_workers_start_is_raised_once_they_have_started() -> None:
    """A signal landing in the middle of a worker process's start left a fork server's child reading a truncated
    start-up message (its traceback on the user's terminal) and, once in ten tries on L, an executor whose
    shutdown waited 30 s: a SIGTERM or SIGINT arriving while workers start is held until they have, then stops the
    run as any other."""
    proc = subprocess.run(
        [sys.executable, "-c", HELD],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=PATIENCE,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['started', 'interrupted 15', 'interrupted 15']", proc.stdout + proc.stderr


def test_an_interrupted_write_leaves_the_old_report_and_no_temporary_file(tmp_path: Path) -> None:
    """A signal while the report is being written (it is produced as it is written) must not leave half a report
    or the temporary file beside it."""
    report = tmp_path / "report.json"
    report.write_text("previous report\n", encoding="utf-8")

    def pieces() -> Iterator[str]:
        yield "{" + '"x": 1,' * 200_000  # more than one write
        raise Interrupted(signal.SIGTERM)

    with pytest.raises(Interrupted):
        write_output(pieces(), report)
    assert report.read_text(encoding="utf-8") == "previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
