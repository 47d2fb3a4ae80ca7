"""The ways a team adopts the gate: the pre-commit hooks (run through `pre-commit try-repo`, as a user tries them) and
the composite GitHub Action (its shell steps run here, in order, with the inputs substituted as the runner does).

What is not run here, and why: the action's `uses:` steps (actions/setup-python, github/codeql-action/upload-sarif:
other people's actions, asserted by name below) and the `language: python` hooks' environment creation and the
action's install step with install: "true" (each pip-installs auditor and its dependencies from PyPI, minutes on this
machine). The python hooks are the system hooks with another language (asserted below), and the action's steps run
with install: "false", the auditor of this checkout on PATH."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from tests.conftest import CLEAN, MINIMAL, ROOT, commit_all
from tests.test_ci_gate import NEW_FIELD, SARIF_SCHEMA, VIOLATING, git, repo  # noqa: F401  (repo is a fixture)

from auditor.formats.sarif import CODE_SCANNING_MAX_RESULTS

BIN = Path(sys.executable).parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
REFERENCE = re.compile(r"(inputs|github|steps\.[a-z0-9_-]+\.outputs)\.([a-z0-9_-]+)")


def clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "PRE_COMMIT"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("CI", None)
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "CI"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "ci@example.com"
    return env


# --- the GitHub Action ---------------------------------------------------------------------------------------------


class ActionRun:
    def __init__(self) -> None:
        self.skipped: list[str] = []  # `uses:` of the steps not run
        self.ran: list[str] = []
        self.failed: tuple[str, int] | None = None
        self.outputs: dict[str, dict[str, str]] = {}
        self.log = ""


def substitute(text: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    def value(match: re.Match[str]) -> str:
        ref = REFERENCE.fullmatch(match.group(1))
        assert ref is not None, f"expression the test runner does not know: {match.group(0)}"
        scope, name = ref.groups()
        if scope == "inputs":
            return inputs[name]
        if scope == "github":
            assert name == "action_path", name
            return str(ROOT)
        return outputs.get(scope.split(".")[1], {}).get(name, "")

    return EXPRESSION.sub(value, text)


def run_action(inputs: dict[str, str], cwd: Path, tmp: Path, env: dict[str, str] | None = None) -> ActionRun:
    """Run the composite action's steps like the runner: inputs with their defaults, `env:` substituted, outputs
    through $GITHUB_OUTPUT, PATH additions through $GITHUB_PATH, stop at the first failing step."""
    declared = ACTION["inputs"]
    assert set(inputs) <= set(declared), set(inputs) - set(declared)
    values = {name: str(spec.get("default", "")) for name, spec in declared.items()} | inputs
    run = ActionRun()
    tmp.mkdir(parents=True, exist_ok=True)
    base = {**clean_env(tmp), **(env or {})}
    summary = tmp / "step-summary.md"
    summary.touch()
    base |= {"RUNNER_TEMP": str(tmp), "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTION_PATH": str(ROOT)}
    path_file = tmp / "github-path"
    path_file.touch()
    for i, step in enumerate(ACTION["runs"]["steps"]):
        if "uses" in step:
            run.skipped.append(step["uses"])
            continue
        assert "if" not in step, "a run step's condition lives in its script, where this runner sees it"
        assert step["shell"] == "bash"
        out_file = tmp / f"output-{i}"
        out_file.touch()
        step_env = {**base, "GITHUB_OUTPUT": str(out_file), "GITHUB_PATH": str(path_file)}
        extra_path = [line for line in path_file.read_text().splitlines() if line]
        step_env["PATH"] = os.pathsep.join([*reversed(extra_path), base["PATH"]])
        for key, raw in (step.get("env") or {}).items():
            step_env[key] = substitute(str(raw), values, run.outputs)
        assert "${{" not in step["run"], "inputs reach scripts through env only"
        script = tmp / f"step-{i}.sh"
        script.write_text(step["run"], encoding="utf-8")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=step_env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        run.log += proc.stdout + proc.stderr
        run.ran.append(step["name"])
        if "id" in step:
            pairs = [line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line]
            run.outputs[step["id"]] = dict(pairs)
        if proc.returncode != 0:
            run.failed = (step["name"], proc.returncode)
            break
    return run


OTHER_ACTIONS = ["actions/setup-python@v5", "github/codeql-action/upload-sarif@v3"]


def gate_inputs(repo_dir: Path, **more: str) -> dict[str, str]:
    return {"install": "false", "policy": str(repo_dir.parent / "policy"), "law": "none", **more}


def test_action_audits_uploads_annotates_and_fails_on_findings(repo: Path, tmp_path: Path) -> None:  # noqa: F811
    run = run_action(gate_inputs(repo, **{"diff-base": ""}), repo, tmp_path)
    assert run.skipped == OTHER_ACTIONS, run.log  # only other people's actions are not run here
    assert run.ran == ["Install auditor from the action's checkout", "Audit the inventory", "Gate verdict"], run.log
    assert run.failed == ("Gate verdict", 1), run.log
    assert run.outputs["audit"] == {"sarif-file": "auditor.sarif", "exit-code": "1"}
    doc = json.loads((repo / "auditor.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(doc)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}
    assert uris == {"inventory/app.yaml"}
    assert re.search(r"^::error file=inventory/app\.yaml,line=\d+", run.log, re.M), run.log
    assert "privacy gate failed" in run.log
    assert (tmp_path / "step-summary.md").read_text(encoding="utf-8").strip()


def counting_auditor(tmp: Path) -> tuple[dict[str, str], Path]:
    """An `auditor` first on PATH that records each invocation's arguments, then runs this checkout's."""
    wrapper = tmp / "wrapper"
    wrapper.mkdir(parents=True)
    calls = tmp / "calls"
    calls.touch()
    script = wrapper / "auditor"
    script.write_text(
        f'#!/bin/bash\necho "$*" >> {shlex.quote(str(calls))}\nexec {shlex.quote(str(BIN / "auditor"))} "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return {"PATH": f"{wrapper}{os.pathsep}{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}, calls


@pytest.mark.parametrize("annotate", ["true", "false"])
def test_action_audits_once_for_its_annotations_and_its_sarif(repo: Path, tmp_path: Path, annotate: str) -> None:  # noqa: F811
    env, calls = counting_auditor(tmp_path)
    run = run_action(gate_inputs(repo, **{"diff-base": "HEAD", "annotate": annotate}), repo, tmp_path / "run", env)
    assert run.failed == ("Gate verdict", 1), run.log
    checks = [line for line in calls.read_text(encoding="utf-8").splitlines() if line.startswith("check ")]
    assert len(checks) == 1, checks  # an XL pull request audited twice took twice as long
    doc = json.loads((repo / "auditor.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(doc)
    assert [r["baselineState"] for r in doc["runs"][0]["results"]] == ["new"]
    annotated = re.search(r"^::error file=inventory/app\.yaml,line=\d+", run.log, re.M)
    assert bool(annotated) == (annotate == "true"), run.log
    summary = (tmp_path / "run" / "step-summary.md").read_text(encoding="utf-8").strip()
    assert bool(summary) == (annotate == "true")


def test_action_limits_the_uploaded_sarif_to_what_code_scanning_takes(repo: Path, tmp_path: Path) -> None:  # noqa: F811
    """Code scanning refuses a run of more than 25,000 results: the action asks for at most that many when it uploads
    (its sarif-max-results input), the failing findings first, and says so in the log and the job summary; the gate
    still counts every finding. A SARIF kept for another reader (upload-sarif false) holds every result."""
    more = "".join(NEW_FIELD.replace("app.home_gps", f"app.home_gps_{i}") for i in range(2))
    (repo / "inventory" / "app.yaml").write_text(VIOLATING + more, encoding="utf-8")
    env, calls = counting_auditor(tmp_path)
    everything = run_action(gate_inputs(repo, **{"diff-base": ""}), repo, tmp_path / "all", env)
    assert everything.failed == ("Gate verdict", 1), everything.log
    default = ACTION["inputs"]["sarif-max-results"]["default"]
    assert default == str(CODE_SCANNING_MAX_RESULTS)  # what code scanning takes, as the SARIF writer says it
    assert f"--sarif-max-results {default}" in calls.read_text(encoding="utf-8")  # far above this repo's findings
    results = json.loads((repo / "auditor.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]
    assert len(results) == 3 and "results written" not in everything.log

    one = run_action(gate_inputs(repo, **{"diff-base": "", "sarif-max-results": "1"}), repo, tmp_path / "one", env)
    assert one.failed == ("Gate verdict", 1) and one.outputs["audit"]["exit-code"] == "1", one.log
    doc = json.loads((repo / "auditor.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(doc)
    [kept] = doc["runs"][0]["results"]
    assert kept["level"] == "error" and doc["runs"][0]["properties"]["resultsOmitted"] == len(results) - 1
    said = f"1 of {len(results)} results written"
    assert said in one.log and said in (tmp_path / "one" / "step-summary.md").read_text(encoding="utf-8")

    kept_all = {"diff-base": "", "sarif-max-results": "1", "upload-sarif": "false"}
    other = run_action(gate_inputs(repo, **kept_all), repo, tmp_path / "other", env)
    assert other.failed == ("Gate verdict", 1), other.log
    assert len(json.loads((repo / "auditor.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]) == len(results)


def test_action_with_a_diff_base_fails_only_on_new_findings(repo: Path, tmp_path: Path) -> None:  # noqa: F811
    new = run_action(gate_inputs(repo, **{"diff-base": "HEAD"}), repo, tmp_path / "a")
    assert new.failed == ("Gate verdict", 1) and new.outputs["audit"]["exit-code"] == "1", new.log
    git(repo, "commit", "-qam", "the violating field is now on the base")
    old = run_action(gate_inputs(repo, **{"diff-base": "HEAD", "upload-sarif": "false"}), repo, tmp_path / "b")
    assert old.failed is None and old.outputs["audit"]["exit-code"] == "0", old.log
    assert "privacy gate passed" in old.log


def test_action_auto_diff_base_fetches_the_pull_requests_base_branch(repo: Path, tmp_path: Path) -> None:  # noqa: F811
    origin = tmp_path / "origin.git"
    git(repo, "branch", "-M", "main")
    git(repo.parent, "clone", "-q", "--bare", str(repo), str(origin))
    git(repo, "remote", "add", "origin", str(origin))  # origin/main is not fetched yet: the action fetches it
    run = run_action(gate_inputs(repo), repo, tmp_path / "a", env={"GITHUB_BASE_REF": "main"})
    assert run.failed == ("Gate verdict", 1), run.log
    assert git(repo, "rev-parse", "origin/main").strip() == git(repo, "rev-parse", "main").strip()
    doc = json.loads((repo / "auditor.sarif").read_text(encoding="utf-8"))
    assert doc["runs"][0]["properties"]["diffBase"] == "origin/main"
    assert [r["baselineState"] for r in doc["runs"][0]["results"]] == ["new"]


def test_action_stops_on_a_tool_error_with_its_exit_code(repo: Path, tmp_path: Path) -> None:  # noqa: F811
    (repo / "inventory" / "app.yaml").write_text("systems: [unclosed\n", encoding="utf-8")
    run = run_action(gate_inputs(repo, **{"diff-base": ""}), repo, tmp_path)
    assert run.failed == ("Audit the inventory", 2), run.log
    assert run.outputs["audit"]["exit-code"] == "2"
    assert re.search(r"^inventory/app\.yaml:\d+:\d+: ", run.log, re.M), run.log


def test_action_without_install_needs_an_auditor_on_path(repo: Path, tmp_path: Path) -> None:  # noqa: F811
    bare = {"PATH": "/usr/bin:/bin"}  # git and bash, no auditor
    run = run_action(gate_inputs(repo), repo, tmp_path, env=bare)
    assert run.failed == ("Install auditor from the action's checkout", 2), run.log
    assert "no auditor command is on PATH" in run.log


def test_example_workflow_uses_the_action() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "privacy-gate.yml").read_text(encoding="utf-8"))
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    used = [s for s in steps if s.get("uses") == "./"]
    assert len(used) == 1
    assert set(used[0].get("with", {})) <= set(ACTION["inputs"])


# --- pre-commit ----------------------------------------------------------------------------------------------------


def test_python_hooks_are_the_system_hooks_with_their_own_environment() -> None:
    from pre_commit.clientlib import load_manifest

    loaded = {h["id"]: h for h in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert set(loaded) == {"auditor-check", "auditor-validate", "auditor-check-system", "auditor-validate-system"}
    for hook in HOOKS:
        if hook["id"].endswith("-system"):
            twin = next(h for h in HOOKS if h["id"] == hook["id"].removesuffix("-system"))
            differing = {k for k in hook.keys() | twin.keys() if hook.get(k) != twin.get(k)}
            assert differing == {"id", "language", "description"}, differing
            assert (twin["language"], hook["language"]) == ("python", "system")
            assert hook["pass_filenames"] is False  # the inventory is checked whole: references span files


def pre_commit(user: Path, tmp: Path, hook: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(tmp) | {"PRE_COMMIT_HOME": str(tmp / "pre-commit-home")}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files", "--color", "never"],
        cwd=user,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """A repository that keeps an inventory and audits it with the policy alone (auditor.toml)."""
    user = tmp_path / "user"
    (user / "inventory").mkdir(parents=True)
    (user / "inventory" / "app.yaml").write_text(CLEAN, encoding="utf-8")
    (user / "auditor.toml").write_text('law = "none"\n', encoding="utf-8")
    env = clean_env(tmp_path)
    commit_all(user, env=env)
    return user


def test_pre_commit_hooks_pass_a_clean_inventory_and_fail_located(user_repo: Path, tmp_path: Path) -> None:
    for hook in ("auditor-validate-system", "auditor-check-system"):
        r = pre_commit(user_repo, tmp_path, hook)
        assert r.returncode == 0 and "Passed" in r.stdout, r.stdout + r.stderr

    (user_repo / "inventory" / "app.yaml").write_text(VIOLATING, encoding="utf-8")
    r = pre_commit(user_repo, tmp_path, "auditor-check-system")
    assert r.returncode == 1 and "Failed" in r.stdout, r.stdout + r.stderr
    assert re.search(r"inventory/app\.yaml:\d+:\d+", r.stdout), r.stdout

    (user_repo / "inventory" / "app.yaml").write_text(MINIMAL + "  - id: [broken\n", encoding="utf-8")
    r = pre_commit(user_repo, tmp_path, "auditor-validate-system")
    assert r.returncode == 1 and "exit code: 2" in r.stdout, r.stdout + r.stderr
    assert re.search(r"^inventory/app\.yaml:\d+:\d+: ", r.stdout, re.M), r.stdout


def test_pre_commit_hooks_only_run_when_the_inventory_changes(user_repo: Path, tmp_path: Path) -> None:
    (user_repo / "inventory" / "app.yaml").write_text("systems: [unclosed\n", encoding="utf-8")
    (user_repo / "README.md").write_text("docs\n", encoding="utf-8")
    env = clean_env(tmp_path) | {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    subprocess.run(["git", "add", "README.md"], cwd=user_repo, env=env, check=True)
    r = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "auditor-validate-system", "--color", "never"],
        cwd=user_repo,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0 and "no files to check" in r.stdout.lower(), r.stdout + r.stderr
