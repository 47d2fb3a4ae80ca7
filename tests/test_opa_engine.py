"""--engine opa against the local OPA-REST test harness (real OPA semantics over real HTTP): every server
failure is a one-line tool error (exit 3) within the configured timeout, and the happy path gives the same JSON as
the embedded engine (the full cross-engine comparison lives in test_conformance.py)."""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import MINIMAL, POLICIES, ROOT, Run, run_auditor
from tests.launcher import run_fresh

from auditor.policy.reference_engine import available

# No silent skip: without the real-OPA reference these guarantees would simply not be checked.
if not available():
    pytest.fail("opa-golib-python-bindings is not installed; `make test` installs it", pytrace=False)

NOT_CLEAN = MINIMAL.replace("user.contact.email", "user.location.precise")


@pytest.fixture
def server(opa_url: str) -> str:
    return opa_url


@pytest.fixture
def inventory(inventory_dir) -> Path:  # type: ignore[no-untyped-def]
    return inventory_dir({"a.yaml": NOT_CLEAN})  # type: ignore[no-any-return]


def _one_error_line(r: Run) -> str:
    assert r.code == 3, (r.code, r.out, r.err)
    assert "Traceback" not in r.err and r.out == ""
    lines = r.err.strip().splitlines()
    assert lines[-1] == "auditor: 1 policy/engine error; exit 3", r.err
    assert len(lines) == 2, r.err
    return lines[0]


def test_opa_engine_matches_embedded_and_uses_namespaced_policy_ids(server: str, inventory: Path) -> None:
    import requests

    emb = run_auditor("check", str(inventory), "--format", "json")
    opa = run_auditor("check", str(inventory), "--format", "json", "--engine", "opa", "--opa-url", server)
    assert emb.code == opa.code == 1, opa.err
    assert opa.out == emb.out
    ids = [p["id"] for p in requests.get(f"{server}/v1/policies", timeout=120).json()["result"]]
    assert ids and all(i.startswith("auditor/") for i in ids)
    assert any(i.endswith("/auditor/generated.rego") for i in ids)


def test_env_vars_select_the_server(server: str, inventory: Path) -> None:
    env = {**os.environ, "AUDITOR_ENGINE": "opa", "AUDITOR_OPA_URL": server}
    proc = run_fresh("check", str(inventory), "--format", "json", env=env)  # a new process, started with them
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == run_auditor("check", str(inventory), "--format", "json").out


