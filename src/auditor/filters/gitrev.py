"""Read the inventory files of a git revision straight from the object database (no checkout, no worktree change).

``git ls-tree -r`` lists the YAML blobs under the requested paths at the revision, ``git cat-file --batch`` streams
their content in one process. Paths are shown as the working-tree loader shows them (relative to the current
directory), so messages and fingerprints line up with the working-tree audit.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from auditor.errors import UsageError
from auditor.inventory.loader import MAX_FILES, YAML_SUFFIXES, working_dir


def _git(args: Sequence[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("--diff-base: git is not installed or not on PATH") from None


def _first_line(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else ""


def toplevel() -> Path | None:
    """The repository root containing the current directory, or None outside a repository."""
    proc = _git(["rev-parse", "--show-toplevel"])
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode("utf-8").strip())


def resolve(rev: str) -> str:
    """The commit id ``rev`` names; UsageError (exit 2) when it names nothing."""
    if toplevel() is None:
        raise UsageError(f"--diff-base {rev}: the current directory is not inside a git repository")
    if not rev or rev.startswith("-"):
        raise UsageError(f"--diff-base: invalid git revision {rev!r}")
    proc = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"])
    if proc.returncode != 0:
        raise UsageError(
            f"--diff-base: unknown git revision {rev!r} (in CI, fetch it first, e.g. `git fetch origin {rev}`"
            " or actions/checkout with fetch-depth: 0)"
        )
    return proc.stdout.decode("ascii").strip()


def _shown(top: Path, name: str, cwd: str) -> str:
    """As :func:`auditor.inventory.display_path` shows a working-tree file: relative to the current directory
    (``cwd``, as :func:`auditor.inventory.loader.working_dir` gives it) when below it, else absolute."""
    full = top / name
    try:
        return full.relative_to(cwd).as_posix()
    except ValueError:
        return full.as_posix()


def tree(rev: str, paths: Sequence[Path]) -> list[tuple[str, str, str]]:
    """``(shown path, name in the repository, git blob id)`` of every YAML file under ``paths`` at ``rev``, sorted by
    path (empty if none existed): their ids without their contents (``git ls-tree``)."""
    return sorted(_listed(rev, paths))


def _listed(rev: str, paths: Sequence[Path]) -> list[tuple[str, str, str]]:
    """``(shown path, name in the repository, blob id)`` of every YAML file under ``paths`` at ``rev``."""
    commit = resolve(rev)
    top = toplevel()
    assert top is not None  # resolve() checked
    top = top.resolve()
    proc = _git(["ls-tree", "-r", "-z", "--full-name", commit, "--", *[str(p) for p in paths]])
    if proc.returncode != 0:
        raise UsageError(f"--diff-base {rev}: git ls-tree failed: {_first_line(proc.stderr)}")
    blobs: list[tuple[str, str, str]] = []
    cwd = working_dir()  # once, not once a file (XL's 10,004 files: 0.3 s)
    for entry in proc.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_name = entry.partition(b"\t")
        mode, kind, obj = meta.decode("ascii").split()
        name = raw_name.decode("utf-8", "surrogateescape")
        parts = PurePosixPath(name).parts
        # Same selection as the working-tree discovery: YAML files, no hidden files or directories, and no
        # symlinks (a link's target cannot be checked against the inventory root inside the object database).
        if kind != "blob" or mode == "120000" or not name.endswith(YAML_SUFFIXES):
            continue
        if any(p.startswith(".") for p in parts):
            continue
        blobs.append((_shown(top, name, cwd), name, obj))
        if len(blobs) > MAX_FILES:
            raise UsageError(f"--diff-base {rev}: more than {MAX_FILES} YAML files")
    return blobs


def read_files(
    rev: str, paths: Sequence[Path], listed: Sequence[tuple[str, str, str]] | None = None
) -> list[tuple[str, str, memoryview]]:
    """The ``(shown path, git blob id, content)`` of every YAML file under ``paths`` at ``rev`` (empty if none
    existed). The contents are views of one buffer, freed at once when the last is dropped: copied into a bytes
    object each, XL's 155 MB of base files stayed in the process's heap after use (a --diff-base run reading back
    the base's findings needs only their digests). ``listed``: what :func:`tree` gave for them, when it was asked."""
    blobs = _listed(rev, paths) if listed is None else listed
    if not blobs:
        return []
    request = b"".join(obj.encode("ascii") + b"\n" for _, _, obj in blobs)
    proc = _git(["cat-file", "--batch"], stdin=request)
    if proc.returncode != 0:
        raise UsageError(f"--diff-base {rev}: git cat-file failed: {_first_line(proc.stderr)}")
    out = proc.stdout
    view = memoryview(out)  # the files' contents, without a copy each
    files: list[tuple[str, str, memoryview]] = []
    pos = 0
    for shown, name, obj in blobs:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        if len(header) != 3 or header[1] != b"blob":
            raise UsageError(f"--diff-base {rev}: cannot read {name} from git")
        size = int(header[2])
        start = header_end + 1
        files.append((shown, obj, view[start : start + size]))
        pos = start + size + 1  # the content is followed by a newline
    return sorted(files, key=lambda f: f[0])


class RepoPaths:
    """Turn the paths findings carry (relative to the working directory, or absolute) into paths relative to the top
    of the git work tree that holds each file, whatever the working directory: ``auditor check ../repo/inventory``
    run from elsewhere still gives ``inventory/…``, which is what code scanning and annotations resolve against.

    The work tree is found as git finds it, by walking up from the file's directory to the first one holding a
    ``.git`` entry (a directory, or the file of a worktree or submodule); no subprocess, one walk per directory. A
    file outside any work tree maps to None (the caller keeps its path as it is)."""

    def __init__(self, cwd: Path | None = None) -> None:
        self._cwd = os.path.realpath(cwd if cwd is not None else Path.cwd())
        self._tops: dict[str, str | None] = {}  # a real directory -> the top of its work tree, with a final separator
        self._mapped: dict[str, str | None] = {}  # per file: a report asks once per finding, hundreds per file
        self._real_dirs: dict[str, str] = {}  # a directory as shown -> where it really is

    def _top(self, directory: str) -> str | None:
        """The top of the work tree holding the real ``directory``, ending with a separator; None outside any."""
        seen: list[str] = []
        current = directory
        top: str | None = None
        while True:
            if current in self._tops:
                top = self._tops[current]
                break
            seen.append(current)
            if os.path.lexists(os.path.join(current, ".git")):
                top = os.path.join(current, "")
                break
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        for d in seen:
            self._tops[d] = top
        return top

    def __call__(self, shown: str) -> str | None:
        if shown not in self._mapped:
            self._mapped[shown] = self._map(shown)
        return self._mapped[shown]

    def _map(self, shown: str) -> str | None:
        if not shown:
            return None
        joined = os.path.join(self._cwd, shown)
        directory, name = os.path.split(joined)
        if name in ("", ".", "..") or os.path.islink(joined):
            real = os.path.realpath(joined)
        else:
            # Where a file that is not a symlink really is: where its directory really is, resolved once per
            # directory (XL: 10,000 files in one directory, mapped in 0.09 s instead of 0.57 s, once per report).
            where = self._real_dirs.get(directory)
            if where is None:
                where = self._real_dirs[directory] = os.path.realpath(directory)
            real = os.path.join(where, name)
        top = self._top(os.path.dirname(real))
        return None if top is None else real[len(top) :].replace(os.sep, "/")


def repo_paths() -> RepoPaths:
    """A :class:`RepoPaths` for the current directory."""
    return RepoPaths()
