"""WhatsApp Cloud API: inbound messages and delivery statuses, outbound text/buttons/templates.

Tenants are routed by ``value.metadata.phone_number_id`` (the InboundEvent ``account_id``). Every
entry/change/message/status of a batch is read (other projects lose messages by reading ``[0]``).
Identity is changing (2026 usernames): a message may carry a business-scoped ``user_id`` (BSUID)
and no phone number, so ``user_id`` falls back to it and ``meta.bsuid`` always carries it if present.

Credentials: ``{"access_token": str, "phone_number_id": str}``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from connectors.channels import meta, meta_health
from connectors.channels.base import (
    N_,
    ChannelHealth,
    Needs,
    ReplyWindow,
    as_dict,
    as_id,
    as_text,
    to_seconds,
    truncate,
    untruncate,
)
from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult, media_item
from connectors.channels.registry import register

log = logging.getLogger(__name__)

MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
#: WhatsApp's media types → the shared media kinds (events.MEDIA_KINDS).
MEDIA_KIND = {"image": "image", "audio": "audio", "video": "video", "document": "file", "sticker": "sticker"}
#: Customer messages the bot cannot read: a contact card, a type this API version does not support (WhatsApp
#: sends "unsupported", older versions "unknown" with errors[131051]). Stored and answered as media "other".
UNREADABLE_TYPES = frozenset({"contacts", "unsupported", "unknown"})
# Not the customer talking to the bot: a reaction, a system notice (number changed...), a view-once
# placeholder, a deleted message ("revoke").
IGNORED_TYPES = frozenset({"reaction", "system", "ephemeral", "revoke"})
MAX_REPLY_BUTTONS = 3
MAX_LIST_ROWS = 10
BUTTON_TITLE_MAX = 20
ROW_TITLE_MAX = 24
INTERACTIVE_BODY_MAX = 1024
_BSUID_RE = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]+")

_STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 3}


# --- pure helpers used by the job ------------------------------------------------------------------

#: The customer service window: free-form messages for 24 h after the customer's last message; after that
#: only an approved template (the channel setting ``reengagement_template``).
SERVICE_WINDOW = ReplyWindow(hours=24, template_setting="reengagement_template")


def status_rank(status: str | None) -> int:
    """Order of delivery statuses (sent < delivered < read < played); unknown ranks lowest."""
    return _STATUS_RANK.get(status or "", -1)


def is_status_upgrade(old: str | None, new: str) -> bool:
    """Should a status callback overwrite the stored status? Callbacks are unordered: never go
    backwards; ``failed`` is terminal but never replaces ``read``/``played`` (the user saw it)."""
    if new not in _STATUS_RANK or old == new:
        return False
    if old is None or old not in _STATUS_RANK:
        return True
    if old == "failed":
        return False
    if new == "failed":
        return status_rank(old) < status_rank("read")
    return status_rank(new) > status_rank(old)


# --- parsing ---------------------------------------------------------------------------------------

def _message_content(msg: dict[str, Any]) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """(text, media, extra meta) for one ``messages[]`` item, by type."""
    mtype = as_text(msg.get("type"))
    extra: dict[str, Any] = {"type": mtype}
    if mtype == "text":
        return as_text(as_dict(msg.get("text"), "text").get("body")), [], extra
    if mtype == "interactive":
        inter = as_dict(msg.get("interactive"), "interactive")
        reply = inter.get("button_reply") or inter.get("list_reply")
        if isinstance(reply, dict):
            extra["reply_id"] = reply.get("id")
            return untruncate(as_text(reply.get("title")), reply.get("id")), [], extra
        if isinstance(inter.get("nfm_reply"), dict):
            extra["nfm_reply"] = inter["nfm_reply"]
            return as_text(inter["nfm_reply"].get("body")), [], extra
        return "", [media_item("other", type=mtype)], extra  # an interactive message with nothing we can read
    if mtype == "button":
        button = as_dict(msg.get("button"), "button")
        extra["button_payload"] = button.get("payload")
        return as_text(button.get("text")), [], extra
    if mtype in MEDIA_TYPES:
        body = as_dict(msg.get(mtype), mtype)
        platform_type = "voice" if mtype == "audio" and body.get("voice") is True else mtype
        item = media_item(MEDIA_KIND[mtype], type=platform_type, id=as_id(body.get("id")), url=body.get("url"),
                          mime_type=body.get("mime_type"), caption=body.get("caption"),
                          file_name=body.get("filename"))
        return as_text(body.get("caption")), [item], extra
    if mtype == "location":
        place = extra["location"] = as_dict(msg.get("location"), "location")
        item = media_item("location", type=mtype, latitude=place.get("latitude"), longitude=place.get("longitude"),
                          title=place.get("name"), address=place.get("address"), url=place.get("url"))
        return "", [item], extra
    if mtype == "order":
        order = as_dict(msg.get("order"), "order")
        extra["order"] = order
        return as_text(order.get("text")), [], extra
    if mtype and isinstance(msg.get(mtype), dict | list):
        extra[mtype] = msg[mtype]
    if mtype in UNREADABLE_TYPES:
        return "", [media_item("other", type=mtype)], extra
    return "", [], extra


def _contact_index(value: dict[str, Any]) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for contact in meta.items(value, "contacts"):
        for key in ("wa_id", "user_id"):
            contact_id = as_id(contact.get(key))
            if contact_id:
                index[contact_id] = contact
    return index


def parse_message(account_id: str, msg: dict[str, Any], contacts: dict[str, dict[str, Any]]
                  ) -> InboundEvent | None:
    """A ``messages[]`` item → a ``message`` event, an ``edit`` event (``type=edit``: the pipeline updates
    the stored original, ``meta.edit_of``, and does not answer), or None for what is not the customer
    talking to us (reactions, system notices, a deleted message)."""
    wamid = as_id(msg.get("id"))
    mtype = as_text(msg.get("type"))
    if not wamid or mtype in IGNORED_TYPES:
        return None
    phone = as_id(msg.get("from")) or ""
    bsuid = as_id(msg.get("user_id")) or as_id(msg.get("from_user_id")) or ""
    contact = contacts.get(phone) or contacts.get(bsuid)
    if contact is None:  # no key matched: a single contacts[] entry is this sender's
        contact = next(iter(contacts.values())) if len(contacts) == 1 else {}
    bsuid = bsuid or as_id(contact.get("user_id")) or ""
    phone = phone or as_id(contact.get("wa_id")) or ""
    user_id = phone or bsuid
    if not user_id:
        return None
    kind = "message"
    if mtype == "edit":
        edit = as_dict(msg.get("edit"), "edit")
        original = as_id(edit.get("original_message_id"))
        if not original:
            return None
        kind = "edit"
        text, media, extra = _message_content(as_dict(edit.get("message"), "edit.message"))
        extra["edit_of"] = original
    else:
        text, media, extra = _message_content(msg)
    profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
    extra.update({"name": as_text(profile.get("name")) or None, "wa_id": phone or None, "bsuid": bsuid or None})
    if as_text(profile.get("username")):
        extra["username"] = profile["username"]
    if isinstance(msg.get("context"), dict):
        extra["reply_to"] = as_id(msg["context"].get("id"))
        if msg["context"].get("referred_product"):
            extra["referred_product"] = msg["context"]["referred_product"]
    for key in ("group_id", "referral", "errors"):
        if msg.get(key):
            extra[key] = msg[key]
    return InboundEvent(
        channel_type=WhatsAppConnector.type, account_id=account_id, kind=kind, external_id=wamid,
        user_id=user_id, text=text, media=media, meta=extra, timestamp=to_seconds(msg.get("timestamp")),
    )


def parse_status(account_id: str, status: dict[str, Any]) -> InboundEvent | None:
    wamid, value = as_id(status.get("id")), as_text(status.get("status"))
    if not wamid or not value:
        return None
    errors = status.get("errors") if isinstance(status.get("errors"), list) else []
    extra: dict[str, Any] = {"status": value, "wamid": wamid, "errors": errors}
    for key in ("conversation", "pricing", "recipient_user_id"):
        if status.get(key):
            extra[key] = status[key]
    callback = as_text(status.get("biz_opaque_callback_data"))
    if callback:
        extra["callback_data"] = callback[:512]
    return InboundEvent(
        channel_type=WhatsAppConnector.type, account_id=account_id, kind="status",
        external_id=f"status:{wamid}:{value}",
        user_id=as_id(status.get("recipient_id")) or as_id(status.get("recipient_user_id")) or "",
        meta=extra, timestamp=to_seconds(status.get("timestamp")),
    )


# --- sending ---------------------------------------------------------------------------------------

def _recipient_fields(recipient: str) -> dict[str, str]:
    """Phone numbers go in ``to``; a BSUID (``US.1349...``) goes in ``recipient``."""
    if _BSUID_RE.fullmatch(recipient):
        return {"recipient": recipient}
    return {"to": recipient}


def _button_ids(buttons: list[str]) -> list[str]:
    """The label itself (≤256 chars) so a tap maps back to the full label; index-prefixed if repeated."""
    ids: list[str] = []
    for i, label in enumerate(buttons):
        candidate = label[:256]
        ids.append(candidate if candidate not in ids else f"{i}:{label}"[:256])
    return ids


def _interactive(text: str, buttons: list[str]) -> dict[str, Any]:
    body = {"text": truncate(text or "…", INTERACTIVE_BODY_MAX)}
    ids = _button_ids(buttons)
    if len(buttons) <= MAX_REPLY_BUTTONS:
        replies = [{"type": "reply", "reply": {"id": ids[i], "title": truncate(b, BUTTON_TITLE_MAX)}}
                   for i, b in enumerate(buttons)]
        action = {"buttons": replies}
        return {"type": "button", "body": body, "action": action}
    rows = [{"id": ids[i], "title": truncate(b, ROW_TITLE_MAX)} for i, b in enumerate(buttons)]
    return {"type": "list", "body": body, "action": {"button": "Options", "sections": [{"rows": rows}]}}


def _message_body(outbound: Outbound, limit: int) -> dict[str, Any] | None:
    text, buttons = outbound.text, [b for b in outbound.buttons if b]
    if buttons and len(buttons) <= MAX_LIST_ROWS:
        return {"type": "interactive", "interactive": _interactive(text, buttons)}
    if buttons:  # too many for one list: plain numbered options
        text = "\n".join([text, *(f"{i}. {b}" for i, b in enumerate(buttons, 1))])
    if not text.strip():
        return None
    return {"type": "text", "text": {"preview_url": False, "body": truncate(text, limit)}}


def _template_body(outbound: Outbound) -> dict[str, Any] | None:
    name = outbound.meta.get("name")
    if not name:
        return None
    language = outbound.meta.get("language") or "en_US"
    template: dict[str, Any] = {
        "name": name,
        "language": language if isinstance(language, dict) else {"code": language},
    }
    if outbound.meta.get("components"):
        template["components"] = outbound.meta["components"]
    return {"type": "template", "template": template}


@register
class WhatsAppConnector(meta.MetaConnector):
    type = "whatsapp"
    label = N_("WhatsApp")
    meta_object = "whatsapp_business_account"
    max_text_length = 4096
    prompt_style = ("WhatsApp", 900)
    reply_window = SERVICE_WINDOW
    needs = Needs(token=True, external_id="the WhatsApp phone_number_id")
    # 80 messages/s per business number by default, inbound and outbound together; the pair rate (~1 per
    # 6 s to one user, bursts to 45 tolerated) only stops reply loops here
    rate_limits = {"whatsapp.send": "60/second", "whatsapp.pair": "30/minute"}

    def parse_payload(self, payload: dict[str, Any]) -> list[InboundEvent | None]:
        """Every message and status of every change of every entry (changes of other fields, such as
        ``smb_message_echoes`` from the WhatsApp Business app, are not the customer talking to the bot)."""
        events: list[InboundEvent | None] = []
        for entry in payload.get("entry") or []:
            for change in meta.items(entry, "changes"):
                if change.get("field") != "messages" or not isinstance(change.get("value"), dict):
                    continue
                value = change["value"]
                metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
                account_id = as_id(metadata.get("phone_number_id"))
                if account_id is None:
                    log.warning("skipping WhatsApp webhook change without a phone_number_id")
                    continue
                contacts = _contact_index(value)
                for msg in meta.items(value, "messages"):
                    events.append(meta.safely(parse_message, account_id, msg, contacts))
                for status in meta.items(value, "statuses"):
                    events.append(meta.safely(parse_status, account_id, status))
        return events

    def send(self, credentials: dict[str, Any], outbound: Outbound, config: ConnectorConfig) -> SendResult:
        token, number = credentials.get("access_token"), credentials.get("phone_number_id")
        if not token:
            return SendResult(status="failed", error="whatsapp channel has no access token",
                              token_invalid=True)
        if not number:
            return SendResult(status="failed", error="whatsapp channel has no phone_number_id")
        if not outbound.recipient:
            return SendResult(status="failed", error="no recipient")
        recipient = str(outbound.recipient)
        if outbound.kind == "template":
            content = _template_body(outbound)
            if content is None:
                return SendResult.skipped("no template configured")
        elif outbound.kind == "message":
            content = _message_body(outbound, self.max_text_length)
            if content is None:
                return SendResult.skipped("empty message")
        else:
            return SendResult.skipped(f"whatsapp does not support {outbound.kind!r} messages")
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                **_recipient_fields(recipient), **content}
        if outbound.meta.get("reply_to"):
            body["context"] = {"message_id": outbound.meta["reply_to"]}
        if outbound.idempotency_key:  # echoed in this message's statuses: finds it when our send result was lost
            body["biz_opaque_callback_data"] = outbound.idempotency_key[:512]
        pair = f"{number}:{recipient}"
        limited = self.rate_limited(config, [("whatsapp.send", number), ("whatsapp.pair", pair)])
        if limited:
            return limited
        base = f"{config.meta_graph_url.rstrip('/')}/{config.graph_version}"
        url = f"{base}/{quote(str(number), safe='')}/messages"
        result = meta.post_graph(url, token, body, config)
        if result.ok:
            messages = result.data.get("messages") if isinstance(result.data, dict) else None
            wamid = messages[0].get("id") if isinstance(messages, list) and messages else None
            return SendResult.sent(str(wamid) if wamid else None)
        return meta.graph_error_result(result, [token])

    def health(self, credentials: dict[str, Any], external_id: str | None, settings: Mapping[str, Any],
               config: ConnectorConfig) -> ChannelHealth:
        """The token works for the number (``GET /{phone_number_id}?fields=display_phone_number,
        verified_name``), then the WhatsApp Business Account's ``subscribed_apps``: the account is found by
        the channel setting or credential ``waba_id``; without one the subscription is reported unknown."""
        token = credentials.get("access_token")
        number = as_id(credentials.get("phone_number_id")) or external_id
        if not number:
            return ChannelHealth.unreachable("the channel has no phone_number_id")
        base = f"{config.meta_graph_url.rstrip('/')}/{config.graph_version}"
        phone, state = meta_health.token_state(f"{base}/{quote(number, safe='')}", token, config,
                                               "display_phone_number,verified_name")
        if phone is None:
            return state
        shown = " ".join(as_text(phone.get(key)) for key in ("display_phone_number", "verified_name")
                         if as_text(phone.get(key))) or None
        waba = as_id(settings.get("waba_id")) or as_id(credentials.get("waba_id"))
        if not waba:
            return replace(state, account=shown, detail="WABA id unknown: the webhook subscription cannot be read")
        url = f"{base}/{quote(waba, safe='')}/subscribed_apps"
        return replace(state, account=shown, **meta_health.subscription(url, token, config))


def mark_read(credentials: dict[str, Any], wamid: str, config: ConnectorConfig, *, typing: bool = True) -> bool:
    """Blue ticks (and a typing indicator for up to 25 s) while the bot works on a reply.

    Best effort: one attempt, and a failure never blocks the reply itself.
    """
    token, number = credentials.get("access_token"), credentials.get("phone_number_id")
    if not token or not number or not wamid:
        return False
    body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    if typing:
        body["typing_indicator"] = {"type": "text"}
    url = f"{config.meta_graph_url.rstrip('/')}/{config.graph_version}/{quote(str(number), safe='')}/messages"
    return meta.post_graph(url, token, body, replace(config, max_attempts=1)).ok
