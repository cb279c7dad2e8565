"""Notifications to a tenant: one per event, in the tenant's language, linked to its lead or conversation,
and sent on to the destinations the tenant chose for that event type (Telegram, email, webhook).

Why it is shaped this way:
- one event → one notification: every event that can be reported twice (a retried turn, two places noticing
  the same thing) carries an `event_key` ("lead:<id>", "quota80:<month>"); the row is inserted with
  ON CONFLICT (tenant_id, event_key) DO NOTHING, so the second report adds nothing, deliveries included;
- texts are lazy msgids rendered under the tenant's language (`force_locale`), so a job (app context, no
  request) writes Russian for a Russian tenant exactly as a page would;
- delivery rows are written in the caller's transaction and their jobs are enqueued only after it commits
  (a job must not look for rows that are not there yet, nor send for a turn that was rolled back). If the
  queue is down, the sweeper finds the due rows (connectors/pipeline/notifications.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext, lazy_gettext
from sqlalchemy import delete, event, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from connectors.runtime.queue import QueueUnavailable, get_queue

from ..extensions import db
from ..models import Conversation, Notification, NotificationDelivery, Tenant
from ..models.base import utcnow
from .notify_settings import destinations_for

log = logging.getLogger(__name__)


def N_(text: str) -> str:  # noqa: N802 - babel's marker name: extracted, translated when rendered
    return text


@dataclass(frozen=True)
class Kind:
    """A stored notification kind: which event type (the tenant's preference row) it belongs to, and its
    texts (msgids with %(name)s placeholders filled from the event's params)."""

    event_type: str
    title: str
    short_title: str | None = None  # when the title's `who` is empty
    text: str | None = None  # None: the caller's detail text is the body


#: The event types a tenant chooses destinations for (Settings → Notifications), in display order.
EVENT_TYPES: dict[str, Any] = {
    "lead": lazy_gettext("New lead"),
    "handoff": lazy_gettext("Handoff requested"),
    "customer_waiting": lazy_gettext("Customer waiting for an answer"),
    "reconnect": lazy_gettext("Channel needs reconnection"),
    "reply_problem": lazy_gettext("Reply failed or its delivery is unknown"),
    "quota": lazy_gettext("Monthly message limit nearly or fully used"),
    "flow": lazy_gettext("Notify team steps of your flows"),
}

KINDS: dict[str, Kind] = {
    "lead": Kind("lead", N_("New lead from %(channel)s: %(who)s"), N_("New lead from %(channel)s")),
    "notify": Kind("flow", N_("Team notification from %(channel)s")),
    "handoff": Kind("handoff", N_("A customer asks for a human")),
    "customer_waiting": Kind("customer_waiting", N_("A customer is waiting for your answer")),
    "token_invalid": Kind("reconnect", N_("Reconnect %(name)s")),
    "delivery_failed": Kind("reply_problem", N_("Replies that could not be delivered")),
    "delivery_unknown": Kind("reply_problem", N_("Replies whose delivery is unknown: check before sending again")),
    "quota_80": Kind("quota", N_("The monthly message limit is nearly used up"),
                     text=N_("%(used)s of %(limit)s messages used this month.")),
    "limit": Kind("quota", N_("Monthly message limit reached"),
                  text=N_("The bot stopped replying until next month or a plan upgrade.")),
}

_TO_SEND = "notify_deliveries"  # Session.info: delivery ids to enqueue once the transaction commits
_TURN_NOTES = "notify_turn_notes"  # Session.info: {(conversation_id, kind): notification id} this transaction


def render(kind: str, params: dict[str, Any], language: str | None, detail: str = "") -> tuple[str, str]:
    """(title, body) in `language`; params fill the placeholders (missing ones become empty)."""
    spec = KINDS[kind]
    values = {k: "" if v is None else v for k, v in params.items()}
    title_id = spec.short_title if spec.short_title and not values.get("who") else spec.title
    with force_locale(language or current_app.config.get("BABEL_DEFAULT_LOCALE") or "en"):
        title = gettext(title_id) % _Filled(values)
        body = gettext(spec.text) % _Filled(values) if spec.text else ""
    body = "\n\n".join(part for part in (body, detail.strip()) if part)
    return title[:300], body


class _Filled(dict[str, Any]):
    """Placeholders a caller left out render empty instead of raising in the middle of a turn."""

    def __missing__(self, key: str) -> str:
        return ""


def _default_key(kind: str, conversation_id: int | None, params: dict[str, Any]) -> str | None:
    if kind == "limit" and params.get("month"):
        return f"quota100:{params['month']}"
    if kind == "handoff" and conversation_id:
        since = db.session.scalar(select(Conversation.handed_off_at).where(Conversation.id == conversation_id))
        return f"handoff:{conversation_id}:{since.isoformat()}" if since else None
    return None


def notify_event(tenant_id: int, kind: str, *, key: str | None = None, lead_id: int | None = None,
                 conversation_id: int | None = None, params: dict[str, Any] | None = None, detail: str = "",
                 title: str | None = None) -> int | None:
    """Store the event's notification once (None when `key` was reported before) and queue its deliveries to
    the destinations the tenant chose for its event type. Runs in the caller's transaction; `title` is only
    used for a kind outside KINDS (stored as given, shown in the back-office, sent nowhere)."""
    params = dict(params or {})
    key = key or _default_key(kind, conversation_id, params)
    tenant = db.session.execute(select(Tenant.language, Tenant.settings).where(Tenant.id == tenant_id)).one()
    if kind in KINDS:
        shown_title, body = render(kind, params, tenant.language, detail)
        destinations = destinations_for(tenant.settings or {}, KINDS[kind].event_type)
    else:
        shown_title, body, destinations = (title or kind)[:300], detail, []
    now = utcnow()
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(Notification.__table__)
                 .values(tenant_id=tenant_id, kind=kind[:24], title=shown_title, body=body, status="new",
                         payload={k: v for k, v in params.items() if _jsonable(v)}, created_at=now,
                         lead_id=lead_id, conversation_id=conversation_id, event_key=key and key[:120])
                 .on_conflict_do_nothing(index_elements=["tenant_id", "event_key"])
                 .returning(Notification.__table__.c.id))
    note_id = db.session.execute(statement).scalar()
    if note_id is None:
        log.info("notification %s of tenant %s already stored: not sent again", key, tenant_id)
        return None
    if destinations:
        rows = [{"tenant_id": tenant_id, "notification_id": note_id, "destination": d, "status": "pending",
                 "attempts": 0, "next_attempt_at": now, "created_at": now} for d in destinations]
        ids = db.session.execute(dialect.insert(NotificationDelivery.__table__).returning(
            NotificationDelivery.__table__.c.id), rows).scalars().all()
        db.session().info.setdefault(_TO_SEND, []).extend(ids)
    return int(note_id)


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)


