"""A progress bar on stderr for long audits (``check``, ``report``, ``lineage``): partitions evaluated / total and an
ETA, drawn with rich.

It is only ever drawn for a person watching a terminal: never when stderr is not a terminal (a pipe, a file, a CI
log), never in CI (``CI`` set to anything but ``false``/``0``), never when a machine-readable format goes to stdout
(the person is reading that output, and a bar would be noise in a copy-paste), never with ``--quiet``. Even then it
appears only once the run is expected to last more than ~2 s, so ordinary runs stay silent. It is transient (erased
when the audit ends) and writes to stderr only: stdout is byte-identical with and without it.

The pipeline reports one tick per partition result (:func:`auditor.pipeline.audit`'s ``progress`` callback), so the
bar does not depend on which engine evaluates. Rendering is manual (no refresh thread): the engine may start worker
processes at any time, and forking while a rendering thread holds a lock is a classic deadlock.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

SHOW_AFTER = 2.0  # seconds: a run expected to last less than this shows nothing
MIN_OBSERVED = 0.5  # seconds of observation before trusting a projection of the total
REFRESH_EVERY = 0.1  # seconds between two redraws

Clock = Callable[[], float]


def wanted(*, quiet: bool, stderr_tty: bool, env: Mapping[str, str], fmt: str, to_stdout: bool) -> bool:
    """Whether this run may draw a progress bar at all (it still waits to be worth drawing: :func:`worth_showing`)."""
    if quiet or not stderr_tty:
        return False
    ci = env.get("CI", "").strip().lower()
    if ci not in ("", "false", "0", "no"):
        return False
    if env.get("TERM", "") == "dumb":
        return False
    return not (fmt != "text" and to_stdout)


def worth_showing(elapsed: float, done: int, total: int) -> bool:
    """Whether a run that has taken ``elapsed`` seconds for ``done`` of ``total`` partitions is expected to last more
    than :data:`SHOW_AFTER` seconds (projected linearly once :data:`MIN_OBSERVED` seconds have been seen)."""
    if total <= 0 or done >= total:
        return False
    if elapsed >= SHOW_AFTER:
        return True
    if elapsed < MIN_OBSERVED or done <= 0:
        return False
    return elapsed * total / done > SHOW_AFTER


def eta(elapsed: float, done: int, total: int) -> str:
    """Time left as H:MM:SS, from the average pace since the run started. Partitions come back in chunks, so the
    pace over the last few seconds (rich's own estimate) swings from seconds to minutes; the average does not."""
    if done <= 0 or total <= done:
        return "0:00:00" if total and total <= done else "-:--:--"
    left = round(elapsed * (total - done) / done)
    return f"{left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d}"


class Progress:
    """The ``progress`` callback of :func:`auditor.pipeline.audit`, drawing a rich bar on stderr when
    :func:`worth_showing` says so. Use as a context manager: the bar is erased on exit, error or not."""

    def __init__(self, description: str = "evaluating partitions", clock: Clock = time.monotonic) -> None:
        self._description = description
        self._clock = clock
        self._started = clock()
        self._last_draw = 0.0
        self._bar: Any = None
        self._task: Any = None
        self.shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        if self._bar is None:
            if not worth_showing(now - self._started, done, total):
                return
            self._start(total)
        if done < total and now - self._last_draw < REFRESH_EVERY:
            return
        self._last_draw = now
        self._bar.update(
            self._task, completed=done, total=total, eta=eta(now - self._started, done, total), refresh=True
        )

    def _start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
        from rich.progress import Progress as RichProgress

        console = Console(file=sys.stderr, force_terminal=True, stderr=True)
        self._bar = RichProgress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=console,
            transient=True,
            auto_refresh=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(self._description, total=total, eta="-:--:--")
        self.shown = True

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def for_command(
    *, quiet: bool, fmt: str, to_stdout: bool, description: str = "evaluating partitions"
) -> Progress | None:
    """The progress callback for a command run from this process's terminal, or None when no bar may be drawn."""
    if not wanted(quiet=quiet, stderr_tty=sys.stderr.isatty(), env=os.environ, fmt=fmt, to_stdout=to_stdout):
        return None
    return Progress(description)


__all__ = ["SHOW_AFTER", "Progress", "eta", "for_command", "wanted", "worth_showing"]
