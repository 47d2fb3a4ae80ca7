"""Nothing lost, nothing written: check and report leave the inventory untouched, --output is replaced atomically,
and Ctrl-C ends a run with exit 130, no traceback and no worker process left behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import MINIMAL, SAMPLE, run_auditor

from auditor import cli
from auditor.errors import OutputError


def tree_digest(root: Path) -> dict[str, str]:
    """Every entry under root (files, dirs, symlinks) with its content hash and mode."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        st = p.lstat()
        if p.is_symlink():
            out[rel] = f"link {os.readlink(p)}"
        elif p.is_dir():
            out[rel] = f"dir {st.st_mode:o}"
        else:
            out[rel] = f"{st.st_mode:o} {hashlib.sha256(p.read_bytes()).hexdigest()}"
    return out


def test_check_and_report_never_modify_the_inventory(tmp_path: Path) -> None:
    inv = tmp_path / "inventory"
    shutil.copytree(SAMPLE, inv)
    before = tree_digest(inv)
    mtimes = {p: p.stat().st_mtime_ns for p in inv.rglob("*")}
    for args in (
        ("check", str(inv), "--format", "json", "-o", str(tmp_path / "out.json")),
        ("check", str(inv)),
        ("report", str(inv), "-o", str(tmp_path / "report.html")),
    ):
        r = run_auditor(*args, cwd=tmp_path)
        assert r.code in (0, 1), r.err[-1000:]
    assert tree_digest(inv) == before
    assert {p: p.stat().st_mtime_ns for p in inv.rglob("*")} == mtimes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory", "out.json", "report.html"]


def test_failed_run_leaves_the_previous_output_file(tmp_path: Path) -> None:
    out = tmp_path / "findings.json"
    out.write_text("previous report\n", encoding="utf-8")
    bad = tmp_path / "inv"
    bad.mkdir()
    (bad / "a.yaml").write_text(MINIMAL + "  - id: [\n", encoding="utf-8")
    r = run_auditor("check", str(bad), "--format", "json", "-o", str(out), cwd=tmp_path)
    assert r.code == 2
    assert out.read_text(encoding="utf-8") == "previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json", "inv"]  # no temporary file left


def test_crash_while_writing_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up half-way through the report: the old report stays, no temporary file is left, and the
    error names the real path (issue 15.18)."""
    out = tmp_path / "report.txt"
    out.write_text("old\n", encoding="utf-8")
    real_write = os.write
    written: list[int] = []

    def exploding(fd: int, data: bytes | memoryview) -> int:
        if written:
            raise OSError(28, "No space left on device")
        written.append(real_write(fd, bytes(data[: len(data) // 2])))
        return written[0]

    monkeypatch.setattr(cli.os, "write", exploding)
    with pytest.raises(OutputError) as caught:
        cli.write_output("new content that never fully lands\n", out)
    assert written, "the write never started: the test exercises nothing"
    (line,) = caught.value.lines()
    assert line == f"{out}: cannot write the output: No space left on device; it is incomplete"
    assert out.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]
    monkeypatch.undo()
    cli.write_output("new\n", out)
    assert out.read_text(encoding="utf-8") == "new\n"


def _output_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "auditor-output"]


def test_a_report_file_is_written_in_order_by_the_writer_thread_and_it_is_gone_after(tmp_path: Path) -> None:
    """The report's pieces are produced while the last ones are written (cli._write_file_overlapped): every byte
    lands, in order, and no writing thread outlives the write."""
    out = tmp_path / "report.json"
    pieces = [f"{i:07d} {'x' * (i % 5000)}\n".encode() for i in range(3000)]  # ~7.5 MB: several MB-sized writes
    cli.write_output(iter(pieces), out)
    assert out.read_bytes() == b"".join(pieces)
    assert not _output_threads()


def test_a_write_error_stops_producing_the_report_and_joins_the_writer(tmp_path: Path) -> None:
    """A file that refuses writes (here: opened read-only, EBADF): the error is raised, the rest of the report is
    not produced (a full disk does not cost formatting 900 MB more), and the writer is gone."""
    path = tmp_path / "ro"
    path.write_bytes(b"")
    produced: list[int] = []

    def report() -> Iterator[bytes]:
        for i in range(1000):
            produced.append(i)
            yield b"y" * (1 << 20)

    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError):
            cli._write_file_overlapped(fd, report())
    finally:
        os.close(fd)
    assert 0 < len(produced) < 20  # the queue holds 4 pieces: production stops a few pieces after the error
    assert not _output_threads()


def test_an_error_while_producing_the_report_joins_the_writer_before_the_file_is_closed(tmp_path: Path) -> None:
    """The report's production fails half-way (a bug, an interruption): the error propagates, and the writer has
    stopped before the caller closes the descriptor (nothing is written after, into whatever reuses its number)."""
    path = tmp_path / "partial"

    def report() -> Iterator[bytes]:
        for _ in range(8):
            yield b"z" * (1 << 20)
        raise RuntimeError("formatter failed")

    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(RuntimeError, match="formatter failed"):
            cli._write_file_overlapped(fd, report())
        assert not _output_threads()
        size = path.stat().st_size
    finally:
        os.close(fd)
    assert size == 8 << 20  # what was produced before the error, written whole, and nothing after
    assert path.stat().st_size == size


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find worker processes")
def test_ctrl_c_during_evaluation_exits_130_cleanly(tmp_path: Path, large_inventory: Path) -> None:
    # M, not S: S could be evaluated within the half second below on a fast machine, and the run would exit 1.
    inv = large_inventory
    out = tmp_path / "out.json"
    out.write_text("old\n", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "check", str(inv), "--format", "json", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,  # its own process group, like a shell job: Ctrl-C reaches the CLI and its workers
    )
    workers: list[int] = []
    deadline = time.monotonic() + 300  # a hang guard for a busy machine, not a timing
    while not workers and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        workers = _children(proc.pid)
    assert workers, "the engine never started its worker processes"
    time.sleep(0.5)  # let the workers start evaluating
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert "interrupted" in err
    assert out.read_text(encoding="utf-8") == "old\n"
    deadline = time.monotonic() + 300  # a bound for a busy machine: the workers must go, nothing times how fast
    while (alive := [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in _state(w)]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert alive == []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "gone"


def test_output_to_a_named_pipe_writes_into_it_and_keeps_it_a_pipe(tmp_path: Path) -> None:
    """-o /dev/null or -o a FIFO must write into the special file, never rename a temporary file over it (as root,
    that replaced /dev/null itself with a regular file)."""
    import stat
    import threading

    fifo = tmp_path / "findings.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    r = run_auditor("check", str(SAMPLE), "--format", "json", "-o", str(fifo))
    reader.join(timeout=300)
    assert r.code == 1, r.err[-500:]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and received[0].startswith(b"{") and b'"findings"' in received[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.pipe"]  # no temporary file left behind


def test_output_produced_while_written_is_never_half_written(tmp_path: Path) -> None:
    """JSON and SARIF reports are produced one finding at a time as they are written: an error half-way through
    producing them must leave the old file, like a failed write."""
    out = tmp_path / "report.json"
    out.write_text("old\n", encoding="utf-8")

    def pieces() -> Iterator[str]:
        yield "{\n" + "x" * (3 << 20)  # more than one write's worth, so part of it reaches the temporary file
        raise RuntimeError("formatter failed")

    with pytest.raises(RuntimeError):
        cli.write_output(pieces(), out)
    assert out.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    cli.write_output(iter(["new", "\n"]), out)
    assert out.read_text(encoding="utf-8") == "new\n"
