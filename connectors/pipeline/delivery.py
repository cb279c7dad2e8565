"""Outbound: store each reply with an idempotency key, then send it exactly once.

A message is claimed (`pending`/`failed` → `sending`) with one atomic UPDATE before the connector is
called, so a retried job or a second worker never sends it twice. A private reply's key is the comment id:
Instagram allows one per comment, so a second one is never even attempted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from connectors.events import ConnectorConfig, InboundEvent, Outbound
from connectors.registry import get_connector
from flows.text_limits import fit_for_channel
from flows.turn import OutboundMessage
from webapp.extensions import db
from webapp.models import Channel, Conversation, Message, Tenant
from webapp.models.base import as_utc, utcnow

from . import usage

log = logging.getLogger(__name__)

ENGINE_TO_CHANNEL_KIND = {"reply": "message", "comment_reply": "comment_reply", "private_reply": "private_reply"}


@dataclass
class DeliverySummary:
    sent: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)

    def outcome(self, flow_error: str | None = None) -> tuple[str, str | None, str | None]:
        if self.failed:
            return "failed", None, f"{len(self.failed)} message(s) not sent: " + "; ".join(self.failed)[:900]
        reason = f"sent {self.sent}, skipped {self.skipped}"
        return "done", reason + (f"; flow error: {flow_error}" if flow_error else ""), None


def _recipient(channel: Channel, inbound: InboundEvent | None, conv: Conversation) -> str:
    if inbound is not None:
        pick = getattr(get_connector(channel.type), "reply_recipient", None)
        return pick(inbound) if pick else inbound.user_id
    from webapp.models import Contact

    contact = db.session.get(Contact, conv.contact_id)
    return str((conv.state or {}).get("reply_to") or contact.external_user_id)


def record_outbound(tenant: Tenant, channel: Channel, conv: Conversation, outbound: list[OutboundMessage], *,
                    key_prefix: str, event_id: int | None, inbound: InboundEvent | None) -> list[Message]:
    """Store the turn's replies as `pending` messages (sent after the turn's commit)."""
    recipient = _recipient(channel, inbound, conv)
    if inbound is not None:
        conv.state = {**(conv.state or {}), "reply_to": recipient}
    comment_id = (inbound.meta or {}).get("comment_id") if inbound is not None else None
    rows: list[Message] = []
    for index, out in enumerate(_merge_for_comments(outbound, comment_id)):
        kind = ENGINE_TO_CHANNEL_KIND.get(out.kind, "message")
        target = str(out.meta.get("comment_id") or comment_id or "") if kind != "message" else recipient
        key = f"private_reply:{channel.id}:{target}" if kind == "private_reply" else f"{key_prefix}:{index}"
        text = fit_for_channel(out.text, channel.type)
        row = Message(tenant_id=tenant.id, conversation_id=conv.id, channel_id=channel.id, event_id=event_id,
                      direction="out", kind=kind, text=text, idempotency_key=key, delivery_status="pending",
                      payload={"buttons": list(out.buttons), "recipient": target, "meta": dict(out.meta)})
        if not target:
            row.delivery_status, row.error = "skipped", "no recipient for this reply"
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            log.info("%s already claimed: a comment gets one private reply", key)
            continue
        rows.append(row)
    usage.add(tenant.id, messages_out=sum(1 for r in rows if r.delivery_status == "pending"))
    conv.last_outbound_at = utcnow() if rows else conv.last_outbound_at
    return rows


def _merge_for_comments(outbound: list[OutboundMessage], comment_id: str | None) -> list[OutboundMessage]:
    """On a comment, plain replies cannot be DMs (no conversation yet): they join the one private reply."""
    if not comment_id:
        return outbound
    private = [o for o in outbound if o.kind == "private_reply"]
    plain = [o for o in outbound if o.kind == "reply"]
    if not private or not plain:
        return [o for o in outbound if o.kind != "reply"]
    merged = OutboundMessage(text="\n\n".join([private[0].text] + [p.text for p in plain]),
                             buttons=private[0].buttons or plain[-1].buttons, kind="private_reply",
                             meta=private[0].meta)
    return [o for o in outbound if o.kind == "comment_reply"] + [merged]


def connector_config() -> ConnectorConfig:
    return ConnectorConfig.from_mapping(current_app.config)


def _window_check(channel: Channel, conv: Conversation, row: Message) -> Outbound | str | None:
    """Outside a channel's reply window: a configured template instead, or the reason nothing is sent."""
    from connectors.whatsapp import within_customer_window

    hours = getattr(get_connector(channel.type), "reply_window_hours", None)
    if not hours or row.kind != "message":
        return None
    if within_customer_window(as_utc(conv.last_inbound_at), utcnow(), hours):
        return None
    template = (channel.settings or {}).get("reengagement_template")
    if template:
        return Outbound(kind="template", recipient=row.payload.get("recipient", ""), text=row.text,
                        meta=dict(template), idempotency_key=row.idempotency_key or "")
    return f"outside the {hours}-hour reply window and no re-engagement template is configured"


