"""Run the CLI's real entry point (``auditor.cli.main``, what ``python -m auditor`` runs, but for the exit without a
teardown :func:`auditor.cli.entry_point` adds once ``check`` has finished: tests/test_cli.py) inside the test process.

A subprocess costs ~0.5 s of CPU before the CLI does anything (interpreter start-up, importing auditor, networkx,
jsonschema...), and the suite runs the CLI hundreds of times. In-process, everything a test observes stays what a
user's process gives:

- standard output and error are captured at the file-descriptor level (``os.dup2`` onto temporary files, with fresh
  ``sys.stdout``/``sys.stderr`` over descriptors 1 and 2, configured as Python configures them for a pipe), so writes
  through ``sys.stdout``, ``click.echo`` and ``os.write(1, ...)`` all land in the captured bytes; standard input is
  ``/dev/null``; output is decoded as UTF-8 (strict) with no newline translation;
- the exit code is the ``SystemExit`` code; an exception escaping ``main`` prints its traceback on the captured
  stderr and gives exit 1, exactly as the interpreter does, so ``"Traceback" not in err`` keeps its meaning;
- ``timeout`` stays a hang guard: a ``SIGALRM`` raises a ``BaseException`` through the run (the engine's worker pool
  is stopped on the way out, as on Ctrl-C) and the test fails;
- what ``main`` changes in the process is put back: working directory, ``sys.argv``, environment, signal handlers;
  and what an earlier run left that a test could observe is forgotten first (:func:`_as_in_a_new_process`).

Tests whose subject is the process itself (signals, memory limits, a missing module, the environment of a fresh
interpreter, the installed entry point) keep using a subprocess (``conftest.run_auditor_process``).
"""

from __future__ import annotations

import io
import os
import signal
import sys
import tempfile
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any


class Hung(BaseException):
    """The CLI did not finish within the test's hang guard."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise Hung


@contextmanager
def _fds_to_files() -> Iterator[tuple[Any, Any]]:
    """Descriptors 0, 1, 2 pointed at /dev/null and two temporary files (restored on exit); yields the files."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        saved = [os.dup(0), os.dup(1), os.dup(2)]
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            os.dup2(null, 0)
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            yield out, err
        finally:
            for fd, copy in enumerate(saved):
                os.dup2(copy, fd)
                os.close(copy)
            os.close(null)


def stdio() -> tuple[Any, Any, Any]:
    """Python's own stdio objects for descriptors 0, 1, 2 when they are not terminals (PEP 528/538/540 aside).
    Shared with the forked runs of tests/launcher.py."""
    stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
    stdout = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8", errors="strict", newline="\n"
    )
    stderr = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
        encoding="utf-8",
        errors="backslashreplace",
        newline="\n",
        line_buffering=True,
    )
    return stdin, stdout, stderr


def _as_in_a_new_process() -> None:
    """Forget what an earlier run in this process left that a new process would not have and that a test can
    observe: the loader's documents of earlier loads and the partition results of earlier audits, with their
    counters (``check --diff-base`` reuses them within one run; ``--timings`` counts files "reused" instead of
    "parsed" or "read back" from ``--cache``, partitions and audits read back). Memos of pure computations (compiled
    schemas, compiled packs, a pack's guard verdict) give the same answers and stay."""
    from auditor import pipeline
    from auditor.inventory import loader

    loader._REUSE = loader._Reuse()
    pipeline.SHARED.__init__(keep_in_memory=False)  # the object the CLI and audit()'s default share


def as_python_m(args: list[str]) -> None:
    """``sys.argv`` and ``__main__`` as ``python -m auditor ARGS`` sets them (click names the program from them in
    usage lines). Shared with the forked runs of tests/launcher.py."""
    from auditor import cli

    sys.argv = [str(Path(cli.__file__).with_name("__main__.py")), *args]
    main_module = types.ModuleType("__main__")
    main_module.__package__ = "auditor"
    sys.modules["__main__"] = main_module


def run_main(args: list[str], cwd: Path, timeout: float) -> tuple[int, str, str]:
    """``auditor <args>`` in this process, from ``cwd``: (exit code, stdout, stderr)."""
    from auditor import cli

    _as_in_a_new_process()

    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_argv = sys.argv
    saved_main = sys.modules["__main__"]
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    code: int
    with _fds_to_files() as (out, err):
        streams = stdio()
        sys.stdin, sys.stdout, sys.stderr = streams
        try:
            os.chdir(cwd)
            as_python_m(args)
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = exit_code(exc.code)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except Hung:
            raise AssertionError(f"auditor {' '.join(args)} did not finish within {timeout:g} s (hang guard)") from None
        except Exception:
            traceback.print_exc()  # what the interpreter prints for an uncaught exception, on the captured stderr
            code = 1
        finally:
            for stream in streams[1:]:
                with suppress(OSError, ValueError):
                    stream.flush()
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            sys.argv = saved_argv
            sys.modules["__main__"] = saved_main
            os.chdir(saved_cwd)
            for signum, handler in saved_handlers.items():
                signal.signal(signum, handler)
            if dict(os.environ) != saved_env:
                os.environ.clear()
                os.environ.update(saved_env)
        out.seek(0)
        err.seek(0)
        return code, out.read().decode("utf-8"), err.read().decode("utf-8")


def exit_code(value: object) -> int:
    """What the interpreter exits with for ``sys.exit(value)`` (a message is printed to stderr, exit 1). Shared with
    the forked runs of tests/launcher.py."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1
