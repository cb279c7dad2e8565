"""A loopback fake of the Telegram Bot API (``/bot<token>/<method>``).

Usage::

    with FakeTelegramAPI() as fake:       # or the ``telegram_api`` pytest fixture
        token = fake.token                # a registered bot; fake.add_bot("42:ABC...") for more
        config = fake.config()            # ConnectorConfig with telegram_api_url pointed here
        ...
        req = fake.last                   # path "/bot<token>/sendMessage", json {...}
        fake.webhooks[token]              # {"url", "secret_token", "allowed_updates", ...} after setWebhook;
                                          # pending_update_count, last_error_date, last_error_message set
                                          # there are reported by getWebhookInfo

Programmable::

    fake.fail(status=429, retry_after=1)  # {"ok":false,"error_code":429,"description":"Too Many Requests:
                                          #   retry after 1","parameters":{"retry_after":1}}
    fake.fail(status=500, times=None)     # always 500
    fake.fail(status=403, description="Forbidden: bot was blocked by the user")
    fake.delay(2.0, times=1)

``sendMessage`` numbers messages per chat, as Telegram does: two chats of one bot get the same ids.

Unknown tokens get 401 ``{"ok":false,"error_code":401,"description":"Unauthorized"}``; unknown methods 404.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from typing import Any

from connectors.channels.events import ConnectorConfig
from tests.fakes.server import FakeServer, RecordedRequest, Reply

DEFAULT_TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnopq"
# Like Telegram, message ids count per chat (each chat's first reply gets the same id). They start high so
# they never meet the small ids tests give the customers' messages of the same chat.
FIRST_MESSAGE_ID = 1000
_PATH = re.compile(r"^/bot([^/]+)/([A-Za-z]+)$")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def tg_error(code: int, description: str, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


class FakeTelegramAPI(FakeServer):
    """Telegram Bot API fake; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str = DEFAULT_TOKEN,
                 username: str = "fake_shop_bot") -> None:
        super().__init__(host, port)
        self.token = token
        self.bots: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self._message_ids: dict[tuple[str, str], itertools.count[int]] = {}
        self._id_lock = threading.Lock()
        self.add_bot(token, username)

    def add_bot(self, token: str, username: str = "another_bot") -> dict[str, Any]:
        bot = {"id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": username.replace("_", " "),
               "username": username, "can_join_groups": True, "can_read_all_group_messages": False,
               "supports_inline_queries": False}
        self.bots[token] = bot
        return bot

    def config(self, **overrides: Any) -> ConnectorConfig:
        values: dict[str, Any] = {"telegram_api_url": self.url, "backoff_base": 0.01, "backoff_max": 0.05,
                                  "timeout": 5.0}
        values.update(overrides)
        return ConnectorConfig(**values)

    def error_body(self, status: int, description: str | None = None, retry_after: int | None = None,
                   **_: Any) -> dict[str, Any]:
        if status == 429:
            wait = 1 if retry_after is None else retry_after
            return tg_error(429, description or f"Too Many Requests: retry after {wait}", retry_after=wait)
        return tg_error(status, description or _DESCRIPTIONS.get(status, "Error"))

    @property
    def sent(self) -> list[RecordedRequest]:
        """Every sendMessage request recorded so far."""
        return self.requests_to("/sendMessage")

    # --- routing -------------------------------------------------------------------------------------
    def route(self, request: RecordedRequest) -> Reply:
        match = _PATH.match(request.path)
        if not match:
            return 404, tg_error(404, "Not Found"), {}
        token, method = match.groups()
        bot = self.bots.get(token)
        if bot is None:
            return 401, tg_error(401, "Unauthorized"), {}
        handler = _METHODS.get(method)
        if handler is None:
            return 404, tg_error(404, "Not Found: method not found"), {}
        return handler(self, token, bot, request.params)

    def _get_me(self, token: str, bot: dict[str, Any], params: dict[str, Any]) -> Reply:
        return 200, {"ok": True, "result": bot}, {}

    def _set_webhook(self, token: str, bot: dict[str, Any], params: dict[str, Any]) -> Reply:
        url = params.get("url")
        if not url:
            return 400, tg_error(400, "Bad Request: bad webhook: URL must be provided"), {}
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            return 400, tg_error(400, "Bad Request: secret token contains unallowed characters"), {}
        self.webhooks[token] = {"url": url, "secret_token": secret,
                                "allowed_updates": params.get("allowed_updates"),
                                "max_connections": params.get("max_connections", 40),
                                "drop_pending_updates": params.get("drop_pending_updates", False)}
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}, {}

    def _delete_webhook(self, token: str, bot: dict[str, Any], params: dict[str, Any]) -> Reply:
        existed = self.webhooks.pop(token, None) is not None
        description = "Webhook was deleted" if existed else "Webhook is already deleted"
        return 200, {"ok": True, "result": True, "description": description}, {}

    def _get_webhook_info(self, token: str, bot: dict[str, Any], params: dict[str, Any]) -> Reply:
        hook = self.webhooks.get(token)
        info: dict[str, Any] = {"url": hook["url"] if hook else "", "has_custom_certificate": False,
                                "pending_update_count": 0}
        if hook:
            info["max_connections"] = hook["max_connections"]
            if hook.get("allowed_updates"):
                info["allowed_updates"] = hook["allowed_updates"]
            # what Telegram met delivering updates: a test sets them on fake.webhooks[token]
            info.update({k: hook[k] for k in ("pending_update_count", "last_error_date", "last_error_message")
                         if k in hook})
        return 200, {"ok": True, "result": info}, {}

    def _send_message(self, token: str, bot: dict[str, Any], params: dict[str, Any]) -> Reply:
        chat_id, text = params.get("chat_id"), params.get("text")
        if chat_id in (None, ""):
            return 400, tg_error(400, "Bad Request: chat_id is empty"), {}
        if not text:
            return 400, tg_error(400, "Bad Request: message text is empty"), {}
        if len(str(text)) > 4096:
            return 400, tg_error(400, "Bad Request: message is too long"), {}
        with self._id_lock:
            numbers = self._message_ids.setdefault((token, str(chat_id)), itertools.count(FIRST_MESSAGE_ID))
            message_id = next(numbers)
        chat_type = "private" if str(chat_id).lstrip("-").isdigit() and int(chat_id) > 0 else "group"
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": {k: bot[k] for k in ("id", "is_bot", "first_name", "username")},
            "chat": {"id": chat_id, "type": chat_type},
            "date": int(time.time()),
            "text": text,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return 200, {"ok": True, "result": message}, {}

    def _true(self, token: str, bot: dict[str, Any], params: dict[str, Any]) -> Reply:
        return 200, {"ok": True, "result": True}, {}


_METHODS = {
    "getMe": FakeTelegramAPI._get_me,
    "setWebhook": FakeTelegramAPI._set_webhook,
    "deleteWebhook": FakeTelegramAPI._delete_webhook,
    "getWebhookInfo": FakeTelegramAPI._get_webhook_info,
    "sendMessage": FakeTelegramAPI._send_message,
    "answerCallbackQuery": FakeTelegramAPI._true,
    "sendChatAction": FakeTelegramAPI._true,
}