def deliver_message(message_id: int, summary: DeliverySummary) -> None:
    claimed = db.session.execute(update(Message).where(Message.id == message_id,
                                                       Message.delivery_status.in_(("pending", "failed")))
                                 .values(delivery_status="sending"))
    db.session.commit()
    if claimed.rowcount != 1:
        return
    row = db.session.get(Message, message_id)
    channel = db.session.get(Channel, row.channel_id)
    conv = db.session.get(Conversation, row.conversation_id)
    outbound = Outbound(kind=row.kind, recipient=row.payload.get("recipient", ""), text=row.text,  # type: ignore
                        buttons=list(row.payload.get("buttons") or []), meta=dict(row.payload.get("meta") or {}),
                        idempotency_key=row.idempotency_key or "")
    window = _window_check(channel, conv, row)
    if isinstance(window, str):
        row.delivery_status, row.error = "skipped", window
        summary.skipped += 1
        db.session.commit()
        return
    outbound = window or outbound
    credentials, channel_type = send_credentials(channel), channel.type
    db.session.commit()  # no DB connection is held while the channel API answers
    result = get_connector(channel_type).send(credentials, outbound, connector_config())
    _record_result(row, channel, result, summary)
    db.session.commit()


def send_credentials(channel: Channel) -> dict[str, Any]:
    """Stored credentials in the shape the connectors read (one token key for every channel)."""
    creds = dict(channel.credentials or {})
    token = creds.get("access_token") or creds.get("token")
    return {**creds, "access_token": token, "token": token, "phone_number_id": channel.external_id}


def _record_result(row: Message, channel: Channel, result: Any, summary: DeliverySummary) -> None:
    if result.status == "sent":
        row.delivery_status, row.external_id, row.error = "sent", result.external_id, None
        summary.sent += 1
        return
    if result.status == "skipped":
        row.delivery_status, row.error = "skipped", result.error
        summary.skipped += 1
        return
    row.delivery_status, row.error = "failed", f"{result.error} (code {result.error_code})"
    summary.failed.append(f"message {row.id}: {result.error}")
    if result.token_invalid and channel.status != "needs_reconnect":
        from .effects import notify

        channel.status = "needs_reconnect"
        channel.status_reason = f"the channel's access token was rejected: {result.error}"[:500]
        notify(channel.tenant_id, "token_invalid", f"Reconnect {channel.name or channel.type}",
               channel.status_reason, channel_id=channel.id)


def deliver_event_messages(event_id: int) -> DeliverySummary:
    summary = DeliverySummary()
    ids = db.session.scalars(select(Message.id).where(Message.event_id == event_id, Message.direction == "out",
                                                      Message.delivery_status.in_(("pending", "failed")))
                             .order_by(Message.id)).all()
    for message_id in ids:
        deliver_message(message_id, summary)
    return summary


def deliver_conversation_pending(conversation_id: int) -> DeliverySummary:
    summary = DeliverySummary()
    ids = db.session.scalars(select(Message.id).where(Message.conversation_id == conversation_id,
                                                      Message.direction == "out",
                                                      Message.delivery_status == "pending")
                             .order_by(Message.id)).all()
    for message_id in ids:
        deliver_message(message_id, summary)
    return summary
