"""Worker processes: how a pool of them is stopped, and how a worker dies with the process that started it.

Shared by the two places that start processes: the inventory loader's parsing helper (``inventory.loader``) and the
embedded engine's workers (``policy.regorus_engine``). A signal must stop a run within seconds and no worker may
outlive the CLI.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager, suppress
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# Seconds a terminated worker gets to exit before it is killed.
STOP_GRACE = 2.0

# Seconds to wait for killed workers to be reaped (they cannot refuse: only a kernel stuck on a device waits this long).
KILL_WAIT = 30.0


# SIGINT/SIGTERM held while worker processes start (:func:`starting`): how many blocks are open, what arrived.
_starting = 0
_held: list[int] = []


def held(signum: int) -> bool:
    """Called first by the CLI's SIGINT/SIGTERM handler: True when ``signum`` is held because worker processes are
    being started; it is raised again as soon as they are (:func:`starting`)."""
    if _starting:
        _held.append(signum)
        return True
    return False


@contextmanager
def starting() -> Iterator[None]:
    """Start worker processes without a signal landing halfway through a start (:class:`Pool` does it for each
    task it is handed): unwound mid-start, the CLI left a fork server's child reading a truncated start-up message
    (its traceback on stderr) and the executor in a state its shutdown could wait on for :data:`KILL_WAIT` seconds. A
    SIGINT or SIGTERM arriving meanwhile is raised again when the block ends, a few milliseconds later. Main thread
    only (where signal handlers run)."""
    global _starting
    _starting += 1
    try:
        yield
    finally:
        _starting -= 1
        if not _starting and _held:
            signum = _held[0]
            _held.clear()
            signal.raise_signal(signum)  # the CLI's handler runs now


class Pool(ProcessPoolExecutor):
    """The process pool every worker of auditor runs in: handing it a task may start a worker process (all of them
    at the first task when forking, one per task when none is idle with a fork server), so each ``submit`` holds
    SIGINT and SIGTERM until it returns (:func:`starting`)."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with starting():
            return super().submit(fn, *args, **kwargs)


def requested() -> int | None:
    """How many worker processes the user asked for (``AUDITOR_WORKERS``, a positive integer), or None."""
    env = os.environ.get("AUDITOR_WORKERS", "")
    return int(env) if env.isdigit() and int(env) > 0 else None


def cores() -> int:
    return os.cpu_count() or 1


def processes() -> int:
    """How many processes a run may keep busy at once: what the user asked for (``AUDITOR_WORKERS``), else one per
    core. A helper beside the CLI (the parsing helper, the keyer, the stored audit's check) needs two."""
    return requested() or cores()


def init_child() -> None:
    """What every worker process does first: ignore Ctrl-C (it reaches the whole process group: the CLI stops its
    workers), die on SIGTERM (a forked worker inherits the CLI's handler) and die with the CLI."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent()


def die_with_parent() -> None:
    """Ask Linux to kill this worker if the process that started it dies (SIGKILL on the CLI leaves no orphan)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        parent = os.getppid()
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the request
            os._exit(1)
    except (OSError, AttributeError):
        pass


def stop(pool: ProcessPoolExecutor) -> None:
    """Terminate a pool's workers now and return only when they are gone (SIGTERM, then SIGKILL after
    :data:`STOP_GRACE` seconds). The executor has no public way to do it before Python 3.14 (``terminate_workers``):
    its process table is read directly, and the workers' parent-death signal covers the case where that ever fails.

    The executor's manager thread reaps the workers too, asynchronously: when a worker died it has already taken
    the pool apart (``terminate_broken``) by the time the caller sees ``BrokenProcessPool``, and after a shutdown
    it joins every worker. Two threads waiting on the same process race (the loser's ``waitpid`` fails and it
    believes the process alive), so the workers are waited for through that thread: once it has ended, every
    worker has been reaped."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    for process in processes:
        with suppress(OSError, ValueError, AttributeError):
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    if _reaped(processes, manager, STOP_GRACE):
        return
    for process in processes:
        with suppress(OSError, ValueError, AttributeError):
            if process.is_alive():
                process.kill()
    # A killed process cannot refuse to die; the bound only keeps a kernel stuck on a device from hanging the CLI.
    _reaped(processes, manager, KILL_WAIT)


def _reaped(processes: Sequence[Any], manager: Any, seconds: float) -> bool:
    """Wait up to ``seconds`` for the pool's manager thread (or, without one, the processes) to reap every worker."""
    deadline = time.monotonic() + seconds
    if manager is not None and manager.is_alive():
        manager.join(seconds)
        if manager.is_alive():
            return False
    for process in processes:
        try:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                return False
        except (OSError, ValueError, AttributeError, AssertionError):
            pass
    return True
