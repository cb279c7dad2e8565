"""One conversation turn per stored event, one turn at a time per contact.

`process_event` claims the event atomically (two workers never process it twice), locks the contact row
(so two quick messages from one person are answered in order: earlier pending events are processed first),
runs the engine on the conversation's pinned flow version, and persists messages, state, leads,
notifications and usage in one transaction before anything is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from connectors.events import InboundEvent
from flows.engine import step
from flows.turn import StepResult, TurnEvent
from webapp.extensions import db
from webapp.models import Channel, Contact, Conversation, Message, Tenant
from webapp.models import InboundEvent as EventRow
from webapp.models.base import utcnow
from webapp.plans import has_feature

from . import effects, usage
from .context import build_services
from .delivery import deliver_event_messages, record_outbound
from .routing import pick_flow

log = logging.getLogger(__name__)

CLAIMABLE = ("received", "queued")


class Skip(Exception):
    """The event is handled by doing nothing further; the reason is stored on it."""

    def __init__(self, reason: str, status: str = "skipped") -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def claim(event_id: int) -> bool:
    """Atomic: exactly one worker moves an event to `processing`."""
    result = db.session.execute(
        update(EventRow).where(EventRow.id == event_id, EventRow.status.in_(CLAIMABLE))
        .values(status="processing", attempts=EventRow.attempts + 1, locked_at=utcnow()))
    db.session.commit()
    return result.rowcount == 1


def finish(row: EventRow, status: str, reason: str | None = None, error: str | None = None) -> None:
    row.status, row.reason, row.error, row.processed_at = status, reason, error, utcnow()
    db.session.commit()


def process_event(event_id: int) -> None:
    row = db.session.get(EventRow, event_id)
    if row is None or not claim(event_id):
        return
    db.session.refresh(row)
    _run_claimed(row)


def _run_claimed(row: EventRow) -> None:
    try:
        channel = db.session.get(Channel, row.channel_id)
        tenant = db.session.get(Tenant, row.tenant_id)
        event = InboundEvent.from_dict(row.parsed)
        handler = KIND_HANDLERS.get(event.kind, handle_conversation_turn)
        outcome = handler(row, channel, tenant, event)
        finish(row, *outcome)
    except Skip as skip:
        db.session.rollback()
        finish(row, skip.status, skip.reason)
    except Exception as exc:  # recorded on the event (visible, retryable) instead of lost in a log
        db.session.rollback()
        log.exception("event %s failed", row.id)
        finish(row, "failed", error=f"{exc.__class__.__name__}: {str(exc)[:500]}")


Outcome = tuple[str, str | None, str | None]


def handle_status(row: EventRow, channel: Channel, tenant: Tenant, event: InboundEvent) -> Outcome:
    """WhatsApp delivery statuses: move the stored message forward, never backwards."""
    from connectors.whatsapp import is_status_upgrade

    wamid, status = event.meta.get("wamid"), event.meta.get("status")
    message = db.session.scalar(select(Message).where(Message.channel_id == channel.id,
                                                      Message.external_id == wamid))
    if message is None:
        return "skipped", f"no stored message {wamid}", None
    if not is_status_upgrade(message.delivery_status, str(status)):
        return "skipped", f"status {status} would move {message.delivery_status} backwards", None
    message.delivery_status = str(status)
    if status == "failed":
        message.error = str(event.meta.get("errors") or "")[:1000]
    return "done", f"message {message.id} is {status}", None


def handle_edit(row: EventRow, channel: Channel, tenant: Tenant, event: InboundEvent) -> Outcome:
    """An edited message updates what we stored; the bot does not answer the same message twice."""
    original_id = event.external_id.split(":edit:")[0]
    message = db.session.scalar(select(Message).where(Message.channel_id == channel.id,
                                                      Message.external_id == original_id))
    if message is None:
        return "skipped", "edit of a message we never stored", None
    message.payload = {**(message.payload or {}), "edited_from": message.text}
    message.text = event.text
    return "done", "stored message updated by an edit; no new reply", None


def _contact(channel: Channel, event: InboundEvent) -> Contact:
    """Get or create the contact, then hold its row lock until commit (one turn at a time)."""
    query = select(Contact).where(Contact.channel_id == channel.id, Contact.external_user_id == event.user_id)
    if db.session.scalar(query) is None:
        try:
            with db.session.begin_nested():
                db.session.add(Contact(tenant_id=channel.tenant_id, channel_id=channel.id,
                                       external_user_id=event.user_id))
        except Exception:  # a concurrent first message created it: fine, read it below
            log.debug("contact created concurrently for %s", event.user_id)
    contact = db.session.scalar(query.with_for_update())
    meta = event.meta or {}
    contact.name = contact.name or str(meta.get("name") or "")[:200]
    contact.username = contact.username or str(meta.get("username") or "")[:200]
    contact.last_seen_at = utcnow()
    return contact


def _earlier_pending(row: EventRow) -> list[EventRow]:
    return list(db.session.scalars(
        select(EventRow).where(EventRow.channel_id == row.channel_id, EventRow.user_id == row.user_id,
                               EventRow.id < row.id, EventRow.status.in_(CLAIMABLE)).order_by(EventRow.id)))


def _conversation(contact: Contact, channel: Channel) -> Conversation:
    conv = db.session.scalar(select(Conversation).where(Conversation.contact_id == contact.id,
                                                        Conversation.status == "open")
                             .order_by(Conversation.id.desc()).limit(1))
    if conv is None:
        conv = Conversation(tenant_id=contact.tenant_id, contact_id=contact.id, channel_id=channel.id, state={})
        db.session.add(conv)
        db.session.flush()
    return conv


def turn_event(event: InboundEvent, channel: Channel, contact: Contact) -> TurnEvent:
    return TurnEvent(kind=event.kind if event.kind != "edit" else "message", channel=channel.type,  # type: ignore
                     text=event.text, meta=dict(event.meta or {}),
                     contact={"name": contact.name, "username": contact.username, "phone": contact.phone,
                              "channel": channel.type, "id": contact.external_user_id},
                     at=utcnow())


def handle_conversation_turn(row: EventRow, channel: Channel, tenant: Tenant, event: InboundEvent) -> Outcome:
    if db.session.scalar(select(Message.id).where(Message.event_id == row.id).limit(1)) is not None:
        summary = deliver_event_messages(row.id)  # the turn was applied before; only sending is left
        return summary.outcome()
    if event.kind == "comment" and not has_feature(tenant, "comment_replies"):
        raise Skip("comment replies are not in the tenant's plan (feature comment_replies)")
    contact = _contact(channel, event)
    for earlier in _earlier_pending(row):
        if claim(earlier.id):  # keep the person's messages in order
            db.session.refresh(earlier)
            _run_claimed(earlier)
            contact = _contact(channel, event)
    conv = _conversation(contact, channel)
    db.session.add(Message(tenant_id=tenant.id, conversation_id=conv.id, channel_id=channel.id, event_id=row.id,
                           direction="in", kind=event.kind, text=event.text, external_id=event.external_id,
                           payload={"media": event.media, "meta": event.meta}, delivery_status="received"))
    conv.last_inbound_at = utcnow()
    usage.add(tenant.id, messages_in=1)
    if conv.bot_paused:
        db.session.commit()
        return "done", "bot paused in this conversation (handed off to a human)", None
    if not usage.within_message_limit(tenant):
        effects.warn_limit_once(tenant)
        db.session.commit()
        return "skipped", "monthly message limit of the plan reached: no bot reply", None
    result = run_turn(tenant, channel, conv, turn_event(event, channel, contact), f"e{row.id}", row.id, event)
    if result is None:
        db.session.commit()
        return "done", "no published flow answers this event", None
    db.session.commit()
    summary = deliver_event_messages(row.id)
    return summary.outcome(result.error)


def run_turn(tenant: Tenant, channel: Channel, conv: Conversation, tevent: TurnEvent, key_prefix: str,
             event_id: int | None, inbound: InboundEvent | None) -> StepResult | None:
    """Engine step + persistence of everything it produced (the caller commits)."""
    picked = pick_flow(tenant, conv, tevent)
    if picked is None:
        return None
    version, flow, reason = picked
    services = build_services(tenant, channel.type)
    result = step(flow, conv.state or None, tevent, services)
    conv.flow_id, conv.flow_version_id = version.flow_id, version.id
    conv.state = {**result.state, "trace_reason": reason}
    conv.stage = str(result.state.get("node") or ("finished" if result.finished else conv.stage))[:64]
    record_outbound(tenant, channel, conv, result.outbound, key_prefix=key_prefix, event_id=event_id,
                    inbound=inbound)
    effects.apply(tenant, channel, conv, result.effects, services)
    if result.error:
        log.warning("flow error in conversation %s: %s", conv.id, result.error)
    return result


KIND_HANDLERS: dict[str, Callable[[EventRow, Channel, Tenant, InboundEvent], Outcome]] = {
    "status": handle_status,
    "edit": handle_edit,
}


def process_follow_up(follow_up_id: int) -> None:
    """A `follow_up` node's timer fired: continue on `timeout` unless the person answered meanwhile."""
    from webapp.models import FollowUp

    claimed = db.session.execute(update(FollowUp).where(FollowUp.id == follow_up_id,
                                                        FollowUp.status == "scheduled").values(status="firing"))
    db.session.commit()
    if claimed.rowcount != 1:
        return
    fu = db.session.get(FollowUp, follow_up_id)
    conv = db.session.scalar(select(Conversation).where(Conversation.id == fu.conversation_id).with_for_update())
    channel, tenant = db.session.get(Channel, conv.channel_id), db.session.get(Tenant, conv.tenant_id)
    contact = db.session.get(Contact, conv.contact_id)
    if conv.bot_paused:
        fu.status = "cancelled"
        db.session.commit()
        return
    tevent = TurnEvent(kind="timeout", channel=channel.type, text="", meta={"token": fu.token},  # type: ignore
                       contact={"name": contact.name, "username": contact.username, "phone": contact.phone,
                                "channel": channel.type, "id": contact.external_user_id}, at=utcnow())
    result = run_turn(tenant, channel, conv, tevent, f"fu{fu.id}", None, None)
    fu.status = "fired"
    db.session.commit()
    if result is not None:
        from .delivery import deliver_conversation_pending

        deliver_conversation_pending(conv.id)


def describe(row: EventRow) -> dict[str, Any]:
    return {"id": row.id, "status": row.status, "reason": row.reason, "error": row.error,
            "attempts": row.attempts}
