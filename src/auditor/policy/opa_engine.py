"""The OPA server backend: evaluates the pack on an Open Policy Agent server through opa-python-client.

``auditor check --engine opa --opa-url https://opa.internal:8181 [--opa-token T] [--opa-ca-cert ca.pem]``

What it does, and why (facts from ENGINES.md):
- uploads every module of the pack plus the generated aggregator as policies with ``rego_compat=False`` (the
  client's default silently rewrites v0 policies the server rejected — a pack must be uploaded as written);
- policy ids are namespaced ``auditor/<pack hash>/<module path>`` so the server's own policies are never touched.
  Ids are content-addressed: a server that already holds this exact pack gets no upload at all. Rego packages
  are global on a server, so another version of the auditor pack (``auditor/<other hash>/...``) is deleted first:
  one version of the pack per server at a time;
- OPA compiles each uploaded module against those already loaded, so library modules go first (``lib``, then
  vocabularies, then the rest, the aggregator last), and a module refused for a missing dependency is retried
  after the others until nothing progresses;
- each partition is one ``POST /v1/data/auditor/generated/findings`` with ``strict-builtin-errors`` (a builtin
  error must fail the run, never make a check silently pass), on keep-alive sessions (one client per thread),
  with bounded concurrency; results are kept in partition order and numbers normalised, so the JSON output is
  byte-identical to the embedded engine's;
- every failure is a one-line tool error (exit 3): unreachable server, TLS failure, 401/403, a module the server
  rejects (OPA's own message, at the module's file and line), timeout, undefined results. The client raises plain
  ``requests`` exceptions and its own unrelated classes: they are caught together in :func:`_guard`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import networkx as nx
import requests
import urllib3
from requests.adapters import HTTPAdapter

from auditor.errors import Location, PolicyError, Problem, UsageError
from auditor.policy.catalogue import GENERATED, TEST_RESULTS, Module, PolicyPack, modules_digest
from auditor.policy.engine import (
    AGGREGATE,
    AllAtOnce,
    RuleResults,
    TestResult,
    as_test_result,
    check_results,
    display,
    undefined_error,
)

NAMESPACE = "auditor"
STRICT = {"strict-builtin-errors": "true"}
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2
DEFAULT_CONCURRENCY = 4
MAX_ANSWER_BYTES = 64 * 1024 * 1024  # one partition's findings are kilobytes; a policy list, a few megabytes


@dataclass(frozen=True, slots=True)
class OpaSettings:
    """Where the OPA server is and how to talk to it (CLI options or ``AUDITOR_OPA_*`` variables)."""

    url: str
    host: str
    port: int
    https: bool
    token: str | None = None
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    concurrency: int = DEFAULT_CONCURRENCY

    @classmethod
    def build(
        cls,
        url: str | None,
        token: str | None = None,
        ca_cert: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        concurrency: int | None = None,
    ) -> OpaSettings:
        if not url:
            raise UsageError("--engine opa needs --opa-url (or AUDITOR_OPA_URL), e.g. http://localhost:8181")
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--opa-url {url!r}: expected http(s)://host[:port]")
        if parts.path.rstrip("/") not in ("", "/v1") or parts.query or parts.fragment:
            raise UsageError(f"--opa-url {url!r}: give the server root (http(s)://host[:port]), without a path")
        try:
            port = parts.port or 8181
        except ValueError:
            raise UsageError(f"--opa-url {url!r}: invalid port") from None
        https = parts.scheme == "https"
        if (ca_cert or client_cert) and not https:
            raise UsageError("--opa-ca-cert / --opa-client-cert need an https:// --opa-url")
        if client_key and not client_cert:
            raise UsageError("--opa-client-key needs --opa-client-cert")
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        retries = DEFAULT_RETRIES if retries is None else retries
        concurrency = DEFAULT_CONCURRENCY if concurrency is None else concurrency
        if timeout <= 0 or retries < 0 or concurrency < 1:
            raise UsageError("--opa-timeout must be > 0, --opa-retries >= 0 and --opa-concurrency >= 1")
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        shown = f"{parts.scheme}://{host}:{port}"
        return cls(
            shown, host, port, https, token or None, ca_cert, client_cert, client_key, timeout, retries, concurrency
        )

    def client(self) -> Any:
        from opa_client import OpaClient

        # OpaClient hands ``ssl`` to requests' ``verify``: True (system CAs) or the path of a CA bundle.
        verify: bool | str = self.ca_cert or True
        cert: str | tuple[str, str] | None = None
        if self.client_cert:
            cert = (self.client_cert, self.client_key) if self.client_key else self.client_cert
        client = OpaClient(
            host=self.host,
            port=self.port,
            ssl=verify if self.https else False,
            cert=cert,
            token=self.token,
            retries=self.retries,
            timeout=self.timeout,
        )
        # Every answer is read through a size cap and a deadline (a hostile or broken server could send a 300 MB
        # body, or drip one byte per timeout forever); the client's own retry policy is kept.
        session = client._session
        retries = session.get_adapter("http://").max_retries
        for scheme in ("http://", "https://"):
            session.mount(scheme, _CappedAdapter(max_retries=retries, limit=MAX_ANSWER_BYTES, deadline=self.timeout))
        return client


class AnswerTooLarge(requests.exceptions.RequestException):
    """The server's answer passed :data:`MAX_ANSWER_BYTES` (or its deadline): refused, not read on."""


