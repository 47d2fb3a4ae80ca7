"""The CI gate as a pull request uses it: SARIF / JUnit / GitHub / Markdown output, diff against a git revision,
waivers, baselines and exit codes. Rule ids and counts come from the run itself or from fixtures written here, never
from today's rule pack, which keeps growing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from tests.conftest import MINIMAL, POLICIES, SAMPLE, commit_all, md_unescape, run_auditor
from tests.launcher import run_fresh

from auditor.errors import Location
from auditor.filters import GateReport, gate
from auditor.findings import Finding
from auditor.formats import github, junit, markdown, sarif
from auditor.policy import OVERLAYS, POLICY_PACK, PolicyPack, load_pack

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

# A field added on top of the committed inventory: complete and ordinary, except that its data category is one the
# policy never discloses (the tests below do not assume which rule reports it).
NEW_FIELD = """\
      - id: app.home_gps
        category: user.location.precise
        purposes: [support]
"""
VIOLATING = MINIMAL + NEW_FIELD


def validate_sarif(text: str) -> dict:
    doc = json.loads(text)
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(doc)
    return doc


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


GATE_RULE = """\
package creality.gatefixture

import rego.v1

import data.lib.findings.finding

# METADATA
# title: Precise location collected
# description: A rule of the CI gate tests' own policy pack, so their finding counts do not move with the real pack.
# custom:
#   clause: I
#   severity: error
#   verdict: omitted
#   remediation: Stop collecting precise location.
precise_location(inp) := [f |
\tsome x in inp.fields
\tx.category == "user.location.precise"
\tf := finding("field", x.id, "category", sprintf("field %s collects precise location", [x.id]))
]
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose HEAD holds a minimal inventory, with one violating field added on top, and a policy
    pack (outside the repository) with a single rule: the real clause catalogue and finding library, our rule."""
    policy = tmp_path / "policy"
    (policy / "rego" / "creality").mkdir(parents=True)
    shutil.copy(POLICIES / "clauses.yaml", policy / "clauses.yaml")
    shutil.copytree(POLICIES / "rego" / "lib", policy / "rego" / "lib")
    (policy / "rego" / "creality" / "gatefixture.rego").write_text(GATE_RULE, encoding="utf-8")
    root = tmp_path / "repo"
    (root / "inventory").mkdir(parents=True)
    git(root, "init", "-q")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "CI")
    (root / "inventory" / "app.yaml").write_text(MINIMAL, encoding="utf-8")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    (root / "inventory" / "app.yaml").write_text(VIOLATING, encoding="utf-8")
    return root


def check(cwd: Path, *args: str):
    return run_auditor("check", "inventory", "--law", "none", "--policy", str(cwd.parent / "policy"), *args, cwd=cwd)


def findings_json(cwd: Path, *args: str) -> dict:
    r = check(cwd, "--format", "json", *args)
    assert r.code in (0, 1), r.err
    return json.loads(r.out)


# --- diff against a git revision, waivers -------------------------------------------------------------------------


def test_diff_base_reports_exactly_the_added_finding_and_exits_1(repo: Path) -> None:
    head_fps = {f["fingerprint"] for f in findings_json(repo)["findings"]}
    # The committed state, audited the ordinary way, as an independent reference.
    (repo / "inventory" / "app.yaml").write_text(MINIMAL, encoding="utf-8")
    base_fps = {f["fingerprint"] for f in findings_json(repo)["findings"]}
    (repo / "inventory" / "app.yaml").write_text(VIOLATING, encoding="utf-8")
    assert len(head_fps - base_fps) == 1

    r = check(repo, "--diff-base", "HEAD", "--format", "json")
    assert r.code == 1, r.err
    doc = json.loads(r.out)
    assert set(doc["gate"]["new"]) == head_fps - base_fps
    new = [f for f in doc["findings"] if f["fingerprint"] in doc["gate"]["new"]]
    assert new[0]["subject"] == {"kind": "field", "id": "app.home_gps"}
    assert new[0]["location"]["file"] == "inventory/app.yaml" and new[0]["location"]["line"] > 0
    assert doc["gate"]["fixed"] == [] and doc["gate"]["failed"] is True

    text = check(repo, "--diff-base", "HEAD", "--no-color")
    assert text.code == 1 and "compared with HEAD: 1 new, 0 fixed" in text.out


def test_diff_base_ignores_preexisting_findings_and_reports_fixed(repo: Path) -> None:
    git(repo, "commit", "-qam", "add the violating field")
    r = check(repo, "--diff-base", "HEAD")
    assert r.code == 0, r.out + r.err  # the finding exists, but not because of this change
    assert "1 unchanged" in r.out
    (repo / "inventory" / "app.yaml").write_text(MINIMAL, encoding="utf-8")
    doc = findings_json(repo, "--diff-base", "HEAD")
    assert [f["subject"]["id"] for f in doc["gate"]["fixed"]] == ["app.home_gps"]
    assert doc["gate"]["new"] == []


def test_diff_matching_survives_edits_that_move_lines(repo: Path) -> None:
    git(repo, "commit", "-qam", "add the violating field")
    moved = "# a comment\n\n# that moves every line down\n" + VIOLATING.replace("    name: App\n", "    name: App\n\n")
    (repo / "inventory" / "app.yaml").write_text(moved, encoding="utf-8")
    r = check(repo, "--diff-base", "HEAD", "--format", "json")
    assert r.code == 0, r.out + r.err
    assert json.loads(r.out)["gate"]["new"] == []


def test_diff_base_reads_git_objects_without_touching_the_worktree(repo: Path) -> None:
    before = (repo / "inventory" / "app.yaml").read_text()
    status = git(repo, "status", "--porcelain")
    check(repo, "--diff-base", "HEAD")
    assert (repo / "inventory" / "app.yaml").read_text() == before
    assert git(repo, "status", "--porcelain") == status


def test_diff_base_when_the_inventory_did_not_exist_makes_everything_new(repo: Path) -> None:
    (repo / "other.txt").write_text("x")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-qm", "second")
    root_commit = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    git(repo, "rm", "-rq", "--cached", "inventory")
    git(repo, "commit", "-qm", "drop inventory from git")
    doc = findings_json(repo, "--diff-base", "HEAD")
    assert len(doc["gate"]["new"]) == len(doc["findings"]) >= 1
    assert check(repo, "--diff-base", root_commit).code == 1


def test_bad_git_revision_and_no_repository_exit_2(repo: Path, tmp_path: Path) -> None:
    r = check(repo, "--diff-base", "no-such-branch")
    assert r.code == 2 and r.out == ""
    assert "unknown git revision 'no-such-branch'" in r.err and "Traceback" not in r.err
    outside = tmp_path / "plain"
    shutil.copytree(repo / "inventory", outside / "inventory")
    r = check(outside, "--diff-base", "HEAD")
    assert r.code == 2 and "not inside a git repository" in r.err


def test_broken_inventory_at_base_is_a_located_input_error(repo: Path) -> None:
    (repo / "inventory" / "app.yaml").write_text(MINIMAL.replace("    name: App\n", "    nmae: App\n"))
    git(repo, "commit", "-qam", "broken")
    (repo / "inventory" / "app.yaml").write_text(VIOLATING)
    r = check(repo, "--diff-base", "HEAD")
    assert r.code == 2
    assert re.search(r"^HEAD:inventory/app\.yaml:\d+:\d+: unknown key 'nmae'.*--diff-base HEAD\)$", r.err, re.M), r.err


def waiver_file(path: Path, **waiver: str) -> Path:
    lines = ["waivers:"]
    for i, (key, value) in enumerate(waiver.items()):
        lines.append(f"  {'- ' if i == 0 else '  '}{key}: {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def the_new_finding(repo: Path) -> dict:
    doc = findings_json(repo, "--diff-base", "HEAD")
    return next(f for f in doc["findings"] if f["fingerprint"] in doc["gate"]["new"])


def test_valid_waiver_makes_the_gate_pass_and_lists_the_finding_as_waived(repo: Path) -> None:
    f = the_new_finding(repo)
    waivers = waiver_file(
        repo / "waivers.yaml",
        rule=f["rule"],
        subject=f"{f['subject']['kind']}/{f['subject']['id']}",
        justification="Home position needed for the delivery pilot; policy update PRIV-12 pending",
        owner="dpo@example.com",
        expires="2999-12-31",
    )
    r = check(repo, "--diff-base", "HEAD", "--waivers", str(waivers), "--format", "json")
    assert r.code == 0, r.out + r.err
    doc = json.loads(r.out)
    waived = [x for x in doc["findings"] if x["fingerprint"] == f["fingerprint"]]
    assert waived[0]["status"] == "waived"
    assert waived[0]["waiver"]["owner"] == "dpo@example.com"
    assert doc["gate"]["waiver_notes"] == []

    s = check(repo, "--diff-base", "HEAD", "--waivers", str(waivers), "--format", "sarif")
    assert s.code == 0
    result = next(x for x in validate_sarif(s.out)["runs"][0]["results"] if x["partialFingerprints"])
    assert result["suppressions"][0]["kind"] == "external"
    assert "delivery pilot" in result["suppressions"][0]["justification"]
    md = check(repo, "--diff-base", "HEAD", "--waivers", str(waivers), "--format", "markdown")
    assert md.code == 0 and "Waived (1)" in md.out and "dpo@example.com" in md.out


def test_waiver_by_fingerprint(repo: Path) -> None:
    f = the_new_finding(repo)
    waivers = waiver_file(
        repo / "w.yaml", fingerprint=f["fingerprint"], justification="ok", owner="me", expires="2999-01-01"
    )
    assert check(repo, "--diff-base", "HEAD", "--waivers", str(waivers)).code == 0


def test_expired_waiver_stops_waiving_and_is_reported_in_every_format(repo: Path) -> None:
    f = the_new_finding(repo)
    waivers = waiver_file(
        repo / "w.yaml", fingerprint=f["fingerprint"], justification="ok", owner="me", expires="2001-02-03"
    )
    f_id = f["fingerprint"]
    args = ("--diff-base", "HEAD", "--waivers", str(waivers))
    outputs = {}
    for fmt in ("text", "json", "sarif", "junit", "github", "markdown"):
        r = check(repo, *args, "--format", fmt)
        assert r.code == 1, (fmt, r.err)
        assert "expired on 2001-02-03" in r.out, fmt
        outputs[fmt] = r.out
    doc = json.loads(outputs["json"])
    assert doc["gate"]["failed"] is True
    assert [n["kind"] for n in doc["gate"]["waiver_notes"]] == ["expired"]
    assert [f["status"] for f in doc["findings"] if f["fingerprint"] == f_id] == ["open"]
    gh = outputs["github"]
    assert re.search(r"^::warning file=w\.yaml,line=2,col=5,title=Expired waiver::", gh, re.M), gh
    (note,) = json.loads(outputs["sarif"])["runs"][0]["invocations"][0]["toolConfigurationNotifications"]
    assert note["descriptor"]["id"] == "waiver-expired"
    at = note["locations"][0]["physicalLocation"]
    assert at["artifactLocation"]["uri"] == "w.yaml" and at["region"] == {"startLine": 2, "startColumn": 5}


def test_waiver_without_justification_is_refused_with_a_located_error(repo: Path) -> None:
    waivers = repo / "w.yaml"
    waivers.write_text(
        "waivers:\n  - rule: some.rule\n    subject: field/app.home_gps\n    owner: me\n    expires: 2999-01-01\n"
        "  - rule: some.rule\n    subject: field/app.email\n    justification: '  '\n    owner: me\n"
        "    expires: 2999-01-01\n"
    )
    r = check(repo, "--waivers", str(waivers))
    assert r.code == 2 and r.out == ""
    lines = r.err.splitlines()
    assert lines[0] == "w.yaml:2:5: waiver: missing required key 'justification'"
    assert lines[1] == "w.yaml:8:5: waiver: justification must not be empty"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  - rule: a.b\n    justification: j\n    owner: o\n    expires: 2999-01-01\n", "rule + subject"),
        ("  - fingerprint: abcdef12\n    justification: j\n    owner: o\n    expires: someday\n", "YYYY-MM-DD"),
        ("  - fingerprint: abcdef12\n    justification: j\n    owner: o\n    expires: 2999-02-30\n", "not a date"),
        ("  - fingerprint: abcdef12\n    justification: j\n    expires: 2999-01-01\n", "'owner'"),
    ],
)
def test_invalid_waivers_are_refused(repo: Path, body: str, message: str) -> None:
    (repo / "w.yaml").write_text("waivers:\n" + body)
    r = check(repo, "--waivers", "w.yaml")
    assert r.code == 2 and message in r.err and re.match(r"^w\.yaml:\d+:\d+: ", r.err), r.err


def test_unused_waiver_is_reported_without_changing_the_verdict(repo: Path) -> None:
    waivers = waiver_file(
        repo / "w.yaml",
        rule="no.such_rule",
        subject="field/app.email",
        justification="j",
        owner="o",
        expires="2999-01-01",
    )
    r = check(repo, "--waivers", str(waivers))
    assert r.code == 1
    assert "w.yaml:2:5: warning: waiver for no.such_rule on field/app.email matches no finding" in r.out


# --- baselines ----------------------------------------------------------------------------------------------------


def test_baseline_round_trip(repo: Path) -> None:
    assert check(repo).code == 1
    r = check(repo, "--write-baseline", "baseline.json")
    assert r.code == 0, r.out + r.err  # the run that writes the baseline reports as the next one will
    first = (repo / "baseline.json").read_text()
    check(repo, "--write-baseline", "baseline.json")
    assert (repo / "baseline.json").read_text() == first  # deterministic
    doc = findings_json(repo, "--baseline", "baseline.json")
    assert doc["findings"] and {f["status"] for f in doc["findings"]} == {"baseline"}
    assert check(repo, "--baseline", "baseline.json").code == 0
    # A new problem on top of the recorded debt still fails the gate, alone.
    (repo / "inventory" / "app.yaml").write_text(
        VIOLATING + NEW_FIELD.replace("app.home_gps", "app.work_gps"), encoding="utf-8"
    )
    doc = findings_json(repo, "--baseline", "baseline.json")
    assert [f["subject"]["id"] for f in doc["findings"] if f["status"] == "open"] == ["app.work_gps"]
    assert check(repo, "--baseline", "baseline.json").code == 1


def test_bad_baseline_is_an_input_error(repo: Path) -> None:
    (repo / "b.json").write_text('{"findings": [}')
    r = check(repo, "--baseline", "b.json")
    assert r.code == 2 and r.err.startswith("b.json:1:")
    (repo / "b.json").write_text('{"findings": []}')
    assert check(repo, "--baseline", "b.json").code == 2


# --- formats on the sample inventory -------------------------------------------------------------------------------


def test_sarif_on_the_sample_validates_and_carries_lines_fingerprints_and_rules() -> None:
    r = run_auditor("check", str(SAMPLE), "--format", "sarif")
    assert r.code == 1, r.err
    doc = validate_sarif(r.out)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    pack = load_pack(POLICIES, (POLICY_PACK, *OVERLAYS))
    assert [x["id"] for x in rules] == sorted(r.id for r in pack.rules)
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "Clause" in rule["help"]["markdown"]
        assert float(rule["properties"]["security-severity"]) > 0
        assert any(t.startswith("clause:") for t in rule["properties"]["tags"])
    assert run["results"]
    for res in run["results"]:
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["artifactLocation"]["uri"].startswith("inventory/")
        assert loc["region"]["startLine"] > 0 and loc["region"]["startColumn"] > 0
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert re.fullmatch(r"[0-9a-f]{20}", res["partialFingerprints"]["auditorFingerprint/v1"])
    again = run_auditor("check", str(SAMPLE), "--format", "sarif")
    assert again.out == r.out


def test_sarif_max_results_on_the_command_line() -> None:
    """``--sarif-max-results N`` writes the N results that matter most (the sample's errors before its warnings),
    warns on one stderr line, keeps the exit code; the JSON report still holds every finding; N < 1 is a usage
    error."""
    whole = json.loads(run_auditor("check", str(SAMPLE), "--format", "json").out)["findings"]
    errors = [f["fingerprint"] for f in whole if f["severity"] == "error"]
    assert len(whole) > len(errors) > 5
    r = run_auditor("check", str(SAMPLE), "--format", "sarif", "--sarif-max-results", "5")
    assert r.code == 1, r.err
    results = validate_sarif(r.out)["runs"][0]["results"]
    assert [x["partialFingerprints"][sarif.FINGERPRINT_KEY] for x in results] == errors[:5]
    [warning] = [line for line in r.err.splitlines() if line.strip()]
    assert warning.startswith(f"auditor: warning: SARIF report: 5 of {len(whole)} results written")
    limit = str(len(whole))
    same = run_auditor("check", str(SAMPLE), "--format", "sarif", "--sarif-max-results", limit)
    assert same.out == run_auditor("check", str(SAMPLE), "--format", "sarif").out and not same.err.strip()
    bad = run_auditor("check", str(SAMPLE), "--format", "sarif", "--sarif-max-results", "0")
    assert bad.code == 2 and "--sarif-max-results" in bad.err


def test_help_markdown_quotes_the_french_clause_text() -> None:
    pack = load_pack(POLICIES, (POLICY_PACK,))
    rule = next(r for r in pack.rules if pack.clauses[r.clause].excerpt_fr)
    doc = validate_sarif(sarif.render(GateReport(findings=()), pack))
    descriptor = next(d for d in doc["runs"][0]["tool"]["driver"]["rules"] if d["id"] == rule.id)
    assert pack.clauses[rule.clause].excerpt_fr.splitlines()[0] in descriptor["help"]["markdown"]


def test_fingerprints_are_stable_when_lines_move(inventory_dir) -> None:
    first = inventory_dir({"a.yaml": VIOLATING})
    before = json.loads(run_auditor("check", str(first), "--format", "json").out)["findings"]
    (first / "a.yaml").write_text("# moved\n\n\n" + VIOLATING.replace("fields:\n", "fields:\n\n\n"))
    after = json.loads(run_auditor("check", str(first), "--format", "json").out)["findings"]
    assert before and [f["fingerprint"] for f in before] == [f["fingerprint"] for f in after]
    assert [f["location"]["line"] for f in before] != [f["location"]["line"] for f in after]


def test_junit_parses_and_fails_exactly_the_gating_testcases() -> None:
    r = run_auditor("check", str(SAMPLE), "--format", "junit")
    j = run_auditor("check", str(SAMPLE), "--format", "json")
    assert r.code == 1
    root = ET.fromstring(r.out)
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    failed = {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None}
    expected = {
        (f["rule"], f"{f['subject']['kind']}/{f['subject']['id']}")
        for f in json.loads(j.out)["findings"]
        if f["severity"] == "error"
    }
    assert failed == expected
    assert int(root.get("failures", "-1")) == len(failed)
    assert int(root.get("tests", "0")) == len(cases)


def test_output_file_keeps_the_exit_code_for_every_format(tmp_path: Path) -> None:
    for fmt in ("sarif", "markdown"):
        out = tmp_path / f"report.{fmt}"
        r = run_auditor("check", str(SAMPLE), "--format", fmt, "--output", str(out))
        assert r.code == 1 and r.out == "" and out.read_text(), fmt


def test_tool_errors_exit_2_in_every_format(inventory_dir) -> None:
    d = inventory_dir({"a.yaml": "systems: [unclosed\n"})
    for fmt in ("sarif", "junit", "github", "markdown"):
        r = run_auditor("check", str(d), "--format", fmt)
        assert r.code == 2 and r.out == "", fmt


def test_step_summary_written_when_github_env_is_set(repo: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    proc = run_fresh(
        "check",
        "inventory",
        "--law",
        "none",
        "--policy",
        str(tmp_path / "policy"),
        "--diff-base",
        "HEAD",
        "--format",
        "github",
        cwd=repo,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert proc.returncode == 1, proc.stderr
    text = summary.read_text()
    assert text.startswith("previous step\n")  # appended, as GitHub expects
    assert "failed" in text and "app.home_gps" in md_unescape(text) and "1 new" in text


# --- GitHub annotation limits and escaping (synthetic findings built from the pack's own rules) --------------------


def synthetic(pack: PolicyPack, n: int, severity: str, message: str = "problem") -> list[Finding]:
    rule = pack.rules[0]
    return [
        Finding(
            fingerprint=f"{severity[0]}{i:019x}",
            rule_id=rule.id,
            clause_id=rule.clause,
            source="policy",
            severity=severity,
            verdict=rule.verdict,
            title=rule.title,
            message=f"{message} {i}",
            subject_kind="field",
            subject_id=f"{severity}.{i}",
            attribute="category",
            location=Location(f"inventory/{severity}.yaml", i + 1, 3),
            evidence=("app", "warehouse", "partner-x") if i == 0 else (),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def pack() -> PolicyPack:
    return load_pack(POLICIES, (POLICY_PACK, *OVERLAYS))


def test_github_annotations_respect_limits_most_severe_first(pack: PolicyPack) -> None:
    found = synthetic(pack, 4, "info") + synthetic(pack, 15, "warning") + synthetic(pack, 25, "error")
    out = github.render(gate(found), pack).splitlines()
    kinds = [line.split(" ", 1)[0].split("::")[1] for line in out]
    assert kinds.count("error") == 10 and kinds.count("warning") == 10 and kinds.count("notice") == 5
    assert kinds[:10] == ["error"] * 10 and kinds[10:20] == ["warning"] * 10
    assert out[0].startswith("::error file=inventory/error.yaml,line=1,col=3,")
    summary = out[-1]
    assert summary.startswith("::notice title=auditor summary::")
    assert "15 error, 5 warning, 0 info" in summary  # what could not be annotated
    many_infos = github.render(gate(synthetic(pack, 30, "info")), pack).splitlines()
    assert len(many_infos) == 10  # 9 notices + the summary notice, GitHub's per-step notice limit


def test_github_escaping(pack: PolicyPack) -> None:
    assert github.escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    f = synthetic(pack, 1, "error", message="100% wrong,\nreally: yes")[0]
    line = github.render(gate([f]), pack).splitlines()[0]
    assert "\n" not in line
    head, _, message = line.partition("::")[2].partition("::")
    assert message.startswith("100%25 wrong,%0Areally: yes")
    title = head.split("title=", 1)[1]
    assert ":" not in title and "," not in title


def test_sarif_code_flows_and_waived_suppressions_validate(pack: PolicyPack) -> None:
    found = synthetic(pack, 3, "error")
    report = gate(found, base_findings=found[1:], diff_base="origin/main")
    doc = validate_sarif(sarif.render(report, pack))
    results = doc["runs"][0]["results"]
    assert results[0]["codeFlows"][0]["threadFlows"][0]["locations"][0]["location"]["message"]["text"] == "app"
    assert [r["baselineState"] for r in results] == ["new", "unchanged", "unchanged"]


def test_each_sarif_result_is_what_its_finding_alone_gives(pack: PolicyPack) -> None:
    """The SARIF writer makes what results share once (a file's artifact location, an evidence node's location) and
    shares it between results: no result may depend on the others. Each result of the sample's report, with its
    files and evidence nodes named by many, equals the result of a report holding that finding alone."""
    from auditor import pipeline
    from auditor.policy.regorus_engine import RegorusEngine

    inv = pipeline.load([SAMPLE])
    found = pipeline.audit(inv, pack, RegorusEngine(), cache=None).findings
    shared_nodes = [n for f in found for n in f.evidence]
    assert len(shared_nodes) > len(set(shared_nodes)) > 3  # evidence nodes named by several findings
    assert len({f.location.file for f in found}) < len(found) / 3  # files named by several findings
    waived = found[1].with_status("waived", {"justification": "pilot", "owner": "dpo"})
    accepted = found[2].with_status("baseline")
    # The same nodes at other places of another result (a node's location must carry each result's own id).
    path = next(f for f in found if len(f.evidence) >= 2)
    backwards = dataclasses.replace(path, fingerprint="f" * 20, evidence=path.evidence[::-1])
    found = [found[0], waived, accepted, *found[3:], backwards]
    report = gate(found, base_findings=found[::2], diff_base="origin/main")
    whole = validate_sarif(sarif.render(report, pack, inv, lang="fr"))["runs"][0]["results"]
    assert len(whole) == len(found)
    for f, result in zip(found, whole, strict=True):
        alone = GateReport(findings=(f,), diff_base="origin/main", new=report.new, baseline_file=None)
        assert result == json.loads(sarif.render(alone, pack, inv, lang="fr"))["runs"][0]["results"][0], f
    with_evidence = [r for r in whole if r.get("relatedLocations")]
    assert with_evidence and all(
        [loc["id"] for loc in r["relatedLocations"]] == list(range(1, len(r["relatedLocations"]) + 1))
        for r in with_evidence
    )
    assert {r.get("baselineState") for r in whole} == {"new", "unchanged"}
    justifications = [r["suppressions"][0]["justification"] for r in whole[1:3]]
    assert justifications == ["pilot", "accepted debt recorded in baseline"]


def test_annotations_and_summary_show_the_most_severe_of_findings_in_any_order(pack: PolicyPack) -> None:
    """The annotations and the job summary show the first findings in severity order (then file, line), picked
    without sorting all of them: shuffled findings of every severity beyond every budget (and expired waivers taking
    warning annotations) give the lines and tables of by_severity's order, and count the rest."""
    import random

    from auditor.filters import by_severity, most_severe

    rng = random.Random(7)
    found = [
        dataclasses.replace(f, location=Location(f"inventory/{rng.choice('abc')}.yaml", rng.randint(1, 400), 3))
        for severity, n in (("error", 130), ("warning", 140), ("info", 150))
        for f in synthetic(pack, n, severity)
    ]
    rng.shuffle(found)
    ordered = by_severity(found)
    assert most_severe(found, 25) == ordered[:25] and most_severe(found, 10_000) == ordered
    report = gate(found)
    lines = github.render(report, pack).splitlines()
    messages = [line.rsplit("::", 1)[1].split("%0A")[0] for line in lines[:-1]]
    expected = [f for s in ("error", "warning", "info") for f in [g for g in ordered if g.severity == s][:10]][:29]
    assert messages == [github.escape_data(f.message) for f in expected]
    assert "120 error, 130 warning, 141 info" in lines[-1]
    # Three expired waivers (on errors: the errors stay open) take three of the ten warning annotations.
    from auditor.filters.waivers import Waiver

    lapsed = [
        Waiver(Location("waivers.yaml", i + 2, 3), "old", "dpo", dt.date(2020, 1, 1), fingerprint=f.fingerprint)
        for i, f in enumerate(ordered[:3])
    ]
    lines = github.render(gate(found, waivers=lapsed), pack).splitlines()
    warnings = [line for line in lines if line.startswith("::warning ")]
    assert len(warnings) == 10 and all("Expired waiver" in w for w in warnings[:3])
    warned = [g for g in ordered if g.severity == "warning"][:7]
    texts = [w.rsplit("::", 1)[1].split("%0A")[0] for w in warnings[3:]]
    assert texts == [github.escape_data(f.message) for f in warned]
    assert "120 error, 133 warning, 141 info" in lines[-1]

    summary = markdown.render(report, pack)
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "Clause" not in line]
    shown = [row.split(" | ")[2] for row in rows]
    first = markdown.TOP_ROWS + markdown.DETAIL_ROWS
    assert shown == [markdown.cell(f.message) for f in ordered[:first]]
    assert f"More open findings ({len(found) - markdown.TOP_ROWS})" in summary
    assert f"…and {len(found) - first} more" in summary
    against_main = gate(found, base_findings=found[5:], diff_base="main")
    diffed = markdown.render(against_main, pack)
    assert "**5 new** (" in diffed and f"**0 fixed**, {len(found) - 5} unchanged." in diffed
    assert f"; 0 fixed, {len(found) - 5} unchanged since main" in github.render(against_main, pack)
    base_rows = diffed.split("already present at the base")[1].split("</details>")[0]
    present = [f for f in ordered if f not in found[:5]]
    assert f"({len(present)})" in base_rows and f"…and {len(present) - markdown.DETAIL_ROWS} more" in base_rows
    assert [r.split(" | ")[2] for r in base_rows.splitlines() if r.startswith("| ") and "Clause" not in r] == [
        markdown.cell(f.message) for f in present[: markdown.DETAIL_ROWS]
    ]


