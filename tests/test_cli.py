"""The CLI as users drive it: exit codes, located findings, clean JSON, tool errors never pass."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import CLEAN, MINIMAL, POLICIES, ROOT, SAMPLE, run_auditor, run_auditor_process

LOCATED = re.compile(r"^\S+\.ya?ml:\d+:\d+: ")


def test_check_sample_reports_located_findings_and_exits_1() -> None:
    r = run_auditor_process("check", str(SAMPLE), "--no-color")  # the entry point's exit code, from a fresh interpreter
    assert r.code == 1, r.err
    finding_lines = [line.strip() for line in r.out.splitlines() if re.match(r"^\s+inventory/\S+:\d+:\d+: ", line)]
    assert finding_lines, r.out
    assert "Traceback" not in r.out + r.err
    assert re.search(r"\d+ findings: \d+ error", r.out)


def test_check_json_every_finding_has_clause_file_and_line() -> None:
    r = run_auditor("check", str(SAMPLE), "--format", "json")
    assert r.code == 1, r.err
    doc = json.loads(r.out)
    assert doc["findings"], "the sample inventory is meant to contain real gaps"
    for f in doc["findings"]:
        assert f["clause"] and f["rule"] and f["fingerprint"]
        assert f["location"]["file"].startswith("inventory/")
        assert f["location"]["line"] > 0
        assert f["severity"] in ("error", "warning", "info")


def test_json_output_is_byte_identical_across_runs() -> None:
    a = run_auditor("check", str(SAMPLE), "--format", "json")
    b = run_auditor("check", str(SAMPLE), "--format", "json")
    assert a.out == b.out and a.out


def test_fail_on_never_exits_0_and_fail_on_threshold(inventory_dir) -> None:
    d = inventory_dir({"a.yaml": MINIMAL.replace("user.contact.email", "user.location.precise")})
    assert run_auditor("check", str(d), "--fail-on", "never").code == 0
    assert run_auditor("check", str(d), "--fail-on", "error").code == 1


def test_clean_inventory_exits_0(inventory_dir) -> None:
    r = run_auditor("check", str(inventory_dir({"a.yaml": CLEAN})), "--law", "none")
    assert r.code == 0, r.out + r.err
    assert "0 findings" in r.out


def test_output_file_written_and_exit_code_kept(inventory_dir, tmp_path: Path) -> None:
    d = inventory_dir({"a.yaml": MINIMAL.replace("user.contact.email", "user.location.precise")})
    out = tmp_path / "report.json"
    r = run_auditor("check", str(d), "--format", "json", "--output", str(out))
    assert r.code == 1 and r.out == ""
    rules = [f["rule"] for f in json.loads(out.read_text())["findings"]]
    assert "creality.disclosure.undisclosed_category" in rules


def test_sarif_output_is_the_sarif_report_of_the_same_run(tmp_path: Path) -> None:
    """--sarif-output writes, from one audit, the file --format sarif writes, and leaves the main report as it is
    (the GitHub Action annotates and uploads SARIF from one run instead of two)."""
    both = run_auditor(
        "check", str(SAMPLE), "--format", "github", "--lang", "fr", "--sarif-output", str(tmp_path / "a.sarif")
    )
    github = run_auditor("check", str(SAMPLE), "--format", "github", "--lang", "fr")
    sarif = run_auditor("check", str(SAMPLE), "--format", "sarif", "--lang", "fr", "-o", str(tmp_path / "b.sarif"))
    assert both.code == github.code == sarif.code == 1, both.err
    assert both.out == github.out and "::error file=" in both.out
    written = (tmp_path / "a.sarif").read_bytes()
    assert written == (tmp_path / "b.sarif").read_bytes()
    assert json.loads(written)["runs"][0]["results"]


def test_sarif_output_that_cannot_be_written_is_exit_2_after_the_report(tmp_path: Path) -> None:
    r = run_auditor("check", str(SAMPLE), "--format", "json", "--sarif-output", str(tmp_path / "none" / "a.sarif"))
    assert r.code == 2, r.err
    assert json.loads(r.out)["findings"]  # the main report is whole; the run still fails: no gate passes on it
    assert r.err.splitlines()[0].startswith(f"{tmp_path / 'none' / 'a.sarif'}: cannot write the output")


def test_input_errors_exit_2_with_one_line_each(inventory_dir) -> None:
    cases = {
        "malformed": {"a.yaml": "systems:\n  - id: a\n    name: [unclosed\n"},
        "unknown key": {"a.yaml": MINIMAL.replace("    name: App\n", "    nmae: App\n")},
        "dangling": {"a.yaml": MINIMAL.replace("[support]", "[nope]")},
    }
    for name, files in cases.items():
        d = inventory_dir(files)
        r = run_auditor_process("check", str(d))
        assert r.code == 2, (name, r.out, r.err)
        assert "Traceback" not in r.err
        assert r.out == ""
        first = r.err.splitlines()[0]
        assert re.match(r"^/\S+\.yaml:\d+:\d+: ", first), first
        shutil.rmtree(d)


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    r = run_auditor("check", str(tmp_path / "nowhere"))
    assert r.code == 2 and "no such file or directory" in r.err


def test_broken_rego_module_exits_3_with_location(tmp_path: Path, inventory_dir) -> None:
    pol = tmp_path / "policies"
    shutil.copytree(POLICIES, pol)
    target = pol / "rego" / "creality" / "purposes" / "purposes.rego"
    target.write_text(target.read_text() + "\nbroken := {\n", encoding="utf-8")
    r = run_auditor_process("check", str(inventory_dir({"a.yaml": MINIMAL})), "--policy", str(pol))
    assert r.code == 3, r.out + r.err
    assert "purposes.rego:" in r.err and "Traceback" not in r.err


def test_validate_only_checks_the_inventory(inventory_dir) -> None:
    r = run_auditor("validate", str(inventory_dir({"a.yaml": MINIMAL})))
    assert r.code == 0 and "inventory valid" in r.out


def test_rego_unit_tests_pass_on_embedded_engine() -> None:
    r = run_auditor("test")
    assert r.code == 0, r.out + r.err
    m = re.search(r"^(\d+) passed, 0 failed$", r.out, re.M)
    assert m and int(m.group(1)) > 0


# The program, once `check` has written everything, exits without freeing what it built (cli.entry_point: XL's
# ~0.55 s of teardown). What a user relies on must not change: the report, the exit code, what stderr says.
_PROGRAM = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('TEARDOWN RAN\\n'))\n"
    "from auditor.cli import entry_point\n"
    "sys.argv[0] = 'auditor'\n"
    "entry_point()\n"
)


def _program(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROGRAM, *args], capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL
    )


def test_a_finished_check_exits_with_its_verdict_and_every_byte_written_without_a_teardown(
    tmp_path: Path, inventory_dir: Any
) -> None:
    for args in (["--format", "json"], ["--no-color"], ["--format", "sarif", "-o", str(tmp_path / "r.sarif")]):
        program = _program("check", str(SAMPLE), *args)
        in_process = run_auditor("check", str(SAMPLE), *args)
        assert program.returncode == in_process.code == 1, program.stderr
        assert program.stdout == in_process.out and program.stderr == in_process.err  # nothing lost, nothing added
        assert "TEARDOWN RAN" not in program.stderr
    assert json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]
    clean = _program("check", str(inventory_dir({"a.yaml": CLEAN})), "--law", "none")
    assert clean.returncode == 0 and "TEARDOWN RAN" not in clean.stderr, clean.stderr


def test_a_check_that_fails_exits_as_python_does(tmp_path: Path) -> None:
    broken = _program("check", str(tmp_path / "no-such-inventory"))
    assert broken.returncode == 2 and "TEARDOWN RAN" in broken.stderr, broken.stderr
    other = _program("schema")  # a command other than check
    assert other.returncode == 0 and "TEARDOWN RAN" in other.stderr
