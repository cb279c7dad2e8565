"""A tenant's own API as an `http_request` node calls it, on loopback: JSON echo, redirects, big and
gzip-inflated bodies, and servers that drip their headers or body byte by byte (for the call's deadline).

    /json                 200 {"ok", "method", "json", "host"} (any method)
    /redirect?to=URL      302 (or ?status=) to URL
    /chain?left=N         N relative redirects, then /json's answer
    /big?bytes=N          N bytes; &length=0 without Content-Length (ends at close); &gzip=1 gzip-encoded
    /drip?bytes=N&every=S Content-Length N, then one byte every S seconds
    /drip-headers?every=S the status line, then one header line every S seconds
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.server import RecordedRequest


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class FakeIntegrationAPI:
    """``with FakeIntegrationAPI() as api: api.url``; ``api.requests`` records every request."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd = _Server((host, 0), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="FakeIntegrationAPI", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]


def _handler(fake: FakeIntegrationAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            fake.record(RecordedRequest(self.command, parts.path, query, dict(self.headers.items()), body, parsed))
            route = getattr(self, "_" + parts.path.strip("/").replace("-", "_"), None)
            try:
                if route is None:
                    self._send(404, json.dumps({"error": "no such path"}).encode())
                else:
                    route(query, parsed)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (deadline tests)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None,
                  length: bool = True) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if length:
                self.send_header("Content-Length", str(len(data)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _json(self, query: dict[str, str], parsed: Any) -> None:
            answer = {"ok": True, "method": self.command, "json": parsed, "host": self.headers.get("Host")}
            self._send(200, json.dumps(answer).encode())

        def _redirect(self, query: dict[str, str], parsed: Any) -> None:
            self._send(int(query.get("status", "302")), b"", {"Location": query["to"]})

        def _chain(self, query: dict[str, str], parsed: Any) -> None:
            left = int(query.get("left", "0"))
            if left <= 0:
                self._json(query, parsed)
            else:
                self._send(302, b"", {"Location": f"/chain?left={left - 1}"})

        def _big(self, query: dict[str, str], parsed: Any) -> None:
            data = b"x" * int(query.get("bytes", "0"))
            headers = {}
            if query.get("gzip") == "1":
                data, headers = gzip.compress(data), {"Content-Encoding": "gzip"}
            self._send(200, data, headers, length=query.get("length") != "0")

        def _drip(self, query: dict[str, str], parsed: Any) -> None:
            size, every = int(query.get("bytes", "100")), float(query.get("every", "0.2"))
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.flush()
            for _ in range(size):
                time.sleep(every)
                self.wfile.write(b"x")
                self.wfile.flush()

        def _drip_headers(self, query: dict[str, str], parsed: Any) -> None:
            every = float(query.get("every", "0.2"))
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self.wfile.flush()
            for n in range(90):
                time.sleep(every)
                self.wfile.write(f"X-Slow-{n}: x\r\n".encode())
                self.wfile.flush()
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
