"""Command line: wires the stages, owns I/O and exit codes.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage or input error (bad YAML,
schema, references); 3 policy or engine error. Any unexpected exception is a tool error (3), never 0 or 1.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor import __version__, pipeline
from auditor.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, EXIT_POLICY, AuditorError, UsageError
from auditor.findings import at_or_above
from auditor.policy import ENGINES, OVERLAYS, POLICY_PACK, PolicyPack, load_pack, make_engine
from auditor.policy.catalogue import default_policy_dir

F = TypeVar("F", bound=Callable[..., Any])

CHECK_FORMATS = ("text", "json")
FAIL_ON = ("error", "warning", "info", "never")


def _err(line: str) -> None:
    click.echo(line, err=True)


def write_output(text: str, output: Path | None) -> None:
    """Write to --output atomically (a crash leaves the old file or the new one), else to stdout."""
    if output is None:
        click.echo(text, nl=False)
        return
    directory = output.parent if str(output.parent) else Path()
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_guarded(body: Callable[[], int]) -> int:
    """Run a command body; turn every failure into a one-line message and an exit code (never 0 or 1)."""
    try:
        return body()
    except AuditorError as exc:
        lines = exc.lines()
        for line in lines[:200]:
            _err(f"{line}")
        if len(lines) > 200:
            _err(f"... and {len(lines) - 200} more problems")
        kind = "input error" if exc.exit_code == EXIT_INPUT else "policy/engine error"
        _err(f"auditor: {len(lines)} {kind}{'s' if len(lines) != 1 else ''}; exit {exc.exit_code}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("auditor: interrupted")
        return 130
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except OSError as exc:
        _err(f"auditor: {exc.filename or ''}: {exc.strerror or exc}")
        return EXIT_INPUT
    except Exception as exc:
        _err(f"auditor: internal error: {type(exc).__name__}: {exc}".splitlines()[0])
        return EXIT_POLICY


def _paths(paths: Sequence[str]) -> list[Path]:
    return [Path(p) for p in paths] if paths else [Path("inventory")]


def _packs(law: str | None) -> tuple[str, ...]:
    if law is None or law == "all":
        return (POLICY_PACK, *OVERLAYS)
    if law in ("", "none"):
        return (POLICY_PACK,)
    chosen = [x.strip().lower() for x in law.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in OVERLAYS]
    if unknown:
        raise UsageError(f"--law: unknown overlay {', '.join(unknown)}; choose from {', '.join(OVERLAYS)}, all, none")
    return (POLICY_PACK, *sorted(set(chosen), key=OVERLAYS.index))


def policy_options(f: F) -> F:
    f = click.option(
        "--law",
        default=None,
        metavar="LIST",
        help="Legal overlays to apply with the policy: comma list of gdpr,cnil,pipl, 'all' (default) or 'none'.",
    )(f)
    f = click.option(
        "--policy",
        "policy_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Policy pack directory (clauses.yaml + rego/). Default: the bundled Creality pack.",
    )(f)
    return f


def _load_pack(policy_dir: Path | None, law: str | None) -> PolicyPack:
    return load_pack(policy_dir or default_policy_dir(), _packs(law))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="auditor")
def cli() -> None:
    """Audit a YAML data inventory against Creality's privacy policy encoded as Rego.

    Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error, 3 policy or engine error.
    """


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(CHECK_FORMATS), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here.")
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="error",
    show_default=True,
    help="Exit 1 when an open finding is at or above this severity.",
)
@click.option("--engine", type=click.Choice(ENGINES), default="embedded", show_default=True)
@click.option("--color/--no-color", default=None, help="Colour the text output (default: only on a terminal).")
@policy_options
def check(
    paths: tuple[str, ...],
    fmt: str,
    output: Path | None,
    fail_on: str,
    engine: str,
    color: bool | None,
    policy_dir: Path | None,
    law: str | None,
) -> None:
    """Audit the inventory at PATHS (default: inventory/) and report findings."""

    def body() -> int:
        inv = pipeline.load(_paths(paths))
        pack = _load_pack(policy_dir, law)
        result = pipeline.audit(inv, pack, make_engine(engine))
        if fmt == "json":
            from auditor.formats import json_format

            text = json_format.render(result.findings)
        else:
            from auditor.formats import text as text_format

            use_colour = color if color is not None else (output is None and sys.stdout.isatty())
            text = text_format.render(result.findings, pack, color=use_colour, files=len(inv.files))
        write_output(text, output)
        return EXIT_FINDINGS if at_or_above(result.findings, fail_on) else EXIT_OK

    sys.exit(run_guarded(body))


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(CHECK_FORMATS), default="text", show_default=True)
def validate(paths: tuple[str, ...], fmt: str) -> None:
    """Check the inventory's YAML, schema, ids and references only (no policy evaluation)."""

    def body() -> int:
        inv = pipeline.load(_paths(paths))
        n = {k: len(inv.by_kind(k)) for k in ("system", "field", "flow", "partner", "consent", "purpose")}
        if fmt == "json":
            import json

            click.echo(json.dumps({"valid": True, "files": list(inv.files), "counts": n}, indent=2, sort_keys=True))
        else:
            parts = ", ".join(f"{v} {k}{'s' if v != 1 else ''}" for k, v in n.items())
            click.echo(f"inventory valid: {len(inv.files)} files, {parts}")
        return EXIT_OK

    sys.exit(run_guarded(body))


@cli.command("test")
@click.option("--engine", type=click.Choice(ENGINES), default="embedded", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="List every test, not only failures.")
@policy_options
def test_cmd(engine: str, verbose: bool, policy_dir: Path | None, law: str | None) -> None:
    """Run the Rego unit tests (*_test.rego) of the policy packs."""

    def body() -> int:
        pack = _load_pack(policy_dir, law)
        results = make_engine(engine).run_tests(pack)
        failed = [r for r in results if not r.passed]
        for r in results:
            if verbose or not r.passed:
                mark = "PASS" if r.passed else "FAIL"
                click.echo(f"{mark} {r.module}: {r.name}{f' ({r.detail})' if r.detail else ''}")
        if not results:
            _err("auditor: no Rego tests found in the policy pack")
            return EXIT_POLICY
        click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
        return EXIT_FINDINGS if failed else EXIT_OK

    sys.exit(run_guarded(body))


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if isinstance(code, int) and code == 2:
            raise  # click usage errors already printed their one-line message
        raise
