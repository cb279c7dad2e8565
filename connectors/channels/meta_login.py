"""The Graph calls that follow a Meta login (PROTOCOLS.md §6): what the connect pages need after Authlib has
exchanged the code for a first token. HTTP and parsing only; which channel is stored is the service's job.

- Business Login for Instagram: the short-lived token → a long-lived one (``ig_exchange_token``, 60 days),
  the professional account (``/me?fields=user_id,username``: ``user_id`` is the id webhooks name, not the
  app-scoped id the token answer carries) and the webhook subscription (``/me/subscribed_apps``).
- Facebook Login for Business: the user token → a long-lived one (``fb_exchange_token``), the Pages the
  person manages with their linked Instagram accounts (``/me/accounts``; each Page's token), and each chosen
  Page's subscription (``/<page>/subscribed_apps`` with the Page token).

Every failure is a :class:`GraphCallFailed` naming the step, Meta's error code and whether the token itself
was refused (190) or Meta could not be reached; tokens are masked out of every message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import ConnectorConfig
from .http import HttpResult, request
from .meta import bearer, graph_error_result

#: Webhook fields a connected account is subscribed to (PROTOCOLS.md §2, §3; Messenger's own list).
INSTAGRAM_FIELDS = ("messages", "messaging_postbacks", "messaging_seen", "messaging_referral", "comments",
                    "live_comments")
PAGE_FIELDS = ("messages", "messaging_postbacks", "message_echoes", "messaging_referrals", "feed")
#: Permissions without which the bot cannot do its job (Business Login for Instagram scope values).
INSTAGRAM_SCOPES = ("instagram_business_basic", "instagram_business_manage_messages",
                    "instagram_business_manage_comments")
#: Facebook Login (classic ``scope``; with Login for Business the configuration id carries them).
FACEBOOK_SCOPES = ("pages_show_list", "pages_manage_metadata", "pages_messaging", "pages_read_engagement",
                   "instagram_basic", "instagram_manage_messages", "instagram_manage_comments",
                   "business_management")


class GraphCallFailed(Exception):
    """A Graph call after the login did not give what was asked; ``step`` names it (``long_lived``,
    ``profile``, ``subscribe``, ``pages``), ``token_invalid`` says Meta refused the token (code 190),
    ``unreachable`` that no answer, a 5xx or throttling got in the way (worth trying again)."""

    def __init__(self, step: str, result: HttpResult | None, secrets: tuple[str, ...] = (), *,
                 detail: str | None = None) -> None:
        failure = graph_error_result(result, secrets) if result is not None else None
        self.step = step
        self.code = failure.error_code if failure else None
        self.token_invalid = bool(failure and failure.token_invalid)
        self.unreachable = bool(result is not None and (result.transient or result.status_code is None))
        super().__init__(f"{step}: {detail or (failure.error if failure else 'unexpected answer')}")


@dataclass(frozen=True)
class Grant:
    """A token and its lifetime in seconds (None: Meta gave none, e.g. a Page token that does not expire)."""

    token: str
    expires_in: int | None


@dataclass(frozen=True)
class Page:
    """A Facebook Page the person manages, its Page token and its linked Instagram professional account."""

    id: str
    name: str
    token: str
    instagram_id: str | None
    instagram_username: str | None


def _base(host: str, config: ConnectorConfig) -> str:
    return f"{host.rstrip('/')}/{config.graph_version}"


def _get(step: str, url: str, token: str, config: ConnectorConfig, params: dict[str, Any] | None = None,
         *, token_in_query: bool = False) -> dict[str, Any]:
    query = dict(params or {})
    if token_in_query:
        query["access_token"] = token
    result = request("GET", url, config=config, params=query, secrets=[token],
                     headers=None if token_in_query else bearer(token))
    if not result.ok or not isinstance(result.data, dict):
        raise GraphCallFailed(step, result, (token,))
    return result.data


def _grant(step: str, data: dict[str, Any], secrets: tuple[str, ...]) -> Grant:
    token, expires_in = data.get("access_token"), data.get("expires_in")
    if not isinstance(token, str) or not token:
        raise GraphCallFailed(step, None, secrets, detail="answer without access_token")
    return Grant(token, int(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else None)


def instagram_long_lived(short_token: str, app_secret: str, config: ConnectorConfig) -> Grant:
    """``GET graph.instagram.com/access_token?grant_type=ig_exchange_token`` (server-side only: it carries
    the app secret)."""
    url = f"{config.instagram_graph_url.rstrip('/')}/access_token"
    data = _get("long_lived", url, short_token, config, {"grant_type": "ig_exchange_token",
                                                          "client_secret": app_secret}, token_in_query=True)
    return _grant("long_lived", data, (short_token, app_secret))


def instagram_profile(token: str, config: ConnectorConfig) -> tuple[str, str]:
    """(professional account id, username) of the account the token belongs to."""
    data = _get("profile", f"{_base(config.instagram_graph_url, config)}/me", token, config,
                {"fields": "user_id,username"})
    account = data.get("user_id") or data.get("id")
    if not account:
        raise GraphCallFailed("profile", None, (token,), detail="no user_id in /me")
    return str(account), str(data.get("username") or "")


def subscribe(host: str, object_id: str, token: str, fields: tuple[str, ...], config: ConnectorConfig,
              *, step: str = "subscribe") -> None:
    """``POST /<id>/subscribed_apps?subscribed_fields=…`` → ``{"success": true}``."""
    url = f"{_base(host, config)}/{object_id}/subscribed_apps"
    result = request("POST", url, config=config, params={"subscribed_fields": ",".join(fields)},
                     headers=bearer(token), secrets=[token])
    if not result.ok or not (isinstance(result.data, dict) and result.data.get("success")):
        raise GraphCallFailed(step, result, (token,))


def subscribe_instagram(token: str, config: ConnectorConfig) -> None:
    subscribe(config.instagram_graph_url, "me", token, INSTAGRAM_FIELDS, config)


def facebook_long_lived(user_token: str, app_id: str, app_secret: str, config: ConnectorConfig) -> Grant:
    """``GET /oauth/access_token?grant_type=fb_exchange_token``: a ~60-day user token; Page tokens read
    with it do not expire (PROTOCOLS.md §6)."""
    url = f"{_base(config.meta_graph_url, config)}/oauth/access_token"
    params = {"grant_type": "fb_exchange_token", "client_id": app_id, "client_secret": app_secret,
              "fb_exchange_token": user_token}
    result = request("GET", url, config=config, params=params, secrets=[user_token, app_secret])
    if not result.ok or not isinstance(result.data, dict):
        raise GraphCallFailed("long_lived", result, (user_token, app_secret))
    return _grant("long_lived", result.data, (user_token, app_secret))


def facebook_pages(user_token: str, config: ConnectorConfig) -> list[Page]:
    """The Pages the person manages (the first 100), each with its token and linked Instagram account."""
    data = _get("pages", f"{_base(config.meta_graph_url, config)}/me/accounts", user_token, config,
                {"fields": "id,name,access_token,instagram_business_account{id,username}", "limit": 100})
    pages = []
    for item in data.get("data") or []:
        if not isinstance(item, dict) or not item.get("id") or not item.get("access_token"):
            continue
        linked = item.get("instagram_business_account")
        linked = linked if isinstance(linked, dict) and linked.get("id") else {}
        pages.append(Page(id=str(item["id"]), name=str(item.get("name") or item["id"]),
                          token=str(item["access_token"]),
                          instagram_id=str(linked["id"]) if linked else None,
                          instagram_username=str(linked.get("username") or "") or None))
    return pages


def subscribe_page(page: Page, config: ConnectorConfig) -> None:
    subscribe(config.meta_graph_url, page.id, page.token, PAGE_FIELDS, config)
