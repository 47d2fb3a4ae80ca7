"""A hostile or broken OPA server (issue 15, point 8): the backend never trusts a policy by its id, refuses a server
that holds other rules in the pack's packages, and reads every answer through a size cap. Real OPA semantics over
real HTTP on 127.0.0.1 (tests/opa_server.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from tests.conftest import MINIMAL, ROOT, run_auditor
from tests.opa_server import Handler, OpaTestServer

from auditor.policy.opa_engine import MAX_ANSWER_BYTES
from auditor.policy.reference_engine import available

if not available():
    pytest.fail("opa-golib-python-bindings is not installed; `make test` installs it", pytrace=False)

NOT_CLEAN = MINIMAL.replace("user.contact.email", "user.location.precise")
ARGS = ("--format", "json", "--law", "none", "--engine", "opa", "--opa-retries", "0", "--opa-timeout", "60")


@pytest.fixture
def inventory(inventory_dir) -> Path:  # type: ignore[no-untyped-def]
    return inventory_dir({"a.yaml": NOT_CLEAN})  # type: ignore[no-any-return]


def _held(url: str) -> dict[str, str]:
    return {p["id"]: p["raw"] for p in requests.get(f"{url}/v1/policies", timeout=120).json()["result"]}


def _aggregator(url: str) -> tuple[str, str]:
    return next((pid, raw) for pid, raw in _held(url).items() if pid.endswith("/auditor/generated.rego"))


def _emptied(raw: str) -> str:
    """The aggregator rewritten so that every rule reports nothing (the campaign's 'gate: passed' attack)."""
    emptied = re.sub(r": data\.[A-Za-z0-9_.]+\(input\)", ": []", raw)
    assert emptied != raw
    return emptied


def test_a_rewritten_aggregator_under_the_auditors_id_is_replaced(inventory: Path) -> None:
    with OpaTestServer() as s:
        first = run_auditor("check", str(inventory), *ARGS, "--opa-url", s.url)
        assert first.code == 1 and '"findings": [' in first.out, first.err
        pid, raw = _aggregator(s.url)
        requests.put(f"{s.url}/v1/policies/{pid}", data=_emptied(raw).encode(), timeout=120).raise_for_status()
        again = run_auditor("check", str(inventory), *ARGS, "--opa-url", s.url)
        assert again.code == 1, again.err
        assert again.out == first.out  # the same findings: the tampered module was detected and re-uploaded
        assert _aggregator(s.url)[1] == raw


class _KeepsWhatItHas(Handler):
    """A server that answers 200 to a PUT of a policy it already holds, without changing it."""

    def do_PUT(self) -> None:
        kind, rest = self._route()
        if kind == "/v1/policies" and rest in self.state.policies:
            self._body()
            self._send(200, {})
            return
        super().do_PUT()


def test_a_server_that_keeps_a_tampered_module_is_refused(inventory: Path) -> None:
    with OpaTestServer(handler_class=_KeepsWhatItHas) as s:
        assert run_auditor("check", str(inventory), *ARGS, "--opa-url", s.url).code == 1
        pid, raw = _aggregator(s.url)
        with s.state.lock:
            s.state.replace({**s.state.policies, pid: _emptied(raw)}, s.state.data)
        r = run_auditor("check", str(inventory), *ARGS, "--opa-url", s.url)
    assert r.code == 3 and r.out == "", (r.code, r.err)
    assert f"holds a different text for policy {pid} after uploading it; refused" in r.err
    assert "Traceback" not in r.err


def test_foreign_rules_in_the_packs_packages_are_refused(inventory: Path) -> None:
    with OpaTestServer() as s:
        extra = "package auditor.generated\n\nimport rego.v1\n\nextra := 1\n"
        requests.put(f"{s.url}/v1/policies/team/extra.rego", data=extra.encode(), timeout=120).raise_for_status()
        r = run_auditor("check", str(inventory), *ARGS, "--opa-url", s.url)
    assert r.code == 3 and r.out == "", (r.code, r.err)
    assert "holds policy 'team/extra.rego' in package auditor.generated" in r.err


class _Flood(Handler):
    """Answers every evaluation with a 300 MB body (streamed: the server itself holds 1 MB)."""

    def do_POST(self) -> None:
        self._body()
        size = 300 * 1024 * 1024
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b" " * (1024 * 1024)
        try:
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)
        except OSError:
            pass  # the client hung up, as it should


# Runs the CLI and prints the peak RSS of its process tree (the largest process) on the last line of stderr.
_PEAK = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL)\n"
    "sys.stderr.write('\\n@@peak-kib %d' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(p.returncode)\n"
)


def test_a_300_mb_answer_is_refused_within_bounded_memory(inventory: Path) -> None:
    with OpaTestServer(handler_class=_Flood) as s:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                _PEAK,
                sys.executable,
                "-m",
                "auditor",
                "check",
                str(inventory),
                *ARGS,
                "--opa-url",
                s.url,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
    err, _, peak = proc.stderr.rpartition("\n@@peak-kib ")
    assert proc.returncode == 3 and proc.stdout == "", (proc.returncode, err)
    assert f"the answer exceeds {MAX_ANSWER_BYTES // (1 << 20)} MiB" in err
    assert int(peak) < 512 * 1024, f"peak RSS {int(peak) // 1024} MiB for a refused 300 MB answer"


def test_answer_cap_applies_to_the_policy_list_too() -> None:
    """Listing the server's policies goes through the same capped reader (a huge list is refused, not parsed)."""
    from auditor.policy.opa_engine import OpaSettings

    class _HugeList(Handler):
        def do_GET(self) -> None:
            size = MAX_ANSWER_BYTES + 1
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                for _ in range(size // (1 << 20) + 1):
                    self.wfile.write(b" " * (1 << 20))
            except OSError:
                pass

    with OpaTestServer(handler_class=_HugeList) as s:
        client = OpaSettings.build(s.url, retries=0, timeout=60).client()
        with pytest.raises(requests.exceptions.RequestException, match="exceeds"):
            client._session.get(f"{client.root_url}/policies", timeout=60)
