"""Fail-closed checks on a policy pack, before any engine runs it.

Two layers, each a pure function returning located problems (exit 3), never raising:

* :func:`check_source` reads a module's text, for every engine (``load_pack`` calls it): the length limits (the
  embedded engine, regorus, refuses longer files itself, with a less helpful message), a bound on the nesting of
  ``[`` and ``{`` (regorus parses nested brackets in time exponential in their depth: 20 levels took 5 s, 30 never
  ended) and calls to builtins that reach the network, the clock, randomness or the environment (real OPA would
  perform them; an audit must be offline and deterministic).
* :func:`check_ast` walks the modules as parsed by regorus (``Engine.get_ast_as_json``) and refuses what regorus
  itself would let through or crash on (measured on 0.13.0, see docs/engines.md): a call to a function that is
  neither defined in the pack nor a builtin in :data:`ALLOWED_BUILTINS` (regorus accepts an unknown function in a
  branch it never reaches, and a check would pass silently), a refused builtin (``http.send`` is an undefined stub
  there, so ``allow if not revoked`` would hold), and recursion through functions or rules (a recursive function
  crashes regorus with SIGSEGV). Real OPA rejects unknown functions and recursion at compile time too, so the
  engines agree.

Every builtin of :data:`ALLOWED_BUILTINS` is evaluated on regorus and on real OPA by ``tests/test_guard.py``, which
fails if one is added without a sample or if the two engines disagree on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.errors import Location, Problem

# Length limits: regorus 0.13.0's defaults (`PolicyLengthConfig`), checked here first with a located message, and set
# explicitly on every regorus engine so that the two can never drift apart.
MAX_FILE_BYTES = 1_048_576
MAX_LINES = 20_000
MAX_COLUMNS = 1_024

# Nested brackets: regorus's parser tries a comprehension before a literal at every `[` and `{`, so its time doubles
# with each level (measured: 14 levels 0.05 s, 16 0.27 s, 18 1.2 s, 20 5.1 s). The shipped pack nests at most 6
# levels and weighs at most ~1,400 per module (weight: 2**depth summed over every opening bracket, which tracks
# the parse time at ~2-5 us per unit): the bounds leave room for any sane policy and keep parsing under ~0.5 s per
# module.
MAX_NESTING = 12
MAX_NESTING_WEIGHT = 1 << 17

# Builtins a policy may call on the embedded engine: pure, deterministic and implemented alike by regorus 0.13.0 and
# OPA v1.20 (tests/test_guard.py evaluates a sample of each on both). Anything else is refused before evaluation.
ALLOWED_BUILTINS = frozenset(
    {
        # aggregates
        "count", "sum", "product", "max", "min", "sort",
        # arrays, sets, objects
        "array.concat", "array.reverse", "array.slice", "intersection", "union",
        "object.filter", "object.get", "object.keys", "object.remove", "object.subset", "object.union",
        "object.union_n",
        # strings
        "concat", "contains", "endswith", "startswith", "format_int", "indexof", "indexof_n", "lower", "upper",
        "replace", "split", "sprintf", "substring", "trim", "trim_left", "trim_prefix", "trim_right", "trim_space",
        "trim_suffix", "strings.any_prefix_match", "strings.any_suffix_match", "strings.count", "strings.replace_n",
        "strings.reverse",
        # numbers and types
        "abs", "ceil", "floor", "round", "numbers.range", "numbers.range_step", "to_number",
        "is_array", "is_boolean", "is_null", "is_number", "is_object", "is_set", "is_string", "type_name",
        # regular expressions, encodings, versions, graphs
        "regex.match", "regex.is_valid", "regex.split", "regex.find_n", "regex.replace",
        "json.marshal", "json.unmarshal", "json.is_valid", "base64.encode", "base64.decode",
        "base64url.encode", "base64url.decode", "hex.encode", "hex.decode", "urlquery.encode", "urlquery.decode",
        "semver.compare", "semver.is_valid", "graph.reachable",
        # print() output is gathered by the engines, never written to stdout
        "print",
    }
)  # fmt: skip

# Refused with a reason (every engine, see check_source): the audit would depend on the outside world.
REFUSED_BUILTINS = {
    "http.send": "the network",
    "net.lookup_ip_addr": "the network",
    "opa.runtime": "the environment",
    "time.now_ns": "the clock",
    "rand.intn": "randomness",
    "uuid.rfc4122": "randomness",
    "test.sleep": "the clock",
    "trace": "the engine's trace output",
}


# --- text ------------------------------------------------------------------------------------------------------------


def check_source(shown: str, text: str, size: int | None = None) -> list[Problem]:
    """Problems in a module's text that every engine must refuse before parsing it (``size`` in bytes if known)."""
    problems: list[Problem] = []
    size = len(text.encode("utf-8")) if size is None else size
    if size > MAX_FILE_BYTES:
        return [Problem(Location(shown, 1, 1), f"policy module is {size:,} bytes, more than {MAX_FILE_BYTES:,}")]
    lines = text.split("\n")
    if len(lines) > MAX_LINES:
        return [Problem(Location(shown, MAX_LINES + 1, 1), f"policy module has more than {MAX_LINES:,} lines")]
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_COLUMNS:
            problems.append(
                Problem(Location(shown, number, MAX_COLUMNS + 1), f"line longer than {MAX_COLUMNS:,} characters")
            )
            break
    problems.extend(_scan(shown, text))
    return problems


