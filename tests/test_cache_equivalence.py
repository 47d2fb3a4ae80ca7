"""Random edits of the sample inventory: a pull-request run that reads results back from the cache gives the report
of runs that read nothing back, and its new/fixed findings are what comparing two plain runs gives.

Every reuse a run makes (parsed files, partition results and located findings read back by key, the stored audit of
the base revision, results carried from the base's audit to the working tree's in one process) is a place where a
wrong key or a stale entry would report yesterday's findings: a finding missing from the report is a silent pass.
The other tests of the cache check the edits someone thought of; this one draws them. Each example is a history of
two pull requests on one repository and one cache directory, as a CI cache lives through pushes to the main branch:

1. the sample committed; the main branch's run (``check --cache``) fills the cache;
2. one to three edits in the working tree, drawn from the inventory's own vocabulary (a value swapped for one the
   same key has elsewhere, a list item dropped or copied from another list of the same name, a key dropped, a file
   rewritten or its lines moved, a file deleted), so that most edits keep the inventory valid and move lineage facts
   between partitions (a field's category, a system's jurisdiction, a flow's purpose or target...);
3. ``check --diff-base HEAD --cache`` twice (the second reads everything back) and ``check --diff-base HEAD``
   without a cache: byte-identical output and exit code (in French too: its messages are rebuilt from what the
   located findings store); the findings are those of a plain ``check`` of the working tree, and ``gate.new``,
   ``gate.fixed`` and the exit code are what plain runs of the two revisions give;
4. the edits committed (reverted when the tool refuses the inventory: such a change is not merged), the main
   branch's run again with the same cache (its output: a plain run's), more edits, step 3 again.

Half the histories have their cached runs' partitions built by the keyer process (``pipeline.Keyer``), half by the
CLI itself.

``AUDITOR_CACHE_EXAMPLES`` sets the number of histories (default 6: ~16 s of one worker).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.conftest import GIT_IDENTITY, SAMPLE, Run, commit_all, counts, run_auditor, tree_get, tree_paths

from auditor import pipeline

EXAMPLES = int(os.environ.get("AUDITOR_CACHE_EXAMPLES", "6"))
ROUNDS = 2


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.yaml"))


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _walk(doc: Any) -> list[tuple[tuple[Any, ...], Any]]:
    return [(p, tree_get(doc, p)) for p in tree_paths(doc)]


def _key_of(path: tuple[Any, ...]) -> Any:
    """The mapping key a value sits under (list positions skipped): ``fields`` for ``(..., 'fields', 3)``."""
    return next((p for p in reversed(path) if isinstance(p, str)), None)


def _flat(value: Any) -> bool:
    """A scalar or a list of scalars: what a swap replaces."""
    if isinstance(value, list):
        return all(not isinstance(x, (dict, list)) for x in value)
    return not isinstance(value, dict)


def _vocabulary(root: Path) -> dict[Any, list[Any]]:
    """Every value (scalar, list of scalars, or a list's dict item) seen under each key in the sample, sorted by
    its JSON text so that draws do not depend on dict order."""
    seen: dict[Any, dict[str, Any]] = {}
    for path in _files(root):
        for where, value in _walk(_load(path)):
            key = _key_of(where)
            if key is None:
                continue
            if isinstance(value, dict) and not (where and isinstance(where[-1], int)):
                continue  # a mapping under a key: its parts are swapped, not itself
            if isinstance(value, list) and not _flat(value):
                continue
            seen.setdefault(key, {})[json.dumps(value, sort_keys=True, default=str)] = value
    return {k: [v[t] for t in sorted(v)] for k, v in seen.items()}


VOCABULARY = _vocabulary(SAMPLE)
SAMPLE_FILES = [p.relative_to(SAMPLE).as_posix() for p in _files(SAMPLE)]


@st.composite
def edits(draw: st.DrawFn, files: list[str] = SAMPLE_FILES) -> list[tuple[str, str, int]]:
    """One to three edits of ``files`` (names under the inventory), each ``(file, operation, what)``, applied by
    :func:`apply` in order."""
    out: list[tuple[str, str, int]] = []
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(files))
        # Weighted towards edits that keep the inventory valid (a deleted file mostly leaves references dangling).
        op = draw(
            st.sampled_from(["swap"] * 6 + ["drop"] * 2 + ["graft"] * 2 + ["unkey", "rewrite", "lines", "delete"])
        )
        out.append((name, op, draw(st.integers(0, 10**6))))
    return out


def apply(inv: Path, plan: list[tuple[str, str, int]], draw_value: st.DrawFn) -> list[str]:
    """Apply ``plan`` to the inventory ``inv``; what was done, for the failure message."""
    done: list[str] = []
    for name, op, seed in plan:
        path = inv / name
        if not path.exists():
            continue
        if op == "delete":
            path.unlink()
            done.append(f"{name}: deleted")
            continue
        if op == "lines":
            path.write_text("# moved\n" * (1 + seed % 3) + path.read_text(encoding="utf-8"), encoding="utf-8")
            done.append(f"{name}: lines moved")
            continue
        doc = _load(path)
        places = [(p, v) for p, v in _walk(doc) if p]
        if op == "swap":
            choices = [(p, v) for p, v in places if len(VOCABULARY.get(_key_of(p), [])) > 1 and _flat(v)]
            if choices:
                where, old = choices[seed % len(choices)]
                pool = [x for x in VOCABULARY[_key_of(where)] if x != old and type(x) is type(old)]
                if pool:
                    new = draw_value(st.sampled_from(pool))
                    tree_get(doc, where[:-1])[where[-1]] = copy.deepcopy(new)
                    done.append(f"{name}: {'/'.join(map(str, where))} {old!r} -> {new!r}")
        elif op == "drop":
            items = [(p, v) for p, v in places if isinstance(p[-1], int)]
            if items:
                where, _ = items[seed % len(items)]
                del tree_get(doc, where[:-1])[where[-1]]
                done.append(f"{name}: {'/'.join(map(str, where))} dropped")
        elif op == "graft":
            lists = [(p, v) for p, v in places if isinstance(v, list) and v and isinstance(v[0], dict)]
            if lists:
                where, target = lists[seed % len(lists)]
                pool = [x for x in VOCABULARY.get(_key_of(where), []) if isinstance(x, dict)]
                if pool:
                    item = copy.deepcopy(draw_value(st.sampled_from(pool)))
                    if isinstance(item.get("id"), str):
                        item["id"] += "-copy"
                    target.append(item)
                    done.append(f"{name}: {'/'.join(map(str, where))} += {item.get('id', '?')}")
        elif op == "unkey":
            keyed = [(p, v) for p, v in places if isinstance(p[-1], str) and p[-1] not in ("id", "version")]
            if keyed:
                where, _ = keyed[seed % len(keyed)]
                del tree_get(doc, where[:-1])[where[-1]]
                done.append(f"{name}: {'/'.join(map(str, where))} removed")
        else:
            done.append(f"{name}: rewritten")
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return done


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *GIT_IDENTITY, *args], cwd=repo, check=True, capture_output=True)


def check(repo: Path, *args: str) -> Run:
    return run_auditor("check", "inventory", "--format", "json", *args, cwd=repo)


def report(run: Run, what: str) -> dict[str, Any]:
    assert run.code in (0, 1), f"{what}: exit {run.code}\n{run.err}"
    value: dict[str, Any] = json.loads(run.out)
    return value


def verdict(run: Run) -> tuple[int, str]:
    """What a run says: its exit code and output, or for a tool error its exit code and first error line."""
    if run.code in (0, 1):
        return run.code, run.out
    lines = [x for x in run.err.splitlines() if x.strip()]
    return run.code, lines[0] if lines else ""


@settings(
    max_examples=EXAMPLES,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_cached_pull_requests_give_the_reports_of_uncached_runs(
    tmp_path_factory: Any, monkeypatch: pytest.MonkeyPatch, data: st.DataObject
) -> None:
    # The cached runs' partitions built by the keyer process (several batches of 5), or in the CLI.
    keyer = data.draw(st.booleans(), label="keyer")
    monkeypatch.setattr(pipeline, "KEYER_MIN", 1 if keyer else 10**9)
    monkeypatch.setattr(pipeline, "KEYER_BATCH", 5)
    event(f"keyer: {keyer}")
    repo = tmp_path_factory.mktemp("repo")
    inv = repo / "inventory"
    shutil.copytree(SAMPLE, inv, ignore=shutil.ignore_patterns("README.md"))
    commit_all(repo)
    cache = str(repo.parent / f"{repo.name}-cache")
    base = check(repo)  # the base revision, audited without any cache
    history: list[str] = []
    for round_ in range(ROUNDS):
        main_run = check(repo, "--cache", cache)  # the main branch's job
        assert verdict(main_run) == verdict(base), f"main-branch run differs after {history}"
        history += apply(inv, data.draw(edits(), label=f"edits {round_}"), data.draw)
        plain = check(repo)
        pr = check(repo, "--diff-base", "HEAD", "--cache", cache, "--timings")
        again = check(repo, "--diff-base", "HEAD", "--cache", cache)
        uncached = check(repo, "--diff-base", "HEAD")
        assert verdict(pr) == verdict(uncached), f"cached and uncached pull-request runs differ after {history}"
        assert verdict(again) == verdict(pr), f"the second cached run differs after {history}"
        if pr.code in (0, 1):  # which of the pull request's paths the example took
            taken = counts(pr).get("partitions taken from the base audit", 0)
            located = counts(pr)["partitions reused located"]
            event(f"round {round_}: findings taken from the base audit: {'yes' if taken else 'no'}")
            event(f"round {round_}: {'some' if taken and located else 'no'} unchanged partitions read back beside them")
        # The messages in another language are rebuilt from what the located findings store (format and arguments).
        french = check(repo, "--diff-base", "HEAD", "--cache", cache, "--lang", "fr")
        assert verdict(french) == verdict(check(repo, "--diff-base", "HEAD", "--lang", "fr")), f"fr: {history}"
        if plain.code not in (0, 1):  # refused: the pull request refuses it the same way, and it is not merged
            assert pr.code == plain.code, f"a tool error the plain run reports is not the pull request's: {history}"
            event(f"round {round_}: exit {plain.code}")
            git(repo, "checkout", "-q", "--", ".")
            git(repo, "clean", "-qfd")
            history.append("(reverted)")
            continue
        # The base is always accepted: the sample, then only merged rounds.
        now, then = report(plain, "plain run"), report(base, "base run")
        got = report(pr, "pull-request run")
        assert got["findings"] == now["findings"], f"findings differ from a plain run's after {history}"
        assert got["summary"] == now["summary"]
        now_fps = {f["fingerprint"] for f in now["findings"]}
        then_fps = {f["fingerprint"] for f in then["findings"]}
        assert set(got["gate"]["new"]) == now_fps - then_fps, f"new findings wrong after {history}"
        fixed = [  # shown where they were: in the base revision
            {**f, "location": {**f["location"], "file": "HEAD:" + f["location"]["file"]}}
            for f in then["findings"]
            if f["fingerprint"] not in now_fps
        ]
        assert got["gate"]["fixed"] == fixed, f"fixed findings wrong after {history}"
        fails = any(f["fingerprint"] not in then_fps and f["severity"] == "error" for f in now["findings"])
        assert (got["gate"]["failed"], pr.code) == (fails, int(fails)), f"wrong gate verdict after {history}"
        event(f"round {round_}: {'new' if now_fps - then_fps else 'no new'}, {'fixed' if fixed else 'none fixed'}")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", f"round {round_}")  # edits may change nothing
        base = plain
