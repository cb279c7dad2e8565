"""Notification deliveries: send one notification to one destination, keep trying what may work later, and
leave a log a tenant can read (`notification_deliveries`).

A delivery is `pending` (queued when its notification was committed) → `sending` (claimed by one job with one
atomic UPDATE; the claim is a lease: a worker that dies holding it lets the row come due again after LEASE)
→ `sent`, or `retrying` with `next_attempt_at` (exponential backoff with jitter, or the server's own
retry_after) and at most MAX_ATTEMPTS attempts, then `failed` with the last error. A delayed job retries it;
the sweeper enqueues whatever is due and was lost (Redis down, a dead worker). No database connection is held
while a destination answers.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import or_, select, update

from connectors.channels.events import ConnectorConfig
from connectors.notify import telegram_bot, webhook
from connectors.notify.result import SENT, Attempt
from connectors.runtime.queue import QueueUnavailable, get_queue
from connectors.runtime.run_slots import waiting
from webapp.extensions import db
from webapp.models import Notification, NotificationDelivery, Tenant
from webapp.models.base import utcnow
from webapp.services.mail import mail_configured, send_mail
from webapp.services.notifications import KINDS
from webapp.services.notify_settings import email_address, prefs, webhook_secret

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE, BACKOFF_MAX = 30.0, 3600.0  # seconds: ~30 s, 1 min, 2 min, 4 min between the five attempts
LEASE = timedelta(minutes=10)  # longer than one attempt can take (timeouts are 10 s, a few quick retries)
RETRY_GRACE = timedelta(seconds=15)  # a due retry's own delayed job normally runs within this
JOB = "connectors.runtime.jobs.deliver_notification"
_T = NotificationDelivery.__table__


@dataclass
class Outgoing:
    """One attempt's message, composed while the database is held and sent after it is let go."""

    destination: str
    to: Any = None
    subject: str = ""
    text: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    secret: str = ""
    problem: str | None = None  # a setting is missing: nothing to send, no retry helps


def deliver(delivery_id: int) -> str | None:
    """One attempt at one delivery; its new status, or None when it was not due (sent, or held by another
    job)."""
    now = utcnow()
    claimed = db.session.execute(
        update(_T).where(_T.c.id == delivery_id, _T.c.status.in_(("pending", "retrying", "sending")),
                         or_(_T.c.next_attempt_at.is_(None), _T.c.next_attempt_at <= now))
        .values(status="sending", attempts=_T.c.attempts + 1, next_attempt_at=now + LEASE)
        .returning(_T.c.notification_id, _T.c.destination, _T.c.attempts, _T.c.tenant_id)).one_or_none()
    if claimed is None:
        db.session.commit()
        return None
    outgoing = compose(claimed.notification_id, claimed.destination, claimed.tenant_id, delivery_id)
    db.session.commit()  # hand the connection back while the destination answers
    if outgoing.problem:
        attempt = Attempt(ok=False, error=outgoing.problem)
    else:
        with waiting():
            attempt = _send(outgoing, delivery_id)
    return _record(delivery_id, claimed.attempts, attempt)


def compose(notification_id: int, destination: str, tenant_id: int, delivery_id: int) -> Outgoing:
    note = db.session.get(Notification, notification_id)
    tenant = db.session.get(Tenant, tenant_id)
    out = Outgoing(destination)
    if note is None or tenant is None:
        out.problem = "the notification no longer exists"
        return out
    link = link_to(note)
    with force_locale(tenant.language or "en"):
        opened = gettext("Open: %(url)s", url=link) if link else ""
    out.subject = note.title
    out.text = "\n\n".join(part for part in (note.body, opened) if part)
    stored = prefs(tenant.settings)
    if destination == "telegram":
        out.to = stored.get("telegram_chat_id")
        out.text = f"{note.title}\n\n{out.text}".strip()
        if not out.to:
            out.problem = "no Telegram chat is linked (Settings → Notifications)"
    elif destination == "email":
        out.to = email_address(tenant)
        if not mail_configured():
            out.problem = "no SMTP configured: the platform cannot send mail"
        elif not out.to:
            out.problem = "no email address to send to"
    elif destination == "webhook":
        out.to = stored.get("webhook_url")
        out.secret = webhook_secret(tenant) or ""
        out.payload = webhook_payload(note, link)
        if not out.to:
            out.problem = "no webhook URL set (Settings → Notifications)"
        elif not out.secret:
            out.problem = "no signing secret: generate one in Settings → Notifications"
    else:
        out.problem = f"unknown destination {destination!r}"
    return out


