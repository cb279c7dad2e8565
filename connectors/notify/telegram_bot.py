"""The platform's notification bot (one bot for every tenant, its token platform configuration): a message
to the chat an owner linked. The Bot API call is the Telegram channel's (`call`: retries, secret masking,
retry_after). Its webhook (`/start <code>`) is webapp/webhooks/notify_bot.py; docs/deploy.md sets it up."""

from __future__ import annotations

from connectors.channels.events import ConnectorConfig
from connectors.channels.telegram import call, error_result

from .result import SENT, Attempt

TEXT_LIMIT = 4096


def send(token: str, chat_id: int | str, text: str, config: ConnectorConfig) -> Attempt:
    """One sendMessage, plain text (no parse mode: tenant and customer text must not be read as markup)."""
    if not token:
        return Attempt(ok=False, error="no notification bot configured (NOTIFY_TELEGRAM_TOKEN)")
    if len(text) > TEXT_LIMIT:
        text = text[:TEXT_LIMIT - 1] + "…"
    result = call(token, "sendMessage", {"chat_id": chat_id, "text": text, "disable_web_page_preview": True},
                  config)
    if result.ok and isinstance(result.data, dict) and result.data.get("ok"):
        return SENT
    failed = error_result(result, token)
    # A blocked bot or a chat that is gone (403/400) stays so until the owner links again. No answer after
    # sending is tried again: a notification twice beats none.
    return Attempt(ok=False, error=f"Telegram: {failed.error}",
                   retryable=failed.retryable or result.outcome_unknown, retry_after=failed.retry_after)