# What _scan looks at, in the order it tries them at each position; any other character is skipped. A string takes
# its closing quote, or the newline that cuts it, with it (that newline does not count as a line, nor does one after a
# backslash in a string); a raw string counts its lines; a refused name is a whole run of name characters (letters,
# digits, _ and .), so "x.http.send" or "http.send2" is not one.
_TOKENS = re.compile(
    r"""
    (?P<newline>\n)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:\\[\s\S]|[^"\\\n])*["\n]?)
    | (?P<raw>`[^`]*`?)
    | (?P<open>[\[{])
    | (?P<close>[\]}])
    | (?<![\w.])(?P<name>NAMES)(?![\w.])
    """.replace("NAMES", "|".join(re.escape(name) for name in sorted(REFUSED_BUILTINS))),
    re.VERBOSE,
)


def _scan(shown: str, text: str) -> Iterator[Problem]:
    """Bracket nesting and refused builtin calls, outside comments and strings (a regular expression finds the
    tokens: ~5x faster than a loop over characters, which was half of loading the pack on every run)."""
    depth = weight = 0
    line, line_start = 1, 0
    n = len(text)
    for token in _TOKENS.finditer(text):
        kind = token.lastgroup
        i = token.start()
        if kind == "newline":
            line, line_start = line + 1, i + 1
        elif kind == "name":
            k = token.end()
            while k < n and text[k] in " \t":
                k += 1
            if k < n and text[k] == "(":
                yield _refused(Location(shown, line, i - line_start + 1), token.group())
        elif kind == "open":
            depth += 1
            weight += 1 << min(depth, 40)
            if depth > MAX_NESTING:
                yield Problem(
                    Location(shown, line, i - line_start + 1),
                    f"brackets nested {depth} deep, more than {MAX_NESTING}: the embedded engine's parse time "
                    "doubles with every level",
                )
                return
            if weight > MAX_NESTING_WEIGHT:
                yield Problem(
                    Location(shown, line, i - line_start + 1),
                    "too many nested brackets in one module for bounded parsing (the embedded engine's parse time "
                    "doubles with every level): split the literals or nest them less",
                )
                return
        elif kind == "close":
            depth = max(0, depth - 1)
        elif kind == "raw":
            lines = token.group().count("\n")
            if lines:
                line, line_start = line + lines, text.rindex("\n", i, token.end()) + 1


