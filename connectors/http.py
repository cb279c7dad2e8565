"""The one place outbound channel HTTP happens: connection reuse, retries, backoff, secret masking.

Requests go straight through urllib3 (a per-thread pool manager): every turn sends its replies here, and
`requests`' per-call session merging, hooks and response wrapping cost several times urllib3's own work
for the same keep-alive POST.

Retries (tenacity) cover what is worth repeating right away: HTTP 429, 5xx, connection errors and
timeouts. Waits are exponential with full jitter, or exactly the server's ``retry_after`` (Telegram
``parameters.retry_after`` / the ``Retry-After`` header). A retry_after longer than
``config.max_wait`` is not slept on: the result comes back retryable so the job reschedules itself
instead of holding a worker. Other 4xx are final. Nothing here raises for HTTP problems, and every
error text is masked because Telegram puts the bot token in the URL path.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import re
import threading
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from tenacity import RetryCallState, Retrying, retry_if_exception_type
from urllib3.exceptions import (
    ConnectTimeoutError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from connectors.events import ConnectorConfig

log = logging.getLogger(__name__)

_MASK_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"bot\d+:[A-Za-z0-9_-]+"), "bot***"),
    (re.compile(r"(access_token=)[^&\s\"']+"), r"\1***"),
    (re.compile(r"(client_secret=)[^&\s\"']+"), r"\1***"),
    (re.compile(r"(Bearer\s+)[^\s\"']+", re.IGNORECASE), r"\1***"),
)


def mask_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove tokens from text meant for logs, exceptions or the database."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern, replacement in _MASK_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class HttpResult:
    """What came back (or why nothing did). ``status_code`` is None for transport failures."""

    status_code: int | None
    data: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    attempts: int = 1
    retry_after: float | None = None
    outcome_unknown: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def transient(self) -> bool:
        """Worth retrying later: rate limited, server error or no answer at all."""
        return self.status_code is None or self.status_code == 429 or self.status_code >= 500


class _Retry(Exception):
    """Internal signal for tenacity: this attempt's result is retryable."""

    def __init__(self, result: HttpResult) -> None:
        super().__init__(result.error or str(result.status_code))
        self.result = result


RetryAfterFn = Callable[[Any, Any], float | None]  # (the response: `.status`, `.headers`; decoded body)


def header_retry_after(response: Any, data: Any) -> float | None:
    """``Retry-After`` in seconds (HTTP-date values are ignored: Meta and Telegram send seconds)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


_local = threading.local()
USER_AGENT = "TemoWeb-Bots/1"
# The request never reached the server (or the connection broke before an answer): safe to repeat.
_CONNECTION_ERRORS = (ConnectTimeoutError, ProtocolError, ProxyError, SSLError, ConnectionError)


def get_pool(url: str) -> urllib3.PoolManager:
    """A per-thread pool manager (keeps connections alive without sharing one across threads); the proxy
    for the URL's scheme is read once per thread from the environment, not on every send."""
    pools = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = {}
        _local.proxies = urllib.request.getproxies()
    proxy = _local.proxies.get(urlsplit(url).scheme) or _local.proxies.get("all")
    pool = pools.get(proxy)
    if pool is None:
        pool = pools[proxy] = urllib3.ProxyManager(proxy) if proxy else urllib3.PoolManager()
    return pool


def _encode(url: str, json: Any, params: Mapping[str, Any] | None, data: Mapping[str, Any] | None,
            headers: Mapping[str, str] | None) -> tuple[str, bytes | None, dict[str, str]]:
    """URL, body and headers as `requests` would build them for json= / params= / data=."""
    sent = {"User-Agent": USER_AGENT, **(headers or {})}
    if params:
        url += ("&" if urlsplit(url).query else "?") + urlencode(params, doseq=True)
    body: bytes | None = None
    if json is not None:
        body = jsonlib.dumps(json, allow_nan=False).encode()
        sent.setdefault("Content-Type", "application/json")
    elif data is not None:
        body = urlencode(data, doseq=True).encode()
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return url, body, sent


