"""Where a report comes from: the date it states, the inventory revision, the engine and policy-pack versions.

The date is reproducible: ``SOURCE_DATE_EPOCH`` when set (reproducible-builds convention), else the commit date of the
last git commit touching the inventory, else (only then) today's date; the report says which.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Provenance:
    date: str  # YYYY-MM-DD
    date_source: str  # source_date_epoch | git | clock
    revision: str  # full commit hash, "" outside git
    dirty: bool  # uncommitted changes under the inventory paths


def _git(paths: Sequence[Path], *args: str) -> str | None:
    first = paths[0] if paths else Path(".")
    cwd = first if first.is_dir() else first.parent
    try:
        proc = subprocess.run(
            ["git", "-C", str(cwd or Path(".")), *args, "--", *(str(p.resolve()) for p in paths)],
            capture_output=True,
            text=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def collect(paths: Sequence[Path], environ: dict[str, str] | None = None) -> Provenance:
    env = os.environ if environ is None else environ
    log = _git(paths, "log", "-1", "--format=%H %ct") or ""
    revision, _, stamp = log.partition(" ")
    dirty = bool(_git(paths, "status", "--porcelain")) if revision else False
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        when, source = int(epoch), "source_date_epoch"
    elif stamp.isdigit():
        when, source = int(stamp), "git"
    else:
        when, source = int(dt.datetime.now(dt.UTC).timestamp()), "clock"
    date = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%d")
    return Provenance(date, source, revision, dirty)


_ENGINE_DISTRIBUTIONS = {
    "embedded": "gordon-to-regorus",
    "reference": "opa-golib-python-bindings",
    "opa": "opa-python-client",
}


def engine_label(name: str) -> str:
    """``embedded (gordon-to-regorus 0.13.0)``: the engine and the version of the library behind it."""
    from importlib import metadata

    dist = _ENGINE_DISTRIBUTIONS.get(name)
    if dist is None:
        return name
    try:
        return f"{name} ({dist} {metadata.version(dist)})"
    except metadata.PackageNotFoundError:
        return name
