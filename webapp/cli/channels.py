"""`flask channel add`."""

from __future__ import annotations

import click

from webapp.services.channels import ChannelSetupError, add_channel, webhook_url, widget_snippet
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
    def channel_add(tenant_id: int, channel_type: str, external_id: str | None, token: str | None,
                    secret: str | None, name: str) -> None:
        tenant = get_tenant(tenant_id)
        try:
            ch = add_channel(tenant, channel_type, external_id=external_id, token=token, secret=secret,
                             name=name)
        except ChannelSetupError as exc:
            fail(str(exc))
        emit({"id": ch.id, "tenant_id": ch.tenant_id, "type": ch.type, "external_id": ch.external_id,
              "status": ch.status, "webhook_url": webhook_url(ch), "public_key": ch.public_key,
              "widget_snippet": widget_snippet(ch), "webhook_state": ch.webhook_state})
