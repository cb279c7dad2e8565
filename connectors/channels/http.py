"""The one place outbound channel HTTP happens: session reuse, retries, backoff, secret masking.

Retries (tenacity) cover what is worth repeating right away: HTTP 429, 5xx, failures to connect, and
timeouts or dropped connections of requests other than POST (a POST that got no answer after it was sent may
have been acted on: a message delivered; it comes back with ``outcome_unknown``). Waits are exponential with
full jitter, or exactly the server's ``retry_after`` (Telegram ``parameters.retry_after`` / the ``Retry-After``
header). A retry_after longer than ``config.max_wait`` is not slept on: the result comes back retryable so the job
reschedules the send instead of holding a worker. Other 4xx are final. Nothing here raises for HTTP problems, and every
error text is masked because Telegram puts the bot token in the URL path.
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from connectors.channels.events import ConnectorConfig

log = logging.getLogger(__name__)

_MASK_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"bot\d+:[A-Za-z0-9_-]+"), "bot***"),
    (re.compile(r"(access_token=)[^&\s\"']+"), r"\1***"),
    (re.compile(r"(client_secret=)[^&\s\"']+"), r"\1***"),
    (re.compile(r"(fb_exchange_token=)[^&\s\"']+"), r"\1***"),
    (re.compile(r"((?<![A-Za-z_])code=)[^&\s\"']+"), r"\1***"),  # a login's or Embedded Signup's code
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


class _MaskedRecords(logging.Filter):
    """urllib3 logs every request line at DEBUG, query string included: Meta documents a few calls with the
    token in the query (the long-lived exchange, the refresh) and Telegram puts it in the path. Whoever
    turns DEBUG on must not get tokens in the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_secrets(record.getMessage())
        record.args = None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_MaskedRecords())


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


RetryAfterFn = Callable[[requests.Response, Any], float | None]


def header_retry_after(response: requests.Response, data: Any) -> float | None:
    """``Retry-After`` in seconds (HTTP-date values are ignored: Meta and Telegram send seconds)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


_local = threading.local()
_before_send: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("before_send", default=None)


class before_send:  # noqa: N801 - used like contextlib's context managers
    """`with before_send(fn):` — `fn()` runs once, right before the first request of the next `request()`
    call in this thread leaves (not when a connector answers without calling out: a local rate limit, a
    missing token). The pipeline marks a message `sending` there, so a worker killed before that moment
    left a message that is safe to send again, and only one killed during the call leaves its outcome
    unknown."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn

    def __enter__(self) -> None:
        self._token = _before_send.set(self.fn)

    def __exit__(self, *exc: object) -> None:
        _before_send.reset(self._token)


def get_session() -> requests.Session:
    """A per-thread Session: keeps TLS connections alive without sharing one across threads."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # read proxy settings once here, not from os.environ on every send
        session.proxies.update(urllib.request.getproxies())
        session.headers["User-Agent"] = "TemoWeb-Bots/1"
        _local.session = session
    return session


def _decode(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _never_left(exc: requests.RequestException) -> bool:
    """The request cannot have reached the server: no connection was made (refused, unresolvable, connect
    timeout, TLS or proxy refused). Anything later (a read timeout, a connection dropped while the answer was
    awaited) may come after the server acted on it."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    cause = exc.args[0] if exc.args else None
    cause = getattr(cause, "reason", cause)  # urllib3's MaxRetryError wraps what happened
    return isinstance(cause, NewConnectionError | ConnectTimeoutError)


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

    def attempt() -> HttpResult:
        nonlocal attempts
        attempts += 1
        hook = _before_send.get()
        if hook is not None:
            _before_send.set(None)
            hook()
        try:
            response = get_session().request(
                method, url, json=json, params=params, data=data, headers=headers, timeout=config.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            unknown = not _never_left(exc)
            text = mask_secrets(f"{type(exc).__name__}: {exc}", secret_list)
            result = HttpResult(None, error=text, attempts=attempts, outcome_unknown=unknown)
            log.warning("%s %s failed (attempt %d): %s", method, safe_url, attempts, text)
            if unknown and (not retry_unknown_outcome or method.upper() == "POST"):
                return result  # the server may have acted on it: a POST (a send) is not repeated blindly
            raise _Retry(result) from None
        except requests.RequestException as exc:
            # Bad URL, broken response body, redirect loop...: not worth repeating, and the server
            # may have acted, so report it as an unknown outcome rather than raise.
            text = mask_secrets(f"{type(exc).__name__}: {exc}", secret_list)
            log.warning("%s %s failed: %s", method, safe_url, text)
            return HttpResult(None, error=text, attempts=attempts, outcome_unknown=True)
        payload = _decode(response)
        result = HttpResult(
            response.status_code,
            data=payload,
            headers=dict(response.headers),
            attempts=attempts,
            retry_after=retry_after(response, payload),
        )
        if result.transient:
            log.warning("%s %s -> %d (attempt %d)", method, safe_url, response.status_code, attempts)
            if response.status_code >= 500 and not retry_unknown_outcome:
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
        sleep=sleep or time.sleep,
    )
    return retrying(attempt)
