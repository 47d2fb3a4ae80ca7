"""Policy engines: the interface every engine implements, and result normalisation shared by all of them.

An engine compiles the pack's modules once and evaluates a sequence of partition input documents (JSON text),
returning, per partition, the generated aggregator's value: ``{rule id: [finding object, ...]}``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from auditor import jsonsafe
from auditor.errors import PolicyError, Problem
from auditor.policy import messages
from auditor.policy.catalogue import GENERATED, Module, PolicyPack, Rule, first_undefined

AGGREGATE = f"{GENERATED}/findings"

RuleResults = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class TestResult:
    module: str
    name: str
    passed: bool
    detail: str = ""


def as_test_result(module: str, name: str, value: Any) -> TestResult:
    """A test's value as a result: ``true`` passes; anything else fails (``"undefined"``: the test was undefined)."""
    if value is True:
        return TestResult(module, name, True)
    return TestResult(module, name, False, "undefined" if value == "undefined" else f"value {value!r:.100}")


class Engine(Protocol):
    name: str

    def evaluate(self, pack: PolicyPack, partitions: Sequence[str], labels: Sequence[str] = ()) -> list[RuleResults]:
        """Evaluate every partition (a JSON input document, ``labels`` naming them for error messages);
        raise PolicyError on any engine error."""
        ...

    def evaluate_iter(
        self,
        pack: PolicyPack,
        partitions: Iterable[str],
        labels: Sequence[str] = (),
        *,
        count: int | None = None,
        prestart: bool = False,
    ) -> Iterator[RuleResults]:
        """The results of :meth:`evaluate` in partition order, produced as they are ready (an engine may hand them
        over all at once); errors are raised when reached. ``partitions`` may be a generator: an engine takes the
        documents as it needs them, and ``labels`` may grow meanwhile (it names partition ``i`` once ``i`` was
        taken). ``count`` is how many partitions there are at most (a sizing hint). ``prestart``: every partition
        will be evaluated and the first one takes a while to build, so an engine with a start-up cost may start
        before taking it (a hint)."""
        ...

    def run_tests(self, pack: PolicyPack) -> list[TestResult]:
        """Run the ``test_*`` rules of the pack's ``*_test.rego`` modules."""
        ...


def undefined_error(pack: PolicyPack, generated: Any, label: str, where: str = "") -> PolicyError:
    """The error of an aggregate that was undefined while evaluating ``label``: located at the first rule missing
    from ``generated`` (the whole generated package's value, one query: an OPA engine prepares each new query path,
    ~0.4 s each, and one query per rule took up to a minute on this pack), else unlocated. ``where`` completes
    "was undefined" (e.g. " on the OPA server")."""
    rule = first_undefined(pack, generated)
    if rule is not None:
        return PolicyError([Problem(rule.location, f"rule {rule.id} was undefined{where} while evaluating {label}")])
    return PolicyError(f"policy evaluation was undefined{where} while evaluating {label}")


class AllAtOnce(ABC):
    """An engine that evaluates every partition in one call (the OPA engines): its results come all at once."""

    @abstractmethod
    def evaluate(self, pack: PolicyPack, partitions: Sequence[str], labels: Sequence[str] = ()) -> list[RuleResults]:
        """:meth:`Engine.evaluate`."""

    def evaluate_iter(
        self,
        pack: PolicyPack,
        partitions: Iterable[str],
        labels: Sequence[str] = (),
        *,
        count: int | None = None,
        prestart: bool = False,
    ) -> Iterator[RuleResults]:
        """:meth:`Engine.evaluate_iter`: every partition taken, then every result handed over."""
        return iter(self.evaluate(pack, list(partitions), labels))


def display(module: Module) -> str:
    import os

    try:
        rel = os.path.relpath(module.path)
    except ValueError:
        return str(module.path)
    return str(module.path) if rel.startswith("..") else rel


