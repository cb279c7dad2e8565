"""The tenant's outgoing webhook: the notification as JSON, POSTed to the tenant's URL and signed so the
receiver can tell it is ours and fresh (docs/notifications.md, "Outgoing webhook").

Signature: `X-TemoWeb-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>` with
`X-TemoWeb-Timestamp: <unix seconds>`; every attempt is signed anew with its own timestamp, so a receiver
that refuses timestamps older than a few minutes cannot be replayed an old request. The URL is a tenant's
choice but the request leaves from inside our network: it goes through the `http_request` nodes' client
(public addresses only, unless HTTP_REQUEST_ALLOW_PRIVATE; one deadline; a size cap on the answer).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from connectors.providers.integration_http import RequestsHttp

from .result import SENT, Attempt

SIGNATURE_HEADER = "X-TemoWeb-Signature"
TIMESTAMP_HEADER = "X-TemoWeb-Timestamp"
EVENT_HEADER = "X-TemoWeb-Event"
DELIVERY_HEADER = "X-TemoWeb-Delivery"
TOLERANCE = 300  # seconds a receiver should accept a timestamp for (documented; receivers enforce it)
# Refusals that no retry changes: the address or URL itself is not allowed.
_FINAL = ("refused", "only http(s)", "bad URL", "bad host name")


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes the client sends for `json=payload` (integration_http serialises it this way), so
    the signature covers the raw body the receiver gets; tests check it against a receiver."""
    return json.dumps(payload, allow_nan=False).encode()


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def post(url: str, payload: dict[str, Any], secret: str, *, event: str, delivery_id: int, timeout: float = 10.0,
         http: RequestsHttp | None = None) -> Attempt:
    """One signed POST; any answer but 2xx is worth another try later, a refused address is not."""
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": "TemoWeb-Bots notifications",
               TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body_of(payload)),
               EVENT_HEADER: event, DELIVERY_HEADER: str(delivery_id)}
    result = (http or RequestsHttp()).request("POST", url, json=payload, headers=headers, timeout=timeout)
    if 200 <= result.status < 300:
        return SENT
    if result.status == 0:
        error = result.error or "no answer"
        return Attempt(ok=False, error=f"webhook: {error}"[:500], retryable=not error.startswith(_FINAL))
    answer = (result.body if isinstance(result.body, str) else json.dumps(result.body, default=str))[:200]
    return Attempt(ok=False, error=f"webhook answered HTTP {result.status}: {answer}"[:500], retryable=True)
