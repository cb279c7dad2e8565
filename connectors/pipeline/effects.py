"""Apply what a turn asked for: leads, notifications, handoff, follow-up timers, LLM usage.

One small handler per effect type, looked up by name; everything is written in the turn's transaction
(the rows a turn reads are store.py's plain rows; the records created here are ORM models).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from connectors.runtime.queue import QueueUnavailable, get_queue
from flows.turn import Effect
from webapp.extensions import db
from webapp.models import Contact, FollowUp, Lead, Notification, month_key
from webapp.models.base import utcnow
from webapp.plans import has_feature, queue_priority
from webapp.services import people
from webapp.services.notifications import add_text, notify_event, recall, remember, take_back

from . import store, usage
from .store import ChannelRow, ConversationRow, TenantRow

log = logging.getLogger(__name__)


def notify(tenant_id: int, kind: str, title: str, body: str = "", *, event_key: str | None = None,
           lead_id: int | None = None, conversation_id: int | None = None, **payload: Any) -> int | None:
    """The notification of one event, kept for its callers over webapp/services/notifications.py: a kind
    it knows gets its title in the tenant's language, `body` as its detail, and goes to the destinations
    the tenant chose; `title` is used as given for any other kind. Answers its id, or None when
    `event_key` was reported before (one event → one notification)."""
    links = {k: v for k, v in (("lead_id", lead_id), ("conversation_id", conversation_id)) if v is not None}
    return notify_event(tenant_id, kind, key=event_key, lead_id=lead_id, conversation_id=conversation_id,
                        params={**payload, **links}, detail=body, title=title)


def _lead(tenant: TenantRow, channel: ChannelRow, conv: ConversationRow, payload: dict[str, Any],
          services: Any) -> None:
    fields = {k: v for k, v in (payload.get("fields") or {}).items() if v not in (None, "")}
    contact = db.session.get(Contact, conv.contact_id)
    lead = Lead(tenant_id=tenant.id, contact_id=conv.contact_id, conversation_id=conv.id,
                source_channel=channel.type, fields=fields)
    db.session.add(lead)
    for attr in ("name", "phone", "email"):
        if fields.get(attr) and contact is not None:
            setattr(contact, attr, str(fields[attr])[:200])
    db.session.flush()
    if contact is not None:  # a typed phone/email matching someone else is only offered for merge
        people.offer_from_form(contact, fields)
    summary = "\n".join(f"{k}: {v}" for k, v in sorted(fields.items()))
    who = str(fields.get("name") or fields.get("phone") or "")[:100]
    note_id = notify_event(tenant.id, "lead", key=f"lead:{lead.id}", lead_id=lead.id, conversation_id=conv.id,
                           params={"channel": channel.type, "who": who}, detail=summary)
    earlier = recall(conv.id, "notify")  # a `notify` step ran before this one in the turn: its text joins the lead's
    if earlier is not None and note_id is not None:
        add_text(note_id, take_back(earlier))
    remember(conv.id, "lead", note_id)


def _notify(tenant: TenantRow, channel: ChannelRow, conv: ConversationRow, payload: dict[str, Any],
            services: Any) -> None:
    """A `notify` step: its text is the body under a title of its own; after a `lead` step of the same turn
    it goes into the lead's notification (one event, one notification)."""
    text = str(payload.get("text") or "").strip()
    lead_note = recall(conv.id, "lead")
    if lead_note is not None:
        add_text(lead_note, text)
        return
    note_id = notify_event(tenant.id, "notify", conversation_id=conv.id, params={"channel": channel.type},
                           detail=text)
    remember(conv.id, "notify", note_id)


def _handoff(tenant: TenantRow, channel: ChannelRow, conv: ConversationRow, payload: dict[str, Any],
             services: Any) -> None:
    """A `handoff` node or a customer asking for a person: the bot pauses, the conversation shows since
    when a person is wanted (the inbox's "needs a human"), the team is told."""
    from webapp.models import Conversation  # here, so this handler's change stays within it

    store.pause_bot(conv)
    db.session.execute(update(Conversation).where(Conversation.id == conv.id, Conversation.handed_off_at.is_(None))
                       .values(handed_off_at=utcnow()).execution_options(synchronize_session=False))
    notify(tenant.id, "handoff", "A customer asks for a human",
           str(payload.get("reason") or payload.get("text") or ""), conversation_id=conv.id)


def _schedule(tenant: TenantRow, channel: ChannelRow, conv: ConversationRow, payload: dict[str, Any],
              services: Any) -> None:
    if not has_feature(tenant, "follow_ups"):
        log.info("follow-up not scheduled: tenant %s has no follow_ups feature", tenant.id)
        return
    delay = max(1, int(payload.get("delay_seconds") or 0))
    fu = FollowUp(tenant_id=tenant.id, conversation_id=conv.id, token=str(payload.get("token") or ""),
                  due_at=utcnow() + timedelta(seconds=delay))
    db.session.add(fu)
    db.session.flush()

    try:
        get_queue().enqueue("connectors.runtime.jobs.fire_follow_up", fu.id, priority=queue_priority(tenant),
                            delay=delay)
    except QueueUnavailable:
        log.warning("follow-up %s left for the sweeper (queue down)", fu.id)


def _cancel(tenant: TenantRow, channel: ChannelRow, conv: ConversationRow, payload: dict[str, Any],
            services: Any) -> None:
    query = update(FollowUp).where(FollowUp.conversation_id == conv.id, FollowUp.status == "scheduled")
    if payload.get("token"):
        query = query.where(FollowUp.token == str(payload["token"]))
    db.session.execute(query.values(status="cancelled"))


def _llm_usage(tenant: TenantRow, channel: ChannelRow, conv: ConversationRow, payload: dict[str, Any],
               services: Any) -> None:
    usage.add(tenant.id, llm_prompt_tokens=int(payload.get("prompt_tokens") or 0),
              llm_completion_tokens=int(payload.get("completion_tokens") or 0))


def _http_error(tenant: TenantRow, channel: ChannelRow, conv: ConversationRow, payload: dict[str, Any],
                services: Any) -> None:
    log.info("integration call failed in conversation %s: %s", conv.id, payload)


HANDLERS: dict[str, Callable[[TenantRow, ChannelRow, ConversationRow, dict[str, Any], Any], None]] = {
    "lead": _lead, "notify": _notify, "handoff": _handoff, "schedule_follow_up": _schedule,
    "cancel_follow_up": _cancel, "llm_usage": _llm_usage, "http_error": _http_error,
}


def apply(tenant: TenantRow, channel: ChannelRow, conv: ConversationRow, effects: list[Effect], services: Any) -> None:
    for effect in effects:
        handler = HANDLERS.get(effect.type)
        if handler is None:
            log.warning("unknown effect %s ignored", effect.type)
            continue
        handler(tenant, channel, conv, dict(effect.payload or {}), services)


def warn_limit_once(tenant: TenantRow) -> None:
    month = month_key()
    exists = db.session.scalar(select(Notification.id).where(Notification.tenant_id == tenant.id,
                                                             Notification.kind == "limit",
                                                             Notification.payload["month"].as_string() == month))
    if exists is None:
        notify(tenant.id, "limit", "Monthly message limit reached",
               "The bot stopped replying until next month or a plan upgrade.", month=month)
