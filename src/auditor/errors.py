"""Errors that end a run, each with the exit code the CLI maps it to.

Exit codes (PRODUCT.md §6): 0 clean, 1 findings at or above --fail-on, 2 usage or input error,
3 policy or engine error. A tool error never maps to 0 or 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_POLICY = 3


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a source file (1-based line and column); line 0 means the whole file."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One located, one-line error message."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class AuditorError(Exception):
    """Base of every error that ends a run with a located message and an exit code."""

    exit_code = EXIT_POLICY

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            self.problems: tuple[Problem, ...] = (Problem(Location("auditor"), problems),)
        else:
            self.problems = tuple(sorted(set(problems)))
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class InputError(AuditorError):
    """The inventory (or another user input) is invalid: exit 2."""

    exit_code = EXIT_INPUT


class UsageError(AuditorError):
    """The command line is invalid: exit 2."""

    exit_code = EXIT_INPUT


class PolicyError(AuditorError):
    """The policy pack or the engine failed: exit 3."""

    exit_code = EXIT_POLICY


class OutputError(AuditorError):
    """The report could not be written (disk full, file-size limit, closed pipe): exit 2, never a truncated report
    with a verdict."""

    exit_code = EXIT_INPUT
