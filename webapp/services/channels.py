"""Adding a channel to a tenant: one path for the CLI, the back-office and (later) OAuth onboarding; and
connecting a Telegram bot by its token: check it (getMe), then point it at our webhook with a fresh secret
token that every update must echo back."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy import func, select

from connectors.channels.base import GROUPS_SETTING
from connectors.channels.events import ConnectorConfig
from connectors.channels.registry import UnknownConnectorError, connector_types, get_connector
from connectors.channels.telegram import TelegramError, allowed_updates, generate_secret_token, get_me, set_webhook
from webapp.extensions import db
from webapp.models import Channel, Tenant
from webapp.models.base import utcnow
from webapp.plans import within_limit


def _setup_hooks() -> dict[str, Callable[[Channel], None]]:
    """Per channel type, what connecting one involves beyond storing it."""
    return {"telegram": connect_telegram}


class ChannelSetupError(ValueError):
    """The channel cannot be added as asked; the message says what to change."""


def add_channel(tenant: Tenant, channel_type: str, *, external_id: str | None = None, token: str | None = None,
                secret: str | None = None, name: str = "") -> Channel:
    """Store a channel of a registered type, asking for what the type declares it needs (``needs``: a
    token, the account id its webhooks name), within the plan's channel limit; then the type's set-up."""
    try:
        connector = get_connector(channel_type)
    except UnknownConnectorError:
        raise ChannelSetupError(f"unknown channel type {channel_type!r}; one of {', '.join(connector_types())}"
                                ) from None
    needs = connector.needs
    if needs.external_id and not external_id:
        raise ChannelSetupError(f"--external-id is required for {channel_type}: {needs.external_id}")
    if needs.token and not token:
        raise ChannelSetupError(f"--token is required for {channel_type}")
    used = db.session.scalar(select(func.count()).select_from(Channel).where(Channel.tenant_id == tenant.id))
    if not within_limit(tenant, "channels", used or 0):
        raise ChannelSetupError(f"the tenant's plan allows {tenant.plan.limits.get('channels')} channel(s); "
                                "upgrade the plan or remove a channel")
    if external_id and db.session.scalar(select(Channel.id).where(
            Channel.type == channel_type, Channel.external_id == external_id)) is not None:
        raise ChannelSetupError(f"a {channel_type} channel with external id {external_id} is already connected")
    creds = {k: v for k, v in {"token": token, "secret": secret}.items() if v}
    channel = Channel(tenant_id=tenant.id, type=channel_type, external_id=external_id, credentials=creds,
                      name=name or connector.label, settings={}, webhook_state={})
    db.session.add(channel)
    db.session.flush()
    setup = _setup_hooks().get(channel_type)
    if setup is not None:  # e.g. Telegram: check the token, set the webhook
        try:
            setup(channel)
        except ChannelSetupError:
            db.session.rollback()
            raise
    db.session.commit()
    return channel


def connect_telegram(channel: Channel) -> None:
    config = ConnectorConfig.from_mapping(current_app.config)
    token = (channel.credentials or {}).get("token", "")
    try:
        bot = get_me(token, config)
    except TelegramError as exc:
        raise ChannelSetupError(f"Telegram rejected the bot token: {exc.description}") from None
    secret = generate_secret_token()
    url = webhook_url(channel)
    try:
        set_webhook(token, url, secret, config, allowed_updates=allowed_updates(channel.settings))
    except TelegramError as exc:
        raise ChannelSetupError(f"Telegram refused the webhook {url}: {exc.description}") from None
    from sqlalchemy import select


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
    settings = {**(channel.settings or {}), GROUPS_SETTING: allowed}
    creds = channel.credentials or {}
    url = (channel.webhook_state or {}).get("url") or webhook_url(channel)
    try:
        set_webhook(creds.get("token", ""), url, creds.get("webhook_secret", ""),
                    ConnectorConfig.from_mapping(current_app.config), allowed_updates=allowed_updates(settings))
    except TelegramError as exc:
        raise ChannelSetupError(f"Telegram refused the change: {exc.description}") from None
    channel.settings = settings


def webhook_url(channel: Channel) -> str:
    """Each connector declares where its channel calls us."""
    path = get_connector(channel.type).webhook_path
    return current_app.config["PUBLIC_BASE_URL"] + path.format(channel_id=channel.id, public_key=channel.public_key)


def widget_snippet(channel: Channel) -> str | None:
    """The `<script>` a website embeds for a web-chat channel (None for other channels)."""
    if channel.type != "webchat":
        return None
    base = current_app.config["PUBLIC_BASE_URL"]
    return f'<script src="{base}/webchat/widget.js" data-channel="{channel.public_key}" async></script>'
