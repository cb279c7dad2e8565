"""A person and the bot sharing a conversation: take over, hand back, close, and a person's reply.

The conversation page and its POST routes (webapp/dashboard/conversation_routes.py) and the tests share
these, so a reply written in the back-office takes the bot's path exactly: stored as an outbound message
with an idempotency key (the form's one-time token: a form sent twice stores one message), delivered by
the `deliver_conversation` job with the same claim, retries and recorded outcome
(connectors/pipeline/delivery.py), its status shown on the page. Before sending, `window_rules_for` says
what the channel accepts now; delivery applies the same rules when the message leaves.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _

from connectors.channels import whatsapp_setup as wa
from connectors.channels.base import within_window
from connectors.channels.events import ConnectorConfig
from connectors.channels.registry import get_connector
from connectors.pipeline.delivery import credential_token, record_once
from connectors.runtime.queue import QueueUnavailable, get_queue
from webapp.extensions import db
from webapp.models import Channel, Conversation, Tenant
from webapp.models.base import as_utc, utcnow
from webapp.services.errors import Refused
from webapp.services.handoff_settings import of_tenant
from webapp.tenancy import scoped

log = logging.getLogger(__name__)

MAX_REPLY_LENGTH = 4000
FORM_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class WindowRules:
    """What a person may send in this conversation now, as the page shows it before sending.

    `mode`: ``any`` (no window: Telegram, web chat), ``free`` (inside the window), ``tag`` (after it, tagged
    HUMAN_AGENT), ``template`` (after it, only an approved WhatsApp template), ``closed`` (nothing)."""

    channel_type: str
    mode: str
    explanation: Any  # translated when shown (a lazy string: the service also runs outside requests)
    hours_left: int | None = None
    templates: list[wa.Template] = field(default_factory=list)
    template_error: Any = None
    tag_allowed: bool = False

    @property
    def can_write(self) -> bool:
        return self.mode in ("any", "free", "tag")


def _channel(conv: Conversation) -> Channel:
    channel = db.session.scalar(scoped(Channel, conv.tenant_id).where(Channel.id == conv.channel_id))
    if channel is None:  # a conversation's channel is removed with it; this is a broken row
        raise Refused(_("This conversation's channel no longer exists."), 409)
    return channel


def _tenant(conv: Conversation) -> Tenant:
    return db.session.get(Tenant, conv.tenant_id)  # type: ignore[return-value]


def window_rules_for(conv: Conversation, *, with_templates: bool = True) -> WindowRules:
    """The channel's declared reply window (connectors/channels: `reply_window`) applied to a person's reply:
    the tenant's HUMAN_AGENT switch (Settings → Handoff) decides the 7-day tag; WhatsApp's approved
    templates are read from the API for the picker (`with_templates`) once its window has closed."""
    channel, tenant = _channel(conv), _tenant(conv)
    window = get_connector(channel.type).reply_window
    if window is None:
        return WindowRules(channel.type, "any", _("This channel has no reply window: you can answer at any time."))
    now, last = utcnow(), as_utc(conv.last_inbound_at)
    tag_allowed = of_tenant(tenant).human_agent_tag
    settings = {k: v for k, v in (channel.settings or {}).items() if k != window.template_setting}
    if window.tag_setting:
        settings[window.tag_setting] = tag_allowed
    decision = window.decide(last, now, settings)
    if decision == "free":
        left = window.hours - int((now - last).total_seconds() // 3600) if last else None
        return WindowRules(channel.type, "free", _(
            "The customer wrote within the last %(hours)s hours: your reply goes out as usual.",
            hours=window.hours), hours_left=left, tag_allowed=tag_allowed)
    if decision == "tag":
        return WindowRules(channel.type, "tag", _(
            "More than %(hours)s hours since the customer's last message: your reply is sent with the "
            "HUMAN_AGENT tag, allowed for %(days)s days.", hours=window.hours, days=(window.tag_hours or 0) // 24),
            tag_allowed=True)
    if window.template_setting:
        templates, error = _approved_templates(channel) if with_templates else ([], None)
        return WindowRules(channel.type, "template", _(
            "More than %(hours)s hours since the customer's last message: WhatsApp only accepts an approved "
            "template now.", hours=window.hours), templates=templates, template_error=error)
    if window.tag and window.tag_hours and tag_allowed and not within_window(last, now, window.tag_hours):
        text = _("More than %(days)s days since the customer's last message: nothing can be sent until they "
                 "write again.", days=window.tag_hours // 24)
    elif window.tag:
        text = _("More than %(hours)s hours since the customer's last message. To answer for up to %(days)s "
                 "days, turn on Meta's Human Agent permission in Settings → Handoff.",
                 hours=window.hours, days=(window.tag_hours or 0) // 24)
    else:
        text = _("More than %(hours)s hours since the customer's last message: nothing can be sent until they "
                 "write again.", hours=window.hours)
    return WindowRules(channel.type, "closed", text, tag_allowed=tag_allowed)


def _approved_templates(channel: Channel) -> tuple[list[wa.Template], Any]:
    creds = channel.credentials or {}
    waba_id = str((channel.settings or {}).get("waba_id") or creds.get("waba_id") or "")
    token = credential_token(creds)
    if not waba_id or not token:
        return [], _("This channel does not know its WhatsApp Business Account, so its templates cannot be "
                     "read. Connect the number again.")
    try:
        return wa.approved_templates(waba_id, token, ConnectorConfig.from_mapping(current_app.config)), None
    except wa.SetupCallFailed as exc:
        log.warning("templates of channel %s not read: %s", channel.id, exc)
        return [], _("WhatsApp's templates could not be read: %(error)s", error=str(exc)[:200])


def take_over(conv: Conversation, member_email: str) -> None:
    """The bot pauses in this conversation and the member owns it (until hand back or close)."""
    _open(conv)
    conv.bot_paused = True
    conv.human_owner = member_email[:255]
    conv.handed_off_at = conv.handed_off_at or utcnow()
    db.session.commit()


def hand_back(conv: Conversation) -> None:
    """The bot answers again: the `hand_back` job asks the pending question again or goes on after the
    handoff node (connectors/pipeline/handback.py); the wait is over."""
    _open(conv)
    now = utcnow()
    _release(conv)
    db.session.commit()
    _enqueue("connectors.runtime.jobs.hand_back", conv.id, now.timestamp())


def close(conv: Conversation) -> None:
    """The conversation ends: the customer's next message opens a new one (the bot answers it)."""
    conv.status = "closed"
    _release(conv)
    db.session.commit()


