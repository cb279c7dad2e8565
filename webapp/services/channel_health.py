"""A channel's health, for its page's "Check again": what the channel's own API says now (the token, the
webhook subscription read back; each connector declares how, ``health``) and what our rows say (the last
event received, the last reply sent, the last error).

The result is stored in ``channel.webhook_state["health"]`` (JSON, ``checked_at`` in ISO form), so the page
shows the last check without calling the API on every view. A token the API rejects marks the channel
"reconnect needed" through delivery's ``flag_reconnect``, the same path as a refused send and the token
refresh (the tenant is told once, whichever flagged first); an API that does not answer concludes nothing
and flags nothing.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from connectors.channels.base import ChannelHealth
from connectors.channels.registry import get_connector
from connectors.pipeline.delivery import flag_reconnect, send_credentials
from webapp.extensions import db
from webapp.models import Channel, InboundEvent, Message
from webapp.models.base import utcnow
from webapp.services.channels import _interactive_config, webhook_url
from webapp.tenancy import scoped

HEALTH_KEY = "health"
#: Outbound states that mean the channel took the reply (WhatsApp statuses move it on to delivered/read).
SENT_STATES = ("sent", "delivered", "read")
_TEXT_MAX = 300  # an error kept for the page: the events and messages pages show the whole text


def check_channel(channel: Channel) -> dict[str, Any]:
    """Check ``channel`` now, store the result on it (committed) and return it, JSON-safe.

    The transaction is ended before the channel's API is called (anything the caller had pending is
    committed with it), so no pooled connection waits on Meta or Telegram; the interactive config allows
    one retry at most, since someone is waiting on the page.
    """
    connector = get_connector(channel.type)
    credentials, external_id = send_credentials(channel), channel.external_id
    settings = dict(channel.settings or {})
    db.session.commit()
    health = connector.health(credentials, external_id, settings, _interactive_config())
    result = _json_safe(health)
    if health.webhook_url is not None:  # a channel whose webhook is set per account (Telegram): ours?
        expected = webhook_url(channel)
        result.update(webhook_expected=expected, webhook_matches=health.webhook_url == expected)
    result["flagged"] = False
    if health.token_ok is False:
        reason = f"{connector.label} rejected the token: {health.token_error or 'invalid'}"
        result["flagged"] = flag_reconnect(channel.id, channel.tenant_id, channel.name or channel.type, reason)
        db.session.refresh(channel)  # flag_reconnect wrote the status with its own statement
    result.update(_activity(channel), checked_at=utcnow().isoformat(timespec="seconds"))
    channel.webhook_state = {**(channel.webhook_state or {}), HEALTH_KEY: result}
    db.session.commit()
    return result


def last_check(channel: Channel) -> dict[str, Any] | None:
    """The stored result of the last check (None: never checked)."""
    stored = (channel.webhook_state or {}).get(HEALTH_KEY)
    return stored if isinstance(stored, dict) else None


def _json_safe(health: ChannelHealth) -> dict[str, Any]:
    """The connector's answer as JSON: times in ISO form, tuples as lists."""
    return {key: value.isoformat(timespec="seconds") if isinstance(value, datetime)
            else list(value) if isinstance(value, tuple) else value
            for key, value in asdict(health).items()}


def _at(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _activity(channel: Channel) -> dict[str, Any]:
    """The newest event received, reply the channel took, and error, from our own rows (tenant-scoped).

    Each is one ``ORDER BY id DESC LIMIT 1``: the planner walks the primary key backwards until the
    channel's newest row (quick for a channel in use) or reads the channel's rows through the
    ``(channel_id, external_id)`` unique index; failed events through ``(tenant_id, status, id)``.
    """
    tenant_id = channel.tenant_id
    event = db.session.execute(
        scoped(InboundEvent, tenant_id).with_only_columns(InboundEvent.created_at, InboundEvent.kind,
                                                          InboundEvent.status)
        .where(InboundEvent.channel_id == channel.id).order_by(InboundEvent.id.desc()).limit(1)).first()
    reply = db.session.execute(
        scoped(Message, tenant_id).with_only_columns(Message.claimed_at, Message.created_at, Message.delivery_status)
        .where(Message.channel_id == channel.id, Message.direction == "out",
               Message.delivery_status.in_(SENT_STATES))
        .order_by(Message.id.desc()).limit(1)).first()
    return {
        "last_event": {"at": _at(event.created_at), "kind": event.kind, "status": event.status} if event else None,
        # claimed_at is set again when the request leaves: the moment it was sent
        "last_reply": {"at": _at(reply.claimed_at or reply.created_at), "status": reply.delivery_status}
        if reply else None,
        "last_error": _last_error(channel),
    }


def _last_error(channel: Channel) -> dict[str, Any] | None:
    """Why the channel is not active (a rejected token...), else the newest failed event or reply."""
    if channel.status != "active" and channel.status_reason:
        return {"at": None, "text": channel.status_reason[:_TEXT_MAX], "source": "channel"}
    event = db.session.execute(
        scoped(InboundEvent, channel.tenant_id).with_only_columns(
            InboundEvent.processed_at, InboundEvent.created_at, InboundEvent.error, InboundEvent.reason)
        .where(InboundEvent.status == "failed", InboundEvent.channel_id == channel.id)
        .order_by(InboundEvent.id.desc()).limit(1)).first()
    reply = db.session.execute(
        scoped(Message, channel.tenant_id).with_only_columns(Message.claimed_at, Message.created_at, Message.error)
        .where(Message.channel_id == channel.id, Message.direction == "out", Message.delivery_status == "failed")
        .order_by(Message.id.desc()).limit(1)).first()
    found = [(event.processed_at or event.created_at, event.error or event.reason or "failed", "event")
             if event else None,
             (reply.claimed_at or reply.created_at, reply.error or "failed", "reply") if reply else None]
    newest = max((one for one in found if one is not None), key=lambda one: one[0], default=None)
    if newest is None:
        return None
    at, text, source = newest
    return {"at": _at(at), "text": text[:_TEXT_MAX], "source": source}
