"""Adding a channel to a tenant: one path for the CLI, the back-office and (later) OAuth onboarding."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from .extensions import db
from .models import CHANNEL_TYPES, Channel, Tenant
from .plans import within_limit

NEEDS_EXTERNAL_ID = {"instagram": "the Instagram professional account id (webhook entry.id)",
                     "whatsapp": "the WhatsApp phone_number_id"}
NEEDS_TOKEN = {"instagram", "whatsapp", "telegram"}


def _setup_hooks() -> dict[str, Callable[[Channel], None]]:
    """Per channel type, what connecting one involves beyond storing it."""
    from .telegram_setup import connect_telegram

    return {"telegram": connect_telegram}


class ChannelSetupError(ValueError):
    """The channel cannot be added as asked; the message says what to change."""


def add_channel(tenant: Tenant, channel_type: str, *, external_id: str | None = None, token: str | None = None,
                secret: str | None = None, name: str = "") -> Channel:
    if channel_type not in CHANNEL_TYPES:
        raise ChannelSetupError(f"unknown channel type {channel_type!r}; one of {', '.join(CHANNEL_TYPES)}")
    if channel_type in NEEDS_EXTERNAL_ID and not external_id:
        raise ChannelSetupError(f"--external-id is required for {channel_type}: "
                                f"{NEEDS_EXTERNAL_ID[channel_type]}")
    if channel_type in NEEDS_TOKEN and not token:
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
                      name=name or channel_type.capitalize(), settings={}, webhook_state={})
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
