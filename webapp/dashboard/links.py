"""Public URLs a tenant needs for a channel: the webhook Meta/Telegram calls, the widget snippet."""

from __future__ import annotations

from flask import current_app

from ..models import Channel

META_TYPES = {"instagram", "whatsapp"}


def webhook_url(channel: Channel) -> str:
    base = current_app.config["PUBLIC_BASE_URL"]
    if channel.type in META_TYPES:
        return f"{base}/webhooks/meta"
    if channel.type == "telegram":
        return f"{base}/webhooks/telegram/{channel.id}"
    return f"{base}/webchat/{channel.public_key}/messages"


def widget_snippet(channel: Channel) -> str | None:
    if channel.type != "webchat":
        return None
    base = current_app.config["PUBLIC_BASE_URL"]
    return f'<script src="{base}/webchat/widget.js" data-channel="{channel.public_key}" async></script>'
