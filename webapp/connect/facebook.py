"""Connect Messenger and/or Instagram through a Facebook Page (Facebook Login for Business, PROTOCOLS.md §6).

After the login: the user token is made long-lived (Page tokens read with it do not expire), the Pages the
person manages are listed with their linked Instagram accounts, and the person picks what to connect —
Messenger for a Page, the Page's Instagram account, or both. Each chosen Page is subscribed to messages with
its own token and each channel stored through the channel service. Between the list and the pick the
long-lived user token waits in the session, encrypted with the credentials key, for at most PICK_WITHIN
(the Pages are listed again with it: a list of Pages with their tokens would not fit in a cookie).
Reconnecting (``?channel=``) skips the pick: the channel's own Page is found and its token replaced.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from connectors.channels import meta_login
from connectors.channels.meta_login import Page
from webapp.crypto import CredentialsError, decrypt_json, encrypt_json
from webapp.models import Channel
from webapp.services.channels import ChannelSetupError, connect_channel
from webapp.tenancy import current_tenant, get_scoped_or_404

from ..dashboard.access import tenant_member_required
from . import oauth
from .blueprint import bp
from .failures import ConnectFailed
from .pages import check_room, reconnect_target, saved
from .registry import offers, reconnects

PICK_WITHIN = 15 * 60  # seconds the listed Pages stay pickable
_PAGES_KEY = "connect_facebook_pages"


def _client() -> oauth.FlaskOAuth2App:
    config = current_app.config
    version = config["META_GRAPH_VERSION"]
    scope = None if config.get("FACEBOOK_LOGIN_CONFIG_ID") else ",".join(meta_login.FACEBOOK_SCOPES)
    return oauth.client("facebook", client_id=config.get("META_APP_ID", ""),
                        client_secret=config.get("META_APP_SECRET", ""),
                        authorize_url=f"{config['FACEBOOK_DIALOG_URL'].rstrip('/')}/{version}/dialog/oauth",
                        token_url=f"{config['META_GRAPH_URL'].rstrip('/')}/{version}/oauth/access_token",
                        scope=scope)


offers("messenger", "connect.facebook", lambda: _("Connect a Facebook Page (Messenger, Instagram)"),
       lambda: bool(current_app.config.get("META_APP_ID") and current_app.config.get("META_APP_SECRET")))


@reconnects
def _page_token(channel: Channel) -> str | None:
    if channel.type == "messenger" or (channel.type == "instagram"
                                       and (channel.credentials or {}).get("login") == "facebook"):
        return url_for("connect.facebook", channel=channel.id)
    return None


@bp.get("/facebook")
@tenant_member_required
def facebook():  # type: ignore[no-untyped-def]
    target = reconnect_target("messenger", "instagram")
    if target is None:
        check_room()
    config_id = current_app.config.get("FACEBOOK_LOGIN_CONFIG_ID")
    return oauth.start(_client(), oauth.callback_url(".facebook_callback"),
                       {"channel": target.id if target else None, "for": request.args.get("for", "")},
                       **({"config_id": config_id} if config_id else {}))


@bp.get("/facebook/callback")
@tenant_member_required
def facebook_callback():  # type: ignore[no-untyped-def]
    token, intent = oauth.finish(_client())
    config = oauth.connector_config()
    app_config = current_app.config
    try:
        grant = meta_login.facebook_long_lived(token["access_token"], app_config["META_APP_ID"],
                                               app_config["META_APP_SECRET"], config)
        pages = meta_login.facebook_pages(grant.token, config)
    except meta_login.GraphCallFailed as exc:
        raise oauth.graph_failed(exc) from None
    if not pages:
        raise ConnectFailed(_("Your Facebook account gave TemoWeb no Pages to connect."),
                            _("Connect again and, in Facebook's window, choose the Page (and its Instagram "
                              "account) the bot should answer for. You need a role on that Page."), 400)
    if intent.get("channel"):
        return _reconnect(get_scoped_or_404(Channel, intent["channel"]), pages)
    if intent.get("for") == "instagram" and not any(p.instagram_id for p in pages):
        raise ConnectFailed(_("None of your Facebook Pages has an Instagram professional account linked."),
                            _("In the Instagram app, switch the account to Business or Creator and link it to "
                              "your Facebook Page (Settings → Account type and tools), then connect again — "
                              "or use \"Connect Instagram\" to sign in with Instagram directly."), 400)
    session[_PAGES_KEY] = encrypt_json({"at": time.time(), "token": grant.token})
    return render_template("connect/facebook_pick.html", pages=pages)


def _listed_pages() -> list[Page]:
    try:
        stored = decrypt_json(session.get(_PAGES_KEY) or "")
    except (CredentialsError, ValueError, TypeError):
        stored = {}
    if not stored or time.time() - float(stored.get("at", 0)) > PICK_WITHIN:
        raise ConnectFailed(_("The list of your Pages has expired."),
                            _("Start again from the Channels page."))
    try:
        return meta_login.facebook_pages(stored["token"], oauth.connector_config())
    except meta_login.GraphCallFailed as exc:
        raise oauth.graph_failed(exc) from None


@bp.post("/facebook/pick")
@tenant_member_required
def facebook_pick():  # type: ignore[no-untyped-def]
    pages = _listed_pages()
    chosen = set(request.form.getlist("connect"))
    if not chosen:
        flash(_("Choose at least one Page or Instagram account to connect."), "warning")
        return render_template("connect/facebook_pick.html", pages=pages), 400
    config = oauth.connector_config()
    connected: list[Channel] = []
    problems: list[str] = []
    for page in pages:
        wanted = [kind for kind in ("messenger", "instagram") if f"{kind}:{page.id}" in chosen
                  and (kind == "messenger" or page.instagram_id)]
        if not wanted:
            continue
        try:
            meta_login.subscribe_page(page, config)
        except meta_login.GraphCallFailed as exc:
            problems.append(f"{page.name}: {oauth.graph_failed(exc).message}")
            continue
        for kind in wanted:
            try:
                channel, _again = _store(kind, page)
            except ChannelSetupError as exc:
                problems.append(f"{page.name}: {exc.message}")
            else:
                connected.append(channel)
    session.pop(_PAGES_KEY, None)
    for problem in problems:
        flash(problem, "danger")
    if connected:
        flash(_("Connected: %(names)s.", names=", ".join(c.name for c in connected)), "success")
    if len(connected) == 1:
        return redirect(url_for("dashboard.channel_detail", channel_id=connected[0].id))
    return redirect(url_for("dashboard.channels"))


def _store(kind: str, page: Page, reconnect: Channel | None = None) -> tuple[Channel, bool]:
    if kind == "messenger":
        return connect_channel(current_tenant(), "messenger", external_id=page.id, token=page.token,
                               name=page.name, actor=current_user.email, credentials={"login": "facebook"},
                               reconnect=reconnect, subscribed=meta_login.PAGE_FIELDS)
    assert page.instagram_id is not None
    return connect_channel(current_tenant(), "instagram", external_id=page.instagram_id, token=page.token,
                           name=f"@{page.instagram_username}" if page.instagram_username else page.name,
                           actor=current_user.email, credentials={"login": "facebook", "page_id": page.id},
                           reconnect=reconnect, subscribed=meta_login.PAGE_FIELDS)


def _reconnect(channel: Channel, pages: list[Page]) -> Any:
    """Find the channel's Page (Messenger: the Page itself; Instagram: the Page it is linked to), subscribe
    it again and replace the token."""
    match = next((p for p in pages if (p.id if channel.type == "messenger" else p.instagram_id)
                  == channel.external_id), None)
    if match is None:
        raise ConnectFailed(_("The Facebook account you signed in with did not give access to %(name)s.",
                              name=channel.name),
                            _("Connect again with an account that has a role on the Page, and choose that Page "
                              "in Facebook's window."), 409)
    try:
        meta_login.subscribe_page(match, oauth.connector_config())
    except meta_login.GraphCallFailed as exc:
        raise oauth.graph_failed(exc) from None
    return saved(lambda: _store(channel.type, match, reconnect=channel))
