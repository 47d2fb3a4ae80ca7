from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from auditor.cache import FILE_NAME

# No property test may fail because the machine is busy: no per-example deadline, and no "data generation is slow"
# health check (wall-clock based) unless a test asks for it. A failure prints the blob that reproduces it.
settings.register_profile("auditor", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile("auditor")

# Real OPA runs in the test processes (the reference engine and the OPA test harness: Go, in-process) and spends much
# of its CPU in Go's garbage collector at the default GOGC=100: `check --engine reference` on M took 16-25 s of CPU
# with GOGC 100-200, 12.6 with 400, 11-12 with 800 (peak RSS 210 -> 390 MB). Go reads it when the library loads, which
# no module imported above does; a value already set (to compare) is kept.
os.environ.setdefault("GOGC", "800")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "inventory"
POLICIES = ROOT / "policies"

MINIMAL = """\
purposes:
  - id: support
    name: Customer support
    policy_purpose: FACILITATE
systems:
  - id: app
    name: App
    kind: app
    operator: first_party
    jurisdiction: EU
    subject_jurisdictions: [EU]
    fields:
      - id: app.email
        category: user.contact.email
        subjects: [customer]
        purposes: [support]
"""


# MINIMAL with every fact the full policy pack needs: a clean inventory (no finding with --law none). MINIMAL itself
# now yields gaps (no retention, TLS, DSR support, owner team), which is the point of gaps.
CLEAN = """\
purposes:
  - id: support
    name: Customer support
    policy_purpose: FACILITATE
systems:
  - id: app
    name: App
    kind: app
    operator: first_party
    owner_team: mobile
    jurisdiction: EU
    subject_jurisdictions: [EU]
    security: {tls_min: "1.2", encryption_at_rest: true}
    retention: {days: 30}
    dsr: {access: true, rectify: true, delete: true, propagates: true}
    fields:
      - id: app.email
        category: user.contact.email
        collection: user_provided
        purposes: [support]
  - id: support-desk
    name: Support desk
    kind: backend
    operator: first_party
    owner_team: support
    jurisdiction: EU
    security:
      tls_min: "1.2"
      encryption_at_rest: true
      isolation: tenant
      mfa_admin: true
      need_to_know: true
      access_groups: [support]
      monitoring: true
      audit_log: true
      backup: {enabled: true, encrypted: true}
      baseline_ref: https://wiki.example/baseline
    retention: {days: 365}
    dsr: {access: true, rectify: true, delete: true, propagates: true}
flows:
  - id: app-to-support
    from: app
    to: support-desk
    fields: [app.email]
    purpose: support
    tls: true
"""


def md_unescape(text: str) -> str:
    """Markdown with its backslash escapes removed: the text a reader sees once it is rendered (the formats escape
    every character of inventory text that could open markup, see auditor.escape.md_text)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject.toml): one worker more than the cores this process may use. Many tests wait (on an
    OPA server's answer, a subprocess, a signal's delivery) and a third worker on 2 cores fills those waits: pytest
    on a warm clone took 162-164 s with 3 or 4 workers against 184 s with 2, run one after the other."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform (macOS)
        cores = os.cpu_count() or 1
    return cores + 1


def pytest_configure(config: pytest.Config) -> None:
    """The session's directory for the OPA test harness's compile verdicts, shared by the xdist workers (which
    inherit the environment): tests/opa_server.py."""
    if not hasattr(config, "workerinput") and "AUDITOR_TEST_OPA_VERDICTS" not in os.environ:
        os.environ["AUDITOR_TEST_OPA_VERDICTS"] = config._auditor_verdicts = tempfile.mkdtemp(prefix="opa-verdicts-")  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    made = getattr(config, "_auditor_verdicts", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
        os.environ.pop("AUDITOR_TEST_OPA_VERDICTS", None)


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_auditor(*args: str, cwd: Path | None = None, timeout: float = 300) -> Run:
    """``python -m auditor ARGS`` run in this process (tests/clirun.py: same entry point, output captured at the
    file-descriptor level, an escaping exception is a traceback on stderr and exit 1; ``timeout`` is a hang guard)."""
    from tests.clirun import run_main

    code, out, err = run_main(list(args), cwd or ROOT, timeout)
    return Run(code, out, err)


def counts(run: Run) -> dict[str, float]:
    """The stage times and counts a run printed with the hidden ``--timings`` (its JSON line on stderr)."""
    value: dict[str, float] = json.loads(next(x for x in run.err.splitlines() if x.startswith("{")))
    return value


def cache_rows(cache: Path, table: str = "results") -> list[tuple[bytes, bytes, bytes]]:
    """Every ``(key, value, seal)`` of a table of the ``--cache`` directory ``cache``, as stored."""
    with sqlite3.connect(cache / FILE_NAME) as db:
        rows: list[tuple[bytes, bytes, bytes]] = db.execute(f"SELECT key, value, seal FROM {table}").fetchall()
        return rows


def run_auditor_process(*args: str, cwd: Path | None = None, timeout: float = 300) -> Run:
    """``python -m auditor ARGS`` in a subprocess: for the tests whose subject is the process (the installed entry
    point's exit codes from a fresh interpreter, signals, limits)."""
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def opa_url() -> Iterator[str]:
    """One OPA test server (tests/opa_server.py) per test process, for the tests that need a working server: the
    auditor keeps its modules under a digest of the pack and replaces whatever it finds stale, as against a
    long-running real server. Tests that control the server (token, delay, misbehaviour, tampering) start their own."""
    from tests.opa_server import OpaTestServer

    with OpaTestServer() as server:
        yield server.url


@pytest.fixture
def auditor() -> Callable[..., Run]:
    return run_auditor


@pytest.fixture
def inventory_dir(tmp_path: Path) -> Callable[..., Path]:
    """Write files {name: text} into a fresh inventory directory."""

    def make(files: dict[str, str] | None = None, **named: str) -> Path:
        d = tmp_path / "inv"
        d.mkdir(exist_ok=True)
        for name, text in {**(files or {}), **named}.items():
            p = d / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        return d

    return make


@pytest.fixture(scope="session")
def large_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated M (seed 3): a run is still evaluating seconds after its engine workers start, however fast the
    machine (the signal tests interrupt it there)."""
    return generate_inventory(tmp_path_factory.mktemp("large") / "M", "M", 3)


def generate_inventory(out: Path, size: str = "S", seed: int = 7) -> Path:
    """A synthetic inventory from benchmarks/generate.py (deterministic for a size and seed)."""
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "generate.py"),
            "--size",
            size,
            "--seed",
            str(seed),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


# Who commits in a test repository: given on the command line, as CI has no git identity.
GIT_IDENTITY = ["-c", "user.name=CI", "-c", "user.email=ci@example.com"]


def commit_all(root: Path, *paths: str, message: str = "base", env: dict[str, str] | None = None) -> None:
    """Make ``root`` a git repository whose first commit holds ``paths`` (default: everything), as a user's
    repository is before a pull request changes it (the identity is given on the command line: CI has none)."""
    for args in (["init", "-q"], ["add", *(paths or (".",))], [*GIT_IDENTITY, "commit", "-qm", message]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def tree_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and list positions from the root) in a parsed YAML/JSON document, the root's ``()`` first."""
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += tree_paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += tree_paths(v, (*path, i))
    return out


def tree_get(doc: Any, path: tuple[Any, ...]) -> Any:
    """The value at ``path`` (:func:`tree_paths`) in ``doc``."""
    for part in path:
        doc = doc[part]
    return doc