def remember(conversation_id: int, kind: str, note_id: int | None) -> None:
    """Note a notification this transaction made for a conversation, so a second effect of the same turn
    (a `notify` step after a `lead` step) adds to it instead of making another."""
    if note_id is not None:
        db.session().info.setdefault(_TURN_NOTES, {})[(conversation_id, kind)] = note_id


def recall(conversation_id: int, kind: str) -> int | None:
    return db.session().info.get(_TURN_NOTES, {}).get((conversation_id, kind))


def add_text(note_id: int, text: str, *, before: bool = True) -> None:
    """Put a flow's own text into an existing notification (ahead of the lead's fields)."""
    text = text.strip()
    if text:
        body = literal(text + "\n\n") + Notification.body if before else Notification.body + literal("\n\n" + text)
        db.session.execute(update(Notification).where(Notification.id == note_id).values(body=body))


def take_back(note_id: int) -> str:
    """Remove a notification made earlier in this transaction (its deliveries never left: they are queued
    after the commit), answering its body so another notification can carry it."""
    body = db.session.scalar(select(Notification.body).where(Notification.id == note_id)) or ""
    db.session.execute(delete(NotificationDelivery).where(NotificationDelivery.notification_id == note_id))
    db.session.execute(delete(Notification).where(Notification.id == note_id))
    queued = db.session().info.get(_TURN_NOTES, {})
    for turn_key in [k for k, v in queued.items() if v == note_id]:
        queued.pop(turn_key)
    return body


@event.listens_for(db.session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    """The committed deliveries' jobs; a queue that is down leaves them to the sweeper."""
    ids = session.info.pop(_TO_SEND, None)
    session.info.pop(_TURN_NOTES, None)
    if not ids:
        return
    try:
        queue = get_queue()
        for delivery_id in ids:
            queue.enqueue("connectors.runtime.jobs.deliver_notification", delivery_id)
    except QueueUnavailable:
        log.warning("notification deliveries %s left for the sweeper (queue down)", ids)


@event.listens_for(db.session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back (after a commit both are empty already)
        session.info.pop(_TO_SEND, None)
        session.info.pop(_TURN_NOTES, None)