def _refused(where: Location, name: str) -> Problem:
    return Problem(
        where,
        f"{name} is refused: it would make the audit depend on {REFUSED_BUILTINS[name]} "
        "(an audit must be offline and deterministic)",
    )


# --- parsed modules --------------------------------------------------------------------------------------------------

Path = tuple[str, ...]


@dataclass
class _Module:
    file: str
    source: bytes
    package: Path
    imports: dict[str, Path | None]  # alias -> data path (None: an input import)
    rules: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)  # (rule path within the package, node)


def check_ast(ast: list[dict[str, Any]], shown: Mapping[str, str] | Callable[[str], str]) -> list[Problem]:
    """Problems in parsed modules (regorus ``get_ast_as_json()``, decoded): calls to unknown or refused functions,
    and recursion. ``shown`` maps a module's name (as given to the engine) to the path to print."""
    display = shown if callable(shown) else (lambda name: shown.get(name, name))
    modules = [_module(m) for m in ast]
    functions: set[Path] = set()
    defined: set[Path] = set()
    names: dict[Path, set[str]] = {}  # package -> its top-level rule and function names
    for m in modules:
        for path, node in m.rules:
            full = m.package + path
            defined.add(full)
            if _is_function(node):
                functions.add(full)
            names.setdefault(m.package, set()).add(path[0])
    under: dict[Path, set[Path]] = {}  # every prefix of a defined path -> the defined paths below it
    for d in defined:
        for k in range(len(d) + 1):
            under.setdefault(d[:k], set()).add(d)
    problems: list[Problem] = []
    edges: dict[Path, dict[Path, Location]] = {}
    for m in modules:
        shown_file = display(m.file)
        for path, node in m.rules:
            source = m.package + path
            uses = edges.setdefault(source, {})
            for kind, target, where in _uses(m, node, names.get(m.package, set())):
                at = Location(shown_file, *where)
                if kind == "call":
                    problem = _check_call(target, at, functions, defined)
                    if problem is not None:
                        problems.append(problem)
                    elif target in functions:
                        uses.setdefault(target, at)
                else:  # a reference reads the rule it names (data.p.r.x) or every rule under it (data.p)
                    hits = {target[:k] for k in range(len(target) + 1) if target[:k] in defined}
                    for hit in hits | under.get(target, set()):
                        uses.setdefault(hit, at)
    problems.extend(_recursion(edges))
    return sorted(set(problems))


def _module(raw: dict[str, Any]) -> _Module:
    src = raw.get("source") or {}
    source = str(src.get("contents", "")).encode("utf-8")
    ast = raw.get("ast") or {}
    package = tuple(_ref((ast.get("package") or {}).get("refr") or {}) or ())
    if package[:1] == ("data",):
        package = package[1:]
    imports: dict[str, Path | None] = {}
    for imp in ast.get("imports") or ():
        parts = _ref(imp.get("refr") or {})
        if not parts or parts[0] not in ("data", "input"):
            continue  # rego.v1, future.keywords
        alias_span = imp.get("as")
        alias = _text(source, alias_span) if isinstance(alias_span, dict) else parts[-1]
        imports[alias] = tuple(parts[1:]) if parts[0] == "data" else None
    module = _Module(str(src.get("file", "")), source, package, imports)
    for rule in ast.get("rules") or ():
        if "Spec" in rule:
            head = rule["Spec"].get("head") or {}
            body: Any = next(iter(head.values()), {})
            path = _ref(body.get("refr") or {}, static_prefix=True) if isinstance(body, dict) else None
        elif "Default" in rule:
            path = _ref(rule["Default"].get("refr") or {}, static_prefix=True)
        else:
            continue
        if path:
            module.rules.append((tuple(path), rule))
    return module


def _is_function(rule: dict[str, Any]) -> bool:
    if "Spec" in rule:
        return "Func" in (rule["Spec"].get("head") or {})
    return bool((rule.get("Default") or {}).get("args"))


