"""Instagram professional accounts: Direct messages and comments (Instagram Login, graph.instagram.com).

Inbound: ``entry[].messaging[]`` (DMs) and ``entry[].changes[]`` with field ``comments`` /
``live_comments``. Echoes of our own sends, reads, reactions, deleted and unsupported messages are
dropped here, as are our own comment replies (``from.id == entry.id``): otherwise the bot answers
itself. ``standby[]`` (a thread another app owns under the handover protocol) is left alone.
Outbound: DM, public comment reply and private reply (one per comment, so a read timeout is never
retried blindly).

Credentials: ``{"access_token": str, "account_id": str (IG pro account id, rate-limit key),
"login": "instagram" | "facebook"}``. ``login="facebook"`` (Messenger API for Instagram with a Page
token) uses ``config.meta_graph_url`` instead of ``config.instagram_graph_url``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from connectors.channels import meta
from connectors.channels.base import as_dict, as_id, as_text, to_seconds, truncate, untruncate
from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult
from connectors.channels.http import HttpResult
from connectors.channels.ratelimit import throttle
from connectors.channels.registry import register

log = logging.getLogger(__name__)

MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_MAX = 20
COMMENT_FIELDS = ("comments", "live_comments")


def _media(message: dict[str, Any]) -> list[dict[str, Any]]:
    media = []
    for att in meta.items(message, "attachments"):
        payload = att.get("payload") if isinstance(att.get("payload"), dict) else {}
        item = {"type": as_text(att.get("type")), "url": as_text(payload.get("url")) or None}
        if as_text(payload.get("title")):
            item["title"] = payload["title"]
        media.append(item)
    return media


def parse_messaging(account_id: str, item: dict[str, Any]) -> InboundEvent | None:
    """One ``messaging[]`` item → a ``dm`` event, or None for things the bot must not answer."""
    sender = as_id(as_dict(item.get("sender"), "sender").get("id"))
    if not sender or sender == account_id:
        return None  # our own outbound (echo without the flag) or junk
    timestamp = to_seconds(item.get("timestamp"))
    message = item.get("message")
    if isinstance(message, dict):
        if message.get("is_echo") or message.get("is_deleted") or message.get("is_unsupported"):
            return None
        mid = as_id(message.get("mid"))
        if not mid:
            return None
        extra: dict[str, Any] = {}
        text = as_text(message.get("text"))
        if isinstance(message.get("quick_reply"), dict):
            extra["quick_reply_payload"] = message["quick_reply"].get("payload")
            text = untruncate(text, extra["quick_reply_payload"])
        if isinstance(message.get("reply_to"), dict):
            extra["reply_to"] = message["reply_to"]
        if isinstance(message.get("referral"), dict):
            extra["referral"] = message["referral"]
        return InboundEvent(
            channel_type="instagram", account_id=account_id, kind="dm", external_id=mid,
            user_id=sender, text=text, media=_media(message), meta=extra,
            timestamp=timestamp,
        )
    postback = item.get("postback")
    if isinstance(postback, dict):
        mid = as_id(postback.get("mid")) or f"postback:{sender}:{as_id(item.get('timestamp')) or ''}"
        return InboundEvent(
            channel_type="instagram", account_id=account_id, kind="dm", external_id=mid,
            user_id=sender, text=as_text(postback.get("title")) or as_text(postback.get("payload")),
            meta={"postback_payload": postback.get("payload")}, timestamp=timestamp,
        )
    return None  # read, reaction, referral-only, optin...: nothing to answer


def parse_comment(account_id: str, field: str, value: dict[str, Any], entry_time: Any) -> InboundEvent | None:
    """A ``comments`` / ``live_comments`` change → a ``comment`` event (own replies dropped)."""
    comment_id = as_id(value.get("id")) or as_id(value.get("comment_id"))
    author = as_dict(value.get("from"), "value.from")
    user_id = as_id(author.get("id"))
    if not comment_id or not user_id or user_id == account_id:
        return None
    media = as_dict(value.get("media"), "value.media")
    extra: dict[str, Any] = {
        "comment_id": comment_id,
        "media_id": as_id(media.get("id")),
        "parent_id": as_id(value.get("parent_id")),
        "username": as_text(author.get("username")) or None,
        "field": field,
    }
    for key in ("media_product_type", "ad_id", "ad_title", "original_media_id"):
        if as_id(media.get(key)):
            extra[key] = media[key]
    return InboundEvent(
        channel_type="instagram", account_id=account_id, kind="comment", external_id=comment_id,
        user_id=user_id, text=as_text(value.get("text")), meta=extra,
        timestamp=to_seconds(value.get("timestamp") or entry_time),
    )


def _quick_replies(buttons: list[str]) -> list[dict[str, str]]:
    return [
        {"content_type": "text", "title": truncate(b, QUICK_REPLY_TITLE_MAX), "payload": b[:1000]}
        for b in buttons[:MAX_QUICK_REPLIES]
    ]


@register
class InstagramConnector(meta.MetaConnector):
    type = "instagram"
    meta_object = "instagram"
    max_text_length = 1000
    reply_window_hours = 24  # free-form replies only within 24 h of the user's last message

    def parse_payload(self, payload: dict[str, Any]) -> list[InboundEvent | None]:
        """Every DM and comment in every entry of the batch, in order.

        ``standby[]`` items are left alone: under the handover protocol another app (a human inbox, a
        second bot) owns the thread, and a secondary receiver that answers talks over it.
        """
        events: list[InboundEvent | None] = []
        for entry in payload.get("entry") or []:
            account_id = as_id(entry.get("id"))
            if account_id is None:
                log.warning("skipping Instagram webhook entry without an account id")
                continue
            for item in meta.items(entry, "messaging"):
                events.append(meta.safely(parse_messaging, account_id, item))
            for change in meta.items(entry, "changes"):
                if not isinstance(change.get("value"), dict):
                    continue
                field, value = change.get("field"), change["value"]
                if field in COMMENT_FIELDS:
                    events.append(meta.safely(parse_comment, account_id, field, value, entry.get("time")))
                elif field == "messages":  # App Dashboard "Test" shape: a messaging item in value
                    events.append(meta.safely(parse_messaging, account_id, value))
        return events

    # --- sending -------------------------------------------------------------------------------

    def send(self, credentials: dict[str, Any], outbound: Outbound, config: ConnectorConfig) -> SendResult:
        token = credentials.get("access_token")
        if not token:
            return SendResult(status="failed", error="instagram channel has no access token",
                              token_invalid=True)
        handler = _SENDERS.get(outbound.kind)
        if handler is None:
            return SendResult.skipped(f"instagram does not support {outbound.kind!r} messages")
        if not outbound.recipient:
            return SendResult(status="failed", error="no recipient")
        base = _base_url(credentials, config)
        outbound = replace(outbound, recipient=str(outbound.recipient))
        return handler(base, token, _rate_key(credentials, token), outbound, config)


def _rate_key(credentials: dict[str, Any], token: str) -> str:
    """Windows are per IG account; without its id, a token digest keeps accounts apart."""
    if credentials.get("account_id"):
        return str(credentials["account_id"])
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def _base_url(credentials: dict[str, Any], config: ConnectorConfig) -> str:
    host = config.meta_graph_url if credentials.get("login") == "facebook" else config.instagram_graph_url
    return f"{host.rstrip('/')}/{config.graph_version}"


def _message_body(outbound: Outbound) -> dict[str, Any] | None:
    attachment = outbound.meta.get("attachment")
    if isinstance(attachment, dict) and attachment.get("url"):
        kind = attachment.get("type", "image")
        return {"attachment": {"type": kind, "payload": {"url": attachment["url"]}}}
    if not outbound.text.strip():
        return None
    message: dict[str, Any] = {"text": truncate(outbound.text, InstagramConnector.max_text_length)}
    if outbound.buttons:
        message["quick_replies"] = _quick_replies(outbound.buttons)
    return message


def _finish(result: HttpResult, token: str, id_key: str) -> SendResult:
    if result.ok and isinstance(result.data, dict) and result.data.get(id_key):
        return SendResult.sent(str(result.data[id_key]))
    if result.ok:
        return SendResult.sent(None)
    return meta.graph_error_result(result, [token])


def _send_dm(base: str, token: str, account: str, outbound: Outbound, config: ConnectorConfig) -> SendResult:
    message = _message_body(outbound)
    if message is None:
        return SendResult.skipped("empty message")
    body: dict[str, Any] = {"recipient": {"id": outbound.recipient}, "message": message}
    if outbound.meta.get("human_agent"):
        # Human Agent tag: replies by a person up to 7 days after the user's last message.
        body.update({"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"})
    limited = throttle(config, [("instagram.send", account)])
    if limited:
        return limited
    result = meta.post_graph(f"{base}/me/messages", token, body, config)
    return _finish(result, token, "message_id")


def _send_comment_reply(base: str, token: str, account: str, outbound: Outbound, config: ConnectorConfig
                        ) -> SendResult:
    if not outbound.text.strip():
        return SendResult.skipped("empty message")
    limited = throttle(config, [("instagram.send", account)])
    if limited:
        return limited
    url = f"{base}/{quote(outbound.recipient, safe='')}/replies"
    result = meta.post_graph(url, token, {"message": truncate(outbound.text, 2200)}, config)
    return _finish(result, token, "id")


def _send_private_reply(base: str, token: str, account: str, outbound: Outbound, config: ConnectorConfig
                        ) -> SendResult:
    """One DM per comment: the job claims the comment first; a read timeout is not retried here.

    Text only: quick replies are not documented for private replies, so buttons are left for the
    conversation that follows once the user answers.
    """
    message = _message_body(replace(outbound, buttons=[]))
    if message is None:
        return SendResult.skipped("empty message")
    limited = throttle(config, [("instagram.private_reply", account), ("instagram.send", account)])
    if limited:
        return limited
    body = {"recipient": {"comment_id": outbound.recipient}, "message": message}
    result = meta.post_graph(f"{base}/me/messages", token, body, config, repeatable=False)
    return _finish(result, token, "message_id")


_SENDERS: dict[str, Callable[[str, str, str, Outbound, ConnectorConfig], SendResult]] = {
    "message": _send_dm,
    "comment_reply": _send_comment_reply,
    "private_reply": _send_private_reply,
}