def _release(conv: Conversation) -> None:
    conv.bot_paused = False
    conv.human_owner = None
    conv.handed_off_at = None
    conv.waiting_since = None
    conv.auto_reply_sent_at = None


def _open(conv: Conversation) -> None:
    if conv.status != "open":
        raise Refused(_("This conversation is closed."), 409)


def operator_reply(conv: Conversation, member_email: str, form_token: str, text: str = "",
                   template: str = "") -> bool:
    """Store and send a member's reply (free text, or on WhatsApp after 24 h a `name:language` template of the
    picker); False when this form was submitted already (nothing stored twice). A reply takes the
    conversation over if nobody had (the bot must not talk over a person) and ends the customer's wait."""
    _open(conv)
    if not FORM_TOKEN.fullmatch(form_token or ""):
        raise Refused(_("The form expired: reload the page and send again."))
    channel, tenant = _channel(conv), _tenant(conv)
    rules = window_rules_for(conv, with_templates=bool(template))
    meta: dict[str, Any] = {"human": True, "by": member_email, "tag_allowed": rules.tag_allowed}
    if template:
        name, _sep, language = template.rpartition(":")
        if rules.mode != "template" or (name, language) not in {(t.name, t.language) for t in rules.templates}:
            raise Refused(_("Choose one of the channel's approved templates."))
        kind, body = "template", f"[template {name} ({language})]"
        meta.update(name=name, language={"code": language})
    else:
        body = (text or "").strip()
        if not body:
            raise Refused(_("Write a reply first."))
        if len(body) > MAX_REPLY_LENGTH:
            raise Refused(_("A reply may have at most %(n)s characters.", n=MAX_REPLY_LENGTH))
        if not rules.can_write:
            raise Refused(rules.explanation)
        kind = "message"
    row = record_once(tenant.id, channel, conv, kind=kind, text=body, key=f"op:{conv.id}:{form_token}", meta=meta)
    if row is None:
        db.session.rollback()
        return False
    if not conv.bot_paused:
        conv.bot_paused = True
        conv.human_owner = conv.human_owner or member_email[:255]
        conv.handed_off_at = conv.handed_off_at or utcnow()
    conv.waiting_since = None
    conv.auto_reply_sent_at = None
    conv.last_outbound_at = utcnow()
    db.session.commit()
    _enqueue("connectors.runtime.jobs.deliver_conversation", conv.id)
    return True


def _enqueue(job: str, *args: Any) -> None:
    try:
        get_queue().enqueue(job, *args, priority="high")
    except QueueUnavailable:
        log.warning("%s%s left for the sweeper (queue down)", job, args)