def test_a_limited_sarif_keeps_the_findings_that_matter_most_and_says_what_it_left_out(pack: PolicyPack) -> None:
    """With ``max_results`` (the action: code scanning refuses more than 25,000 results a run), the SARIF holds that
    many results in report order: open before waived or baselined, new before unchanged, the most severe first, then
    report order; it says how many it left out, and the gate's verdict is still the whole report's. A limit the
    report does not reach changes nothing, byte for byte."""
    import random

    rng = random.Random(11)
    found = [
        dataclasses.replace(f, location=Location(f"inventory/{rng.choice('abc')}.yaml", rng.randint(1, 400), 3))
        for severity, n in (("error", 40), ("warning", 60), ("info", 50))
        for f in synthetic(pack, n, severity)
    ]
    found.sort(key=Finding.sort_key)
    waived = {f.fingerprint for f in rng.sample(found, 30)}
    base = rng.sample(found, 90)  # the rest is new
    accepted = {"justification": "j", "owner": "o"}
    report = gate(
        [f.with_status("waived", accepted) if f.fingerprint in waived else f for f in found],
        base_findings=base,
        diff_base="main",
        fail_on="warning",
    )
    assert len(report.findings) == 150 and 0 < len(report.new) < 150 and report.fails()

    def importance(i: int) -> tuple[object, ...]:
        f = report.findings[i]
        return (f.status != "open", f.fingerprint not in report.new, ["error", "warning", "info"].index(f.severity), i)

    whole = sarif.render(report, pack)
    for limit in (1, 7, 33, 61, 120, 149):
        expected = [report.findings[i] for i in sorted(sorted(range(150), key=importance)[:limit])]
        assert report.foremost(limit) == tuple(expected)
        doc = validate_sarif(sarif.render(report, pack, max_results=limit))
        run = doc["runs"][0]
        assert [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in run["results"]] == [
            f.fingerprint for f in expected
        ]
        assert run["properties"]["resultsTotal"] == 150 and run["properties"]["resultsOmitted"] == 150 - limit
        assert run["properties"]["gateFailed"] is True  # the whole report's verdict, whatever was written
        [note] = run["invocations"][0]["toolExecutionNotifications"]
        assert note["message"]["text"].startswith(f"{limit} of 150 results written")
        # The results written are those of the whole log, unchanged.
        full = {r["partialFingerprints"][sarif.FINGERPRINT_KEY]: r for r in json.loads(whole)["runs"][0]["results"]}
        assert all(r == full[r["partialFingerprints"][sarif.FINGERPRINT_KEY]] for r in run["results"])
    failing = report.failing()
    assert report.foremost(len(failing)) == tuple(failing)  # the findings failing the gate come first
    assert sarif.render(report, pack, max_results=150) == whole == sarif.render(report, pack, max_results=10**6)
    summary = markdown.render(report, pack, notes=["SARIF report: 7 of 150 results written <b>"])
    assert "> **Note:** SARIF report: 7 of 150 results written \\<b\\>" in summary


