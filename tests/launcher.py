"""A fresh ``python -m auditor`` process for every run, without paying for the interpreter and the imports each time.

The hostile-input tests run the CLI in its own process on purpose: an address-space limit applies to it alone, its
peak memory is measured, a hang is killed, a crash cannot take the test run with it. Starting Python and importing
auditor costs ~0.5 s of CPU per run, several times what a refused input costs. So one launcher process per test
process imports ``auditor.cli`` once (what ``python -m auditor`` imports before it reads its arguments) and forks a
child per run. The child sets up its stdio, ``sys.argv`` and exit code with the helpers of tests/clirun.py (the
in-process runs), so both ways of running the CLI give what ``python -m auditor`` gives in the same way. The child
is a new process in every way a test observes:

- it starts from the launcher's state right after the imports, the state a new interpreter reaches, and never from
  an earlier run's (the launcher itself runs nothing);
- the limits (``setrlimit``), working directory and environment are set in the child before ``main()`` runs;
  standard input is ``/dev/null``, standard output and error are files the test reads back (descriptors 0, 1, 2, so
  ``os.write(1, ...)`` lands there too), the stdio objects configured as Python configures them for a pipe;
- ``sys.argv`` and ``__main__`` are what ``python -m auditor`` gives (click names the program from them);
- an escaping exception prints its traceback and exits 1; ``sys.exit(x)`` exits as the interpreter does; a signal
  that kills it is a negative exit code, as with :mod:`subprocess`;
- its peak resident memory is the one ``wait4`` reports (the child and every process it waited for: the engine's
  workers), as the ``RUSAGE_CHILDREN`` of a wrapper process reported before;
- ``timeout`` kills it (through a pidfd: never another process that reused the pid) and fails the test.

Tests about the interpreter itself (a missing module, signals sent to a process group, the installed entry point's
exit codes) start a real subprocess.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_LAUNCHER = r"""
import json, os, resource, sys, traceback

import auditor.cli
from tests.clirun import as_python_m, exit_code, stdio


def child(request):
    code = 1
    try:
        prepare(request)
        try:
            auditor.cli.main()
            code = 0
        except SystemExit as exc:
            code = exit_code(exc.code)
        except BaseException:
            traceback.print_exc()
            code = 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def prepare(request):
    for name, value in request["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for fd, path in ((1, request["out"]), (2, request["err"])):
        target = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    sys.stdin, sys.stdout, sys.stderr = stdio()
    as_python_m(request["args"])


for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(request)
    print(json.dumps({"pid": pid}), flush=True)
    _, status, usage = os.wait4(pid, 0)
    print(json.dumps({"code": os.waitstatus_to_exitcode(status), "peak_kib": usage.ru_maxrss}), flush=True)
"""


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str
    peak_kib: int


class Launcher:
    def __init__(self) -> None:
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the launcher: why it died, if it does)
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
            cwd=ROOT,
        )
        self._lock = threading.Lock()

    def _answer(self) -> dict[str, int]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._errors.seek(0)
            raise RuntimeError("the test launcher died: " + self._errors.read().decode("utf-8", "replace")[-2000:])
        answer: dict[str, int] = json.loads(line)
        return answer

    def run(self, args: list[str], cwd: Path, timeout: float, rlimits: dict[str, int], env: dict[str, str]) -> Ran:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with self._lock, tempfile.TemporaryDirectory(prefix="auditor-run-") as d:
            out, err = Path(d) / "stdout", Path(d) / "stderr"
            out.touch()
            err.touch()
            request = {"args": args, "cwd": str(cwd), "env": env, "rlimits": rlimits, "out": str(out), "err": str(err)}
            try:
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
            except BrokenPipeError:
                self._answer()  # raises, with the launcher's last words
            pid = self._answer()["pid"]
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                pidfd = -1  # already gone: nothing to kill
            expired = threading.Event()

            def kill() -> None:
                expired.set()
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)

            timer = threading.Timer(timeout, kill)
            if pidfd >= 0:
                timer.start()
            try:
                answer = self._answer()
            finally:
                timer.cancel()
                timer.join()
                if pidfd >= 0:
                    os.close(pidfd)
            if expired.is_set():
                raise subprocess.TimeoutExpired(["auditor", *args], timeout)
            return Ran(
                answer["code"],
                out.read_bytes().decode("utf-8"),
                err.read_bytes().decode("utf-8"),
                int(answer["peak_kib"]),
            )

    def close(self) -> None:
        if self._proc.stdin is not None:
            with suppress(BrokenPipeError):
                self._proc.stdin.close()
        self._proc.wait()
        self._errors.close()


_LAUNCHER_OF_THIS_PROCESS: Launcher | None = None


def run_fresh(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 300,
    rlimits: dict[str, int] | None = None,
    env: dict[str, str] | None = None,
) -> Ran:
    """``python -m auditor ARGS`` in a new process (forked by this test process's launcher), with ``rlimits``
    (``{"RLIMIT_AS": bytes}``) and ``env`` (default: this process's environment now)."""
    global _LAUNCHER_OF_THIS_PROCESS
    if _LAUNCHER_OF_THIS_PROCESS is None:
        _LAUNCHER_OF_THIS_PROCESS = Launcher()
        atexit.register(_LAUNCHER_OF_THIS_PROCESS.close)
    return _LAUNCHER_OF_THIS_PROCESS.run(
        list(args), cwd or ROOT, timeout, rlimits or {}, dict(os.environ) if env is None else env
    )
