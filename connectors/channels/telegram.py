"""Telegram Bot API: webhook updates in, ``sendMessage`` out, plus webhook management for onboarding.

The webhook is authenticated by the ``secret_token`` we generate at ``setWebhook`` time and Telegram
echoes in ``X-Telegram-Bot-Api-Secret-Token`` (never by a bot token in our URL). The bot token lives
in the API URL path (``/bot<token>/method``), so every error text that could reach a log or the
database goes through ``mask_secrets``.

Credentials: ``{"bot_token": str}`` (``"token"`` accepted too). ``parse`` takes the channel id from
the route as ``account_id`` because updates do not say which bot they are for.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.channels.base import (
    GROUPS_SETTING,
    N_,
    BaseConnector,
    ChannelHealth,
    Needs,
    PayloadError,
    as_dict,
    as_id,
    as_text,
    header,
    load_json_object,
    sane_events,
    to_seconds,
    truncate,
)
from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult, media_item
from connectors.channels.http import HttpResult, header_retry_after, mask_secrets, request
from connectors.channels.registry import register

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_INT_RE = re.compile(r"-?\d{1,19}")  # Telegram ids fit in 52 bits; int() of a huge string raises
CALLBACK_DATA_MAX_BYTES = 64
DEFAULT_ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
#: The channel setting (``channel.settings``) that lets the bot answer in groups, supergroups and channels.
#: Update fields that carry a message, and whether it is an edit.
UPDATE_KINDS = (("message", False), ("edited_message", True), ("channel_post", False),
                ("edited_channel_post", True))
MEDIA_KEYS = ("photo", "document", "voice", "audio", "video", "video_note", "sticker", "animation")


class TelegramError(RuntimeError):
    """A Bot API call failed; the message never contains the bot token."""

    def __init__(self, description: str, error_code: int | None = None, *, token_invalid: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(f"Telegram API error {error_code}: {description}" if error_code else description)
        self.description = description
        self.error_code = error_code
        self.token_invalid = token_invalid
        self.retry_after = retry_after


def generate_secret_token() -> str:
    """A fresh webhook secret: 43 chars from A-Za-z0-9_- (Telegram allows 1-256 of those)."""
    return secrets.token_urlsafe(32)


def bot_id(token: str) -> str:
    """The numeric bot id before the colon: a non-secret key for rate limits and logs."""
    return token.split(":", 1)[0]


# --- parsing ---------------------------------------------------------------------------------------

def _int(value: Any) -> int | None:
    """Telegram ids are JSON integers; anything else (a string, a boolean, an object) is junk."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _display_name(user: dict[str, Any]) -> str | None:
    name = " ".join(user[k] for k in ("first_name", "last_name") if as_text(user.get(k)))
    return name or None


#: Telegram's attachment fields → the shared media kinds (events.MEDIA_KINDS).
MEDIA_KIND = {"photo": "image", "document": "file", "voice": "audio", "audio": "audio", "video": "video",
              "video_note": "video", "sticker": "sticker", "animation": "video"}