def test_unreachable_server_exits_3_within_the_timeout(inventory: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: connection refused
    started = time.monotonic()
    r = run_auditor(
        "check",
        str(inventory),
        "--engine",
        "opa",
        "--opa-url",
        f"http://127.0.0.1:{port}",
        "--opa-timeout",
        "300",
    )
    # A refused connection fails at once, without waiting out the (long) timeout; the bound is the timeout itself, not
    # a guess of how fast a busy machine starts Python (5 s failed under load while the behaviour was right).
    assert time.monotonic() - started < 300
    line = _one_error_line(r)
    assert f"cannot reach the OPA server at http://127.0.0.1:{port}" in line


def test_wrong_token_is_refused_with_401_and_the_right_one_works(inventory: Path) -> None:
    from tests.opa_server import OpaTestServer

    with OpaTestServer(token="s3cret-token") as s:
        r = run_auditor("check", str(inventory), "--engine", "opa", "--opa-url", s.url, "--opa-token", "wrong")
        line = _one_error_line(r)
        assert "HTTP 401" in line and "--opa-token" in line and "wrong" not in line
        ok = run_auditor("check", str(inventory), "--engine", "opa", "--opa-url", s.url, "--opa-token", "s3cret-token")
        assert ok.code == 1, ok.err


def test_slow_server_beyond_the_timeout_exits_3(inventory: Path) -> None:
    """The server answers after 900 s; the run must end long before (no wall-clock assertion: the subprocess's own
    300 s bound fails the test if the client waited for the answer)."""
    from tests.opa_server import OpaTestServer

    with OpaTestServer(delay=900.0) as s:
        r = run_auditor(
            "check",
            str(inventory),
            "--engine",
            "opa",
            "--opa-url",
            s.url,
            "--opa-timeout",
            "0.5",
            "--opa-retries",
            "0",
            timeout=300,
        )
    line = _one_error_line(r)
    assert "did not answer within 0.5s" in line


def _broken_pack(tmp_path: Path, text: str, where: str = "creality") -> Path:
    """The pack with one more module, ``rego/<where>/broken.rego``."""
    pack = tmp_path / "policies"
    shutil.copytree(POLICIES, pack)
    (pack / "rego" / where).mkdir(parents=True, exist_ok=True)
    (pack / "rego" / where / "broken.rego").write_text(text, encoding="utf-8")
    return pack


UNSAFE = "package creality.broken\n\nimport rego.v1\n\np if {\n\ty\n}\n"


def test_module_rejected_by_the_server_names_file_and_line(server: str, inventory: Path, tmp_path: Path) -> None:
    pack = _broken_pack(tmp_path, UNSAFE)
    r = run_auditor("check", str(inventory), "--engine", "opa", "--opa-url", server, "--policy", str(pack))
    line = _one_error_line(r)
    assert "rego/creality/broken.rego:6:" in line and "rego_unsafe_var_error" in line, line
    assert "auditor/" not in line.split(":")[0]  # the uploaded policy id is mapped back to the file
    ref = run_auditor("check", str(inventory), "--engine", "reference", "--policy", str(pack))
    assert "rego/creality/broken.rego:6:" in _one_error_line(ref)


def test_v0_syntax_is_rejected_not_rewritten(server: str, inventory: Path, tmp_path: Path) -> None:
    pack = _broken_pack(tmp_path, "package creality.broken\n\np { true }\n")
    r = run_auditor("check", str(inventory), "--engine", "opa", "--opa-url", server, "--policy", str(pack))
    line = _one_error_line(r)
    assert "broken.rego:3:" in line and "rego_parse_error" in line, line


UNDEFINED_RULE = """package creality.broken

import rego.v1

# METADATA
# title: A rule that is undefined on every input
# custom:
#   clause: I
#   severity: error
#   verdict: omitted
never(inp) := [f | some f in inp.fields] if {
	inp.no_such_key
}
"""


@pytest.mark.parametrize("engine", ["opa", "reference"])
def test_undefined_result_is_a_tool_error_naming_the_rule(
    engine: str, server: str, inventory: Path, tmp_path: Path
) -> None:
    # Last of the pack's rules in their order (pipl/ after creality/, cnil/ and gdpr/): the 141 rules before it are
    # defined, and the culprit is still the one named (found in one query of the generated package).
    pack = _broken_pack(tmp_path, UNDEFINED_RULE, "pipl/zz")
    r = run_auditor("check", str(inventory), "--engine", engine, "--opa-url", server, "--policy", str(pack))
    line = _one_error_line(r)
    assert "creality.broken.never was undefined" in line and "pipl/zz/broken.rego:11:" in line, line


def test_rego_tests_run_on_the_server() -> None:
    """Same verdicts as real OPA in-process (embedded vs OPA agreement is test_conformance's job). The pack and its
    tests go up in dependency order: the server, which compiles each upload against what it holds, refuses none
    (a refused upload is a compile, an error in the server's log and a retry)."""
    from tests.opa_server import Handler, OpaTestServer

    answers: list[tuple[str, str, int]] = []

    class Recording(Handler):
        def _send(self, status: int, body: Any | None) -> None:
            answers.append((self.command, self.path, status))
            super()._send(status, body)

    ref = run_auditor("test", "--engine", "reference", "-v")
    with OpaTestServer(handler_class=Recording) as server:
        opa = run_auditor("test", "--engine", "opa", "--opa-url", server.url, "-v")
    assert opa.code == ref.code and opa.code in (0, 1), opa.out + opa.err
    assert opa.out == ref.out
    assert " passed, " in opa.out.splitlines()[-1]
    puts = [(path, status) for command, path, status in answers if command == "PUT"]
    modules = {p.relative_to(POLICIES / "rego").as_posix() for p in (POLICIES / "rego").rglob("*.rego")}
    assert len(puts) == len(modules) + 1, puts  # every module and the generated test gatherer, once each
    assert [p for p in puts if p[1] != 200] == []


def test_opa_engine_without_url_is_a_usage_error() -> None:
    r = run_auditor("check", "--engine", "opa", str(ROOT / "inventory"))
    assert r.code == 2 and "--opa-url" in r.err
