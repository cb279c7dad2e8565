"""Outbound: store each reply with an idempotency key, then send it exactly once.

A turn's replies are inserted already claimed (`sending`); replies sent later (a retry, a manager's
resend) are claimed (`pending`/`failed` → `sending`) with one atomic UPDATE … RETURNING before any
connector is called, so a retried job or a second worker never sends them twice; no DB connection is held
while the channel APIs answer. A private reply's key is the comment id: Instagram allows one per comment,
so a second one is never even attempted. Written with store.py's Core statements (the hot path).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select, update

from connectors.events import ConnectorConfig, InboundEvent, Outbound, SendResult
from connectors.registry import get_connector
from flows.text_limits import fit_for_channel
from flows.turn import OutboundMessage
from webapp.extensions import db
from webapp.models import Message
from webapp.models.base import as_utc, utcnow

from . import store, usage
from .autocommit import autocommit
from .store import ChannelLike, ConversationLike, TenantLike

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


def _recipient(channel: ChannelLike, inbound: InboundEvent | None, conv: ConversationLike) -> str:
    if inbound is not None:
        pick = getattr(get_connector(channel.type), "reply_recipient", None)
        return pick(inbound) if pick else inbound.user_id
    from webapp.models import Contact

    reply_to = (conv.state or {}).get("reply_to")
    if reply_to:
        return str(reply_to)
    return str(db.session.scalar(select(Contact.external_user_id).where(Contact.id == conv.contact_id)))


def record_outbound(tenant: TenantLike, channel: ChannelLike, conv: ConversationLike,
                    outbound: list[OutboundMessage], *,
                    key_prefix: str, event_id: int | None, inbound: InboundEvent | None,
                    claimed: bool = False) -> list[Any]:
    """Store the turn's replies, `pending` (or already `sending` when the caller sends them right after
    the commit: the insert is the claim); returns them as rows with the columns sending reads. The
    conversation's `reply_to` and `last_outbound_at` are set on `conv`; the caller saves it."""
    recipient = _recipient(channel, inbound, conv)
    if inbound is not None:
        conv.state = {**(conv.state or {}), "reply_to": recipient}
    comment_id = (inbound.meta or {}).get("comment_id") if inbound is not None else None
    replies: list[dict[str, Any]] = []
    for index, out in enumerate(_merge_for_comments(outbound, comment_id)):
        kind = ENGINE_TO_CHANNEL_KIND.get(out.kind, "message")
        target = str(out.meta.get("comment_id") or comment_id or "") if kind != "message" else recipient
        key = f"private_reply:{channel.id}:{target}" if kind == "private_reply" else f"{key_prefix}:{index}"
        values = {"tenant_id": tenant.id, "conversation_id": conv.id, "channel_id": channel.id,
                  "event_id": event_id, "direction": "out", "kind": kind,
                  "text": fit_for_channel(out.text, channel.type), "idempotency_key": key,
                  "delivery_status": "sending" if claimed else "pending", "error": None,
                  "payload": {"buttons": list(out.buttons), "recipient": target, "meta": dict(out.meta)}}
        if not target:
            values.update(delivery_status="skipped", error="no recipient for this reply")
        replies.append(values)
    rows: list[Any] = []
    plain: list[dict[str, Any]] = []  # consecutive replies inserted in one statement, in the flow's order
    for values in replies:
        if values["kind"] != "private_reply":
            plain.append(values)
            continue
        rows += store.insert_replies(plain)
        plain = []
        row = store.insert_reply_once(values)  # the unique key is the claim: one per comment, ever
        if row is None:
            log.info("%s already claimed: a comment gets one private reply", values["idempotency_key"])
        else:
            rows.append(row)
    rows += store.insert_replies(plain)
    usage.add(tenant.id, messages_out=sum(1 for r in rows if r.delivery_status in ("pending", "sending")))
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


def send_credentials(channel: ChannelLike) -> dict[str, Any]:
    """Stored credentials in the shape the connectors read (one token key for every channel)."""
    creds = dict(channel.credentials or {})
    token = creds.get("access_token") or creds.get("token")
    return {**creds, "access_token": token, "token": token, "phone_number_id": channel.external_id}


def _window_check(channel: ChannelLike, last_inbound_at: Any, claimed: Any) -> Outbound | str | None:
    """Outside a channel's reply window: a configured template instead, or the reason nothing is sent."""
    from connectors.whatsapp import within_customer_window

    hours = getattr(get_connector(channel.type), "reply_window_hours", None)
    if not hours or claimed.kind != "message":
        return None
    if within_customer_window(as_utc(last_inbound_at), utcnow(), hours):
        return None
    template = (channel.settings or {}).get("reengagement_template")
    if template:
        return Outbound(kind="template", recipient=(claimed.payload or {}).get("recipient", ""),
                        text=claimed.text, meta=dict(template), idempotency_key=claimed.idempotency_key or "")
    return f"outside the {hours}-hour reply window and no re-engagement template is configured"


def _claim(condition: Any) -> list[Any]:
    rows = db.session.execute(
        update(Message).where(condition, Message.direction == "out",
                              Message.delivery_status.in_(("pending", "failed")))
        .values(delivery_status="sending").execution_options(synchronize_session=False)
        .returning(Message.id, Message.kind, Message.text, Message.payload, Message.idempotency_key,
                   Message.channel_id, Message.conversation_id)).all()
    db.session.commit()
    return sorted(rows, key=lambda r: r.id)


