"""Reading the files a user hands the auditor (inventory files, waivers, baseline, configuration) without trusting
what they are.

A path named ``*.yaml`` may be a named pipe (reading it blocks forever), a socket, a device (``/dev/zero`` never
ends) or a 3 GB sparse file: :func:`read_regular` looks at the file's type and size *before* reading (``stat``, then
``fstat`` on the descriptor opened with ``O_NONBLOCK`` in case the path was swapped meanwhile), refuses anything
but a regular file, and never reads more than its limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class FileRefused(Exception):
    """A file that is not read: the message says why (one line, no path: the caller locates it). ``line`` is 1 when
    the problem is the file's content (its size), 0 when it is the file itself (its type, its permissions)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line

    def location(self, shown: str) -> tuple[str, int, int]:
        return shown, self.line, self.line


def kind_of(mode: int) -> str:
    """'a named pipe (FIFO)', 'a socket'... for a ``st_mode`` that is not a regular file."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _regular_size(st: os.stat_result, limit: int) -> int:
    """The size of the file ``st`` describes if it is a regular file of at most ``limit`` bytes; else
    :class:`FileRefused`."""
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(f"{kind_of(st.st_mode)}, not a regular file; refused")
    if st.st_size > limit:
        raise FileRefused(f"file of {st.st_size} bytes exceeds the {limit}-byte limit; not read", 1)
    return st.st_size


def check_regular(path: Path, limit: int) -> int:
    """The size of ``path`` (symlinks followed) if it is a regular file of at most ``limit`` bytes; else
    :class:`FileRefused`. Nothing is opened."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise FileRefused(f"cannot read file: {_reason(exc)}") from None
    return _regular_size(st, limit)


def read_regular(path: Path, limit: int) -> bytes:
    """The content of the regular file ``path``, at most ``limit`` bytes, or :class:`FileRefused`."""
    check_regular(path, limit)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileRefused(f"cannot read file: {_reason(exc)}") from None
    try:
        _regular_size(os.fstat(fd), limit)  # the file actually opened: the path may have been replaced meanwhile
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # grew while being read
                raise FileRefused(f"file exceeds the {limit}-byte limit; not read", 1)
        return b"".join(chunks)
    except OSError as exc:
        raise FileRefused(f"cannot read file: {_reason(exc)}") from None
    finally:
        os.close(fd)
