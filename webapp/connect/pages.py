"""What every connect page does the same way: say a full plan before the person leaves for Meta, find the
channel a reconnect names, and store the result through the channel service, landing on the channel's
page (or on the failure page with the service's reason)."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from webapp.extensions import db
from webapp.models import Channel
from webapp.services.channels import ChannelSetupError, channel_room
from webapp.tenancy import current_tenant, get_scoped_or_404

from . import oauth
from .failures import ConnectFailed


def check_room() -> None:
    """Say a full plan before the person goes through Meta's pages, not after."""
    used, cap = channel_room(current_tenant())
    if cap is not None and used >= cap:
        raise ConnectFailed(_("Your plan allows %(count)s channel(s); remove a channel or upgrade the plan.",
                              count=cap), _("Nothing was changed. See your channels and plan on the Channels "
                                            "page."), 403)


def reconnect_target(*channel_types: str) -> Channel | None:
    """The channel named by ``?channel=`` (the tenant's own, of one of these types), for a reconnect."""
    raw = request.args.get("channel", "")
    if not raw:
        return None
    channel = get_scoped_or_404(Channel, int(raw) if raw.isdigit() else -1)
    if channel.type not in channel_types:
        raise ConnectFailed(_("That channel cannot be reconnected here."),
                            _("Open the channel's own page and use its Reconnect button."), 404)
    return channel


def saved(store: Callable[[], tuple[Channel, bool]]) -> Response:
    """Run the service's store step; land on the channel's page saying what happened."""
    try:
        channel, reconnected = store()
    except ChannelSetupError as exc:
        db.session.rollback()
        raise oauth.setup_refused(exc) from None
    flash(_("%(name)s is reconnected.", name=channel.name) if reconnected
          else _("%(name)s is connected.", name=channel.name), "success")
    return redirect(url_for("dashboard.channel_detail", channel_id=channel.id))