def test_markdown_summary_is_comment_sized(pack: PolicyPack) -> None:
    found = synthetic(pack, 3000, "error", message="x" * 200)
    text = markdown.render(gate(found), pack)
    assert len(text) <= markdown.MAX_CHARS + 200
    assert text.startswith("## ") and "failed" in text.splitlines()[0]
    assert markdown.cell("a|b\nc<d>") == "a\\|b c\\<d\\>"


def test_junit_skips_waived_and_baseline(pack: PolicyPack) -> None:
    found = synthetic(pack, 2, "error")
    report = gate(found, baseline=frozenset({found[0].fingerprint}))
    root = ET.fromstring(junit.render(report, pack))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["field/error.0"].find("skipped") is not None
    assert cases["field/error.1"].find("failure") is not None


def test_load_sources_matches_load_on_the_same_files() -> None:
    from auditor import inventory

    from_disk = inventory.load([SAMPLE])
    sources = [(name, (SAMPLE.parent / name).read_bytes()) for name in from_disk.files]
    in_memory = inventory.load_sources(sources)
    assert in_memory.files == from_disk.files
    for kind in ("system", "field", "flow", "partner"):
        a, b = from_disk.by_kind(kind), in_memory.by_kind(kind)
        assert a.keys() == b.keys()
        assert all(a[k].loc("id") == b[k].loc("id") for k in a)


