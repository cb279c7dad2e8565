"""A loopback receiver of the tenants' outgoing notification webhooks, checking them as a careful
integration would: the HMAC-SHA256 signature over "<timestamp>.<raw body>" with the tenant's secret, a
timestamp within `tolerance` seconds, and no signature seen twice (a replay). Its own check, written from
the documented scheme (docs/notifications.md), not the sender's code.

    with FakeWebhookReceiver(secret) as receiver:   # receiver.url + "/hook"
        receiver.fail(status=500, times=2)           # programmable failures (FakeServer)
        receiver.accepted                            # the JSON bodies that passed every check
        receiver.rejected                            # (reason, request) of the ones that did not
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.server import FakeServer, RecordedRequest, Reply


class FakeWebhookReceiver(FakeServer):
    def __init__(self, secret: str = "", *, tolerance: float = 300, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.secret = secret
        self.tolerance = tolerance
        self.clock = clock
        self.accepted: list[dict[str, Any]] = []
        self.rejected: list[tuple[str, RecordedRequest]] = []
        self._seen: set[str] = set()

    def check(self, request: RecordedRequest) -> str | None:
        """Why this request is refused, or None."""
        stamp = request.header("X-TemoWeb-Timestamp") or ""
        signature = request.header("X-TemoWeb-Signature") or ""
        if not stamp.isdigit():
            return "no timestamp"
        if abs(self.clock() - int(stamp)) > self.tolerance:
            return "timestamp outside the tolerance: a replay or a skewed clock"
        expected = "sha256=" + hmac.new(self.secret.encode(), stamp.encode() + b"." + request.body,
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "bad signature"
        if signature in self._seen:
            return "replayed"
        self._seen.add(signature)
        return None

    def route(self, request: RecordedRequest) -> Reply:
        if request.method != "POST":
            return 405, {"error": "POST only"}, {}
        problem = self.check(request)
        if problem is not None:
            self.rejected.append((problem, request))
            return 401, {"error": problem}, {}
        self.accepted.append(json.loads(request.body))
        return 200, {"ok": True}, {}

    def error_body(self, status: int, **error: Any) -> Any:
        return {"error": f"HTTP {status}"}
