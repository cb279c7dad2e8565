"""Connecting a Telegram bot by its token: check it (getMe), then point it at our webhook with a fresh
secret token that every update must echo back."""

from __future__ import annotations

from flask import current_app

from connectors.channels.base import GROUPS_SETTING
from connectors.channels.events import ConnectorConfig
from connectors.channels.telegram import TelegramError, allowed_updates, generate_secret_token, get_me, set_webhook

from .models import Channel
from .models.base import utcnow


def connect_telegram(channel: Channel) -> None:
    from .channels_service import ChannelSetupError

    config = ConnectorConfig.from_mapping(current_app.config)
    token = (channel.credentials or {}).get("token", "")
    try:
        bot = get_me(token, config)
    except TelegramError as exc:
        raise ChannelSetupError(f"Telegram rejected the bot token: {exc.description}") from None
    secret = generate_secret_token()
    url = f"{current_app.config['PUBLIC_BASE_URL']}/webhooks/telegram/{channel.id}"
    try:
        set_webhook(token, url, secret, config, allowed_updates=allowed_updates(channel.settings))
    except TelegramError as exc:
        raise ChannelSetupError(f"Telegram refused the webhook {url}: {exc.description}") from None
    from sqlalchemy import select

    from .extensions import db

    bot_id = str(bot.get("id", ""))
    if db.session.scalar(select(Channel.id).where(Channel.type == "telegram", Channel.external_id == bot_id,
                                                  Channel.id != channel.id)) is not None:
        raise ChannelSetupError(f"the bot @{bot.get('username')} is already connected")
    channel.external_id = bot_id
    channel.name = channel.name if channel.name not in ("", "Telegram") else f"@{bot.get('username', '')}"
    channel.credentials = {**(channel.credentials or {}), "webhook_secret": secret}
    channel.webhook_state = {"url": url, "set_at": utcnow().isoformat(), "ok": True,
                             "bot_username": bot.get("username")}


def set_groups(channel: Channel, allowed: bool) -> None:
    """Answer in groups and channels (or stop): the setting, and the update kinds Telegram is asked for."""
    from .channels_service import ChannelSetupError

    settings = {**(channel.settings or {}), GROUPS_SETTING: allowed}
    creds = channel.credentials or {}
    url = (channel.webhook_state or {}).get("url") or \
        f"{current_app.config['PUBLIC_BASE_URL']}/webhooks/telegram/{channel.id}"
    try:
        set_webhook(creds.get("token", ""), url, creds.get("webhook_secret", ""),
                    ConnectorConfig.from_mapping(current_app.config), allowed_updates=allowed_updates(settings))
    except TelegramError as exc:
        raise ChannelSetupError(f"Telegram refused the change: {exc.description}") from None
    channel.settings = settings
