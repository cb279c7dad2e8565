"""The OAuth round trip shared by the Instagram and Facebook connect pages, on Authlib's Flask client.

A client is built per request from the app's configuration (every authorize and token URL is
configuration, so tests aim them at loopback fakes), not registered once at start-up. Authlib keeps the
`state` (with the redirect URI and what the person set out to do) in the session and the token request
is its own; Meta adds two quirks handled here: Instagram may wrap the token answer in ``{"data": [...]}``
and answers errors in its own shape (``error_type``/``error_message``), and its code may arrive with the
documented ``#_`` suffix. Meta documents no PKCE for these server-side flows, so `state` is the check.

Every way the round trip can fail becomes a :class:`ConnectFailed` the person can act on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from flask import current_app, redirect, request, session
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from connectors.channels.events import ConnectorConfig
from connectors.channels.meta_login import GraphCallFailed
from webapp.services.channels import ChannelSetupError

from .failures import ConnectFailed

log = logging.getLogger(__name__)


def connector_config() -> ConnectorConfig:
    """Someone is waiting on the page: one retry at most."""
    config = ConnectorConfig.from_mapping(current_app.config)
    return replace(config, max_attempts=min(config.max_attempts, 2))


def _token_answer(resp: requests.Response) -> requests.Response:
    """Bring Meta's token answers to the shape Authlib reads: the first item of Instagram's ``data`` list,
    and ``{"error", "error_description"}`` for Instagram's and the Graph API's error shapes."""
    try:
        data = resp.json()
    except ValueError:
        return resp
    if isinstance(data, dict) and isinstance(data.get("data"), list) and data["data"]:
        data = data["data"][0]
    if isinstance(data, dict) and ("error_message" in data or "error_type" in data):
        data = {"error": str(data.get("error_type") or "OAuthException"),
                "error_description": str(data.get("error_message") or "")}
    elif isinstance(data, dict) and isinstance(data.get("error"), dict):
        graph = data["error"]
        data = {"error": f"graph_{graph.get('code')}", "error_description": str(graph.get("message") or "")}
    if isinstance(data, dict) and data.get("access_token"):
        data.setdefault("token_type", "bearer")
    resp._content = json.dumps(data).encode()
    return resp


def _compliance(session_: Any) -> None:
    session_.register_compliance_hook("access_token_response", _token_answer)


def client(name: str, *, client_id: str, client_secret: str, authorize_url: str, token_url: str,
           scope: str | None = None) -> FlaskOAuth2App:
    """An Authlib Flask OAuth 2 client for one provider, from the configuration of this request's app.
    The secret goes in the form body (Meta reads it there); a slow Meta costs the page at most the
    connectors' timeout."""
    if not client_id or not client_secret:
        raise ConnectFailed(_("Connecting this kind of channel is not set up on this TemoWeb installation."),
                            _("Ask the TemoWeb team to configure the Meta app; meanwhile nothing was changed."),
                            503)
    kwargs: dict[str, Any] = {"token_endpoint_auth_method": "client_secret_post",
                              "default_timeout": current_app.config.get("CONNECTOR_TIMEOUT") or 10}
    if scope:
        kwargs["scope"] = scope
    return FlaskOAuth2App(FlaskIntegration(name), name, client_id=client_id, client_secret=client_secret,
                          authorize_url=authorize_url, access_token_url=token_url, client_kwargs=kwargs,
                          compliance_fix=_compliance)


def callback_url(endpoint: str) -> str:
    """Where Meta sends the person back: under PUBLIC_BASE_URL, which must match the app's settings."""
    from flask import url_for

    return current_app.config["PUBLIC_BASE_URL"] + url_for(endpoint)


def start(oauth: FlaskOAuth2App, redirect_uri: str, intent: Mapping[str, Any], **params: Any) -> Response:
    """Send the person to Meta's consent page; `intent` (e.g. the channel being reconnected) is kept with
    the state and comes back only with a callback that carries the same state."""
    rv = oauth.create_authorization_url(redirect_uri, **params)
    oauth.save_authorize_data(redirect_uri=redirect_uri, intent=dict(intent), **rv)
    return redirect(rv["url"])


