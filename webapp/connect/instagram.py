"""Connect Instagram (Business Login for Instagram, PROTOCOLS.md §6), or reconnect an Instagram channel.

The round trip: our button → Instagram's consent page → back here with a code → Authlib exchanges it for a
short-lived token → a long-lived one (60 days) → the professional account id and username (`/me`: the id
webhooks name) → the account subscribed to messages and comments → the channel stored through the channel
service (plan limit, encryption, a record of who did it), its token's expiry written so the sweeper
refreshes it. Reconnecting is the same trip with the channel named: the token is replaced, everything else
kept.
"""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_login import current_user

from connectors.channels import meta_login
from webapp.models import Channel
from webapp.services.channels import connect_channel
from webapp.tenancy import current_tenant, get_scoped_or_404

from ..dashboard.access import tenant_member_required
from . import oauth
from .blueprint import bp
from .pages import check_room, reconnect_target, saved
from .registry import offers, reconnects


def _client() -> oauth.FlaskOAuth2App:
    config = current_app.config
    return oauth.client("instagram", client_id=config.get("INSTAGRAM_APP_ID", ""),
                        client_secret=config.get("INSTAGRAM_APP_SECRET", ""),
                        authorize_url=config["INSTAGRAM_AUTHORIZE_URL"], token_url=config["INSTAGRAM_TOKEN_URL"],
                        scope=",".join(meta_login.INSTAGRAM_SCOPES))


offers("instagram", "connect.instagram", lambda: _("Connect Instagram"),
       lambda: bool(current_app.config.get("INSTAGRAM_APP_ID") and current_app.config.get("INSTAGRAM_APP_SECRET")))


@reconnects
def _instagram_login(channel: Channel) -> str | None:
    if channel.type == "instagram" and (channel.credentials or {}).get("login") != "facebook":
        return url_for("connect.instagram", channel=channel.id)
    return None


@bp.get("/instagram")
@tenant_member_required
def instagram():  # type: ignore[no-untyped-def]
    target = reconnect_target("instagram")
    if target is None:
        check_room()
    return oauth.start(_client(), oauth.callback_url(".instagram_callback"),
                       {"channel": target.id if target else None})


@bp.get("/instagram/callback")
@tenant_member_required
def instagram_callback():  # type: ignore[no-untyped-def]
    token, intent = oauth.finish(_client())
    oauth.missing_permissions(token.get("permissions"), meta_login.INSTAGRAM_SCOPES)
    config = oauth.connector_config()
    try:
        grant = meta_login.instagram_long_lived(token["access_token"], current_app.config["INSTAGRAM_APP_SECRET"],
                                                config)
        account_id, username = meta_login.instagram_profile(grant.token, config)
        meta_login.subscribe_instagram(grant.token, config)
    except meta_login.GraphCallFailed as exc:
        raise oauth.graph_failed(exc) from None
    target = get_scoped_or_404(Channel, intent["channel"]) if intent.get("channel") else None
    return saved(lambda: connect_channel(
        current_tenant(), "instagram", external_id=account_id, token=grant.token, expires_in=grant.expires_in,
        name=f"@{username}" if username else "Instagram", actor=current_user.email,
        credentials={"login": "instagram"}, reconnect=target, subscribed=meta_login.INSTAGRAM_FIELDS))
