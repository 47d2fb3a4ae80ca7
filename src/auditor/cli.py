"""Command line: wires the stages, owns I/O and exit codes.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage or input error (bad YAML,
schema, references); 3 policy or engine error. Any unexpected exception is a tool error (3), never 0 or 1.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import queue
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from auditor import __version__, ci, config, pipeline, workers
from auditor.errors import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_POLICY,
    AuditorError,
    Location,
    OutputError,
    Problem,
    UsageError,
)
from auditor.escape import safe_line
from auditor.i18n import LANGS
from auditor.inventory.loader import discover
from auditor.policy import ENGINES, OVERLAYS, POLICY_PACK, Engine, PolicyPack, load_pack, make_engine
from auditor.policy.catalogue import default_policy_dir

F = TypeVar("F", bound=Callable[..., Any])

CHECK_FORMATS = ("text", "json")
FAIL_ON = ("error", "warning", "info", "never")


def _err(line: str) -> None:
    """One line on stderr, every untrusted character escaped (file names and messages carry inventory text)."""
    with contextlib.suppress(OSError):  # stderr itself is gone: the exit code still tells
        click.echo(safe_line(line), err=True)


# What the CLI writes: a text, or pieces of one, each text or already UTF-8 (JSON and SARIF: formats.jsonstream).
Output = str | Iterable[str] | Iterable[bytes]


def _batched(text: Output) -> Iterator[bytes]:
    """Pieces of output, as UTF-8, joined into writes of ~1 MB (a text report comes a finding at a time, JSON and
    SARIF a slice of findings at a time: :data:`auditor.formats.jsonstream.SLICE`)."""
    if isinstance(text, str):
        yield text.encode("utf-8")
        return
    batch: list[bytes] = []
    size = 0
    for piece in text:
        data = piece.encode("utf-8") if isinstance(piece, str) else piece
        batch.append(data)
        size += len(data)
        if size >= 1 << 20:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)


# The most one ``os.write`` is given. On this project's machines (Linux 6.18 in a VM) writing 855 MB into a file in
# writes of 128 KB to 1 MB took, for ten minutes, 1.6-3.9 s of kernel time against 0.2-0.5 s in writes of 64 KB;
# in other states of the machine 64 KB writes cost 0.1-0.2 s more than 1 MB ones (docs/performance.md, session 27;
# benchmarks/write_size.py). XL's JSON report used to go in ~1 MB writes: the cap bounds the worst case.
WRITE_MAX = 64 << 10


def _write_all(fd: int, piece: bytes) -> None:
    """Write every byte of ``piece`` to ``fd`` with ``os.write``, at most :data:`WRITE_MAX` bytes a call, short
    writes retried: a file-size limit (EFBIG), a full disk (ENOSPC) or a closed pipe (EPIPE) raises OSError instead of
    disappearing in a buffer flushed at exit."""
    data = memoryview(piece)
    while data:
        written = os.write(fd, data[:WRITE_MAX])
        data = data[written:]


def _write_fd(fd: int, text: Output) -> None:
    """Write every piece of ``text`` to ``fd`` (:func:`_write_all`)."""
    for piece in _batched(text):
        _write_all(fd, piece)


def _write_file_overlapped(fd: int, text: Output) -> None:
    """:func:`_write_fd` into a regular file, the writes made by a second thread: ``os.write`` releases the GIL,
    so copying one ~1 MB piece into the page cache overlaps producing the next (XL's 855 MB JSON report: ~2 s of
    writes off the run's one busy core). The thread writes through its own duplicate of ``fd`` and is joined before
    this returns or raises, so no byte is written once the caller closes ``fd`` (or after an interruption, into
    whatever file reuses its number). A write error (a full disk, a file-size limit) is raised here once the pieces
    stop: the caller's file is then incomplete and never renamed into place. Only for regular files: a write there
    always returns, where one into a pipe may wait for its reader forever, and the join with it."""
    pieces: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
    failed: list[OSError] = []
    own = os.dup(fd)

    def writer() -> None:
        try:
            while (piece := pieces.get()) is not None:
                if failed:
                    continue  # keep taking pieces, so that the producer never waits on a full queue
                try:
                    _write_all(own, piece)
                except OSError as exc:
                    failed.append(exc)
        finally:
            os.close(own)

    thread = threading.Thread(target=writer, name="auditor-output", daemon=True)
    thread.start()
    try:
        for piece in _batched(text):
            if failed:
                break
            pieces.put(piece)
    finally:
        pieces.put(None)
        thread.join()
    if failed:
        raise failed[0]


def _output_failed(where: str, exc: OSError) -> OutputError:
    reason = exc.strerror or type(exc).__name__
    return OutputError([Problem(Location(where), f"cannot write the output: {reason}; it is incomplete")])


def emit(text: Output) -> None:
    """Write to standard output; any write error is exit 2 with a message (never a truncated report with a verdict)."""
    try:
        sys.stdout.flush()
        try:
            fd = sys.stdout.fileno()
        except (AttributeError, ValueError, io.UnsupportedOperation):
            fd = -1  # an in-memory stream (tests, embedding): write through it
        if fd < 0:
            for piece in _batched(text):
                sys.stdout.write(piece.decode("utf-8"))
            sys.stdout.flush()
        else:
            _write_fd(fd, text)
    except OSError as exc:
        _silence_stdout()
        raise _output_failed("<stdout>", exc) from None


def _silence_stdout() -> None:
    """After a failed write, point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def write_output(text: Output, output: Path | None) -> None:
    """Write ``text`` (a string, or pieces of one produced as they are written) to --output atomically (a crash or
    an error while producing it leaves the old file or the new one, never half), else to stdout. A write error
    names ``output`` (never the temporary file) and is exit 2."""
    if output is None:
        emit(text)
        return
    shown = str(output)
    try:
        special = not stat.S_ISREG(os.stat(output).st_mode)
    except OSError:
        special = False  # does not exist yet (or cannot be inspected): the atomic path reports any real problem
    if special:
        # /dev/null, /dev/stdout, a named pipe: write into it. Renaming a temporary file over it would replace the
        # device or pipe with a regular file (as root, -o /dev/null would destroy /dev/null).
        try:
            fd = os.open(output, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                _write_fd(fd, text)
            finally:
                os.close(fd)
        except OSError as exc:
            raise _output_failed(shown, exc) from None
        return
    directory = output.parent if str(output.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=directory)
    except OSError as exc:
        raise _output_failed(shown, exc) from None
    try:
        try:
            _write_file_overlapped(fd, text)
            os.fsync(fd)
        finally:
            os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a report is an ordinary file
        os.replace(tmp, output)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _output_failed(shown, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived (Ctrl-C, ``docker stop``, a cancelled CI job). A BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` swallows it; unlike KeyboardInterrupt, click does not turn it
    into "Aborted!" and exit 1 (a pass-or-findings code)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM

    @property
    def message(self) -> str:
        name = signal.Signals(self.signum).name
        what = "interrupted" if self.signum == signal.SIGINT else "terminated"
        return f"auditor: {what} ({name}); exit {self.exit_code}"


def _on_signal(signum: int, _frame: object) -> None:
    if workers.held(signum):
        return  # worker processes are being started: raised again in a few milliseconds, once they are
    # The first signal stops the run; the cleanup that follows (terminating engine workers, removing a temporary
    # output file) is bounded and must not itself be interrupted by a second one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def _stop_now(exc: Interrupted) -> None:
    """Say why and exit at once. The stack has unwound (engine workers terminated, a half-written report removed);
    what is left are threads still waiting on a server (the OPA engine), which a normal exit would wait for."""
    _err(exc.message)
    _exit_now(exc.exit_code)


# What a finished ``check`` leaves to the operating system instead of freeing: a list only when run as the program
# (:func:`entry_point`), None in-process, where the tests run many commands. XL's inventory, its ~940k findings and
# the report, freed object by object, took ~0.55 s between the last output and the exit of a pull-request run.
_HELD_UNTIL_EXIT: list[object] | None = None


def _exit_now(code: int) -> NoReturn:
    """Exit with ``code`` at once, the heap left to the operating system: everything the run writes is written
    (reports with ``os.write``, the cache closed, helper processes joined) and stdout and stderr are flushed here.
    A stdout that cannot take what is buffered is an output error (exit 2), never the verdict's exit code."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        code = max(code, EXIT_INPUT)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def run_guarded(body: Callable[[], int]) -> int:
    """Run a command body; turn every failure into a one-line message and an exit code (never 0 or 1)."""
    try:
        return body()
    except Interrupted as exc:
        _stop_now(exc)
        raise  # unreachable
    except AuditorError as exc:
        lines = exc.lines()
        for line in lines[:200]:
            _err(f"{line}")
        if len(lines) > 200:
            _err(f"... and {len(lines) - 200} more problems")
        kind = {EXIT_INPUT: "input error", EXIT_POLICY: "policy/engine error"}[exc.exit_code]
        if isinstance(exc, OutputError):
            kind = "output error"
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
        where = exc.filename if exc.filename not in (None, "") else "auditor"
        _err(f"{where}: {exc.strerror or exc}")
        return EXIT_INPUT
    except Exception as exc:
        _err(f"auditor: internal error: {type(exc).__name__}: {exc}".splitlines()[0])
        return EXIT_POLICY


def quiet_option(f: F) -> F:
    return click.option(
        "--quiet",
        "-q",
        is_flag=True,
        help="No progress bar (it is only ever drawn on a terminal, outside CI, for runs longer than ~2 s).",
    )(f)


def _audit_with_progress(
    inv: Any, pack: PolicyPack, engine: Engine, *, quiet: bool, fmt: str, output: Path | None, **kwargs: Any
) -> pipeline.Audit:
    """``pipeline.audit`` with a progress bar on stderr when :func:`progress.for_command` allows one."""
    from auditor import progress

    bar = progress.for_command(quiet=quiet, fmt=fmt, to_stdout=output is None)
    try:
        return pipeline.audit(inv, pack, engine, progress=bar, **kwargs)
    finally:
        if bar is not None:
            bar.close()


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file: same inode (hard links, symlinks, ``..``), or the same resolved path
    when either does not exist yet."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino) and stat.S_ISREG(sa.st_mode)


def _may_name(output: Path, sources: list[Path]) -> list[Path]:
    """The ``sources`` that ``output`` may name (:func:`_same_file` decides): all of them when it names a file now;
    when it names none, only those that do not exist either, since a path that names no file cannot be an existing
    input. :func:`_same_file` compares resolved paths when either file is absent: for a new SARIF output and
    XL's 10,000 inputs, 20,000 ``realpath`` calls (~0.4 s before the audit starts)."""
    try:
        os.stat(output)
    except FileNotFoundError:
        return [s for s in sources if not os.path.exists(s)]
    except OSError:
        pass
    return sources


def refuse_overwriting_inputs(outputs: dict[str, Path | None], inputs: Iterable[Path]) -> None:
    """Exit 2 before anything runs when an output (``--output``, ``--write-baseline``) would overwrite a file the run
    reads (an inventory file, the waivers, the baseline, the configuration) or the other output."""
    named = [(flag, path) for flag, path in outputs.items() if path is not None]
    problems: list[Problem] = []
    for i, (flag, path) in enumerate(named):
        for other_flag, other in named[i + 1 :]:
            if _same_file(path, other):
                problems.append(Problem(Location(str(path)), f"{flag} and {other_flag} name the same file; refused"))
    sources = list(inputs)
    for flag, path in named:
        for source in _may_name(path, sources):
            if _same_file(path, source):
                problems.append(
                    Problem(Location(str(path)), f"{flag} would overwrite {source}, an input of this run; refused")
                )
                break
    if problems:
        raise UsageError(problems)


def _paths(paths: Sequence[str]) -> list[Path]:
    return [Path(p) for p in paths] if paths else [Path("inventory")]


def _packs(law: str | None) -> tuple[str, ...]:
    if law is None:
        return (POLICY_PACK, *OVERLAYS)
    try:
        chosen = config.parse_law(law)
    except ValueError as exc:
        raise UsageError(f"--law: {exc}") from None
    if chosen == "all":
        return (POLICY_PACK, *OVERLAYS)
    if chosen == "none":
        return (POLICY_PACK,)
    return (POLICY_PACK, *sorted(chosen.split(","), key=OVERLAYS.index))


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


ENGINE_META = "auditor.engine_options"


def engine_options(f: F) -> F:
    """--engine and the OPA server options (each with an AUDITOR_* environment variable). The OPA options are
    kept in the click context and read by :func:`_make_engine`, so commands keep a single ``engine`` parameter."""
    opa_options = [
        click.option(
            "--opa-url",
            envvar="AUDITOR_OPA_URL",
            metavar="URL",
            help="OPA server for --engine opa, e.g. http://localhost:8181 [env AUDITOR_OPA_URL].",
        ),
        click.option(
            "--opa-token",
            envvar="AUDITOR_OPA_TOKEN",
            metavar="TOKEN",
            help="Bearer token for the OPA server [env AUDITOR_OPA_TOKEN].",
        ),
        click.option(
            "--opa-ca-cert",
            envvar="AUDITOR_OPA_CA_CERT",
            metavar="PEM",
            type=click.Path(exists=True, dir_okay=False),
            help="CA bundle to verify an https OPA server [env AUDITOR_OPA_CA_CERT].",
        ),
        click.option(
            "--opa-client-cert",
            envvar="AUDITOR_OPA_CLIENT_CERT",
            metavar="PEM",
            type=click.Path(exists=True, dir_okay=False),
            help="Client certificate for mutual TLS [env AUDITOR_OPA_CLIENT_CERT].",
        ),
        click.option(
            "--opa-client-key",
            envvar="AUDITOR_OPA_CLIENT_KEY",
            metavar="PEM",
            type=click.Path(exists=True, dir_okay=False),
            help="Key of --opa-client-cert, if not in the same file [env AUDITOR_OPA_CLIENT_KEY].",
        ),
        click.option(
            "--opa-timeout",
            envvar="AUDITOR_OPA_TIMEOUT",
            type=float,
            metavar="SECONDS",
            help="Per-request timeout (default 30) [env AUDITOR_OPA_TIMEOUT].",
        ),
        click.option(
            "--opa-retries",
            envvar="AUDITOR_OPA_RETRIES",
            type=int,
            metavar="N",
            help="Retries of a failed connection (default 2) [env AUDITOR_OPA_RETRIES].",
        ),
        click.option(
            "--opa-concurrency",
            envvar="AUDITOR_OPA_CONCURRENCY",
            type=int,
            metavar="N",
            help="Partitions evaluated in parallel on the server (default 4) [env AUDITOR_OPA_CONCURRENCY].",
        ),
    ]
    names = (
        "opa_url",
        "opa_token",
        "opa_ca_cert",
        "opa_client_cert",
        "opa_client_key",
        "opa_timeout",
        "opa_retries",
        "opa_concurrency",
    )

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        click.get_current_context().meta[ENGINE_META] = {n: kwargs.pop(n, None) for n in names}
        return f(*args, **kwargs)

    decorated: Any = wrapper
    for option in reversed(opa_options):
        decorated = option(decorated)
    decorated = click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default="embedded",
        show_default=True,
        envvar="AUDITOR_ENGINE",
        help="embedded (regorus in worker processes, no server), opa (an OPA server, see --opa-url) or reference "
        "(real OPA in-process, optional package) [env AUDITOR_ENGINE].",
    )(decorated)
    return decorated  # type: ignore[no-any-return]


def _make_engine(name: str) -> Engine:
    ctx = click.get_current_context(silent=True)
    options = dict(ctx.meta.get(ENGINE_META, {})) if ctx is not None else {}
    return make_engine(name, **options)


def _load_pack(policy_dir: Path | None, law: str | None, cfg: config.Config | None = None) -> PolicyPack:
    """The policy pack and overlays: command-line flags first, then auditor.toml / [tool.auditor], then defaults."""
    cfg = cfg if cfg is not None else config.load()
    return load_pack(policy_dir or cfg.policy or default_policy_dir(), _packs(law if law is not None else cfg.law))


def _inputs(targets: Sequence[Path], cfg: config.Config, *files: Path | None) -> list[Path]:
    """Every file a run reads that an output could destroy: the inventory's YAML files, the configuration file and
    the gate's files (waivers, baseline)."""
    found, _problems = discover(targets)  # problems are reported by the load itself
    named = [f for f in (*files, cfg.source) if f is not None]
    return [*named, *found]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="auditor")
def cli() -> None:
    """Audit a YAML data inventory against Creality's privacy policy encoded as Rego.

    Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error, 3 policy or engine error.
    """


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(ci.REPORT_FORMATS), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here.")
@click.option(
    "--sarif-output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the SARIF report to this file, from the same audit: e.g. --format github for annotations and "
    "SARIF for code scanning in one run.",
)
@click.option(
    "--sarif-max-results",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Write at most N results in the SARIF report: open before waived or baselined, new before unchanged, then "
    "the most severe (GitHub code scanning refuses more than 25000; the GitHub Action sets this). Default: all. The "
    "gate and the other formats still count every finding.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default=None,
    help="Exit 1 when an open finding is at or above this severity (only new ones with --diff-base). "
    "Default: fail_on of auditor.toml / [tool.auditor], else error.",
)
@click.option(
    "--waivers",
    "waivers_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Waivers file (YAML): accepted findings with justification, owner and expiry. See docs/ci.md.",
)
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Findings recorded in this baseline (see --write-baseline) do not fail the gate.",
)
@click.option(
    "--write-baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Record the current findings' fingerprints in this file (to adopt the gate on existing debt).",
)
@click.option(
    "--diff-base",
    metavar="GITREV",
    help="Also audit the inventory at this git revision (read from git, no checkout); fail only on new findings.",
)
@click.option(
    "--cache",
    "cache_dir",
    envvar="AUDITOR_CACHE",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep partition results in this directory and reuse them: a run re-evaluates only the systems whose "
    "inputs changed since the cached runs (pull requests). Off by default [env AUDITOR_CACHE].",
)
@engine_options
@click.option("--color/--no-color", default=None, help="Colour the text output (default: only on a terminal).")
@click.option("--timings", "show_timings", is_flag=True, hidden=True, help="Print stage times as JSON on stderr.")
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    default="en",
    show_default=True,
    help="Language of finding messages, titles and fixes (text, markdown, junit); json and sarif keep the English "
    "message for tools and add the translation under 'localized'.",
)
@quiet_option
@policy_options
def check(
    paths: tuple[str, ...],
    fmt: str,
    output: Path | None,
    sarif_output: Path | None,
    sarif_max_results: int | None,
    fail_on: str | None,
    engine: str,
    color: bool | None,
    policy_dir: Path | None,
    law: str | None,
    waivers_file: Path | None,
    baseline_file: Path | None,
    write_baseline: Path | None,
    diff_base: str | None,
    cache_dir: Path | None,
    lang: str,
    show_timings: bool,
    quiet: bool,
) -> None:
    """Audit the inventory at PATHS (default: inventory/) and report findings."""

    def body() -> int:
        # --diff-base may audit two revisions: the second reuses the first's results, kept in memory (compressed)
        # unless a store (--cache) keeps them.
        pipeline.SHARED.keep_in_memory = diff_base is not None and cache_dir is None
        if cache_dir is None:
            return audit_and_report()
        pipeline.SHARED.use_store(cache_dir)
        try:
            return audit_and_report()
        finally:
            pipeline.SHARED.close_store()
            for warning in pipeline.SHARED.warnings:
                _err(f"auditor: warning: {warning}")
            pipeline.SHARED.warnings.clear()

    def audit_and_report() -> int:
        # Fail fast: the configuration, the outputs, the waivers, the baseline and the --diff-base revision are
        # checked before the inventory is audited.
        cfg = config.load()
        gate = ci.GateOptions(fail_on or cfg.fail_on or "error", waivers_file, baseline_file, write_baseline, diff_base)
        targets = _paths(paths)
        outputs = {"--output": output, "--sarif-output": sarif_output, "--write-baseline": write_baseline}
        refuse_overwriting_inputs(outputs, _inputs(targets, cfg, waivers_file, baseline_file))
        # The pack and the engine first: with --cache, the --diff-base revision's findings may be read back from an
        # audit of exactly its files (then it is neither loaded nor audited again).
        pack = _load_pack(policy_dir, law, cfg)
        chosen = _make_engine(engine)
        # The gate's stage: its files and the whole base revision (read from git, read back or loaded and audited).
        timings = pipeline.Timings()
        started = time.perf_counter()
        prepared = ci.prepare(gate, targets, pipeline.StoredBase(pipeline.SHARED, pack, chosen))
        # No stored audit of the base revision: it is audited first (its findings kept compact, and stored with
        # --cache for the next run against the same base), then let go.
        prepared = ci.audit_base_first(prepared, pack, chosen, message_args=lang != "en" or cache_dir is not None)
        timings.add("gate", started)
        # The base revision is done with (read back, audited just now, or absent): no audit after the working tree's
        # reuses its partition results, so none are kept.
        pipeline.SHARED.keep_in_memory = False
        try:
            inv = pipeline.load(targets, timings)
            # A large stored audit of the base is checked by a helper while the working tree loads; if it does not
            # hold, the base is audited first after all, and the working tree loaded again (never both in memory).
            started = time.perf_counter()
            settled = ci.settle(prepared, diff_base, targets)
            if settled.base_inventory is not None:
                del inv
                settled = ci.audit_base_first(settled, pack, chosen, message_args=True)
                inv = pipeline.load(targets)
            prepared = settled
            timings.add("gate", started)
        finally:
            ci.release(prepared)
        # With --cache and no --diff-base (the default branch's job) the audit is stored for a later --diff-base run.
        stores_audit = cache_dir is not None and diff_base is None
        # What renders a message in another language (~130 bytes a finding) is kept for --lang fr, and in an audit
        # that is stored: a later --diff-base run in any language may read it back.
        message_args = lang != "en" or stores_audit
        # A pull request takes the findings of the files its change does not reach from the base's stored audit.
        base = None
        if prepared.base_findings is not None and prepared.base_files:
            files = tuple((name, digest) for name, digest, _ in prepared.base_files)
            base = pipeline.Base(prepared.base_findings, files)
        result = _audit_with_progress(
            inv, pack, chosen, quiet=quiet, fmt=fmt, output=output, timings=timings, message_args=message_args,
            base=base,
        )  # fmt: skip
        started = time.perf_counter()
        if stores_audit:
            pipeline.SHARED.keep_audit(pack, chosen, result)
            started = timings.add("keep audit", started)
        report, baseline_text = ci.build(result.findings, targets, pack, chosen, gate, prepared)
        started = timings.add("gate", started)
        use_colour = color if color is not None else (output is None and sys.stdout.isatty())
        if baseline_text is not None and write_baseline is not None:
            write_output(baseline_text, write_baseline)
        write_output(
            ci.render_chunks(fmt, report, pack, inv, color=use_colour, lang=lang, sarif_max_results=sarif_max_results),
            output,
        )
        if sarif_output is not None:
            sarif = ci.render_chunks("sarif", report, pack, inv, lang=lang, sarif_max_results=sarif_max_results)
            write_output(sarif, sarif_output)
        timings.add("format", started)  # formatting and writing: JSON and SARIF are produced as they are written
        # A SARIF report that holds only some results says so in itself, here and in the job summary.
        limited = ci.sarif_limited(report, sarif_max_results) if fmt == "sarif" or sarif_output is not None else None
        if limited is not None:
            _err(f"auditor: warning: {limited}")
        if show_timings:
            timings.count("audits read back", pipeline.SHARED.audits_read_back)
            timings.count("base trees read back", pipeline.SHARED.trees_read_back)
            _err(json.dumps({**timings.stages, **timings.counts}, sort_keys=True))
        summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
        if fmt == "github" and summary_file:
            try:
                with open(summary_file, "a", encoding="utf-8") as handle:
                    handle.write(ci.step_summary(report, pack, [limited] if limited is not None else []))
            except OSError as exc:
                raise _output_failed(summary_file, exc) from None
        if _HELD_UNTIL_EXIT is not None:
            _HELD_UNTIL_EXIT.extend((inv, result, report, prepared))
        return EXIT_FINDINGS if report.fails() else EXIT_OK

    sys.exit(run_guarded(body))


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(("html", "markdown", "ropa-csv")), default="html", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here.")
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True, help="Language of the report.")
@click.option(
    "--waivers",
    "waivers_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Waivers file: waived findings are listed with their justification, owner and expiry.",
)
@engine_options
@quiet_option
@policy_options
def report(
    paths: tuple[str, ...],
    fmt: str,
    output: Path | None,
    lang: str,
    waivers_file: Path | None,
    engine: str,
    policy_dir: Path | None,
    law: str | None,
    quiet: bool,
) -> None:
    """The compliance report for the Data Protection Officer: HTML (one self-contained file), Markdown, or the
    GDPR Article 30 register of processing activities as CSV. Exit 0 whatever the findings (it is a report)."""

    def body() -> int:
        from auditor import report as dpo_report
        from auditor.report import provenance

        cfg = config.load()
        targets = _paths(paths)
        refuse_overwriting_inputs({"--output": output}, _inputs(targets, cfg, waivers_file))
        options = ci.GateOptions("never", waivers_file)
        prepared = ci.prepare(options, targets)
        inv = pipeline.load(targets)
        pack = _load_pack(policy_dir, law, cfg)
        chosen = _make_engine(engine)
        result = _audit_with_progress(inv, pack, chosen, quiet=quiet, fmt=fmt, output=output)
        gate, _ = ci.build(result.findings, targets, pack, chosen, options, prepared)
        origin = provenance.collect(targets)
        label = provenance.engine_label(chosen.name)
        built = dpo_report.build(
            inv, pack, list(gate.findings), origin, engine=label, lang=lang, lineage=result.lineage
        )
        write_output(dpo_report.render(built, fmt), output)
        return EXIT_OK

    sys.exit(run_guarded(body))


@cli.command("lineage")
@click.argument("paths", nargs=-1)
@click.option("--field", "field_id", metavar="ID", help="Show where this field goes (every flow carrying it).")
@click.option("--system", "system_id", metavar="ID", help="Show what flows into and out of this system or partner.")
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json", "dot", "mermaid")), default="text", show_default=True
)
@click.option("--depth", type=click.IntRange(min=1), default=None, help="With --system: stop after N hops each way.")
@click.option(
    "--audit/--no-audit",
    "run_audit",
    default=True,
    show_default=True,
    help="Run the policy to mark the flows that have findings (violating edges).",
)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the view here.")
@engine_options
@quiet_option
@policy_options
def lineage_cmd(
    paths: tuple[str, ...],
    field_id: str | None,
    system_id: str | None,
    fmt: str,
    depth: int | None,
    run_audit: bool,
    output: Path | None,
    engine: str,
    policy_dir: Path | None,
    law: str | None,
    quiet: bool,
) -> None:
    """Where data comes from and where it goes: upstream and downstream flows with purposes, legal bases and
    borders crossed; flows with findings are marked (red in dot and Mermaid)."""

    def body() -> int:
        from auditor.lineage import analyse, render

        if (field_id is None) == (system_id is None):
            raise UsageError("auditor lineage: give exactly one of --field ID or --system ID")
        cfg = config.load()
        refuse_overwriting_inputs({"--output": output}, _inputs(_paths(paths), cfg))
        inv = pipeline.load(_paths(paths))
        if field_id is not None and field_id not in inv.fields:
            raise UsageError(f"--field: no field {field_id!r} in the inventory")
        if system_id is not None and inv.node(system_id) is None:
            raise UsageError(f"--system: no system or partner {system_id!r} in the inventory")
        violations: dict[str, list[str]] = {}
        if run_audit:
            pack = _load_pack(policy_dir, law, cfg)
            result = _audit_with_progress(inv, pack, _make_engine(engine), quiet=quiet, fmt=fmt, output=output)
            lin = result.lineage
            for f in result.findings:
                if f.subject_kind == "flow" and f.status == "open":
                    violations.setdefault(f.subject_id, []).append(f"{f.severity} {f.rule_id} ({f.clause_id})")
        else:
            lin = analyse(inv)
        if field_id is not None:
            view = render.field_view(lin, field_id, violations)
        else:
            view = render.system_view(lin, str(system_id), violations, depth)
        write_output(render.render(view, fmt), output)
        return EXIT_OK

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

            emit(json.dumps({"valid": True, "files": list(inv.files), "counts": n}, indent=2, sort_keys=True) + "\n")
        else:
            parts = ", ".join(f"{v} {k}{'s' if v != 1 else ''}" for k, v in n.items())
            emit(f"inventory valid: {len(inv.files)} files, {parts}\n")
        return EXIT_OK

    sys.exit(run_guarded(body))


@cli.command("schema")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE, not stdout.")
def schema_cmd(output: Path | None) -> None:
    """Print the inventory JSON Schema (format v1, Draft 2020-12) with a title and a description on every key, for
    editors: point `# yaml-language-server: $schema=...` or VS Code's yaml.schemas at it (docs/inventory.md)."""

    def body() -> int:
        from auditor.inventory import editor_schema

        write_output(editor_schema.text(), output)
        return EXIT_OK

    sys.exit(run_guarded(body))


@cli.command("test")
@engine_options
@click.option("--verbose", "-v", is_flag=True, help="List every test, not only failures.")
@policy_options
def test_cmd(engine: str, verbose: bool, policy_dir: Path | None, law: str | None) -> None:
    """Run the Rego unit tests (*_test.rego) of the policy packs."""

    def body() -> int:
        pack = _load_pack(policy_dir, law)
        results = _make_engine(engine).run_tests(pack)
        failed = [r for r in results if not r.passed]
        for r in results:
            if verbose or not r.passed:
                mark = "PASS" if r.passed else "FAIL"
                emit(safe_line(f"{mark} {r.module}: {r.name}{f' ({r.detail})' if r.detail else ''}") + "\n")
        if not results:
            _err("auditor: no Rego tests found in the policy pack")
            return EXIT_POLICY
        emit(f"{len(results) - len(failed)} passed, {len(failed)} failed\n")
        return EXIT_FINDINGS if failed else EXIT_OK

    sys.exit(run_guarded(body))


def _lookup(pack: PolicyPack, item_id: str) -> Any:
    if item_id in pack.clauses:
        return pack.clauses[item_id]
    if item_id in pack.rules_by_id:
        return pack.rules_by_id[item_id]
    import difflib

    known = [*pack.clauses, *pack.rules_by_id]
    close = difflib.get_close_matches(item_id, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; see `auditor clauses` for the clause ids"
    raise UsageError(f"unknown clause or rule id {item_id!r}{hint}")


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(CHECK_FORMATS), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the list here.")
@engine_options
@policy_options
def clauses(
    paths: tuple[str, ...], fmt: str, output: Path | None, engine: str, policy_dir: Path | None, law: str | None
) -> None:
    """List every clause of the policy and of the enabled overlays: kind, checkability, source and rules.

    Given inventory PATHS, audit them and give each clause its status: compliant, findings, evidence missing,
    not checkable (or no rules)."""

    def body() -> int:
        from auditor import coverage
        from auditor.formats import clauses as clauses_format

        cfg = config.load()
        refuse_overwriting_inputs({"--output": output}, _inputs(_paths(paths) if paths else [], cfg))
        pack = _load_pack(policy_dir, law, cfg)
        found = None
        if paths:
            inv = pipeline.load(_paths(paths))
            found = pipeline.audit(inv, pack, _make_engine(engine)).findings
        cov = coverage.compute(pack, found)
        if fmt == "json":
            text = clauses_format.render_clauses_json(cov, audited=found is not None)
        else:
            text = clauses_format.render_clauses_text(cov)
        write_output(text, output)
        return EXIT_OK

    sys.exit(run_guarded(body))


@cli.command()
@click.argument("item_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(CHECK_FORMATS), default="text", show_default=True)
@policy_options
def explain(item_id: str, fmt: str, policy_dir: Path | None, law: str | None) -> None:
    """Explain a clause or a rule: its French text, summaries, what is checked, the rules and how to fix it.

    ID is a clause id such as II.IV.2.e or GDPR.46, or a rule id such as creality.purposes.undeclared_purpose_flow.
    """

    def body() -> int:
        from auditor.formats import clauses as clauses_format

        pack = _load_pack(policy_dir, law if law is not None else "all")
        item = _lookup(pack, item_id)
        if fmt == "json":
            emit(clauses_format.render_explain_json(pack, item))
        else:
            emit(clauses_format.render_explain_text(pack, item))
        return EXIT_OK

    sys.exit(run_guarded(body))


@cli.group("import")
def import_group() -> None:
    """Build an inventory from another tool's files."""


def _write_tree(out: Path, files: dict[str, str], inputs: Sequence[Path], force: bool) -> None:
    """Write ``files`` (relative path -> text) as the directory ``out``, all at once: they are written into a new
    directory beside it that then takes its place, so an interrupted import leaves the old directory or the new one.
    Never over an input: ``out`` may not be, contain or lie inside an input path."""
    import shutil

    target = out.resolve()
    for source in inputs:
        real = source.resolve()
        if target == real or target.is_relative_to(real) or real.is_relative_to(target):
            raise UsageError(f"--out {out}: refusing to write over or inside the input {source}")
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a directory")
        if any(out.iterdir()):
            from auditor.importers.fides import REPORT_NAME

            if not force:
                raise UsageError(f"--out {out}: directory not empty (pass --force to replace a previous import)")
            if not (out / REPORT_NAME).is_file():
                raise UsageError(f"--out {out}: not a previous import (no {REPORT_NAME}); refusing to replace it")
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.import-", dir=parent))
    try:
        for name, text in sorted(files.items()):
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=parent))
            os.replace(target, retired / "old")
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@import_group.command("fides")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, file_okay=False), help="Directory of the new inventory."
)
@click.option(
    "--jurisdiction",
    metavar="CODE",
    help="Where systems and partners process data when their Fides manifest does not say (meta.jurisdiction): "
    "a two-letter code such as EU, CN or US.",
)
@click.option("--force", is_flag=True, help="Replace the --out directory of a previous import.")
def import_fides(paths: tuple[str, ...], out: Path, jurisdiction: str | None, force: bool) -> None:
    """Import Fides manifests (fideslang system, dataset, data_use, data_category, data_subject, organization
    resources in YAML) as an inventory in DIR: systems, fields with their categories, purposes, flows and partners.
    What Fides does not say and the policy needs is marked TODO in the files and listed in DIR/FIDES-IMPORT.md."""

    def body() -> int:
        import re

        from auditor import inventory
        from auditor.errors import InputError, PolicyError, Problem
        from auditor.importers import emit, fides

        if jurisdiction is not None and not re.fullmatch(r"[A-Z]{2}", jurisdiction):
            raise UsageError(f"--jurisdiction: {jurisdiction!r} is not a two-letter code such as EU, CN or US")
        sources = [Path(p) for p in paths]
        manifests = fides.parse(sources)
        result = fides.convert(manifests, jurisdiction=jurisdiction)
        shown = out.as_posix().rstrip("/")
        try:  # what is written must be an inventory `auditor validate` accepts
            inventory.load_sources([(f"{shown}/{name}", text.encode("utf-8")) for name, text in result.files.items()])
        except InputError as exc:  # a bug of the importer, not of the user's manifests
            raise PolicyError(
                [Problem(p.location, f"import produced an invalid inventory: {p.message}") for p in exc.problems]
            ) from None
        files = {**result.files, fides.REPORT_NAME: fides.report(result, manifests.files)}
        _write_tree(out, files, sources, force)
        c = result.counts
        _err(
            emit.safe_text(
                f"auditor: imported {c['systems']} systems, {c['partners']} partners, {c['fields']} fields, "
                f"{c['flows']} flows and {c['purposes']} purposes from {len(manifests.files)} Fides files into "
                f"{shown}/; {len(result.todos)} facts to fill (TODO comments, listed in {shown}/{fides.REPORT_NAME})"
            )
        )
        return EXIT_OK

    sys.exit(run_guarded(body))


def main() -> None:
    install_signal_handlers()
    try:
        cli()
    except Interrupted as exc:  # outside a command body (while parsing options, say)
        _stop_now(exc)


def entry_point() -> None:
    """What ``auditor`` and ``python -m auditor`` run: :func:`main`, and once ``check`` has finished, the exit
    without freeing what it built (:func:`_exit_now`). The tests run :func:`main` in their own process."""
    global _HELD_UNTIL_EXIT
    _HELD_UNTIL_EXIT = []
    try:
        main()
    except SystemExit as exc:
        if _HELD_UNTIL_EXIT and isinstance(exc.code, int):
            try:
                _exit_now(exc.code)
            except Interrupted as stop:  # a signal while the last bytes were flushed: said, as anywhere else
                _stop_now(stop)
        raise