def _plan(claimed: list[Any], channel: ChannelLike | None, conversation: ConversationLike | None
          ) -> list[tuple[int, ChannelLike, Outbound | str]]:
    """What to send for each claimed message: the channel and conversation rows the caller has (a turn)
    are used as they are, others are read."""
    channels: dict[int, ChannelLike | None] = {channel.id: channel} if channel is not None else {}
    last_inbound: dict[int, Any] = ({conversation.id: conversation.last_inbound_at} if conversation is not None
                                    else {})
    plans: list[tuple[int, ChannelLike, Outbound | str]] = []
    for row in claimed:
        if row.channel_id not in channels:
            channels[row.channel_id] = store.channel(row.channel_id)
        channel_row = channels[row.channel_id]
        if row.conversation_id not in last_inbound:
            last_inbound[row.conversation_id] = store.last_inbound_at(row.conversation_id)
        payload = row.payload or {}
        outbound = Outbound(kind=row.kind, recipient=payload.get("recipient", ""), text=row.text,
                            buttons=list(payload.get("buttons") or []), meta=dict(payload.get("meta") or {}),
                            idempotency_key=row.idempotency_key or "")
        plans.append((row.id, channel_row,
                      _window_check(channel_row, last_inbound[row.conversation_id], row) or outbound))
    return plans


def send_claimed(claimed: list[Any], *, channel: ChannelLike | None = None,
                 conversation: ConversationLike | None = None) -> DeliverySummary:
    """Send messages this worker has claimed (`sending`) and record the results in one statement per kind,
    in autocommit (autocommit.py): each is durable when it returns, so the event's outcome that follows
    needs no transaction either; the caller ends the phase (commit/close). `channel` / `conversation`:
    rows the caller read already (a turn), so sending does not read them again."""
    summary = DeliverySummary()
    if not claimed:
        return summary
    plans = _plan(claimed, channel, conversation)
    sends = [(mid, ch, send_credentials(ch), out) for mid, ch, out in plans]
    db.session.commit()  # hand the connection back while the channel APIs answer
    config = connector_config()
    results: list[dict[str, Any]] = []
    rejected: dict[int, tuple[ChannelLike, str]] = {}  # channels whose token a send was refused with
    for message_id, channel, credentials, out in sends:
        try:
            result = SendResult.skipped(out) if isinstance(out, str) else get_connector(channel.type).send(
                credentials, out, config)
        except Exception as exc:  # one broken send must not strand the others in `sending`
            log.exception("send of message %s failed", message_id)
            result = SendResult(status="failed", error=f"{exc.__class__.__name__}: {str(exc)[:300]}")
        results.append(_record_result(message_id, result, summary))
        if result.token_invalid and channel.status != "needs_reconnect":
            rejected.setdefault(channel.id, (channel, f"the channel's access token was rejected: {result.error}"))
    autocommit()  # nothing is written while the channel APIs answer: no connection, no row lock held
    sent = [r for r in results if "p_external_id" in r]
    for statement, params in ((_SENT, sent), (_NOT_SENT, [r for r in results if "p_external_id" not in r])):
        if params:  # one executemany per statement
            db.session.execute(statement, params)
    for rejected_channel, reason in rejected.values():
        _needs_reconnect(rejected_channel, reason)
    return summary


def _deliver(condition: Any) -> DeliverySummary:
    summary = send_claimed(_claim(condition))
    db.session.commit()
    return summary


_MESSAGES = Message.__table__
_NOT_SENT = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("p_message_id")).values(
    delivery_status=bindparam("p_status"), error=bindparam("p_error"))
_SENT = _NOT_SENT.values(external_id=bindparam("p_external_id"))


def _record_result(message_id: int, result: SendResult, summary: DeliverySummary) -> dict[str, Any]:
    """The message's new columns (`_SENT` or `_NOT_SENT` parameters; a failure keeps an external id a
    channel gave the message earlier)."""
    values: dict[str, Any] = {"p_message_id": message_id}
    if result.status == "sent":
        values.update(p_status="sent", p_external_id=result.external_id, p_error=None)
        summary.sent += 1
    elif result.status == "skipped":
        values.update(p_status="skipped", p_error=result.error)
        summary.skipped += 1
    else:
        values.update(p_status="failed", p_error=f"{result.error} (code {result.error_code})")
        summary.failed.append(f"message {message_id}: {result.error}")
    return values


def _needs_reconnect(channel: ChannelLike, reason: str) -> None:
    """A rejected token: the channel shows "needs reconnection" and the tenant's inbox says so."""
    from .effects import notify

    store.mark_needs_reconnect(channel, reason)
    notify(channel.tenant_id, "token_invalid", f"Reconnect {channel.name or channel.type}", reason[:500],
           channel_id=channel.id)


def deliver_message(message_id: int) -> DeliverySummary:
    return _deliver(Message.id == message_id)


def deliver_event_messages(event_id: int) -> DeliverySummary:
    return _deliver(Message.event_id == event_id)


def deliver_conversation_pending(conversation_id: int) -> DeliverySummary:
    return _deliver(Message.conversation_id == conversation_id)
