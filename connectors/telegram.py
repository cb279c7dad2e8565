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
import re
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import requests

from connectors.base import PayloadError, as_dict, header, load_json_object, to_seconds, truncate
from connectors.events import ConnectorConfig, InboundEvent, Outbound, SendResult
from connectors.http import HttpResult, header_retry_after, mask_secrets, request
from connectors.ratelimit import throttle
from connectors.registry import register

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_INT_RE = re.compile(r"-?\d+")
CALLBACK_DATA_MAX_BYTES = 64
DEFAULT_ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
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

def _display_name(user: dict[str, Any]) -> str | None:
    name = " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k))
    return name or None


def _media(message: dict[str, Any]) -> list[dict[str, Any]]:
    media = []
    for key in MEDIA_KEYS:
        value = message.get(key)
        if isinstance(value, list) and value:  # photo: sizes, smallest first
            value = value[-1]
        if isinstance(value, dict) and value.get("file_id"):
            item = {"type": key, "file_id": value["file_id"]}
            for extra in ("file_unique_id", "mime_type", "file_name", "file_size", "duration"):
                if extra in value:
                    item[extra] = value[extra]
            media.append(item)
    return media


def _user_meta(user: dict[str, Any], chat: dict[str, Any], update_id: Any) -> dict[str, Any]:
    return {
        "chat_id": chat.get("id"),
        "chat_type": chat.get("type"),
        "update_id": update_id,
        "username": user.get("username"),
        "name": _display_name(user),
        "language_code": user.get("language_code"),
    }


def _parse_message(
    account_id: str, update_id: Any, message: dict[str, Any], edited: bool
) -> InboundEvent | None:
    chat = as_dict(message.get("chat"), "message.chat")
    user = as_dict(message.get("from"), "message.from")
    chat_id, message_id = chat.get("id"), message.get("message_id")
    if chat_id is None or message_id is None or user.get("is_bot"):
        return None
    meta = _user_meta(user, chat, update_id)
    meta["message_id"] = message_id
    if isinstance(message.get("contact"), dict):
        meta["contact"] = message["contact"]  # a shared phone number (request_contact button)
    if isinstance(message.get("location"), dict):
        meta["location"] = message["location"]
    if isinstance(message.get("reply_to_message"), dict):
        meta["reply_to"] = message["reply_to_message"].get("message_id")
    external_id = f"tg:{chat_id}:{message_id}"
    if edited:
        # An edit is a new event (same message_id): key it by edit_date so each edit counts once.
        meta["edit_date"] = message.get("edit_date")
        meta["edit_of"] = external_id  # the stored message this edit changes
        external_id += f":edit:{message.get('edit_date') or update_id}"
    text = str(message.get("text") or message.get("caption") or "")
    if not text and meta.get("contact", {}).get("phone_number"):
        text = str(meta["contact"]["phone_number"])  # answers an "ask phone" step directly
    return InboundEvent(
        channel_type="telegram", account_id=account_id, kind="edit" if edited else "message",
        external_id=external_id, user_id=str(user.get("id") or chat_id),
        text=text, media=_media(message), meta=meta,
        timestamp=to_seconds(message.get("edit_date") if edited else message.get("date")),
    )


def _parse_callback(account_id: str, update_id: Any, query: dict[str, Any]) -> InboundEvent | None:
    user = as_dict(query.get("from"), "callback_query.from")
    message = as_dict(query.get("message"), "callback_query.message")
    chat = as_dict(message.get("chat"), "callback_query.message.chat")
    if not query.get("id") or not user.get("id"):
        return None
    meta = _user_meta(user, chat or {"id": user["id"], "type": "private"}, update_id)
    meta.update({"callback_query_id": str(query["id"]), "message_id": message.get("message_id")})
    return InboundEvent(
        channel_type="telegram", account_id=account_id, kind="message",
        external_id=f"tg:cb:{query['id']}", user_id=str(user["id"]), text=str(query.get("data") or ""),
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
                          retryable=not result.outcome_unknown)
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


def _reply_markup(buttons: list[str], style: str | None) -> dict[str, Any]:
    """Inline buttons by default; a reply keyboard when asked or when a label would not survive the
    64-byte callback_data limit (a reply keyboard sends the label itself as the user's message)."""
    if style == "reply" or any(len(b.encode()) > CALLBACK_DATA_MAX_BYTES for b in buttons):
        rows = [[{"text": b}] for b in buttons]
        return {"keyboard": rows, "one_time_keyboard": True, "resize_keyboard": True}
    return {"inline_keyboard": [[{"text": b, "callback_data": b}] for b in buttons]}


@register
class TelegramConnector:
    type = "telegram"
    webhook_path = "/webhooks/telegram/{channel_id}"
    max_text_length = 4096

    def verify(self, headers: Mapping[str, str], raw_body: bytes, secret: str) -> bool:
        """Constant-time check of the secret_token header; an empty configured secret never passes."""
        given = header(headers, SECRET_HEADER)
        if not secret or not given:
            return False
        return hmac.compare_digest(given.encode(), secret.encode())

    def parse(self, raw_body: bytes, account_id: str = "") -> list[InboundEvent]:
        """One update → at most one event; kinds we do not handle are acknowledged and dropped."""
        update = load_json_object(raw_body)
        update_id = update.get("update_id")
        if not isinstance(update_id, int):
            raise PayloadError("update_id missing or not an integer")
        event: InboundEvent | None = None
        if isinstance(update.get("message"), dict):
            event = _parse_message(account_id, update_id, update["message"], edited=False)
        elif isinstance(update.get("edited_message"), dict):
            event = _parse_message(account_id, update_id, update["edited_message"], edited=True)
        elif isinstance(update.get("callback_query"), dict):
            event = _parse_callback(account_id, update_id, update["callback_query"])
        return [event] if event else []

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
        if outbound.meta.get("reply_to"):
            params["reply_parameters"] = {"message_id": int(outbound.meta["reply_to"]),
                                          "allow_sending_without_reply": True}
        if outbound.meta.get("callback_query_id"):
            answer_callback_query(token, str(outbound.meta["callback_query_id"]), config)
        bot = bot_id(token)
        limited = throttle(config, [("telegram.send", bot), ("telegram.chat", f"{bot}:{recipient}")])
        if limited:
            return limited
        result = call(token, "sendMessage", params, config)
        if result.ok and isinstance(result.data, dict) and result.data.get("ok"):
            message = result.data.get("result") or {}
            message_id = message.get("message_id") if isinstance(message, dict) else None
            return SendResult.sent(str(message_id) if message_id is not None else None)
        return error_result(result, token)
