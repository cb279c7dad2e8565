"""Instagram Login long-lived tokens kept alive: refreshed before they expire, or the channel flagged.

A long-lived Instagram Login token lives 60 days and can be refreshed once it is at least 24 hours old and
not yet expired (PROTOCOLS.md §6); an expired one cannot, and only a new login brings the channel back. So
the sweeper (sweeper.py) calls `refresh_if_due` every pass and, once an hour, `refresh_due_tokens`
refreshes every Instagram Login token with less than REFRESH_BEFORE left:
- refreshed: the new token is stored (encrypted by the `credentials` column) with its new expiry;
- rejected (Graph code 190) or already expired: the channel is marked `needs_reconnect` and the tenant
  told once (the conditional update makes a second marking, here or in delivery.py, a no-op);
- anything else (5xx, 429, no answer): left as it is, tried again on the next run.
Each channel is its own transaction and its own try: one tenant's failure never stops the others. No
connection is held while Instagram answers (rows are read, the transaction ended, then the HTTP calls).
Page-token channels (`login="facebook"`) are skipped: those tokens do not expire this way.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from connectors.channels.instagram import InstagramConnector, TokenRefresh
from connectors.channels.registry import get_connector
from webapp.crypto import CredentialsError
from webapp.extensions import db
from webapp.models import Channel
from webapp.models.base import utcnow

from .delivery import TOKEN_KEYS, connector_config, credential_token, flag_reconnect

log = logging.getLogger(__name__)

LIFETIME = timedelta(days=60)  # a long-lived token's life: issued_at = token_expires_at - LIFETIME
MIN_AGE = timedelta(hours=24)  # Instagram refuses to refresh a younger token
REFRESH_BEFORE = timedelta(days=10)  # refresh when less than this is left: ten daily chances at least
CHECK_EVERY = timedelta(hours=1)  # the sweeper runs every few seconds; tokens need looking at far less often
BATCH = 200

@dataclass(frozen=True)
class _Due:
    channel_id: int
    tenant_id: int
    name: str
    expired: bool


_last_run: datetime | None = None
_run_lock = threading.Lock()


def refresh_if_due(now: datetime | None = None) -> dict[str, int] | None:
    """The sweeper's hook: `refresh_due_tokens` at most once per CHECK_EVERY in this process (None when
    not yet). Per process is enough: only one process sweeps per interval, and a token refreshed twice by
    two processes is harmless (the second write sees the token changed and keeps the first)."""
    global _last_run
    now = now or utcnow()
    with _run_lock:
        if _last_run is not None and now - _last_run < CHECK_EVERY:
            return None
        _last_run = now
    return refresh_due_tokens(now)


def refresh_due_tokens(now: datetime | None = None, *, limit: int = BATCH) -> dict[str, int]:
    """Refresh the Instagram Login tokens due at `now` (a parameter so tests move the clock, not sleep);
    returns how many were refreshed, flagged for reconnection and left for the next run."""
    now = now or utcnow()
    counts = {"tokens_refreshed": 0, "tokens_invalid": 0, "tokens_retry": 0}
    due = _due(now, limit)
    db.session.commit()  # no transaction (nor pooled connection) is held while Instagram answers
    connector = get_connector("instagram")
    assert isinstance(connector, InstagramConnector)
    config = connector_config()
    for one, token in due:
        try:
            if one.expired or not token:
                outcome = "tokens_invalid" if flag_reconnect(one.channel_id, one.tenant_id, one.name,
                                                             "the Instagram token expired") else ""
            else:
                outcome = _refresh_one(connector, config, one, token, now)
        except Exception:  # this channel's failure is logged; the next ones still get their turn
            db.session.rollback()
            log.exception("token refresh of channel %s failed", one.channel_id)
            outcome = "tokens_retry"
        if outcome:
            counts[outcome] += 1
    return counts


def _due(now: datetime, limit: int) -> list[tuple[_Due, str | None]]:
    """Active Instagram channels whose token has less than REFRESH_BEFORE left and is at least MIN_AGE old
    (issued at token_expires_at - LIFETIME); with their current token, Instagram Login ones only."""
    rows = db.session.scalars(select(Channel).where(
        Channel.type == InstagramConnector.type, Channel.status == "active",
        Channel.token_expires_at.isnot(None),
        Channel.token_expires_at <= now + REFRESH_BEFORE,
        Channel.token_expires_at <= now - MIN_AGE + LIFETIME,
    ).order_by(Channel.token_expires_at, Channel.id).limit(limit)).all()
    due: list[tuple[_Due, str | None]] = []
    for channel in rows:
        try:
            creds = dict(channel.credentials or {})
        except CredentialsError:  # unreadable with today's keys: an operator's problem, logged every run
            log.error("channel %s: credentials cannot be decrypted, token not refreshed", channel.id)
            continue
        if creds.get("login") == "facebook":
            continue
        expires_at = channel.token_expires_at
        assert expires_at is not None
        due.append((_Due(channel.id, channel.tenant_id, channel.name or channel.type, expires_at <= now),
                    credential_token(creds)))
    return due


def _refresh_one(connector: InstagramConnector, config: Any, one: _Due, token: str, now: datetime) -> str:
    result: TokenRefresh = connector.refresh_token(token, config)
    if result.invalid:
        marked = flag_reconnect(one.channel_id, one.tenant_id, one.name,
                                f"Instagram rejected the token: {result.error or 'invalid'}")
        return "tokens_invalid" if marked else ""
    if not result.ok:
        log.warning("channel %s: token refresh failed, retried next run: %s", one.channel_id, result.error)
        return "tokens_retry"
    assert result.access_token is not None and result.expires_in is not None
    channel = db.session.get(Channel, one.channel_id, populate_existing=True)
    creds = dict(channel.credentials or {}) if channel is not None else {}
    if channel is None or channel.status != "active" or credential_token(creds) != token:
        db.session.rollback()  # removed, flagged or reconnected meanwhile: what is stored now wins
        return ""
    keys = [key for key in TOKEN_KEYS if key in creds] or ["access_token"]
    channel.credentials = {**creds, **{key: result.access_token for key in keys}}
    channel.token_expires_at = now + timedelta(seconds=result.expires_in)
    db.session.commit()
    log.info("channel %s: Instagram token refreshed, valid until %s", one.channel_id, channel.token_expires_at)
    return "tokens_refreshed"
