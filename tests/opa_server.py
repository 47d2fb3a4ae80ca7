"""TEST HARNESS ONLY — a local, OPA-REST-compatible HTTP server whose evaluation is the real OPA engine.

It is not an OPA server to deploy: it exists so the test suite (and the timings in docs/engines.md) can exercise
``--engine opa`` over real HTTP with real OPA semantics, on machines where the ``opa`` binary cannot be installed.
Evaluation is OPA v1.20 in-process (``opa_bindings``, PyPI ``opa-golib-python-bindings``); the HTTP layer mimics
the parts of OPA's REST API the backend uses, with OPA's response shapes:

- ``GET /health`` → ``{}``;
- ``GET /v1/policies`` → ``{"result": [{"id", "raw"}]}``; ``GET|PUT|DELETE /v1/policies/{id}`` — a PUT or DELETE
  recompiles every module, and a module that does not compile is refused with 400
  ``{"code": "invalid_parameter", "message": ..., "errors": [{"code", "message", "location": {file,row,col}}]}``
  (``file`` is the policy id, as OPA does), leaving the server unchanged;
- ``PUT /v1/data/{path}`` → 204; ``POST /v1/data/{path}`` with ``{"input": ...}`` → ``{"result": v}``, or ``{}``
  when undefined; evaluation errors → 500 ``{"code": "internal_error", "message": "f.rego:3: eval_...: ..."}``;
- ``POST /v1/query`` with ``{"query", "input"?}`` → ``{"result": [bindings, ...]}`` (``{}`` when none).

Options: a bearer token (every request without it gets 401 ``{"code": "unauthorized", ...}``) and an artificial
delay before each answer (for timeout tests). It binds to 127.0.0.1 only (port 0 = an ephemeral port).

Run it by hand: ``python tests/opa_server.py --port 8181`` then ``auditor check --engine opa --opa-url
http://127.0.0.1:8181``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import threading
import time
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import opa_bindings

from auditor.policy.reference_engine import parse_opa_errors


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.policies: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.engine: Any = self._compile(self.policies, self.data)
        self.dirty = False

    def ready(self) -> Any:
        """The engine, rebuilt first if policies were deleted (call with the lock held)."""
        if self.dirty:
            self.replace(dict(self.policies), self.data)
            self.dirty = False
        return self.engine

    @staticmethod
    def _compile(policies: dict[str, str], data: dict[str, Any]) -> Any:
        """A fresh engine holding exactly these modules and data, compiled now (raises OpaError)."""
        engine = opa_bindings.OpaEngine()
        engine.print_handler = lambda _m, _l: None
        try:
            for pid, text in policies.items():
                engine.add_policy(pid, text)
            if data:
                engine.add_data(data)
            engine.eval_query("true")  # add_policy only parses: force the compilation OPA does on PUT
        except Exception:
            engine.close()
            raise
        return engine

    def replace(self, policies: dict[str, str], data: dict[str, Any]) -> None:
        engine = self._compile(policies, data)
        old, self.engine, self.policies, self.data = self.engine, engine, policies, data
        old.close()

    def put_policy(self, pid: str, text: str) -> None:
        """OPA's PUT: compile with the new module; refused → unchanged. Adding to the live engine and compiling
        incrementally is ~4x cheaper than rebuilding; on failure the engine is rebuilt without the module.

        Whether a set of modules compiles, and with which errors, depends only on the modules and the data: the
        verdict is remembered (:data:`_VERDICTS`, for every server of this process) and a PUT whose set was already
        judged is answered from it, the engine being rebuilt once at the next evaluation. Test runs upload the same
        pack again and again (each server, each ``--policy`` copy), and each compile of it costs ~0.3 s of CPU."""
        policies = {**self.policies, pid: text}
        key, prefix = _digest(policies, self.data)
        verdict = _recall(key)
        if verdict is not None:
            if verdict:
                code, message = verdict
                raise opa_bindings.OpaError(code, message.replace(_PREFIX_MARK, prefix))
            self.policies, self.dirty = policies, True
            return
        try:
            self._put_now(pid, text)
        except opa_bindings.OpaError as exc:
            _remember(key, (exc.code, exc.message.replace(prefix, _PREFIX_MARK) if prefix else exc.message))
            raise
        _remember(key, ())

    def _put_now(self, pid: str, text: str) -> None:
        self.ready()
        if pid in self.policies:
            self.replace({**self.policies, pid: text}, self.data)
            return
        try:
            self.engine.add_policy(pid, text)
            self.engine.eval_query("true")
        except opa_bindings.OpaError:
            self.replace(dict(self.policies), self.data)
            raise
        self.policies = {**self.policies, pid: text}


# Digest of (modules, data) -> () when they compile, else the OpaError's (code, message). Compiling is deterministic.
_VERDICTS: dict[str, tuple[str, ...]] = {}

# With AUDITOR_TEST_OPA_VERDICTS naming a directory (tests/conftest.py makes one per test session), the verdicts are
# shared by the session's processes (the pytest-xdist workers), one small JSON file each.
SHARED_VERDICTS = "AUDITOR_TEST_OPA_VERDICTS"


def _recall(key: str) -> tuple[str, ...] | None:
    if key in _VERDICTS:
        return _VERDICTS[key]
    shared = os.environ.get(SHARED_VERDICTS)
    if not shared:
        return None
    try:
        verdict = tuple(str(part) for part in json.loads((Path(shared) / key).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
    _VERDICTS[key] = verdict
    return verdict


def _remember(key: str, verdict: tuple[str, ...]) -> None:
    _VERDICTS[key] = verdict
    shared = os.environ.get(SHARED_VERDICTS)
    if shared:
        with suppress(OSError):
            fd, tmp = tempfile.mkstemp(dir=shared)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(verdict, f)
            os.replace(tmp, Path(shared) / key)


# The auditor uploads a pack under ids "auditor/<16 hex digits of the pack>/<module>": the same modules under another
# pack's prefix (a test's copy of the pack with one module added) compile the same way, with that prefix in the
# messages. Sets whose ids all share one such prefix are judged without it.
_PACK_PREFIX = re.compile(r"auditor/[0-9a-f]{16}/")
_PREFIX_MARK = "\x00pack\x00/"


def _digest(policies: dict[str, str], data: dict[str, Any]) -> tuple[str, str]:
    """The key of a set of modules and data, and the pack prefix taken out of it ("" when ids do not share one)."""
    prefixes = {m.group(0) if (m := _PACK_PREFIX.match(pid)) else "" for pid in policies}
    prefix = prefixes.pop() if len(prefixes) == 1 else ""
    h = hashlib.sha256((b"pack:" if prefix else b"ids:") + json.dumps(data, sort_keys=True).encode())
    for pid in sorted(policies):
        h.update(b"\0" + pid.removeprefix(prefix).encode() + b"\0" + policies[pid].encode())
    return h.hexdigest(), prefix


def _errors(text: str) -> list[dict[str, Any]]:
    return [
        {"code": e.code, "message": e.message, "location": {"file": e.file, "row": e.row, "col": e.col}}
        for e in parse_opa_errors(text)
    ]


def _set_path(doc: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(doc))
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if path:
        node[path[-1]] = value
    else:
        out = value if isinstance(value, dict) else {}
    return out


class Handler(BaseHTTPRequestHandler):
    server_version = "auditor-test-opa/1"
    protocol_version = "HTTP/1.1"  # keep-alive, like OPA
    state: _State
    token: str | None = None
    delay: float = 0.0

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- helpers -----------------------------------------------------------------------------------------

    def _send(self, status: int, body: Any | None) -> None:
        raw = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _json_body(self) -> Any:
        raw = self._body()
        return json.loads(raw) if raw.strip() else {}

    def _gate(self) -> bool:
        if self.delay:
            time.sleep(self.delay)
        if self.token and self.headers.get("Authorization") != f"Bearer {self.token}":
            self._body()
            self._send(401, {"code": "unauthorized", "message": "authentication required"})
            return False
        return True

    def _route(self) -> tuple[str, str]:
        path = unquote(urlsplit(self.path).path)
        for prefix in ("/v1/policies", "/v1/data", "/v1/query", "/health"):
            if path == prefix or path.startswith(prefix + "/"):
                return prefix, path[len(prefix) :].strip("/")
        return "", path

    # -- verbs -------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        if not self._gate():
            return
        kind, rest = self._route()
        st = self.state
        if kind == "/health":
            self._send(200, {})
        elif kind == "/v1/policies" and not rest:
            with st.lock:
                self._send(200, {"result": [{"id": k, "raw": v} for k, v in st.policies.items()]})
        elif kind == "/v1/policies":
            with st.lock:
                raw = st.policies.get(rest)
            if raw is None:
                self._send(
                    404, {"code": "resource_not_found", "message": f'storage_not_found_error: policy id "{rest}"'}
                )
            else:
                self._send(200, {"result": {"id": rest, "raw": raw}})
        elif kind == "/v1/data":
            self._eval(rest, None)
        else:
            self._send(404, {"code": "resource_not_found", "message": "not found"})

    def do_PUT(self) -> None:
        if not self._gate():
            return
        kind, rest = self._route()
        st = self.state
        if kind == "/v1/policies" and rest:
            text = self._body().decode("utf-8", "replace")
            with st.lock:
                try:
                    st.put_policy(rest, text)
                except opa_bindings.OpaError as exc:
                    self._send(
                        400,
                        {
                            "code": "invalid_parameter",
                            "message": "error(s) occurred while compiling module(s)",
                            "errors": _errors(exc.message),
                        },
                    )
                    return
            self._send(200, {})
        elif kind == "/v1/data":
            try:
                value = self._json_body()
            except ValueError as exc:
                self._send(400, {"code": "invalid_parameter", "message": f"body contains malformed JSON: {exc}"})
                return
            with st.lock:
                try:
                    st.replace(dict(st.policies), _set_path(st.data, [p for p in rest.split("/") if p], value))
                except opa_bindings.OpaError as exc:
                    self._send(
                        400, {"code": "invalid_parameter", "message": exc.message, "errors": _errors(exc.message)}
                    )
                    return
            self._send(204, None)
        else:
            self._send(405, {"code": "invalid_parameter", "message": "method not allowed"})

    def do_DELETE(self) -> None:
        if not self._gate():
            return
        kind, rest = self._route()
        st = self.state
        if kind != "/v1/policies" or not rest:
            self._send(405, {"code": "invalid_parameter", "message": "method not allowed"})
            return
        with st.lock:
            if rest not in st.policies:
                self._send(
                    404, {"code": "resource_not_found", "message": f'storage_not_found_error: policy id "{rest}"'}
                )
                return
            # Deviation from OPA, for speed: the engine is rebuilt on next use, so a DELETE that breaks a
            # dependant module is not refused here (it fails the next evaluation instead).
            st.policies = {k: v for k, v in st.policies.items() if k != rest}
            st.dirty = True
        self._send(200, {})

    def do_POST(self) -> None:
        if not self._gate():
            return
        kind, rest = self._route()
        try:
            body = self._json_body()
        except ValueError as exc:
            self._send(400, {"code": "invalid_parameter", "message": f"body contains malformed JSON: {exc}"})
            return
        if not isinstance(body, dict):
            self._send(400, {"code": "invalid_parameter", "message": "body must be an object"})
        elif kind == "/v1/data":
            self._eval(rest, body.get("input"))
        elif kind == "/v1/query":
            self._query(str(body.get("query", "")), body.get("input"))
        else:
            self._send(404, {"code": "resource_not_found", "message": "not found"})

    def _eval(self, path: str, document: Any) -> None:
        dotted = ".".join(p for p in path.split("/") if p)
        if not re.fullmatch(r"[A-Za-z0-9_.]*", dotted):
            self._send(400, {"code": "invalid_parameter", "message": f"invalid path {path!r}"})
            return
        try:
            with self.state.lock:  # a PUT swaps and closes the engine: never evaluate on a closed one
                value = self.state.ready().eval_document(dotted, document)
        except opa_bindings.OpaUndefinedError:
            self._send(200, {})
            return
        except opa_bindings.OpaError as exc:
            self._send(500, {"code": "internal_error", "message": exc.message})
            return
        self._send(200, {"result": value})

    def _query(self, query: str, document: Any) -> None:
        try:
            with self.state.lock:
                rows = self.state.ready().eval_query(query, document)
        except opa_bindings.OpaError as exc:
            status = 400 if exc.code in ("parse_error", "compile_error") else 500
            code = "invalid_parameter" if status == 400 else "internal_error"
            self._send(status, {"code": code, "message": exc.message, "errors": _errors(exc.message)})
            return
        self._send(200, {"result": rows} if rows else {})


class OpaTestServer:
    """The harness server in a background thread: ``with OpaTestServer(token="t") as s: s.url``."""

    def __init__(
        self, token: str | None = None, delay: float = 0.0, port: int = 0, handler_class: type[Handler] = Handler
    ) -> None:
        """``handler_class``: a :class:`Handler` subclass, for tests that need a misbehaving server."""
        handler = type("BoundHandler", (handler_class,), {"state": _State(), "token": token, "delay": delay})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        report = self.httpd.handle_error

        def quiet_hang_ups(request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hangs up is not a server bug
                report(request, client_address)

        self.httpd.handle_error = quiet_hang_ups  # type: ignore[method-assign]
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.state: _State = handler.state
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="opa-test-server", daemon=True)

    def start(self) -> OpaTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpaTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description="TEST HARNESS: OPA-REST-compatible server over real OPA, loopback only"
    )
    parser.add_argument("--port", type=int, default=8181)
    parser.add_argument("--token", default=None)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    server = OpaTestServer(args.token, args.delay, args.port)
    print(f"test OPA server (harness) on {server.url}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    main()