def _text(source: bytes, span: Mapping[str, Any]) -> str:
    return source[int(span.get("start", 0)) : int(span.get("end", 0))].decode("utf-8", "replace")


def _ref(node: Mapping[str, Any], static_prefix: bool = False) -> list[str] | None:
    """The dotted path of a reference (``a.b["c"]`` -> a, b, c); with ``static_prefix``, the part before the first
    computed index (``x.y[k]`` -> x, y); else None when not a plain reference."""
    if "Var" in node:
        return [str(node["Var"].get("value"))]
    if "RefDot" in node:
        base = _ref(node["RefDot"].get("refr") or {}, static_prefix)
        fld = node["RefDot"].get("field")
        return None if base is None or not isinstance(fld, list) else [*base, str(fld[-1])]
    if "RefBrack" in node:
        base = _ref(node["RefBrack"].get("refr") or {}, static_prefix)
        index = node["RefBrack"].get("index") or {}
        if base is not None and "String" in index:
            return [*base, str(index["String"].get("value"))]
        return base if static_prefix else None
    return None


def _start(node: Mapping[str, Any]) -> tuple[int, int]:
    """Line and column where a reference starts (its leftmost name)."""
    while True:
        if "Var" in node:
            span = node["Var"].get("span") or {}
            return int(span.get("line", 0)), int(span.get("col", 0))
        inner = node.get("RefDot") or node.get("RefBrack")
        if inner is None:
            first = next(iter(node.values()), None) if node else None
            span = (first.get("span") or {}) if isinstance(first, dict) else {}
            return int(span.get("line", 0)), int(span.get("col", 0))
        node = inner.get("refr") or {}


_SKIP = frozenset({"span", "eidx", "sidx", "qidx"})


