"""`flask channel add`: the same channel service as the tenant's pages and /admin (plan limit, the type's
set-up), so a refusal here is the command's error with a non-zero exit."""

from __future__ import annotations

import click

from webapp.services.channels import (
    ChannelSetupError,
    add_channel,
    webchat_settings_from,
    webhook_url,
    widget_snippet,
)
from webapp.services.tenants import get_tenant

from .common import ChannelChoice, emit, fail


def register(cli: click.Group) -> None:
    @cli.group()
    def channel() -> None:
        """Channels."""

    @channel.command("add")
    @click.option("--tenant", "tenant_id", type=int, required=True)
    @click.option("--type", "channel_type", type=ChannelChoice(), required=True)
    @click.option("--external-id")
    @click.option("--token")
    @click.option("--secret")
    @click.option("--name", default="")
    @click.option("--origin", "origins", multiple=True,
                  help="webchat: a website that may show the chat (repeat; none: any website)")
    @click.option("--color", help="webchat: the widget's colour, #rrggbb")
    @click.option("--greeting", help="webchat: the first message a visitor sees")
    @click.option("--expires-in", "expires_in", type=click.IntRange(min=1),
                  help="instagram: the token's expires_in in seconds (from the long-lived token exchange), so "
                       "the token is refreshed before it expires")
    def channel_add(tenant_id: int, channel_type: str, external_id: str | None, token: str | None,
                    secret: str | None, name: str, origins: tuple[str, ...], color: str | None,
                    greeting: str | None, expires_in: int | None) -> None:
        tenant = get_tenant(tenant_id)
        if expires_in is not None and channel_type != "instagram":
            fail("--expires-in is for --type instagram (Instagram Login tokens expire and are refreshed)")
        webchat_options = bool(origins) or color is not None or greeting is not None
        if webchat_options and channel_type != "webchat":
            fail("--origin, --color and --greeting are for --type webchat")
        try:
            settings = webchat_settings_from(origins, color, greeting) if channel_type == "webchat" else None
            ch = add_channel(tenant, channel_type, external_id=external_id, token=token, secret=secret,
                             name=name, settings=settings, actor="cli", expires_in=expires_in)
        except ChannelSetupError as exc:
            fail(exc.message)
        emit({"id": ch.id, "tenant_id": ch.tenant_id, "type": ch.type, "external_id": ch.external_id,
              "status": ch.status, "webhook_url": webhook_url(ch), "public_key": ch.public_key,
              "widget_snippet": widget_snippet(ch), "webhook_state": ch.webhook_state, "settings": ch.settings,
              "token_expires_at": ch.token_expires_at.isoformat() if ch.token_expires_at else None})