def _decode(content: bytes) -> Any:
    if not content:
        return None
    try:
        return jsonlib.loads(content)
    except ValueError:
        return None


def request(
    method: str,
    url: str,
    *,
    config: ConnectorConfig,
    json: Any = None,
    params: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str | None] = (),
    retry_after: RetryAfterFn = header_retry_after,
    retry_unknown_outcome: bool = True,
    sleep: Callable[[float], None] | None = None,
) -> HttpResult:
    """Send one request with bounded retries and return the final :class:`HttpResult`.

    ``retry_unknown_outcome=False`` is for non-repeatable calls (an Instagram private reply may be
    sent once per comment): a read timeout or a 5xx, where the server may already have acted, is not
    retried and comes back with ``outcome_unknown=True``; 429 and connection failures still are.
    """
    secret_list = [s for s in secrets if s]
    safe_url = mask_secrets(url, secret_list)
    attempts = 0
    timeout = urllib3.Timeout(connect=config.timeout, read=config.timeout)

    def attempt() -> HttpResult:
        nonlocal attempts
        attempts += 1
        try:
            full_url, body, sent_headers = _encode(url, json, params, data, headers)
            response = get_pool(full_url).request(method, full_url, body=body, headers=sent_headers,
                                                  timeout=timeout, retries=False, redirect=False)
        except (*_CONNECTION_ERRORS, ReadTimeoutError) as exc:
            # A connect timeout is a connection error: the request never left, so retrying is safe.
            unknown = isinstance(exc, ReadTimeoutError)
            text = mask_secrets(f"{type(exc).__name__}: {exc}", secret_list)
            result = HttpResult(None, error=text, attempts=attempts, outcome_unknown=unknown)
            log.warning("%s %s failed (attempt %d): %s", method, safe_url, attempts, text)
            if unknown and not retry_unknown_outcome:
                return result
            raise _Retry(result) from None
        except (urllib3.exceptions.HTTPError, ValueError, TypeError, OSError) as exc:
            # Bad URL, broken response body, a body that is not JSON...: not worth repeating, and the
            # server may have acted, so report it as an unknown outcome rather than raise.
            text = mask_secrets(f"{type(exc).__name__}: {exc}", secret_list)
            log.warning("%s %s failed: %s", method, safe_url, text)
            return HttpResult(None, error=text, attempts=attempts, outcome_unknown=True)
        payload = _decode(response.data)
        result = HttpResult(
            response.status,
            data=payload,
            headers=dict(response.headers),
            attempts=attempts,
            retry_after=retry_after(response, payload),
        )
        if result.transient:
            log.warning("%s %s -> %d (attempt %d)", method, safe_url, response.status, attempts)
            if response.status >= 500 and not retry_unknown_outcome:
                # The server may have acted before failing: don't repeat a non-repeatable call.
                return replace(result, outcome_unknown=True)
            raise _Retry(result)
        return result

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        server_wait = exc.result.retry_after if isinstance(exc, _Retry) else None
        if server_wait is not None:
            return server_wait
        ceiling = min(config.backoff_max, config.backoff_base * (2 ** (state.attempt_number - 1)))
        return random.uniform(0, ceiling)  # full jitter

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= max(1, config.max_attempts):
            return True
        exc = state.outcome.exception() if state.outcome else None
        server_wait = exc.result.retry_after if isinstance(exc, _Retry) else None
        return server_wait is not None and server_wait > config.max_wait

    def give_up(state: RetryCallState) -> HttpResult:
        exc = state.outcome.exception() if state.outcome else None
        assert isinstance(exc, _Retry)
        return exc.result

    retrying = Retrying(
        retry=retry_if_exception_type(_Retry),
        wait=wait,
        stop=stop,
        retry_error_callback=give_up,
        reraise=False,
        **({"sleep": sleep} if sleep is not None else {}),
    )
    return retrying(attempt)