def normalise(value: Any) -> Any:
    """Engine-independent values: integral floats become ints (engines differ on whether ``1.0`` stays a float)."""
    kind = type(value)
    if kind is str:  # most of a result: tested first, by exact type (XL: ~30 million values)
        return value
    if kind is dict:
        return {k: v if type(v) is str else normalise(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) is str else normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


def _normalise_in_place(value: dict[str, Any] | list[Any]) -> None:
    """:func:`normalise` of a value just decoded from JSON (which nothing else holds), changing it in place instead
    of copying every container: L, 2,101 results, 1.4 to 2.0 -> 0.6 CPU-s. Containers of other types than dict and
    list (none from JSON) are normalised by :func:`normalise`."""
    pairs = value.items() if type(value) is dict else enumerate(value)
    for k, v in pairs:
        kind = type(v)
        if kind is str:
            continue
        if kind is dict or kind is list:
            _normalise_in_place(v)
        elif isinstance(v, (float, dict, list)):
            value[k] = normalise(v)  # type: ignore[index]


def check_results(pack: PolicyPack, value: Any, partition: int) -> RuleResults:
    """Normalise and validate the shape of one partition's result, for every engine in one place; anything
    unexpected is a policy error, never a pass. ``value`` is the engine's fresh answer: it is changed in place."""
    if type(value) is dict:
        _normalise_in_place(value)
    else:
        value = normalise(value)
    if not isinstance(value, dict):
        raise PolicyError(
            f"policy evaluation of partition {partition} returned {type(value).__name__}, not an object of rules"
        )
    results: RuleResults = {}
    for rule in pack.rules:
        items = value.get(rule.id)
        if not isinstance(items, list):
            raise PolicyError(
                [
                    Problem(
                        rule.location,
                        f"rule {rule.id} must evaluate to an array of findings, got {type(items).__name__}",
                    )
                ]
            )
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("subject"), dict):
                raise PolicyError(
                    [Problem(rule.location, f"rule {rule.id} produced a finding without subject: {item!r:.200}")]
                )
            if "message" not in item:
                item["message"] = _english(rule, item)
        results[rule.id] = items
    return results


def _english(rule: Rule, item: dict[str, Any]) -> str:
    """The English message of a finding built with ``lib.findings.msg``: its format and arguments rendered as Rego's
    ``sprintf`` would (:func:`messages.english`; rendering it here rather than in Rego halves what a finding costs
    the embedded engine). A finding with neither a message nor a format it can render is a policy error."""
    fmt, args = item.get("fmt"), item.get("args")
    if not isinstance(fmt, str) or not isinstance(args, list):
        raise PolicyError([Problem(rule.location, f"rule {rule.id} produced a finding without message: {item!r:.200}")])
    try:
        return messages.english(fmt, args)
    except messages.FormatError as exc:
        raise PolicyError([Problem(rule.location, f"rule {rule.id}: its message cannot be rendered: {exc}")]) from None


def dumps(document: Any) -> str:
    """The JSON text of an input document, identical for every engine: compact, UTF-8, keys in insertion order.
    orjson writes it ~8x faster than ``json`` (XL: ~12 s of the CLI's CPU); what orjson refuses (an integer beyond
    64 bits) is written by ``json``."""
    return jsonsafe.dumps_compact(document).decode("utf-8")


_ITEM_TEXT_KEYS = ("attribute", "key", "severity", "verdict", "remediation", "fmt")


def _scalar(x: Any) -> bool:
    return x is None or isinstance(x, (str, int, float, bool))


def valid_results(pack: PolicyPack, value: Any) -> RuleResults | None:
    """``value`` when it has exactly the shape :func:`check_results` gives and findings are built from (one array
    per rule of the pack, each finding an object with a ``subject`` of string ``kind`` and ``id``, a string
    ``message``, optional string ``attribute``/``key``/``severity``/``verdict``/``remediation``/``fmt``, an array
    ``args`` and an array of scalars as ``evidence``), else None. For values read back from a cache: one of another
    shape is a miss, never an error."""
    if not isinstance(value, dict) or len(value) != len(pack.rules):
        return None
    for rule in pack.rules:
        items = value.get(rule.id)
        if not isinstance(items, list):
            return None
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("message"), str):
                return None
            subject = item.get("subject")
            if not (
                isinstance(subject, dict)
                and isinstance(subject.get("kind"), str)
                and isinstance(subject.get("id"), str)
            ):
                return None
            if any(k in item and not isinstance(item[k], str) for k in _ITEM_TEXT_KEYS):
                return None
            evidence = item.get("evidence")
            if evidence is not None and not (isinstance(evidence, list) and all(_scalar(x) for x in evidence)):
                return None
            if "args" in item and not isinstance(item["args"], list):  # lib.findings.msg arguments
                return None
    return value