class _CappedAdapter(HTTPAdapter):
    """An HTTP adapter that reads each response body itself, in chunks, up to ``limit`` bytes (after
    decompression) and within ``deadline`` seconds per request, before anything parses it."""

    def __init__(self, *, max_retries: Any, limit: int, deadline: float) -> None:
        super().__init__(max_retries=max_retries)
        self.limit = limit
        self.deadline = deadline

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        response = super().send(request, stream=True, **kwargs)
        started = time.monotonic()
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.raw.stream(1 << 16, decode_content=True):
                size += len(chunk)
                if size > self.limit:
                    raise AnswerTooLarge(f"the answer exceeds {self.limit // (1 << 20)} MiB")
                if time.monotonic() - started > 2 * self.deadline:
                    raise AnswerTooLarge(f"the answer took more than {2 * self.deadline:g}s to arrive")
                chunks.append(chunk)
        except AnswerTooLarge:
            response.close()
            raise
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            response.close()
            raise requests.exceptions.ConnectionError(exc, request=request) from None
        response._content = b"".join(chunks)
        response._content_consumed = True  # type: ignore[attr-defined]
        response.close()
        return response


class _Undefined(Exception):
    pass


def _error_body(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _server_message(body: dict[str, Any]) -> str:
    message = str(body.get("message") or "").strip()
    details = [str(e.get("message", "")) for e in body.get("errors") or () if isinstance(e, dict)]
    text = "; ".join(x for x in (message, *details) if x)
    return " ".join(text.split())[:300]


class OpaServerEngine(AllAtOnce):
    """Evaluate the pack on an OPA server over its REST API."""

    name = "opa"

    def __init__(self, settings: OpaSettings) -> None:
        self.settings = settings
        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()
        self._names: dict[str, Module] = {}

    # -- plumbing ----------------------------------------------------------------------------------------

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self.settings.client()
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _close(self) -> None:
        with self._clients_lock:
            for client in self._clients:
                client.close_connection()
            self._clients.clear()
        self._local = threading.local()

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Every way the server or the client can fail, as one tool-error line (exit 3)."""
        from opa_client.errors import (
            ConnectionsError,
            DeleteDataError,
            DeletePolicyError,
            PolicyNotFoundError,
            QueryExecuteError,
            RegoParseError,
            TypeException,
        )

        url = self.settings.url
        try:
            yield
        except AnswerTooLarge as exc:
            raise PolicyError(f"the OPA server at {url} was refused while {doing}: {exc}") from None
        except RecursionError:
            raise PolicyError(f"the OPA server at {url} gave an answer nested too deeply while {doing}") from None
        except requests.exceptions.SSLError as exc:
            raise PolicyError(f"TLS failure talking to the OPA server at {url} while {doing}: {_short(exc)}") from None
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            if not _is_timeout(exc) and isinstance(exc, requests.exceptions.ConnectionError):
                raise PolicyError(f"cannot reach the OPA server at {url} while {doing}: {_short(exc)}") from None
            raise PolicyError(
                f"the OPA server at {url} did not answer within {self.settings.timeout:g}s while {doing} "
                "(raise --opa-timeout / AUDITOR_OPA_TIMEOUT for large inventories)"
            ) from None
        except requests.exceptions.HTTPError as exc:
            raise PolicyError(self._http_message(exc.response, doing)) from None
        except requests.exceptions.RequestException as exc:
            raise PolicyError(f"request to the OPA server at {url} failed while {doing}: {_short(exc)}") from None
        except RegoParseError as exc:
            body = {"code": exc.expression, "message": exc.message, "errors": exc.errors}
            raise PolicyError(self._compile_problems(body, doing)) from None
        except (
            ConnectionsError,
            DeleteDataError,
            DeletePolicyError,
            PolicyNotFoundError,
            QueryExecuteError,
            TypeException,
        ) as exc:
            detail = getattr(exc, "message", "") or exc
            raise PolicyError(f"the OPA server at {url} failed while {doing}: {detail}") from None
        except ValueError as exc:  # a body that is not JSON (a proxy's HTML page, ...)
            raise PolicyError(
                f"the OPA server at {url} gave an answer that is not OPA's JSON while {doing}: {_short(exc)}"
            ) from None

    def _http_message(self, response: Any, doing: str) -> str:
        url = self.settings.url
        status = getattr(response, "status_code", 0)
        body = _error_body(response) if response is not None else {}
        detail = _server_message(body)
        if status in (401, 403):
            hint = "check --opa-token / AUDITOR_OPA_TOKEN" if status == 401 else "the token lacks permission"
            return f"the OPA server at {url} refused the request (HTTP {status}) while {doing}: {hint}" + (
                f" ({detail})" if detail else ""
            )
        return f"the OPA server at {url} answered HTTP {status} while {doing}" + (f": {detail}" if detail else "")

    def _compile_problems(self, body: dict[str, Any], doing: str) -> list[Problem]:
        code = str(body.get("code") or "")
        if code in ("unauthorized", "forbidden"):
            return [Problem(Location(NAMESPACE), self._http_message(None, doing) + f": {_server_message(body)}")]
        problems: list[Problem] = []
        for err in body.get("errors") or ():
            if not isinstance(err, dict):
                continue
            loc = err.get("location") or {}
            module = self._names.get(str(loc.get("file", "")))
            shown = display(module) if module is not None else str(loc.get("file") or self.settings.url)
            where = Location(shown, int(loc.get("row") or 0), int(loc.get("col") or 0))
            problems.append(Problem(where, f"{err.get('code', 'error')}: {err.get('message', '')} (OPA server)"))
        if not problems:
            problems.append(
                Problem(
                    Location(NAMESPACE),
                    f"the OPA server at {self.settings.url} failed while {doing}: {_server_message(body) or code}",
                )
            )
        return problems

    # -- policies ----------------------------------------------------------------------------------------

    def _held(self, doing: str) -> dict[str, str]:
        """Every policy the server holds: id -> module text (``GET /v1/policies``, the answer capped in size)."""
        client = self._client()
        with self._guard(doing):
            response = client._session.get(f"{client.root_url}/policies", timeout=self.settings.timeout)
            response.raise_for_status()
            body = response.json()
        entries = body.get("result") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise PolicyError(f"the OPA server at {self.settings.url} gave no policy list while {doing}")
        held: dict[str, str] = {}
        for e in entries:
            if isinstance(e, dict) and isinstance(e.get("id"), str):
                raw = e.get("raw")
                held[e["id"]] = raw if isinstance(raw, str) else ""
        return held

    def _upload(self, pack: PolicyPack, modules: Sequence[Module]) -> str:
        """Make the server hold exactly this pack under ``auditor/<hash>/``; return the prefix.

        Ids are content-addressed, but an id proves nothing: whatever the server holds under an id the run relies on
        is compared with the module's text, re-uploaded when it differs, and compared again after the uploads; a
        server that still holds something else, or that holds other modules declaring the pack's packages (their
        rules would join the audit), is refused (exit 3)."""
        prefix = f"{NAMESPACE}/{modules_digest(modules)[:16]}/"
        self._names = {prefix + m.name: m for m in modules}
        client = self._client()
        held = self._held("listing policies")
        stale = [p for p in held if p.startswith(NAMESPACE + "/") and not p.startswith(prefix)]
        self._delete(stale)
        pending = [m for m in _upload_order(modules) if held.get(prefix + m.name) != m.text]
        errors: dict[str, Any] = {}
        while pending:
            progressed, still = False, []
            for m in pending:
                try:
                    with self._guard(f"uploading {display(m)}"):
                        client.update_policy_from_string(m.text, prefix + m.name, rego_compat=False)
                    progressed = True
                    errors.pop(m.name, None)
                except PolicyError as exc:
                    errors[m.name] = exc
                    still.append(m)
            if not progressed:
                problems = [p for m in still for p in errors[m.name].problems]
                raise PolicyError(problems)
            pending = still
        self._verify(prefix, modules, self._held("checking the uploaded policies"))
        return prefix

    def _verify(self, prefix: str, modules: Sequence[Module], held: dict[str, str]) -> None:
        url = self.settings.url
        problems: list[Problem] = []
        for m in modules:
            if held.get(prefix + m.name) != m.text:
                state = "does not hold" if prefix + m.name not in held else "holds a different text for"
                problems.append(
                    Problem(
                        Location(display(m)),
                        f"the OPA server at {url} {state} policy {prefix + m.name} after uploading it; refused",
                    )
                )
        ours = {m.package for m in modules}
        for pid, raw in sorted(held.items()):
            if pid.startswith(prefix):
                continue
            package = _declared_package(raw)
            if package is not None and package in ours:
                problems.append(
                    Problem(
                        Location(NAMESPACE),
                        f"the OPA server at {url} holds policy {pid!r} in package {package}, a package of the "
                        f"auditor's pack: its rules would join the audit; remove it (curl -X DELETE "
                        f"{url}/v1/policies/<id>) or use another server",
                    )
                )
        if problems:
            raise PolicyError(problems)

    def _delete(self, ids: Sequence[str]) -> None:
        """Delete policies, dependants first (the aggregator, then rules, libraries last), until fixpoint."""
        pending = sorted(ids, key=lambda p: (0 if "/auditor/generated" in p else 2 if "/lib/" in p else 1, p))
        client = self._client()
        while pending:
            still = []
            for pid in pending:
                try:
                    with self._guard(f"removing the outdated auditor policy {pid}"):
                        client.delete_policy(pid)
                except PolicyError:
                    still.append(pid)
            if len(still) == len(pending):
                raise PolicyError(
                    f"the OPA server at {self.settings.url} refused to remove outdated auditor policies "
                    f"({', '.join(still[:3])}); delete them: curl -X DELETE {self.settings.url}/v1/policies/<id>"
                )
            pending = still

    # -- evaluation --------------------------------------------------------------------------------------

    def _query(self, path: str, document: Any, doing: str) -> Any:
        client = self._client()
        with self._guard(doing):
            try:
                answer = client.query_rule(document, path, query_params=STRICT)
            except requests.exceptions.HTTPError as exc:
                body = _error_body(exc.response) if exc.response is not None else {}
                if body.get("errors") or (exc.response is not None and exc.response.status_code == 500):
                    raise PolicyError(self._eval_problems(body, doing)) from None
                raise
        if not isinstance(answer, dict) or "result" not in answer:
            raise _Undefined(doing)
        return answer["result"]

    def _eval_problems(self, body: dict[str, Any], doing: str) -> list[Problem]:
        from auditor.policy.reference_engine import parse_opa_errors

        problems = []
        if body.get("errors"):
            problems = self._compile_problems(body, doing)
        else:
            for e in parse_opa_errors(str(body.get("message", ""))):
                module = self._names.get(e.file)
                shown = display(module) if module is not None else e.file
                problems.append(Problem(Location(shown, e.row, e.col), f"{e.code}: {e.message} (while {doing})"))
        return problems or [
            Problem(
                Location(NAMESPACE),
                f"the OPA server at {self.settings.url} failed while {doing}: "
                f"{_server_message(body) or 'internal error'}",
            )
        ]

    def _partition(self, pack: PolicyPack, index: int, document: str, label: str) -> RuleResults:
        doc = json.loads(document)
        try:
            value = self._query(AGGREGATE, doc, f"evaluating {label}")
        except _Undefined:
            try:
                generated = self._query(GENERATED, doc, f"evaluating {label}")
            except _Undefined:
                generated = None
            raise undefined_error(pack, generated, label, " on the OPA server") from None
        return check_results(pack, value, index)

    def evaluate(self, pack: PolicyPack, partitions: Sequence[str], labels: Sequence[str] = ()) -> list[RuleResults]:
        if not partitions:
            return []
        try:
            self._upload(pack, [*pack.policy_modules, pack.aggregator()])
            names = [labels[i] if i < len(labels) else f"partition {i}" for i in range(len(partitions))]
            workers = min(self.settings.concurrency, len(partitions))
            if workers == 1:
                return [self._partition(pack, i, d, names[i]) for i, d in enumerate(partitions)]
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="auditor-opa")
            try:
                futures: list[Future[RuleResults]] = [
                    pool.submit(self._partition, pack, i, d, names[i]) for i, d in enumerate(partitions)
                ]
                return [f.result() for f in futures]  # partition order, whatever order they finish in
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self._close()

    def run_tests(self, pack: PolicyPack) -> list[TestResult]:
        """Run every ``test_*`` rule on the server in one query (``PolicyPack.test_aggregator``: OPA prepares each
        new query path, ~0.4 s each on this pack); a test failing with an error is a policy error (exit 3), located
        by the server. The uploaded test modules are removed afterwards."""
        tests, gather = pack.test_aggregator()
        if not tests:
            return []
        modules = [*pack.modules, gather]
        try:
            prefix = self._upload(pack, modules)
            try:
                values = self._query(TEST_RESULTS, {}, "running the policy tests")
            except _Undefined:
                values = None
            finally:
                self._delete([prefix + m.name for m in modules])
            if not isinstance(values, list) or len(values) != len(tests):
                raise PolicyError(f"the OPA server at {self.settings.url} gave no test results")
            return [as_test_result(m.name, name, value) for (m, name), value in zip(tests, values, strict=True)]
        finally:
            self._close()


_PACKAGE_LINE = re.compile(r"^[ \t]*package[ \t]+([A-Za-z_][A-Za-z0-9_.]*)", re.M)


def _declared_package(raw: str) -> str | None:
    """The package a module's text declares (first ``package`` line), without a ``data.`` prefix."""
    found = _PACKAGE_LINE.search(raw)
    if found is None:
        return None
    name = found.group(1)
    return name[5:] if name.startswith("data.") else name


