"""Adding a channel to a tenant: one path for the tenant's pages, the CLI and the back-office (and later OAuth
onboarding), so the plan's channel limit and each type's set-up cannot be skipped by any of them; connecting a
Telegram bot by its token (check it with getMe, then point it at our webhook with a fresh secret token that
every update must echo back); and the website chat's settings (allowed sites, colour, greeting).

Messages of :class:`ChannelSetupError` are written for the person who asked: translated on a page, plain
English in the CLI (where there is no request to take a language from)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from flask import current_app, has_request_context
from flask_babel import gettext
from sqlalchemy import func, select

from connectors.channels.base import GROUPS_SETTING
from connectors.channels.events import ConnectorConfig
from connectors.channels.registry import UnknownConnectorError, connector_types, get_connector
from connectors.channels.telegram import (
    TelegramError,
    allowed_updates,
    bot_id,
    delete_webhook,
    generate_secret_token,
    get_me,
    set_webhook,
)
from webapp.extensions import db
from webapp.models import Channel, ChannelChange, Tenant
from webapp.models.base import utcnow
from webapp.plans import limit_of, within_limit

from . import audit
from .errors import Refused

log = logging.getLogger(__name__)

#: Web chat settings (in ``channel.settings``): the sites that may embed the widget (none: any site), the
#: widget's accent colour and the first message it shows a visitor.
ORIGINS_SETTING = "allowed_origins"
COLOR_SETTING = "color"
GREETING_SETTING = "greeting"
DEFAULT_COLOR = "#4f46e5"
MAX_ORIGINS = 50
MAX_GREETING = 500
_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN_RE = re.compile(rf"(https?)://({_LABEL}(?:\.{_LABEL})*)(?::(\d{{1,5}}))?")
#: A removed channel keeps its row (its conversations and history point at it) but no account, token or room
#: on the plan.
REMOVED = "removed"


def _(message: str, **params: Any) -> str:
    """gettext on a page (the reader's language); without a request (the CLI) the English text: the app's
    locale selector needs a request, and a command's output is read by whoever runs it, in English."""
    if has_request_context():
        return gettext(message, **params)
    return message % params if params else message


class ChannelSetupError(Refused, ValueError):
    """The channel cannot be added or changed as asked; the message says what to do (a form error on a
    page, a flash in /admin, the command's error in the CLI). ``extra["field"]``, when set, names the form
    field at fault (``token``, ``origins``...), so a page can show the message under it."""


def _setup_hooks() -> dict[str, Callable[[Channel], None]]:
    """Per channel type, what connecting one involves beyond storing it."""
    return {"telegram": connect_telegram}


def channel_room(tenant: Tenant) -> tuple[int, int | None]:
    """(channels the tenant has, the plan's limit or None): the Channels page shows it, `add_channel`
    enforces it."""
    used = db.session.scalar(select(func.count()).select_from(Channel).where(
        Channel.tenant_id == tenant.id, Channel.status != REMOVED))
    return used or 0, limit_of(tenant, "channels")


def _check_room(tenant: Tenant) -> None:
    """Refuse a channel beyond the plan's limit. The tenant row is locked first (PostgreSQL; `FOR NO KEY
    UPDATE`, which rows referencing the tenant do not wait for) so two adds at once cannot both see room."""
    db.session.execute(select(Tenant.id).where(Tenant.id == tenant.id).with_for_update(key_share=True))
    used, cap = channel_room(tenant)
    if not within_limit(tenant, "channels", used):
        raise ChannelSetupError(_("Your plan allows %(count)s channel(s); remove a channel or upgrade the plan.",
                                  count=cap), 403)


def record_change(channel: Channel, action: str, actor: str, detail: str = "") -> None:
    """Note who connected, reconnected or removed the channel (the caller commits), in the channel's history
    and, in the same transaction, in the tenant's audit log ("staff:<email>" is staff in /admin)."""
    db.session.add(ChannelChange(tenant_id=channel.tenant_id, channel_id=channel.id, action=action,
                                 actor=(actor or "")[:255], detail=detail[:255]))
    staff = (actor or "").startswith("staff:")
    audit.record(f"channel_{action}", tenant_id=channel.tenant_id,
                 actor=(actor or "").removeprefix("staff:") or None, staff=staff,
                 target=f"{channel.type} #{channel.id} {channel.name or ''}".strip(),
                 details={"channel_id": channel.id, "type": channel.type, **({"detail": detail} if detail else {})})


def add_channel(tenant: Tenant, channel_type: str, *, external_id: str | None = None, token: str | None = None,
                secret: str | None = None, name: str = "", settings: Mapping[str, Any] | None = None,
                status: str | None = None, actor: str = "", credentials: Mapping[str, Any] | None = None,
                expires_in: int | None = None, webhook_state: Mapping[str, Any] | None = None) -> Channel:
    """Store a channel of a registered type, asking for what the type declares it needs (``needs``: a
    token, the account id its webhooks name), within the plan's channel limit; then the type's set-up.
    Nothing is stored when any step refuses."""
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
    try:
        _check_room(tenant)
        if external_id and db.session.scalar(select(Channel.id).where(
                Channel.type == channel_type, Channel.external_id == external_id)) is not None:
            raise ChannelSetupError(_("A %(type)s channel with account id %(id)s is already connected.",
                                      type=channel_type, id=external_id), 409)
        creds = {**(credentials or {}), **{k: v for k, v in {"token": token, "secret": secret}.items() if v}}
        channel = Channel(tenant_id=tenant.id, type=channel_type, external_id=external_id, credentials=creds,
                          name=name or connector.label, settings=dict(settings or {}),
                          webhook_state=dict(webhook_state or {}),
                          token_expires_at=_expiry(expires_in))
        if status:
            channel.status = status
        db.session.add(channel)
        db.session.flush()
        setup = _setup_hooks().get(channel_type)
        if setup is not None:  # e.g. Telegram: check the token, set the webhook
            setup(channel)
        record_change(channel, "connected", actor)
    except ChannelSetupError:
        db.session.rollback()
        raise
    db.session.commit()
    return channel


def _expiry(expires_in: int | None) -> Any:
    return utcnow() + timedelta(seconds=expires_in) if expires_in else None


def connect_channel(tenant: Tenant, channel_type: str, *, external_id: str, token: str, name: str, actor: str,
                    expires_in: int | None = None, credentials: Mapping[str, Any] | None = None,
                    settings: Mapping[str, Any] | None = None, reconnect: Channel | None = None,
                    subscribed: Iterable[str] = ()) -> tuple[Channel, bool]:
    """Store what a connect page brought back: a new channel (within the plan's limit), or a new token for
    the tenant's channel of that account — a reconnect, which keeps the channel, its conversations and its
    settings. (channel, reconnected). ``reconnect`` is the channel the person set out to reconnect: logging
    in as another account is refused rather than silently swapping the channel's account. ``subscribed``:
    the webhook fields the page subscribed the account to (the checklist's webhook step reads it)."""
    hook = {"ok": True, "subscribed": list(subscribed), "set_at": utcnow().isoformat()} if subscribed else None
    if reconnect is not None and (reconnect.type != channel_type or reconnect.external_id != external_id):
        raise ChannelSetupError(_("You signed in as %(name)s, but this channel belongs to another account; sign "
                                  "in with the channel's own account, or connect %(name)s as a new channel.",
                                  name=name), 409)
    existing = db.session.scalar(select(Channel).where(Channel.type == channel_type,
                                                       Channel.external_id == external_id))
    if existing is not None and existing.tenant_id != tenant.id:
        raise ChannelSetupError(_("%(name)s is already connected to another TemoWeb account; remove it there "
                                  "first.", name=name), 409)
    if existing is None:
        return add_channel(tenant, channel_type, external_id=external_id, token=token, name=name,
                           settings=settings, actor=actor, credentials=credentials, expires_in=expires_in,
                           webhook_state=hook), False
    creds = {**(existing.credentials or {}), **(credentials or {}), "token": token}
    creds.pop("access_token", None)  # one key holds the token from now on
    existing.credentials = creds
    existing.token_expires_at = _expiry(expires_in)
    existing.settings = {**(existing.settings or {}), **(settings or {})}
    existing.status, existing.status_reason = "active", None
    existing.name = name or existing.name
    if hook:
        existing.webhook_state = {**(existing.webhook_state or {}), **hook}
    record_change(existing, "reconnected", actor)
    db.session.commit()
    return existing, True


def remove_channel(channel: Channel, actor: str) -> None:
    """Disconnect a channel: its token and account id are dropped (webhooks for that account are no longer
    routed; it can be connected again, here or elsewhere), its row, conversations and history stay."""
    if channel.status == REMOVED:
        return
    token = (channel.credentials or {}).get("token", "")
    if channel.type == "telegram" and token:  # best effort: a bot pointed at us after removal is refused anyway
        try:
            delete_webhook(token, _interactive_config())
        except TelegramError as exc:
            _log_failure("deleteWebhook", token, exc)
    channel.status, channel.status_reason = REMOVED, None
    channel.credentials, channel.token_expires_at = {}, None
    detail = f"{channel.type}:{channel.external_id or ''}"
    channel.external_id = None
    record_change(channel, "removed", actor, detail)
    db.session.commit()


# --- Telegram ----------------------------------------------------------------------------------------

def _interactive_config() -> ConnectorConfig:
    """Someone is waiting on the page: one retry at most, not the worker's four with backoff."""
    config = ConnectorConfig.from_mapping(current_app.config)
    return replace(config, max_attempts=min(config.max_attempts, 2))


def _unreachable(exc: TelegramError) -> bool:
    """No answer, a timeout, rate limiting or a server error: Telegram's trouble (or ours), not the token's."""
    return exc.error_code is None or exc.error_code == 429 or exc.error_code >= 500


def _log_failure(step: str, token: str, exc: TelegramError) -> None:
    """What the operators need (the step, the bot's public id, Telegram's code); never the token."""
    log.warning("telegram %s for bot %s failed: %s", step, bot_id(token) if token else "?",
                exc.error_code if exc.error_code is not None else "no answer")


def connect_telegram(channel: Channel) -> None:
    """Check the token (getMe), refuse a bot another channel already has, then set the webhook. The
    duplicate check comes before setWebhook: pointing an already connected bot at a new secret would cut
    off the channel that has it."""
    config = _interactive_config()
    token = (channel.credentials or {}).get("token", "")
    try:
        bot = get_me(token, config)
    except TelegramError as exc:
        _log_failure("getMe", token, exc)
        if exc.token_invalid:
            raise ChannelSetupError(_("Telegram did not accept this bot token; copy it again from @BotFather."),
                                    400, field="token") from None
        if _unreachable(exc):
            raise ChannelSetupError(_("Could not reach Telegram right now; nothing was saved, try again in a "
                                      "minute."), 503) from None
        raise ChannelSetupError(_("Telegram refused to check this bot token (error %(code)s); nothing was saved.",
                                  code=exc.error_code), 400, field="token") from None
    found_id = str(bot.get("id", ""))
    if db.session.scalar(select(Channel.id).where(Channel.type == "telegram", Channel.external_id == found_id,
                                                  Channel.id != channel.id)) is not None:
        raise ChannelSetupError(_("The bot @%(username)s is already connected.",
                                  username=bot.get("username", "")), 409, field="token")
    secret = generate_secret_token()
    url = webhook_url(channel)
    try:
        set_webhook(token, url, secret, config, allowed_updates=allowed_updates(channel.settings))
    except TelegramError as exc:
        _log_failure("setWebhook", token, exc)
        if _unreachable(exc):
            raise ChannelSetupError(_("Could not reach Telegram right now; nothing was saved, try again in a "
                                      "minute."), 503) from None
        raise ChannelSetupError(_("Telegram refused the webhook address %(url)s: %(reason)s",
                                  url=url, reason=exc.description), 400) from None
    channel.external_id = found_id
    channel.name = channel.name if channel.name not in ("", "Telegram") else f"@{bot.get('username', '')}"
    channel.credentials = {**(channel.credentials or {}), "webhook_secret": secret}
    channel.webhook_state = {"url": url, "set_at": utcnow().isoformat(), "ok": True,
                             "bot_username": bot.get("username")}


def reconnect_telegram(channel: Channel, token: str, actor: str) -> None:
    """A new token for the channel's bot (after @BotFather's /revoke, say): checked, the webhook set again
    with a fresh secret, the channel active again with its history. Another bot's token is refused: that
    would be a new channel."""
    previous = dict(channel.credentials or {})
    known_id = channel.external_id
    channel.credentials = {**previous, "token": token}
    try:
        bot_owner = bot_id(token)
        if known_id and bot_owner != known_id:
            raise ChannelSetupError(_("This token belongs to another bot; paste the token of %(name)s, or "
                                      "connect the other bot as a new channel.", name=channel.name), 409,
                                    field="token")
        connect_telegram(channel)
    except ChannelSetupError:
        db.session.rollback()
        raise
    channel.status, channel.status_reason = "active", None
    record_change(channel, "reconnected", actor)
    db.session.commit()


def set_groups(channel: Channel, allowed: bool) -> None:
    """Answer in groups and channels (or stop): the setting, and the update kinds Telegram is asked for."""
    settings = {**(channel.settings or {}), GROUPS_SETTING: allowed}
    creds = channel.credentials or {}
    url = (channel.webhook_state or {}).get("url") or webhook_url(channel)
    token = creds.get("token", "")
    try:
        set_webhook(token, url, creds.get("webhook_secret", ""), _interactive_config(),
                    allowed_updates=allowed_updates(settings))
    except TelegramError as exc:
        _log_failure("setWebhook", token, exc)
        if exc.token_invalid:
            raise ChannelSetupError(_("Telegram no longer accepts this bot's token; connect the bot again."),
                                    400) from None
        if _unreachable(exc):
            raise ChannelSetupError(_("Could not reach Telegram right now; nothing was changed, try again in a "
                                      "minute."), 503) from None
        raise ChannelSetupError(_("Telegram refused the change: %(reason)s", reason=exc.description),
                                400) from None
    channel.settings = settings


def webhook_url(channel: Channel) -> str:
    """Each connector declares where its channel calls us."""
    path = get_connector(channel.type).webhook_path
    return current_app.config["PUBLIC_BASE_URL"] + path.format(channel_id=channel.id, public_key=channel.public_key)


# --- website chat ------------------------------------------------------------------------------------

def widget_snippet(channel: Channel) -> str | None:
    """The `<script>` a website embeds for a web-chat channel (None for other channels)."""
    if channel.type != "webchat":
        return None
    base = current_app.config["PUBLIC_BASE_URL"]
    return f'<script src="{base}/webchat/widget.js" data-channel="{channel.public_key}" async></script>'


def parse_origin(text: str) -> str:
    """One site as browsers name it in the `Origin` header (`https://shop.example.com`, lower case, no path;
    a trailing slash is forgiven), or ChannelSetupError saying how to write it."""
    value = text.strip().rstrip("/").lower()
    if value == "*":
        return value
    match = _ORIGIN_RE.fullmatch(value) if len(value) <= 255 else None
    if match is None or (match.group(3) and not 0 < int(match.group(3)) <= 65535):
        raise ChannelSetupError(_("%(origin)s is not a website address; write it like https://shop.example.com "
                                  "(no path).", origin=text.strip()[:100]), field="origins")
    scheme, host, port = match.groups()
    if port and int(port) == {"http": 80, "https": 443}[scheme]:
        return f"{scheme}://{host}"  # browsers leave the default port out of Origin
    return value


def parse_origins(lines: Iterable[str]) -> list[str]:
    """The allowed sites from a list (one per line on the page); blank lines skipped, duplicates dropped."""
    origins: list[str] = []
    for line in lines:
        if line.strip():
            origin = parse_origin(line)
            if origin not in origins:
                origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise ChannelSetupError(_("At most %(count)s websites can be listed.", count=MAX_ORIGINS), field="origins")
    return origins


def parse_color(text: str | None) -> str:
    """`#rrggbb` (what an `<input type=color>` sends); empty means the default colour."""
    value = (text or "").strip()
    if not value:
        return DEFAULT_COLOR
    if not _COLOR_RE.fullmatch(value):
        raise ChannelSetupError(_("A colour looks like #4f46e5."), field="color")
    return value.lower()


def parse_greeting(text: str | None) -> str:
    value = (text or "").strip()
    if len(value) > MAX_GREETING:
        raise ChannelSetupError(_("The greeting may be at most %(count)s characters.", count=MAX_GREETING),
                                field="greeting")
    if "\x00" in value:
        raise ChannelSetupError(_("The greeting contains a character that cannot be stored."), field="greeting")
    return value


def webchat_settings(channel: Channel) -> dict[str, Any]:
    """The widget's settings with their defaults: what the page's form shows and the widget's config serves."""
    settings = channel.settings or {}
    origins = settings.get(ORIGINS_SETTING)
    color = settings.get(COLOR_SETTING)
    return {ORIGINS_SETTING: [o for o in origins if isinstance(o, str)] if isinstance(origins, list) else [],
            COLOR_SETTING: color if isinstance(color, str) and _COLOR_RE.fullmatch(color) else DEFAULT_COLOR,
            GREETING_SETTING: settings.get(GREETING_SETTING) if isinstance(settings.get(GREETING_SETTING), str)
            else ""}


def webchat_settings_from(origins: Iterable[str], color: str | None, greeting: str | None) -> dict[str, Any]:
    """Checked web chat settings from what a person typed (ChannelSetupError names the first problem)."""
    return {ORIGINS_SETTING: parse_origins(origins), COLOR_SETTING: parse_color(color),
            GREETING_SETTING: parse_greeting(greeting)}


def update_webchat(channel: Channel, *, origins: Iterable[str], color: str | None, greeting: str | None) -> None:
    """Replace a web chat's allowed sites, colour and greeting (the caller commits)."""
    if channel.type != "webchat":
        raise ChannelSetupError(_("Only a website chat has these settings."))
    channel.settings = {**(channel.settings or {}), **webchat_settings_from(origins, color, greeting)}