def _media(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The message's attachments in the shared shape (events.media_item): the largest photo size, the
    file id to fetch it with (getFile), the caption on the first; an animation is sent with a copy as
    ``document``, which is left out; a venue or a location is a ``location`` item."""
    media = []
    caption = as_text(message.get("caption")) or None
    for key in MEDIA_KEYS:
        value = message.get(key)
        if isinstance(value, list) and value:  # photo: sizes, smallest first
            value = value[-1]
        if key == "document" and isinstance(message.get("animation"), dict):
            continue
        if isinstance(value, dict) and as_id(value.get("file_id")):
            media.append(media_item(MEDIA_KIND[key], type=key, id=as_id(value["file_id"]),
                                    mime_type=value.get("mime_type"), file_name=value.get("file_name"),
                                    size=value.get("file_size"), duration=value.get("duration"),
                                    caption=caption if not media else None,
                                    title=value.get("emoji") if key == "sticker" else None))
    venue = message.get("venue") if isinstance(message.get("venue"), dict) else {}
    place = venue.get("location") if isinstance(venue.get("location"), dict) else message.get("location")
    if isinstance(place, dict):
        media.append(media_item("location", type="venue" if venue else "location", latitude=place.get("latitude"),
                                longitude=place.get("longitude"), title=venue.get("title"),
                                address=venue.get("address")))
    return media


def _chat_type(chat: dict[str, Any], chat_id: int) -> str:
    """The chat's type; old payloads without one are private chats (positive ids) or groups."""
    return as_text(chat.get("type")) or ("private" if chat_id > 0 else "group")


def external_message_id(chat_id: int, number: int) -> str:
    """The external id of a message, ours or the customer's: Telegram numbers messages per chat (both
    directions share the chat's sequence), so the number alone collides across chats of one bot."""
    return f"tg:{chat_id}:{number}"


def _user_meta(user: dict[str, Any], chat_id: int, chat_type: str, update_id: int) -> dict[str, Any]:
    return {
        "chat_id": chat_id,
        "chat_type": chat_type,
        "update_id": update_id,
        "username": as_text(user.get("username")) or None,
        "name": _display_name(user),
        "language_code": as_text(user.get("language_code")) or None,
    }


def _parse_message(account_id: str, update_id: int, message: dict[str, Any], *, edited: bool,
                   allow_groups: bool) -> InboundEvent | None:
    chat = as_dict(message.get("chat"), "message.chat")
    user = as_dict(message.get("from"), "message.from")
    chat_id, number = _int(chat.get("id")), _int(message.get("message_id"))
    if chat_id is None or number is None or user.get("is_bot"):
        return None
    chat_type = _chat_type(chat, chat_id)
    if chat_type != "private" and not allow_groups:
        log.debug("telegram %s chat %s: groups and channels are not enabled for this bot", chat_type, chat_id)
        return None
    sender = _int(user.get("id"))
    if sender is None:  # a channel post, or a group message sent on behalf of a chat
        sender = _int(as_dict(message.get("sender_chat"), "message.sender_chat").get("id"))
    if sender is None:
        sender = chat_id
    meta = _user_meta(user, chat_id, chat_type, update_id)
    meta["message_id"] = number
    if isinstance(message.get("contact"), dict):
        meta["contact"] = message["contact"]  # a shared phone number (request_contact button)
    if isinstance(message.get("location"), dict):
        meta["location"] = message["location"]
    if isinstance(message.get("reply_to_message"), dict):
        meta["reply_to"] = _int(message["reply_to_message"].get("message_id"))
    external_id = external_message_id(chat_id, number)
    if edited:
        # An edit is a new event (same message_id): key it by edit_date so each edit counts once.
        edit_date = _int(message.get("edit_date"))
        meta["edit_date"] = edit_date
        meta["edit_of"] = external_id  # the stored message this edit changes
        external_id += f":edit:{edit_date or update_id}"
    text = as_text(message.get("text")) or as_text(message.get("caption"))
    if not text and "contact" in meta:
        text = as_id(meta["contact"].get("phone_number")) or ""  # answers an "ask phone" step directly
    return InboundEvent(
        channel_type=TelegramConnector.type, account_id=account_id, kind="edit" if edited else "message",
        external_id=external_id, user_id=str(sender), text=text, media=_media(message), meta=meta,
        timestamp=to_seconds(message.get("edit_date") if edited else message.get("date")),
    )


def _parse_callback(account_id: str, update_id: int, query: dict[str, Any], *, allow_groups: bool
                    ) -> InboundEvent | None:
    user = as_dict(query.get("from"), "callback_query.from")
    message = as_dict(query.get("message"), "callback_query.message")
    chat = as_dict(message.get("chat"), "callback_query.message.chat")
    query_id, user_id = as_id(query.get("id")), _int(user.get("id"))
    if not query_id or user_id is None:
        return None
    chat_id = _int(chat.get("id"))
    if chat_id is None:  # a button of an inline-mode message: no chat, answer the user
        chat_id, chat_type = user_id, "private"
    else:
        chat_type = _chat_type(chat, chat_id)
    if chat_type != "private" and not allow_groups:
        return None
    meta = _user_meta(user, chat_id, chat_type, update_id)
    meta.update({"callback_query_id": query_id, "message_id": _int(message.get("message_id"))})
    return InboundEvent(
        channel_type=TelegramConnector.type, account_id=account_id, kind="message",
        external_id=f"tg:cb:{query_id}", user_id=str(user_id), text=as_text(query.get("data")),
        meta=meta, timestamp=None,
    )


# --- Bot API calls ---------------------------------------------------------------------------------

def _telegram_retry_after(response: requests.Response, data: Any) -> float | None:
    if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
        value = data["parameters"].get("retry_after")
        if isinstance(value, int | float):
            return float(value)
    return header_retry_after(response, data)


def call(token: str, method: str, params: Mapping[str, Any], config: ConnectorConfig) -> HttpResult:
    """POST one Bot API method with JSON params through the retrying client (token masked)."""
    url = f"{config.telegram_api_url.rstrip('/')}/bot{token}/{method}"
    return request("POST", url, config=config, json=dict(params), secrets=[token],
                   retry_after=_telegram_retry_after)


def error_result(result: HttpResult, token: str) -> SendResult:
    """Map a failed Bot API call: 401/404 → token_invalid, 429/5xx/transport → retryable."""
    if result.status_code is None:
        return SendResult(status="failed", error=mask_secrets(result.error or "no response", [token]),
                          retryable=not result.outcome_unknown, outcome_unknown=result.outcome_unknown)
    data = result.data if isinstance(result.data, dict) else {}
    code = data.get("error_code") if isinstance(data.get("error_code"), int) else result.status_code
    description = mask_secrets(str(data.get("description") or f"HTTP {result.status_code}"), [token])
    return SendResult(
        status="failed", error=description, error_code=code,
        retryable=result.transient or code == 429,
        token_invalid=code in (401, 404),
        retry_after=result.retry_after,
    )


def _result_or_raise(result: HttpResult, token: str) -> Any:
    if result.ok and isinstance(result.data, dict) and result.data.get("ok"):
        return result.data.get("result")
    failure = error_result(result, token)
    raise TelegramError(failure.error or "request failed", failure.error_code,
                        token_invalid=failure.token_invalid, retry_after=failure.retry_after)


def get_me(token: str, config: ConnectorConfig) -> dict[str, Any]:
    """The bot's User object (id, username...): validates a token when a channel is added."""
    return _result_or_raise(call(token, "getMe", {}, config), token)


def allowed_updates(settings: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The update kinds to ask Telegram for (``setWebhook``): channel posts only when the channel's
    settings let the bot answer groups and channels (Telegram sends nothing it was not asked for)."""
    if (settings or {}).get(GROUPS_SETTING):
        return (*DEFAULT_ALLOWED_UPDATES, "channel_post", "edited_channel_post")
    return DEFAULT_ALLOWED_UPDATES


def set_webhook(token: str, url: str, secret_token: str, config: ConnectorConfig, *,
                allowed_updates: tuple[str, ...] | list[str] = DEFAULT_ALLOWED_UPDATES,
                drop_pending_updates: bool = False, max_connections: int | None = None) -> bool:
    """Point the bot at our webhook with a secret Telegram will echo in ``SECRET_HEADER``."""
    if not _SECRET_TOKEN_RE.fullmatch(secret_token or ""):
        raise ValueError("secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    params: dict[str, Any] = {"url": url, "secret_token": secret_token,
                              "allowed_updates": list(allowed_updates),
                              "drop_pending_updates": drop_pending_updates}
    if max_connections:
        params["max_connections"] = max_connections
    return bool(_result_or_raise(call(token, "setWebhook", params, config), token))


def delete_webhook(token: str, config: ConnectorConfig, *, drop_pending_updates: bool = False) -> bool:
    return bool(_result_or_raise(call(token, "deleteWebhook", {"drop_pending_updates": drop_pending_updates},
                                      config), token))


def get_webhook_info(token: str, config: ConnectorConfig) -> dict[str, Any]:
    """url, pending_update_count, last_error_message...: shown on the channel page."""
    return _result_or_raise(call(token, "getWebhookInfo", {}, config), token)


def answer_callback_query(token: str, callback_query_id: str, config: ConnectorConfig) -> bool:
    """Stop the button's loading spinner; best effort (the reply itself matters more)."""
    quick = replace(config, max_attempts=1)
    result = call(token, "answerCallbackQuery", {"callback_query_id": callback_query_id}, quick)
    return result.ok


def _failed_check(exc: TelegramError) -> ChannelHealth:
    """A health call Telegram refused: the token's fault (401/404), no conclusion (no answer, 429, 5xx),
    or another refusal in Telegram's words (the token stays unknown)."""
    if exc.token_invalid:
        return ChannelHealth(checked=True, token_ok=False, token_error=exc.description)
    if exc.error_code is None or exc.error_code == 429 or exc.error_code >= 500:
        return ChannelHealth.unreachable(exc.description)
    return ChannelHealth(checked=True, token_error=exc.description)


def _reply_markup(buttons: list[str], style: str | None) -> dict[str, Any]:
    """Inline buttons by default; a reply keyboard when asked or when a label would not survive the
    64-byte callback_data limit (a reply keyboard sends the label itself as the user's message)."""
    if style == "reply" or any(len(b.encode()) > CALLBACK_DATA_MAX_BYTES for b in buttons):
        rows = [[{"text": b}] for b in buttons]
        return {"keyboard": rows, "one_time_keyboard": True, "resize_keyboard": True}
    return {"inline_keyboard": [[{"text": b, "callback_data": b}] for b in buttons]}


@register
class TelegramConnector(BaseConnector):
    type = "telegram"
    label = N_("Telegram")
    webhook_path = "/webhooks/telegram/{channel_id}"
    max_text_length = 4096
    prompt_style = ("Telegram", 900)
    # The bot token; the bot id (the external id) comes from getMe when the channel is connected.
    needs = Needs(token=True)
    # ~30 messages/s per bot, ~1 message/s per chat (short bursts tolerated)
    rate_limits = {"telegram.send": "30/second", "telegram.chat": "3 per 3 seconds"}

    def verify(self, headers: Mapping[str, str], raw_body: bytes, secret: str) -> bool:
        """Constant-time check of the secret_token header; an empty configured secret never passes."""
        given = header(headers, SECRET_HEADER)
        if not secret or not given:
            return False
        return hmac.compare_digest(given.encode(), secret.encode())

    def parse(self, raw_body: bytes, account_id: str = "", settings: Mapping[str, Any] | None = None
              ) -> list[InboundEvent]:
        """One update → at most one event; kinds we do not handle are acknowledged and dropped.

        Group, supergroup and channel chats are answered only when the channel's settings say
        ``allow_groups`` (a shop bot added to a group must not answer everyone in it). A body that is not
        an update raises PayloadError; an update whose content is malformed is dropped and acknowledged:
        Telegram redelivers a refused update and holds the chat's later updates back meanwhile.
        """
        update = load_json_object(raw_body)
        update_id = _int(update.get("update_id"))
        if update_id is None:
            raise PayloadError("update_id missing or not an integer")
        allow_groups = bool((settings or {}).get(GROUPS_SETTING))
        event: InboundEvent | None = None
        try:
            for key, edited in UPDATE_KINDS:
                if isinstance(update.get(key), dict):
                    event = _parse_message(account_id, update_id, update[key], edited=edited,
                                           allow_groups=allow_groups)
                    break
            else:
                if isinstance(update.get("callback_query"), dict):
                    event = _parse_callback(account_id, update_id, update["callback_query"],
                                            allow_groups=allow_groups)
        except PayloadError as exc:
            log.warning("dropping malformed telegram update %s: %s", update_id, exc)
            return []
        return sane_events([event])

    def health(self, credentials: dict[str, Any], external_id: str | None, settings: Mapping[str, Any],
               config: ConnectorConfig) -> ChannelHealth:
        """getMe (Telegram answers 401/404 for a token it no longer accepts), then getWebhookInfo: the URL
        updates go to (the caller compares it with ours), updates waiting, the last error Telegram met
        delivering them."""
        token = credentials.get("bot_token") or credentials.get("token")
        if not token:
            return ChannelHealth(checked=True, token_ok=False, token_error="no bot token is stored")
        try:
            bot = get_me(token, config)
        except TelegramError as exc:
            return _failed_check(exc)
        shown = f"@{bot['username']}" if isinstance(bot, dict) and as_text(bot.get("username")) else None
        try:
            info = get_webhook_info(token, config)
        except TelegramError as exc:
            failed = _failed_check(exc)
            if not failed.checked or failed.token_ok is False:
                return failed
            return ChannelHealth(checked=True, token_ok=True, account=shown,
                                 detail=f"the webhook could not be read: {failed.token_error}")
        info = info if isinstance(info, dict) else {}
        url, when = as_text(info.get("url")), to_seconds(info.get("last_error_date"))
        return ChannelHealth(checked=True, token_ok=True, account=shown, subscribed=bool(url), webhook_url=url,
                             pending_updates=_int(info.get("pending_update_count")),
                             platform_error=as_text(info.get("last_error_message")) or None,
                             platform_error_at=datetime.fromtimestamp(when, UTC) if when is not None else None)

    def reply_recipient(self, event: InboundEvent) -> str:
        """Replies go to the chat (a group, or the private chat whose id equals the user id)."""
        chat_id = event.meta.get("chat_id")
        return str(chat_id) if chat_id is not None else event.user_id

    def send(self, credentials: dict[str, Any], outbound: Outbound, config: ConnectorConfig) -> SendResult:
        token = credentials.get("bot_token") or credentials.get("token")
        if not token:
            return SendResult(status="failed", error="telegram channel has no bot token", token_invalid=True)
        if outbound.kind != "message":
            return SendResult.skipped(f"telegram does not support {outbound.kind!r} messages")
        if not outbound.text.strip():
            return SendResult.skipped("empty message")
        recipient = str(outbound.recipient or "")
        if not recipient:
            return SendResult(status="failed", error="no recipient")
        params: dict[str, Any] = {
            "chat_id": int(recipient) if _INT_RE.fullmatch(recipient) else recipient,
            "text": truncate(outbound.text, self.max_text_length),
        }
        buttons = [b for b in outbound.buttons if b]
        if buttons:
            params["reply_markup"] = _reply_markup(buttons, outbound.meta.get("keyboard"))
        if outbound.meta.get("parse_mode"):
            params["parse_mode"] = outbound.meta["parse_mode"]
        reply_to = _int(outbound.meta.get("reply_to"))
        if reply_to is not None:
            params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
        if outbound.meta.get("callback_query_id"):
            answer_callback_query(token, str(outbound.meta["callback_query_id"]), config)
        bot = bot_id(token)
        limited = self.rate_limited(config, [("telegram.send", bot), ("telegram.chat", f"{bot}:{recipient}")])
        if limited:
            return limited
        result = call(token, "sendMessage", params, config)
        if result.ok and isinstance(result.data, dict) and result.data.get("ok"):
            message = result.data.get("result")
            message = message if isinstance(message, dict) else {}
            number = _int(message.get("message_id"))
            chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
            chat_id = _int(chat.get("id"))
            if chat_id is None:
                chat_id = params["chat_id"] if isinstance(params["chat_id"], int) else None
            known = number is not None and chat_id is not None
            return SendResult.sent(external_message_id(chat_id, number) if known else None)
        return error_result(result, token)