def test_diff_base_on_the_sample_reports_only_what_the_added_field_introduces(tmp_path: Path) -> None:
    """The issue's acceptance scenario on the real sample and the real (growing) rule pack: whatever rules fire, the
    new findings are exactly those of the added field, as two ordinary audits would tell; waiving them passes."""
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root / "inventory")
    commit_all(root)

    def audit(*args: str) -> dict:
        r = run_auditor("check", "inventory", "--format", "json", *args, cwd=root)
        assert r.code in (0, 1), r.err
        return json.loads(r.out)

    base = {f["fingerprint"] for f in audit()["findings"]}
    path = root / "inventory" / "systems" / "account.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "    fields:\n"
    assert anchor in text
    added = NEW_FIELD.replace("app.home_gps", "account.home_gps").replace("[support]", "[account_management]")
    path.write_text(text.replace(anchor, anchor + added, 1))
    doc = audit("--diff-base", "HEAD")
    head = {f["fingerprint"] for f in doc["findings"]}
    assert set(doc["gate"]["new"]) == head - base and doc["gate"]["new"]
    new = [f for f in doc["findings"] if f["fingerprint"] in doc["gate"]["new"]]
    assert {f["subject"]["id"] for f in new} == {"account.home_gps"}
    assert doc["gate"]["failed"] is True and doc["gate"]["fixed"] == []

    waivers = root / "waivers.yaml"
    entry = "  - fingerprint: {}\n    justification: pilot\n    owner: dpo\n    expires: 2999-01-01\n"
    waivers.write_text("waivers:\n" + "".join(entry.format(f["fingerprint"]) for f in new))
    r = run_auditor(
        "check", "inventory", "--diff-base", "HEAD", "--waivers", "waivers.yaml", "--format", "json", cwd=root
    )
    assert r.code == 0, r.out[-2000:] + r.err
    statuses = {f["fingerprint"]: f["status"] for f in json.loads(r.out)["findings"]}
    assert all(statuses[f["fingerprint"]] == "waived" for f in new)


