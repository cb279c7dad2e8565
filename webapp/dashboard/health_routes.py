"""The channel page's "Check again": ask the channel's API about the token and the webhook subscription now
(webapp/services/channel_health.py), then back to the page, which shows the stored result."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.services.channel_health import check_channel

from ..extensions import limiter
from ..models import Channel
from ..tenancy import get_scoped_or_404
from .access import owner_required
from .blueprint import bp


def _user_key() -> str:
    return f"channel-check:{current_user.get_id()}"


def summary(result: dict[str, Any], label: str) -> tuple[str, str]:
    """One line for the flash and its Bootstrap category: the most important finding first."""
    if result.get("error"):
        return _("Could not check %(channel)s right now; nothing was changed. Try again in a minute.",
                 channel=label), "warning"
    if result.get("token_ok") is False:
        return _("%(channel)s rejected the token: the channel needs to be reconnected.", channel=label), "danger"
    if not result.get("remote"):
        return _("Checked."), "success"
    if result.get("webhook_matches") is False or result.get("subscribed") is False:
        return _("Checked: the webhook subscription is missing or points elsewhere."), "warning"
    if result.get("token_ok") is None or result.get("subscribed") is None:
        return _("Checked, but not everything could be read; see below."), "warning"
    return _("Checked: the token is valid and the webhook subscription is in place."), "success"


@bp.post("/channels/<int:channel_id>/check")
@limiter.limit("12 per minute", key_func=_user_key)
@owner_required
def check_channel_health(channel_id: int):  # type: ignore[no-untyped-def]
    """Run the check (it calls the channel's API with the tenant's token: rate-limited per user)."""
    channel = get_scoped_or_404(Channel, channel_id)
    result = check_channel(channel)
    message, category = summary(result, channel.name or channel.type)
    flash(message, category)
    return redirect(url_for(".channel_detail", channel_id=channel.id)), 303
