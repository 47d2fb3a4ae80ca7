"""The progress bar of long runs: when it may be drawn, when it is worth drawing, and that it never touches stdout.

Timing is simulated with a fake clock (no wall-clock assertion). The real bar is watched by hand in a terminal, e.g.
`python benchmarks/generate.py --size M --seed 1 --out /tmp/M && auditor check /tmp/M` in tmux."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import SAMPLE

from auditor import cli, progress

TTY = {"stderr_tty": True, "env": {}, "fmt": "text", "to_stdout": True, "quiet": False}


def test_drawn_only_for_a_person_at_a_terminal() -> None:
    assert progress.wanted(**TTY)
    assert not progress.wanted(**{**TTY, "quiet": True})
    assert not progress.wanted(**{**TTY, "stderr_tty": False})  # a pipe, a file, a CI log
    for ci in ("true", "1", "yes", "TRUE"):
        assert not progress.wanted(**{**TTY, "env": {"CI": ci}}), ci
    assert progress.wanted(**{**TTY, "env": {"CI": "false"}})
    assert not progress.wanted(**{**TTY, "env": {"TERM": "dumb"}})
    for fmt in ("json", "sarif", "junit", "github", "markdown", "html", "dot"):
        assert not progress.wanted(**{**TTY, "fmt": fmt}), fmt  # machine-readable output on the screen
        assert progress.wanted(**{**TTY, "fmt": fmt, "to_stdout": False}), fmt  # ... written to --output


def test_shown_only_when_the_run_is_expected_to_last_more_than_two_seconds() -> None:
    assert not progress.worth_showing(0.2, 10, 100)  # too early to project
    assert not progress.worth_showing(0.6, 50, 100)  # projected 1.2 s
    assert progress.worth_showing(0.6, 10, 100)  # projected 6 s
    assert progress.worth_showing(2.5, 99, 100)  # already long
    assert not progress.worth_showing(5.0, 100, 100)  # finished
    assert not progress.worth_showing(5.0, 0, 0)


def fake_clock(step: float):
    ticks = itertools.count()
    return lambda: next(ticks) * step


def test_a_fast_run_draws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress.Progress(clock=fake_clock(0.001)) as bar:
        for done in range(1, 301):
            bar(done, 300)
    assert not bar.shown
    assert capsys.readouterr() == ("", "")


def test_a_slow_run_draws_on_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    with progress.Progress("evaluating partitions", clock=fake_clock(0.5)) as bar:
        for done in range(1, 11):
            bar(done, 10)
    assert bar.shown
    out, err = capsys.readouterr()
    assert out == ""
    assert "evaluating partitions" in err and "10/10" in err


def test_check_stdout_is_byte_identical_with_and_without_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bar forced on (as on a terminal, with a clock that makes the run look long) changes nothing on stdout."""
    shown: list[progress.Progress] = []

    def forced(**_: object) -> progress.Progress:
        bar = progress.Progress(clock=fake_clock(1.0))
        shown.append(bar)
        return bar

    runner = CliRunner()
    args = ["check", str(SAMPLE), "--no-color", "--law", "none"]
    quiet = runner.invoke(cli.cli, [*args, "--quiet"])
    monkeypatch.setattr(progress, "for_command", forced)
    drawn = runner.invoke(cli.cli, args)
    assert quiet.exit_code == drawn.exit_code == 1, quiet.stderr + drawn.stderr
    assert shown and shown[0].shown
    assert "evaluating partitions" in drawn.stderr and "evaluating partitions" not in quiet.stderr
    assert drawn.stdout_bytes == quiet.stdout_bytes and quiet.stdout_bytes


def test_quiet_and_non_text_formats_get_no_bar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """--quiet, and a JSON report on stdout, never ask for a bar even when stderr is a terminal."""
    asked: list[dict[str, object]] = []
    real = progress.wanted

    def spy(**kwargs: object) -> bool:
        asked.append(kwargs)
        return real(**{**kwargs, "stderr_tty": True, "env": {}})  # type: ignore[arg-type]

    monkeypatch.setattr(progress, "wanted", spy)
    runner = CliRunner()
    assert progress.for_command(quiet=True, fmt="text", to_stdout=True) is None
    assert progress.for_command(quiet=False, fmt="json", to_stdout=True) is None
    assert progress.for_command(quiet=False, fmt="json", to_stdout=False) is not None
    r = runner.invoke(cli.cli, ["check", str(SAMPLE), "--format", "json", "--law", "none"])
    assert r.exit_code == 1 and asked[-1]["fmt"] == "json" and asked[-1]["to_stdout"] is True
    r = runner.invoke(cli.cli, ["report", str(SAMPLE), "--format", "markdown", "-o", str(tmp_path / "r.md"), "-q"])
    assert r.exit_code == 0 and asked[-1]["quiet"] is True and asked[-1]["to_stdout"] is False


def test_eta_follows_the_average_pace_since_the_start() -> None:
    assert progress.eta(10.0, 100, 300) == "0:00:20"
    assert progress.eta(90.0, 1, 101) == "2:30:00"
    assert progress.eta(1.0, 0, 10) == "-:--:--"
    assert progress.eta(5.0, 10, 10) == "0:00:00"