# --- paths relative to the repository, whatever the working directory ---------------------------------------------


def test_sarif_annotations_and_junit_are_relative_to_the_repository_from_another_directory(
    repo: Path, tmp_path: Path
) -> None:
    """`auditor check ../repo/inventory` from outside the repository: code scanning resolves SARIF URIs against the
    repository root, so they must read inventory/app.yaml, not an absolute path of the runner or ../repo/..."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    policy = str(tmp_path / "policy")

    def run(fmt: str, path: str, cwd: Path) -> str:
        r = run_auditor("check", path, "--law", "none", "--policy", policy, "--format", fmt, cwd=cwd)
        assert r.code == 1, r.err
        return r.out

    for path, cwd in (
        ("../repo/inventory", elsewhere),
        (str(repo / "inventory"), elsewhere),
        (".", repo / "inventory"),
    ):
        doc = validate_sarif(run("sarif", path, cwd))
        run_ = doc["runs"][0]
        assert "%SRCROOT%" in run_["originalUriBaseIds"]
        locations = [res["locations"][0]["physicalLocation"]["artifactLocation"] for res in run_["results"]]
        assert locations and all(a == {"uri": "inventory/app.yaml", "uriBaseId": "%SRCROOT%"} for a in locations)

        annotations = [line for line in run("github", path, cwd).splitlines() if "file=" in line]
        assert annotations and all("file=inventory/app.yaml,line=" in line for line in annotations), annotations

        root = ET.fromstring(run("junit", path, cwd))
        failing = [c for c in root.iter("testcase") if c.find("failure") is not None]
        assert failing and all(c.get("file") == "inventory/app.yaml" and int(c.get("line", "0")) > 0 for c in failing)
        assert all((c.findtext("failure") or "").startswith("inventory/app.yaml:") for c in failing)


def test_sarif_outside_a_repository_keeps_paths_as_given(inventory_dir, tmp_path: Path) -> None:
    d = inventory_dir({"a.yaml": VIOLATING})
    r = run_auditor("check", "inv", "--law", "none", "--format", "sarif", cwd=tmp_path)
    assert r.code == 1, r.err
    uris = {
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for res in validate_sarif(r.out)["runs"][0]["results"]
    }
    assert uris == {"inv/a.yaml"}
    assert d.parent == tmp_path


def test_repo_paths_follow_symlinks_to_where_each_file_really_is(tmp_path: Path) -> None:
    """What code scanning and annotations resolve against: the path from the top of the git work tree that really
    holds the file, through a symlinked directory or a symlinked file, to another repository, or none."""
    from auditor.filters.gitrev import RepoPaths

    repo, other, outside = tmp_path / "repo", tmp_path / "other", tmp_path / "outside"
    for top in (repo, other):
        (top / ".git").mkdir(parents=True)
    for d in (repo / "inventory" / "systems", other / "shared", outside):
        d.mkdir(parents=True)
    for f in (repo / "inventory" / "systems" / "a.yaml", other / "shared" / "b.yaml", outside / "c.yaml"):
        f.write_text("{}\n")
    (repo / "inventory" / "linked-dir").symlink_to(repo / "inventory" / "systems")
    (repo / "inventory" / "to-other.yaml").symlink_to(other / "shared" / "b.yaml")
    (repo / "inventory" / "to-outside.yaml").symlink_to(outside / "c.yaml")
    (repo / "inventory" / "systems" / "back.yaml").symlink_to(repo / "inventory" / "systems" / "a.yaml")
    (tmp_path / "cwd-link").symlink_to(repo / "inventory")
    paths = RepoPaths(tmp_path)
    assert paths("repo/inventory/systems/a.yaml") == "inventory/systems/a.yaml"
    assert paths("repo/inventory/linked-dir/a.yaml") == "inventory/systems/a.yaml"
    assert paths("cwd-link/systems/a.yaml") == "inventory/systems/a.yaml"
    assert paths("repo/inventory/systems/back.yaml") == "inventory/systems/a.yaml"
    assert paths("repo/inventory/to-other.yaml") == "shared/b.yaml"  # another work tree's top
    assert paths("repo/inventory/to-outside.yaml") is None
    assert paths("outside/c.yaml") is None
    assert paths("repo/inventory/systems/missing.yaml") == "inventory/systems/missing.yaml"
    assert paths("repo/inventory/../inventory/systems/a.yaml") == "inventory/systems/a.yaml"
    assert paths(str(repo / "inventory" / "systems" / "a.yaml")) == "inventory/systems/a.yaml"  # absolute
    assert paths("") is None
