"""What one delivery attempt came to, the same shape for every destination."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attempt:
    """`retryable`: trying later may work (rate limit, server error, not reached); else the error is final
    until someone changes a setting. `retry_after`: the server's own wait, in seconds."""

    ok: bool
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None


SENT = Attempt(ok=True)
