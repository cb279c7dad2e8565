"""Instagram professional accounts: Direct messages and comments (Instagram Login, graph.instagram.com).

Inbound: ``entry[].messaging[]`` / ``standby[]`` (DMs) and ``entry[].changes[]`` with field
``comments`` / ``live_comments``. Echoes of our own sends, reads, reactions, deleted and unsupported
messages are dropped here, as are our own comment replies (``from.id == entry.id``): otherwise the bot
answers itself. Outbound: DM, public comment reply and private reply (one per comment, so a read
timeout is never retried blindly).

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

from connectors import meta
from connectors.base import as_dict, as_list, to_seconds, truncate, untruncate
from connectors.events import ConnectorConfig, InboundEvent, Outbound, SendResult
from connectors.http import HttpResult
from connectors.ratelimit import throttle
from connectors.registry import register

log = logging.getLogger(__name__)

MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_MAX = 20
COMMENT_FIELDS = ("comments", "live_comments")


def _media(message: dict[str, Any]) -> list[dict[str, Any]]:
    media = []
    for att in as_list(message.get("attachments"), "message.attachments"):
        if isinstance(att, dict):
            payload = att.get("payload") if isinstance(att.get("payload"), dict) else {}
            item = {"type": att.get("type"), "url": payload.get("url")}
            if payload.get("title"):
                item["title"] = payload["title"]
            media.append(item)
    return media


def parse_messaging(account_id: str, item: dict[str, Any], *, standby: bool = False) -> InboundEvent | None:
    """One ``messaging[]`` item → a ``dm`` event, or None for things the bot must not answer."""
    sender = str(as_dict(item.get("sender"), "sender").get("id") or "")
    if not sender or sender == account_id:
        return None  # our own outbound (echo without the flag) or junk
    timestamp = to_seconds(item.get("timestamp"))
    base_meta: dict[str, Any] = {"standby": True} if standby else {}
    message = item.get("message")
    if isinstance(message, dict):
        if message.get("is_echo") or message.get("is_deleted") or message.get("is_unsupported"):
            return None
        mid = message.get("mid")
        if not mid:
            return None
        extra = dict(base_meta)
        text = str(message.get("text") or "")
        if isinstance(message.get("quick_reply"), dict):
            extra["quick_reply_payload"] = message["quick_reply"].get("payload")
            text = untruncate(text, extra["quick_reply_payload"])
        if isinstance(message.get("reply_to"), dict):
            extra["reply_to"] = message["reply_to"]
        if isinstance(message.get("referral"), dict):
            extra["referral"] = message["referral"]
        return InboundEvent(
            channel_type="instagram", account_id=account_id, kind="dm", external_id=str(mid),
            user_id=sender, text=text, media=_media(message), meta=extra,
            timestamp=timestamp,
        )
    postback = item.get("postback")
    if isinstance(postback, dict):
        mid = postback.get("mid") or f"postback:{sender}:{item.get('timestamp')}"
        extra = {**base_meta, "postback_payload": postback.get("payload")}
        return InboundEvent(
            channel_type="instagram", account_id=account_id, kind="dm", external_id=str(mid),
            user_id=sender, text=str(postback.get("title") or postback.get("payload") or ""),
            meta=extra, timestamp=timestamp,
        )
    return None  # read, reaction, referral-only, optin...: nothing to answer


def parse_comment(account_id: str, field: str, value: dict[str, Any], entry_time: Any) -> InboundEvent | None:
    """A ``comments`` / ``live_comments`` change → a ``comment`` event (own replies dropped)."""
    comment_id = value.get("id") or value.get("comment_id")
    author = as_dict(value.get("from"), "value.from")
    user_id = str(author.get("id") or "")
    if not comment_id or not user_id or user_id == account_id:
        return None
    media = as_dict(value.get("media"), "value.media")
    extra: dict[str, Any] = {
        "comment_id": str(comment_id),
        "media_id": str(media["id"]) if media.get("id") else None,
        "parent_id": str(value["parent_id"]) if value.get("parent_id") else None,
        "username": author.get("username"),
        "field": field,
    }
    for key in ("media_product_type", "ad_id", "ad_title", "original_media_id"):
        if media.get(key):
            extra[key] = media[key]
    return InboundEvent(
        channel_type="instagram", account_id=account_id, kind="comment", external_id=str(comment_id),
        user_id=user_id, text=str(value.get("text") or ""), meta=extra,
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

    def parse_payload(self, payload: dict[str, Any]) -> list[InboundEvent]:
        """Every DM and comment in every entry of the batch, in order."""
        events: list[InboundEvent | None] = []
        for entry in payload.get("entry") or []:
            account_id = str(entry.get("id") or "")
            for item in as_list(entry.get("messaging"), "entry.messaging"):
                if isinstance(item, dict):
                    events.append(meta.safely(parse_messaging, account_id, item))
            for item in as_list(entry.get("standby"), "entry.standby"):
                if isinstance(item, dict):
                    events.append(meta.safely(parse_messaging, account_id, item, standby=True))
            for change in as_list(entry.get("changes"), "entry.changes"):
                if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                    continue
                field, value = change.get("field"), change["value"]
                if field in COMMENT_FIELDS:
                    events.append(meta.safely(parse_comment, account_id, field, value, entry.get("time")))
                elif field == "messages":  # App Dashboard "Test" shape: a messaging item in value
                    events.append(meta.safely(parse_messaging, account_id, value))
        return [e for e in events if e is not None]

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