def link_to(note: Notification) -> str:
    """The back-office page the notification is about (its lead first, else its conversation)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if note.lead_id:
        return f"{base}/leads/{note.lead_id}"
    if note.conversation_id:
        return f"{base}/conversations/{note.conversation_id}"
    return ""


def webhook_payload(note: Notification, link: str) -> dict[str, Any]:
    """What the outgoing webhook carries (docs/notifications.md documents each field)."""
    spec = KINDS.get(note.kind)
    return {"notification_id": note.id, "event": note.kind, "event_type": spec.event_type if spec else None,
            "event_key": note.event_key, "tenant_id": note.tenant_id, "title": note.title, "text": note.body,
            "lead_id": note.lead_id, "conversation_id": note.conversation_id, "url": link or None,
            "created_at": note.created_at.isoformat() if note.created_at else None, "data": note.payload or {}}


def _send(out: Outgoing, delivery_id: int) -> Attempt:
    config = current_app.config
    if out.destination == "telegram":
        return telegram_bot.send(config.get("NOTIFY_TELEGRAM_TOKEN") or "", out.to, out.text,
                                 ConnectorConfig.from_mapping(config))
    if out.destination == "email":
        if send_mail(out.to, out.subject, out.text):
            return SENT
        return Attempt(ok=False, error="the SMTP server did not take the mail (the worker log has its answer)",
                       retryable=True)
    return webhook.post(out.to, out.payload, out.secret, event=str(out.payload.get("event")),
                        delivery_id=delivery_id, timeout=float(config.get("OUTBOUND_TIMEOUT") or 10))


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds until the next attempt: the server's wait if it gave one, else exponential with jitter."""
    if retry_after:
        return float(retry_after) + random.uniform(0, 1)
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


def _record(delivery_id: int, attempts: int, attempt: Attempt) -> str:
    now = utcnow()
    values: dict[str, Any]
    delay: float | None = None
    if attempt.ok:
        values = {"status": "sent", "sent_at": now, "next_attempt_at": None, "last_error": None}
    elif attempt.retryable and attempts < MAX_ATTEMPTS:
        delay = backoff(attempts, attempt.retry_after)
        values = {"status": "retrying", "next_attempt_at": now + timedelta(seconds=delay),
                  "last_error": attempt.error}
    else:
        values = {"status": "failed", "next_attempt_at": None, "last_error": attempt.error}
    db.session.execute(update(_T).where(_T.c.id == delivery_id, _T.c.status == "sending",
                                        _T.c.attempts == attempts).values(**values))
    db.session.commit()
    if delay is not None:
        try:
            get_queue().enqueue(JOB, delivery_id, delay=delay)
        except QueueUnavailable:
            log.warning("notification delivery %s: retry left for the sweeper (queue down)", delivery_id)
    if not attempt.ok:
        log.warning("notification delivery %s attempt %d: %s", delivery_id, attempts, attempt.error)
    return str(values["status"])


def due_deliveries(now: datetime, limit: int = 500) -> list[int]:
    """Deliveries whose job was lost: queued or due for a retry a while ago, or held past their lease."""
    return list(db.session.scalars(
        select(_T.c.id).where(_T.c.status.in_(("pending", "retrying", "sending")),
                              _T.c.next_attempt_at <= now - RETRY_GRACE)
        .order_by(_T.c.next_attempt_at).limit(limit)))
