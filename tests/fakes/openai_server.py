"""A loopback OpenAI-compatible server (`POST /v1/chat/completions`) for integration tests and benchmarks.

Real HTTP on 127.0.0.1 with a random port, so the real `openai` client, its timeouts and our retry policy
are exercised end to end. It is a `ThreadingHTTPServer` with a deep listen backlog: the concurrency
benchmark fires 200 requests at once and each one sleeps `delay` seconds in its own thread.

Programmable per test::

    fake.reply_text = "Hi!"                 # plain reply
    fake.reply_json = {"reply": "Hi", "phone": "123"}   # content when the request asks for JSON
    fake.reply_content = "```json {...} ```"  # raw content override (a model that ignores the schema)
    fake.delay = 1.0                        # seconds before answering
    fake.fail(2, status=429, retry_after=0.1)  # the next 2 requests fail, then normal replies
    fake.fail_always(500)                   # every request fails
    fake.hang = 5.0                         # sleep past the client's timeout
    fake.reject_response_format = True      # 400 on response_format (servers without structured output)
    fake.reject_max_tokens = True           # 400 on `max_tokens` (newer OpenAI models want max_completion_tokens)

Every request is recorded in `fake.requests` (messages, model, response_format, max_tokens, headers).
Usage counts are computed from the actual text (word/punctuation pieces), not constants.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PIECES = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def count_tokens(text: str) -> int:
    """A tokenizer stand-in: words and punctuation marks; good enough to check usage is passed through."""
    return len(_PIECES.findall(text or ""))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen backlog: 200 simultaneous connects must not overflow it
    allow_reuse_address = True


class FakeOpenAI:
    """Programmable fake; `start()` binds a random loopback port, `url` is the client's `base_url`."""

    def __init__(self, *, api_key: str | None = None, model: str = "fake-gpt") -> None:
        self.api_key = api_key  # when set, other keys get 401 (non-retryable)
        self.model = model
        self.reply_text = "Hello from the fake model."
        self.reply_json: dict[str, Any] | None = None
        self.reply_content: str | None = None
        self.delay = 0.0
        self.hang = 0.0
        self.reject_response_format = False
        self.reject_max_tokens = False
        self.omit_usage = False  # some compatible servers send no `usage`
        self.requests: list[dict[str, Any]] = []
        self._failures: list[tuple[int, float | None]] = []
        self._fail_always: tuple[int, float | None] | None = None
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._hold = 0
        self._held = threading.Condition(self._lock)

    # -- programming -------------------------------------------------------------------------------------
    def hold_until(self, in_flight: int) -> None:
        """Answers wait until `in_flight` requests have been in flight at once (10 s at most each): a test
        sees its calls overlap without timing anything."""
        with self._lock:
            self._hold = in_flight

    def fail(self, times: int, *, status: int = 429, retry_after: float | None = None) -> None:
        """The next `times` requests answer `status` (with `Retry-After` when given)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * times)

    def fail_always(self, status: int = 500, retry_after: float | None = None) -> None:
        with self._lock:
            self._fail_always = (status, retry_after)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self._fail_always = None
            self.requests.clear()
            self._hold = 0
        self.reply_text, self.reply_json, self.reply_content = "Hello from the fake model.", None, None
        self.delay = self.hang = 0.0
        self.reject_response_format = self.reject_max_tokens = self.omit_usage = False

    # -- lifecycle ---------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "call start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour ---------------------------------------------------------------------------------------
    def _next_failure(self) -> tuple[int, float | None] | None:
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            return self._fail_always

    def _record(self, request: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(request)

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        wants_json = (body.get("response_format") or {}).get("type") in {"json_schema", "json_object"}
        if self.reply_content is not None:
            content = self.reply_content
        elif self.reply_json is not None and wants_json:
            content = json.dumps(self.reply_json, ensure_ascii=False)
        else:
            content = self.reply_text
        messages = body.get("messages") or []
        prompt_tokens = 3 + sum(3 + count_tokens(str(m.get("content") or "")) for m in messages)
        completion_tokens = count_tokens(content)
        usage = None if self.omit_usage else {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client's connection pool reuses sockets
    disable_nagle_algorithm = True  # headers and body go out separately: avoid 40 ms delayed-ACK stalls
    server_fake: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up (timeout): fine
            self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key", 400: "invalid_request_error"}
        self._send(status, {"error": {"message": message, "type": kind.get(status, "server_error"),
                                      "code": kind.get(status)}}, headers)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        fake = self.server_fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(404, f"no route {self.path}")
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._error(400, "body is not JSON")
            return
        fake._record(
            {
                "path": self.path,
                "at": time.monotonic(),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
                "model": body.get("model"),
                "messages": body.get("messages"),
                "response_format": body.get("response_format"),
                "max_tokens": body.get("max_tokens", body.get("max_completion_tokens")),
            }
        )
        if fake.api_key is not None and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            self._error(401, "Incorrect API key provided.")
            return
        if fake.reject_max_tokens and "max_tokens" in body:
            self._error(400, "Unsupported parameter: 'max_tokens' is not supported with this model. "
                             "Use 'max_completion_tokens' instead.")
            return
        if fake.reject_response_format and body.get("response_format"):
            self._error(400, "response_format is not supported by this model")
            return
        failure = fake._next_failure()
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            self._error(status, f"fake failure {status}", headers)
            return
        with fake._lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            if fake._hold:
                fake._held.notify_all()
                fake._held.wait_for(lambda: fake.max_in_flight >= fake._hold, timeout=10)
        try:
            if fake.hang:
                time.sleep(fake.hang)
            if fake.delay:
                time.sleep(fake.delay)
            self._send(200, fake._completion(body))
        finally:
            with fake._lock:
                fake.in_flight -= 1