_DATA_REF = re.compile(r"\bdata((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def _upload_order(modules: Sequence[Module]) -> list[Module]:
    """Every module after the modules whose packages it refers to (``data.<package>...``), so that the server, which
    compiles each upload against the modules already loaded, refuses none for a package not yet uploaded: a refused
    upload costs the server a compile and its log an error, and is retried. Ties (and a pack whose packages refer to
    each other, where the upload loop's retries decide) in the order libraries, vocabularies, rules, then the tests,
    the generated aggregator last, then by name: a test run uploads the pack as a check does before its tests."""

    def rank(m: Module) -> tuple[int, int, str]:
        if m.name.startswith("auditor/"):
            return 2, 0, m.name
        if m.name.startswith("lib/"):
            kind = 0
        elif "/vocab/" in m.name or m.name.endswith("vocab.rego"):
            kind = 1
        else:
            kind = 2
        return (1 if m.is_test else 0), kind, m.name

    by_package: dict[str, list[int]] = {}
    for i, m in enumerate(modules):
        by_package.setdefault(m.package, []).append(i)
    graph: nx.DiGraph[int] = nx.DiGraph()
    graph.add_nodes_from(range(len(modules)))
    for i, m in enumerate(modules):
        for ref in set(_DATA_REF.findall(m.text)):
            parts = ref[1:].split(".")
            for end in range(len(parts), 0, -1):  # the longest package the reference names
                owners = by_package.get(".".join(parts[:end]))
                if owners is not None:
                    graph.add_edges_from((j, i) for j in owners if j != i)
                    break
    try:
        order = list(nx.lexicographical_topological_sort(graph, key=lambda i: rank(modules[i])))
    except nx.NetworkXUnfeasible:
        return sorted(modules, key=rank)
    return [modules[i] for i in order]


def _is_timeout(exc: BaseException) -> bool:
    """requests reports a read timeout after urllib3 retries as a ConnectionError wrapping ReadTimeoutError."""
    if isinstance(exc, requests.exceptions.Timeout):
        return True
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ReadTimeoutError

    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    if isinstance(reason, NewConnectionError):  # refused / unresolvable (a ConnectTimeoutError subclass in urllib3)
        return False
    return isinstance(reason, ReadTimeoutError | ConnectTimeoutError)


def _short(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "CERTIFICATE_VERIFY_FAILED", "timed out"):
        if marker in text:
            return marker
    return " ".join(text.split())[:200]