def _uses(module: _Module, rule: dict[str, Any], package_names: set[str]) -> list[tuple[str, Path, tuple[int, int]]]:
    """What one rule uses, resolved: ``("call", target, (line, col))`` for every call (target: a data path, or
    ``("builtin", name)``, or ``("unknown", text)`` for something that is not a function name) and ``("ref", data
    path, ...)`` for every reference that may read a rule. One walk: names bound anywhere in the rule (arguments,
    ``some``, ``:=``, ``every``) are local for the whole rule, and references to them read no rule."""
    bound: set[str] = set()
    calls: list[tuple[list[str] | None, tuple[int, int]]] = []
    refs: list[tuple[list[str], tuple[int, int]]] = []
    source = module.source

    def bind(node: Any) -> None:
        """Every variable in a pattern (``[a, b] := ...``, ``some k, v in ...``, function arguments)."""
        if isinstance(node, dict):
            var = node.get("Var")
            if isinstance(var, dict):
                bound.add(str(var.get("value")))
                return
            for key, value in node.items():
                if key not in _SKIP:
                    bind(value)
        elif isinstance(node, list):
            for value in node:
                bind(value)

    def ref(node: dict[str, Any]) -> None:
        parts = _ref(node, static_prefix=True)
        if parts:
            refs.append((parts, _start(node)))
        # Computed indexes are expressions of their own, and so is a base that is not a name (``f(x).y``).
        current: Any = node
        while isinstance(current, dict):
            inner = current.get("RefDot") or current.get("RefBrack")
            if inner is None:
                if "Var" not in current:
                    walk(current)
                return
            if "index" in inner:
                walk(inner["index"])
            current = inner.get("refr")

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        if "Call" in node:
            call = node["Call"]
            fcn = call.get("fcn") or {}
            calls.append((_ref(fcn), _start(fcn)))
            walk(call.get("params"))
            return
        if "Var" in node or "RefDot" in node or "RefBrack" in node:
            ref(node)
            return
        if "SomeVars" in node:
            bound.update(_text(source, s) for s in node["SomeVars"].get("vars") or ())
        elif "SomeIn" in node:
            bind(node["SomeIn"].get("key"))
            bind(node["SomeIn"].get("value"))
        elif "Every" in node:
            for span in (node["Every"].get("key"), node["Every"].get("value")):
                if isinstance(span, dict):
                    bound.add(_text(source, span))
        elif "AssignExpr" in node and node["AssignExpr"].get("op") == "ColEq":
            bind(node["AssignExpr"].get("lhs"))
        if "with_mods" in node:
            for mod in node.get("with_mods") or ():
                value = mod.get("as") or {}
                parts = _ref(value)
                if parts is not None and ".".join(parts) in REFUSED_BUILTINS:
                    calls.append((parts, _start(value)))  # `with f as http.send` calls it in f's place
                else:
                    walk(value)
        for key, value in node.items():
            if key not in _SKIP and key != "with_mods":
                walk(value)

    if "Spec" in rule:
        spec = rule["Spec"]
        for kind, head in (spec.get("head") or {}).items():
            if not isinstance(head, dict):
                continue
            bind(head.get("args"))
            bind(head.get("key"))
            index = (head.get("refr") or {}).get("RefBrack")
            if kind != "Func" and isinstance(index, dict):
                bind(index.get("index"))
            walk(head.get("assign"))
        walk(spec.get("bodies"))
    else:
        default = rule.get("Default") or {}
        bind(default.get("args"))
        walk(default.get("value"))

    def resolve(parts: list[str]) -> Path | None:
        head = parts[0]
        if head in bound or head == "input":
            return None
        if head == "data":
            return tuple(parts[1:])
        if head in module.imports:
            base = module.imports[head]
            return None if base is None else base + tuple(parts[1:])
        if head in package_names:
            return module.package + tuple(parts)
        return ("builtin", ".".join(parts))

    out: list[tuple[str, Path, tuple[int, int]]] = []
    for parts, where in calls:
        if parts is None or parts[0] in bound or parts[0] == "input":
            # Not a function name (a computed reference, a local variable, the input): nothing can be called.
            out.append(("call", ("unknown", "<computed>" if parts is None else ".".join(parts)), where))
            continue
        target = resolve(parts)
        if target is not None:
            out.append(("call", target, where))
    for parts, where in refs:
        target = resolve(parts)
        if target is not None and target[:1] != ("builtin",):
            out.append(("ref", target, where))
    return out


def _check_call(target: Path, where: Location, functions: set[Path], defined: set[Path]) -> Problem | None:
    if target[:1] == ("unknown",):
        return Problem(where, f"call to {target[1]}, which is not a function")
    if target[:1] == ("builtin",):
        name = target[1]
        if name in REFUSED_BUILTINS:
            return _refused(where, name)
        if name in ALLOWED_BUILTINS:
            return None
        return Problem(
            where,
            f"call to unknown function {name}: neither defined in the policy pack nor a builtin the embedded "
            "engine supports (docs/engines.md lists them)",
        )
    if target in functions:
        return None
    dotted = "data." + ".".join(target)
    if target in defined:
        return Problem(where, f"{dotted} is a rule, not a function: it cannot be called")
    return Problem(where, f"call to unknown function {dotted}: not defined in the policy pack")


def _recursion(edges: dict[Path, dict[Path, Location]]) -> list[Problem]:
    """A cycle of uses (Rego forbids them; regorus crashes on a recursive function), located at its first use.
    One cycle is reported: the pack is refused either way."""
    import graphlib

    try:
        graphlib.TopologicalSorter({s: set(t) for s, t in edges.items()}).prepare()
    except graphlib.CycleError as exc:
        cycle = list(reversed(exc.args[1]))  # graphlib lists a node after the ones it uses
        chain = " -> ".join(".".join(p) for p in cycle)
        return [
            Problem(
                edges[cycle[0]][cycle[1]],
                f"recursion: {chain} (Rego forbids recursion, and the embedded engine would crash on it)",
            )
        ]
    return []
