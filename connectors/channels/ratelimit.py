"""Per-account outbound rate limiting (moving window, ``limits`` library).

Storage comes from ``ConnectorConfig.ratelimit_storage``: ``memory://`` for a single process and tests,
``redis://...`` so every worker process shares the same windows. When a window is full we wait a
little (bounded by ``config.max_wait``) and otherwise hand back a retryable SendResult with
``retry_after`` so the job reschedules. If the storage itself fails (Redis down) we fail open: a
missed local limit costs at most a channel-side 429, while blocking sends would lose replies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from connectors.channels.events import ConnectorConfig, SendResult

log = logging.getLogger(__name__)

# ``none://`` turns local limiting off (benchmarks that measure our own overhead, not Meta's limits).
DISABLED_STORAGE = frozenset({"", "none://"})

_lock = threading.Lock()
_limiters: dict[str, MovingWindowRateLimiter] = {}


def get_limiter(storage_uri: str) -> MovingWindowRateLimiter:
    """One limiter per storage URI per process (the memory storage must be shared to mean anything)."""
    with _lock:
        limiter = _limiters.get(storage_uri)
        if limiter is None:
            storage: Storage = storage_from_string(storage_uri)
            limiter = MovingWindowRateLimiter(storage)
            _limiters[storage_uri] = limiter
        return limiter


@lru_cache(maxsize=64)
def _parse(spec: str) -> RateLimitItem:
    return parse(spec)


def limit_for(config: ConnectorConfig, name: str) -> RateLimitItem:
    """The limit of a scope such as ``"telegram.chat"``: the channel's declared window (``rate_limits``,
    merged in by ``BaseConnector.rate_limited``) or the configured override."""
    spec = config.rate_limits[name]  # the channel's declared window, or CONNECTOR_RATE_LIMITS' override
    return _parse(spec)


def acquire(
    config: ConnectorConfig,
    checks: Iterable[tuple[str, str]],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> float | None:
    """Take one slot in every (scope, key) window, waiting up to ``config.max_wait``.

    Returns None when the send may go ahead, or the number of seconds after which to retry.
    """
    if config.ratelimit_storage in DISABLED_STORAGE:
        return None
    items = [(limit_for(config, name), name, str(key)) for name, key in checks]
    deadline = time.monotonic() + max(0.0, config.max_wait)
    try:
        limiter = get_limiter(config.ratelimit_storage)
        while True:
            blocked = [(item, name, key) for item, name, key in items if not limiter.test(item, name, key)]
            if not blocked:
                for item, name, key in items:
                    limiter.hit(item, name, key)
                return None
            now = time.time()
            wait = max(max(limiter.get_window_stats(item, name, key).reset_time - now, 0.01)
                       for item, name, key in blocked)
            if time.monotonic() + wait > deadline:
                return round(wait, 3)
            sleep(wait)
    except Exception as exc:  # storage down: fail open, see module docstring
        log.warning("rate limiter storage %s unavailable, not limiting: %s", config.ratelimit_storage, exc)
        return None


def throttle(config: ConnectorConfig, checks: Iterable[tuple[str, str]]) -> SendResult | None:
    """None when allowed; otherwise the retryable SendResult a connector returns without sending."""
    wait = acquire(config, checks)
    if wait is None:
        return None
    return SendResult(
        status="failed", error="rate limited locally", retryable=True, retry_after=wait
    )


def reset(storage_uri: str = "memory://") -> None:
    """Clear the windows of one storage (tests start from empty ``memory://`` windows)."""
    with _lock:
        limiter = _limiters.get(storage_uri)
    if limiter is not None:
        limiter.storage.reset()