def finish(oauth: FlaskOAuth2App) -> tuple[dict[str, Any], dict[str, Any]]:
    """(token answer, intent) for the callback this request is; raises ConnectFailed for a refusal, a
    state that does not match (forged, or the link opened twice), an expired or used code and a failed
    exchange. The state is spent either way."""
    args = request.args
    state = args.get("state") or ""
    data = oauth.framework.get_state_data(session, state) if state else None
    if state:
        oauth.framework.clear_state_data(session, state)
    if args.get("error"):
        if args.get("error") == "access_denied":
            raise ConnectFailed(_("You did not allow TemoWeb to use the account, so nothing was connected."),
                                _("Press Connect again and choose Allow: the bot needs these permissions to "
                                  "read and answer messages."))
        raise ConnectFailed(_("Meta did not connect the account: %(reason)s",
                              reason=(args.get("error_description") or args.get("error", ""))[:200]),
                            _("Try again; if it keeps happening, contact support."))
    if data is None:
        raise ConnectFailed(_("This connect link has expired or was already used."),
                            _("Start again from the Channels page: each connect link works once, in the "
                              "browser that started it."))
    code = (args.get("code") or "").removesuffix("#_")
    if not code:
        raise ConnectFailed(_("Meta sent you back without a sign-in code."),
                            _("Start again from the Channels page."))
    try:
        token = oauth.fetch_access_token(redirect_uri=data.get("redirect_uri"), code=code)
    except OAuthError as exc:
        raise exchange_refused(exc.description or exc.error or "") from None
    except (requests.RequestException, ValueError, TypeError) as exc:
        log.warning("%s token exchange failed: %s", oauth.name, type(exc).__name__)
        raise unreachable() from None
    if not token.get("access_token"):
        raise exchange_refused("no access_token in the answer")
    return dict(token), dict(data.get("intent") or {})


def unreachable() -> ConnectFailed:
    return ConnectFailed(_("Could not reach Meta right now; nothing was saved."),
                         _("Try again in a minute."), 503)


def exchange_refused(description: str) -> ConnectFailed:
    """The code exchange was refused: an old or reused code (say so: it is the person's to redo), or else
    Meta's own words."""
    lowered = description.lower()
    if "expired" in lowered or "been used" in lowered:
        return ConnectFailed(_("The sign-in took too long or its link was opened twice, so Meta refused it."),
                             _("Start again from the Channels page and finish within a few minutes."))
    log.warning("token exchange refused: %s", description[:200])
    return ConnectFailed(_("Meta refused to finish the sign-in: %(reason)s", reason=description[:200]),
                         _("Start again from the Channels page; if it keeps happening, contact support."), 502)


def missing_permissions(granted: Any, needed: tuple[str, ...]) -> None:
    """Refuse a login where the person unticked a permission the bot needs (Meta lets them)."""
    have = set(granted.split(",") if isinstance(granted, str) else granted or [])
    missing = [scope for scope in needed if scope not in have]
    if granted is not None and missing:
        raise ConnectFailed(_("These permissions were not granted: %(names)s.", names=", ".join(missing)),
                            _("Connect again and leave every permission ticked; the bot cannot read or "
                              "answer messages without them."), 403)


STEP_WORDS: dict[str, Callable[[], str]] = {
    "long_lived": lambda: _("exchange the sign-in for a lasting token"),
    "profile": lambda: _("read the account"),
    "subscribe": lambda: _("subscribe the account to messages"),
    "pages": lambda: _("list your Facebook Pages"),
}


def graph_failed(exc: GraphCallFailed) -> ConnectFailed:
    """A Graph call after the login failed: say which step, and whose move it is."""
    step = STEP_WORDS.get(exc.step, lambda: exc.step)()
    log.warning("connect step %s failed: %s", exc.step, exc)
    if exc.unreachable:
        return unreachable()
    if exc.code in (10, 200) or (isinstance(exc.code, int) and 200 <= exc.code < 300):
        return ConnectFailed(_("Meta refused to %(step)s: a permission is missing.", step=step),
                             _("Connect again and leave every permission ticked."), 403)
    if exc.token_invalid:
        return ConnectFailed(_("Meta did not accept the token while trying to %(step)s.", step=step),
                             _("Start again from the Channels page."), 502)
    return ConnectFailed(_("Meta refused to %(step)s (error %(code)s).", step=step, code=exc.code),
                         _("Try again; if it keeps happening, contact support."), 502)


def setup_refused(exc: ChannelSetupError) -> ConnectFailed:
    """The channel service said no (plan limit, account connected elsewhere, another account than the
    channel's): its message says what, the advice where to go."""
    return ConnectFailed(exc.message, _("Nothing was changed. See your channels and plan on the Channels "
                                        "page."), exc.status)
