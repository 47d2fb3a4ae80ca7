from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

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


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_auditor(*args: str, cwd: Path | None = None, timeout: float = 120) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


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
