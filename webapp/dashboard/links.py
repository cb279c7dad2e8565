"""Public URLs a tenant needs for a channel: the webhook Meta/Telegram calls, the widget snippet."""

from __future__ import annotations

from flask import current_app

from ..models import Channel


def webhook_url(channel: Channel) -> str:
    """Each connector declares where its channel calls us."""
    from connectors.channels.registry import get_connector

    path = get_connector(channel.type).webhook_path  # type: ignore[attr-defined]
    return current_app.config["PUBLIC_BASE_URL"] + path.format(channel_id=channel.id, public_key=channel.public_key)


def widget_snippet(channel: Channel) -> str | None:
    if channel.type != "webchat":
        return None
    base = current_app.config["PUBLIC_BASE_URL"]
    return f'<script src="{base}/webchat/widget.js" data-channel="{channel.public_key}" async></script>'
