"""A tiny loopback HTTP server base for the channel fakes (Graph API, Telegram Bot API).

Runs ``ThreadingHTTPServer`` on 127.0.0.1 with a random port in a daemon thread, records every
request, and can be programmed to fail or stall so tests exercise retries, backoff and timeouts over
real HTTP. Subclasses implement ``route`` and ``error_body``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass
class RecordedRequest:
    """One request as the fake saw it (headers keep their original case; use ``header()``)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def params(self) -> dict[str, Any]:
        """Query, form and JSON object parameters merged (JSON wins)."""
        merged: dict[str, Any] = {**self.query, **self.form}
        if isinstance(self.json, dict):
            merged.update(self.json)
        return merged


@dataclass
class Rule:
    """A programmed misbehaviour; ``times=None`` means forever."""

    status: int | None
    body: Any
    headers: dict[str, str]
    times: int | None
    path: str | None
    delay: float

    def matches(self, path: str) -> bool:
        return (self.times is None or self.times > 0) and (self.path is None or self.path in path)


Reply = tuple[int, Any, dict[str, str]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # benchmarks fire many concurrent requests


class FakeServer:
    """Base class: ``with Fake() as fake: fake.url``; ``fake.requests`` records everything."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self.requests: list[RecordedRequest] = []
        self.in_flight = self.max_in_flight = 0  # requests being answered at once (the most seen)
        self._httpd = _Server((host, port), _make_handler(self))
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=type(self).__name__, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- programming -------------------------------------------------------------------------------
    def fail(self, status: int = 500, times: int | None = 1, body: Any = None,
             headers: dict[str, str] | None = None, path: str | None = None, delay: float = 0.0,
             **error: Any) -> None:
        """Answer the next ``times`` matching requests (``None``: all) with ``status``.

        ``body`` defaults to the API's documented error shape for that status (``error_body``);
        ``path`` restricts the rule to paths containing it; ``delay`` stalls before answering.
        """
        if body is None:
            body = self.error_body(status, **error)
        with self._lock:
            self._rules.append(Rule(status, body, dict(headers or {}), times, path, delay))

    def delay(self, seconds: float, times: int | None = None, path: str | None = None) -> None:
        """Stall matching requests, then answer normally (for timeout tests)."""
        with self._lock:
            self._rules.append(Rule(None, None, {}, times, path, seconds))

    def reset(self) -> None:
        """Forget recorded requests and programmed failures."""
        with self._lock:
            self._rules.clear()
            self.requests.clear()

    # --- inspection --------------------------------------------------------------------------------
    @property
    def last(self) -> RecordedRequest:
        with self._lock:
            if not self.requests:
                raise AssertionError(f"{type(self).__name__} received no requests")
            return self.requests[-1]

    def requests_to(self, path_contains: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests
                    if path_contains in r.path and (method is None or r.method == method)]

    # --- for subclasses ----------------------------------------------------------------------------
    def route(self, request: RecordedRequest) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def error_body(self, status: int, **error: Any) -> Any:
        return {"error": {"message": f"HTTP {status}"}}

    # --- internals ---------------------------------------------------------------------------------
    def _take_rule(self, path: str) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(path):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def _handle(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            rule = self._take_rule(request.path)
            if rule is not None:
                if rule.delay:
                    time.sleep(rule.delay)
                if rule.status is not None:
                    return rule.status, rule.body, rule.headers
            return self.route(request)
        finally:
            with self._lock:
                self.in_flight -= 1


def _make_handler(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs (requests.Session reuses sockets)
        disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart
        timeout = 10

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            parsed_json: Any = None
            form: dict[str, str] = {}
            if body and ctype == "application/json":
                try:
                    parsed_json = json.loads(body)
                except ValueError:
                    parsed_json = None
            elif body and ctype == "application/x-www-form-urlencoded":
                form = dict(parse_qsl(body.decode(), keep_blank_values=True))
            request = RecordedRequest(
                method=self.command, path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers=dict(self.headers.items()), body=body, json=parsed_json, form=form,
            )
            try:
                status, payload, headers = fake._handle(request)
            except Exception as exc:  # a fake bug must show up as a 500, not a hung client
                status, payload, headers = 500, {"error": {"message": f"fake crashed: {exc!r}"}}, {}
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                if not any(key.lower() == "content-type" for key in headers):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (timeout tests)

        do_GET = do_POST = do_DELETE = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    return Handler
