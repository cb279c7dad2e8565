"""Sign-in throttling that slows guessing without letting a stranger lock an owner out.

Failed sign-ins are counted per (account, client address) pair. The first LOGIN_FREE_FAILURES of a pair
cost nothing; after that the pair waits 2, 4, 8 ... seconds (at most LOGIN_MAX_DELAY) before its next
try, and one try only: parallel requests do not multiply the guesses. A successful sign-in clears the pair.
The owner signing in from their own address is another pair, so an attacker's failures never lock them
out. LOGIN_ADDRESS_LIMIT caps one address's failed sign-ins across all accounts, so spraying one
password over many accounts is slow too. Failures are remembered for a day after a pair's first one.

Counts live in Flask-Limiter's storage (Redis when REDIS_URL is set, else memory), as `limits` counters and
windows. When that storage fails the throttle keeps counting in this process's memory and logs it, trying
the storage again after STORAGE_RETRY seconds: sign-in keeps working with Redis down.

The mails with a link (sign-up confirmation, "send the link again", password reset) are capped the same
way by `MailThrottle`: MAIL_RECIPIENT_LIMIT per recipient, so no one can flood a stranger's inbox through
us, and MAIL_CLIENT_LIMIT per client address, so one client cannot make many accounts or resets.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from ..extensions import limiter, per_app

log = logging.getLogger(__name__)
T = TypeVar("T")

FAILURE_MEMORY = 24 * 3600
STORAGE_RETRY = 30.0
SLOT_TTL = 60


class _Counting:
    """Counts in the limiter's storage (resolved on each call), or in this process's memory while it fails."""

    def __init__(self) -> None:
        self._memory = MemoryStorage()
        self._retry_storage_at = 0.0

    def _run(self, operation: Callable[[Storage], T]) -> T:
        """`operation` on the limiter's storage, or on this process's memory while that storage fails."""
        storage = limiter.storage
        if isinstance(storage, MemoryStorage):
            return operation(storage)
        if time.monotonic() >= self._retry_storage_at:
            try:
                return operation(storage)
            except (StorageError, *_exceptions(storage)) as exc:
                self._retry_storage_at = time.monotonic() + STORAGE_RETRY
                log.warning("%s storage unreachable, counting in memory for %.0f s: %s", type(self).__name__,
                            STORAGE_RETRY, exc)
        return operation(self._memory)


class LoginThrottle(_Counting):
    """One per app (see `throttle()`); the storage it uses is the limiter's, resolved on each call."""

    def __init__(self, free_failures: int, max_delay: int, address_limits: str) -> None:
        super().__init__()
        self.free_failures = free_failures
        self.max_delay = max_delay
        self.address_limits = parse_many(address_limits)

    # -- the three calls the sign-in view makes ---------------------------------------------------------

    def wait(self, email: str, address: str) -> int:
        """Seconds before this pair (or this address) may try again; 0 = it may try now, and the try is
        taken (a parallel request of the same pair then waits)."""
        return self._run(lambda storage: self._wait(storage, email, address))

    def failed(self, email: str, address: str) -> None:
        self._run(lambda storage: self._failed(storage, email, address))

    def succeeded(self, email: str, address: str) -> None:
        self._run(lambda storage: self._clear(storage, _pair(email, address)))

    # -- the counting -----------------------------------------------------------------------------------

    def delay_after(self, failures: int) -> int:
        """The wait imposed after `failures` failed sign-ins of a pair."""
        if failures < self.free_failures:
            return 0
        return min(self.max_delay, 2 ** min(failures - self.free_failures + 1, 62))

    def _wait(self, storage: Storage, email: str, address: str) -> int:
        windows = FixedWindowRateLimiter(storage)
        now = time.time()
        resets = [windows.get_window_stats(limit, "login-address", address).reset_time
                  for limit in self.address_limits if not windows.test(limit, "login-address", address)]
        if resets:
            return max(1, math.ceil(max(resets) - now))
        pair = _pair(email, address)
        failures = storage.get(f"{pair}:failures")
        if failures < self.free_failures:
            return 0
        if storage.get(f"{pair}:wait"):
            return max(1, math.ceil(storage.get_expiry(f"{pair}:wait") - now))
        if storage.incr(f"{pair}:try:{failures}", SLOT_TTL) > 1:  # another request holds this try
            return self.delay_after(failures + 1)
        return 0

    def _failed(self, storage: Storage, email: str, address: str) -> None:
        windows = FixedWindowRateLimiter(storage)
        for limit in self.address_limits:
            windows.hit(limit, "login-address", address)
        pair = _pair(email, address)
        failures = storage.incr(f"{pair}:failures", FAILURE_MEMORY)
        delay = self.delay_after(failures)
        if delay:
            storage.clear(f"{pair}:wait")
            storage.incr(f"{pair}:wait", delay)

    def _clear(self, storage: Storage, pair: str) -> None:
        failures = storage.get(f"{pair}:failures")
        for key in (f"{pair}:failures", f"{pair}:wait", f"{pair}:try:{failures}"):
            storage.clear(key)



class MailThrottle(_Counting):
    """Caps the mails with a link; one per app (see `mail_throttle()`). Each `may_*` call that answers True
    counts one mail; a refused one counts nothing more."""

    def __init__(self, recipient_limits: str, client_limits: str) -> None:
        super().__init__()
        self.recipient_limits = parse_many(recipient_limits)
        self.client_limits = parse_many(client_limits)

    def may_mail(self, email: str) -> bool:
        """Whether one more link may be mailed to `email` (kept as a digest, like the sign-in pairs)."""
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return self._run(lambda storage: _take(storage, self.recipient_limits, "mail-recipient", digest))

    def may_ask(self, address: str) -> bool:
        """Whether this client address may cause one more sign-up or reset mail."""
        return self._run(lambda storage: _take(storage, self.client_limits, "mail-client", address))


def _take(storage: Storage, limits: list[RateLimitItem], *key: str) -> bool:
    windows = FixedWindowRateLimiter(storage)
    if not all(windows.test(limit, *key) for limit in limits):
        return False
    return all([windows.hit(limit, *key) for limit in limits])


def _exceptions(storage: Storage) -> tuple[type[Exception], ...]:
    found = storage.base_exceptions
    return found if isinstance(found, tuple) else (found,)


def _pair(email: str, address: str) -> str:
    """The pair's key: a digest, so the storage holds no email addresses."""
    digest = hashlib.sha256(f"{email.strip().lower()}\0{address}".encode()).hexdigest()[:32]
    return f"login-pair/{digest}"


def throttle() -> LoginThrottle:
    config = current_app.config
    return per_app("login_throttle", lambda: LoginThrottle(
        int(config["LOGIN_FREE_FAILURES"]), int(config["LOGIN_MAX_DELAY"]), config["LOGIN_ADDRESS_LIMIT"]))


def mail_throttle() -> MailThrottle:
    config = current_app.config
    return per_app("mail_throttle", lambda: MailThrottle(config["MAIL_RECIPIENT_LIMIT"], config["MAIL_CLIENT_LIMIT"]))
