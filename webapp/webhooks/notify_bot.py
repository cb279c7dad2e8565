"""The platform notification bot's webhook: an owner sends `/start <code>` (the t.me link from Settings →
Notifications) and the chat is linked to their tenant.

Verified by the secret Telegram echoes in `X-Telegram-Bot-Api-Secret-Token` (NOTIFY_TELEGRAM_SECRET, given to
setWebhook). The route makes no outbound call (rule 8): the bot's answer rides on the webhook's response, a
Bot API method call Telegram performs for us ("reply directly to the webhook").
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import current_app, jsonify, request
from flask_babel import force_locale, gettext

from webapp.extensions import db
from webapp.services.notify_settings import link_chat

from .blueprint import bp

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@bp.post("/notify-bot")
def notify_bot_update():  # type: ignore[no-untyped-def]
    config = current_app.config
    secret = config.get("NOTIFY_TELEGRAM_SECRET") or ""
    if not config.get("NOTIFY_TELEGRAM_TOKEN") or not secret:
        return jsonify(error="no notification bot configured"), 404
    given = request.headers.get(SECRET_HEADER, "")
    if not given or not hmac.compare_digest(given.encode(), secret.encode()):
        return jsonify(error=f"invalid or missing {SECRET_HEADER}"), 401
    update = request.get_json(silent=True)
    message = update.get("message") if isinstance(update, dict) else None
    if not isinstance(message, dict):
        return jsonify(ok=True)
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    chat_id = chat.get("id")
    command, _, code = text.strip().partition(" ")
    if not isinstance(chat_id, int) or command.split("@", 1)[0] != "/start":
        return jsonify(ok=True)
    title = str(chat.get("title") or chat.get("username") or chat.get("first_name") or chat_id)
    tenant = link_chat(code.strip(), chat_id, title) if code.strip() else None
    db.session.commit()
    return jsonify(method="sendMessage", chat_id=chat_id, text=_answer(tenant, message))


def _answer(tenant: Any, message: dict[str, Any]) -> str:
    """In the tenant's language once linked; before that, in the language of the person's Telegram app."""
    sender = message.get("from") if isinstance(message.get("from"), dict) else {}
    language = tenant.language if tenant is not None else str(sender.get("language_code") or "en")[:2]
    if language not in (current_app.config.get("LANGUAGES") or ["en"]):
        language = "en"
    with force_locale(language):
        if tenant is None:
            return gettext("This link is not valid or has expired. In TemoWeb Bots open Settings → Notifications "
                           "and press \"Link Telegram\" again.")
        return gettext("Linked: notifications of %(name)s will come to this chat.", name=tenant.name)
