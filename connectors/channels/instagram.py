"""Instagram professional accounts: Direct messages and comments (Instagram Login, graph.instagram.com).

Inbound: ``entry[].messaging[]`` (DMs) and ``entry[].changes[]`` with field ``comments`` /
``live_comments``. Echoes of our own sends, reads, reactions, deleted and unsupported messages are
dropped here, as are our own comment replies (``from.id == entry.id``): otherwise the bot answers
itself. ``standby[]`` (a thread another app owns under the handover protocol) is left alone.
Outbound: DM, public comment reply and private reply (one per comment, so a read timeout is never
retried blindly).

Credentials: ``{"access_token": str, "account_id": str (IG pro account id, rate-limit key),
"login": "instagram" | "facebook"}``. ``login="facebook"`` (Messenger API for Instagram with a Page
token) uses ``config.meta_graph_url`` instead of ``config.instagram_graph_url``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from connectors.channels import meta, meta_health
from connectors.channels.base import N_, ChannelHealth, Needs, as_dict, as_id, as_text, to_seconds, truncate
from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult
from connectors.channels.http import request
from connectors.channels.registry import register

log = logging.getLogger(__name__)

COMMENT_FIELDS = ("comments", "live_comments")
COMMENT_REPLY_MAX = 2200


def parse_messaging(account_id: str, item: dict[str, Any]) -> InboundEvent | None:
    """One ``messaging[]`` item → a ``dm`` event (the Messenger Platform shape ``meta`` parses)."""
    return meta.parse_messaging(InstagramConnector.type, account_id, item)


def parse_comment(account_id: str, field: str, value: dict[str, Any], entry_time: Any) -> InboundEvent | None:
    """A ``comments`` / ``live_comments`` change → a ``comment`` event (own replies dropped)."""
    comment_id = as_id(value.get("id")) or as_id(value.get("comment_id"))
    author = as_dict(value.get("from"), "value.from")
    user_id = as_id(author.get("id"))
    if not comment_id or not user_id or user_id == account_id:
        return None
    media = as_dict(value.get("media"), "value.media")
    extra: dict[str, Any] = {
        "comment_id": comment_id,
        "media_id": as_id(media.get("id")),
        "parent_id": as_id(value.get("parent_id")),
        "username": as_text(author.get("username")) or None,
        "field": field,
    }
    for key in ("media_product_type", "ad_id", "ad_title", "original_media_id"):
        if as_id(media.get(key)):
            extra[key] = media[key]
    return InboundEvent(
        channel_type=InstagramConnector.type, account_id=account_id, kind="comment", external_id=comment_id,
        user_id=user_id, text=as_text(value.get("text")), meta=extra,
        timestamp=to_seconds(value.get("timestamp") or entry_time),
    )


@dataclass(frozen=True)
class TokenRefresh:
    """What a long-lived token refresh came back with: the new token and its lifetime, or why not.

    ``invalid``: the token was rejected (Graph code 190: expired, revoked, password changed), so only a new
    Instagram login helps; any other failure (5xx, 429, no answer, a malformed body) may pass and is worth
    trying again later with the same token, which stays valid until it expires.
    """

    access_token: str | None = None
    expires_in: int | None = None
    invalid: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.access_token is not None


@register
class InstagramConnector(meta.MetaConnector):
    type = "instagram"
    label = N_("Instagram")
    meta_object = "instagram"
    max_text_length = 1000
    prompt_style = ("Instagram direct messages", 600)
    reply_window = meta.HUMAN_AGENT_WINDOW
    needs = Needs(token=True, external_id="the Instagram professional account id (webhook entry.id)")
    # PROTOCOLS.md, kept below the published ceilings: the Send API takes 300 calls/s per professional
    # account (10/s for audio/video), the Private Replies API 750 calls/hour per account
    rate_limits = {"instagram.send": "100/second", "instagram.private_reply": "750/hour"}
    message_kind = "dm"

    def parse_payload(self, payload: dict[str, Any]) -> list[InboundEvent | None]:
        """Every DM and comment in every entry of the batch, in order.

        ``standby[]`` items are left alone: under the handover protocol another app (a human inbox, a
        second bot) owns the thread, and a secondary receiver that answers talks over it.
        """
        events: list[InboundEvent | None] = []
        for entry in payload.get("entry") or []:
            account_id = as_id(entry.get("id"))
            if account_id is None:
                log.warning("skipping Instagram webhook entry without an account id")
                continue
            for item in meta.items(entry, "messaging"):
                events.append(meta.safely(parse_messaging, account_id, item))
            for change in meta.items(entry, "changes"):
                if not isinstance(change.get("value"), dict):
                    continue
                field, value = change.get("field"), change["value"]
                if field in COMMENT_FIELDS:
                    events.append(meta.safely(parse_comment, account_id, field, value, entry.get("time")))
                elif field == "messages":  # App Dashboard "Test" shape: a messaging item in value
                    events.append(meta.safely(parse_messaging, account_id, value))
        return events

    # --- token lifecycle -----------------------------------------------------------------------

    def refresh_token(self, token: str, config: ConnectorConfig) -> TokenRefresh:
        """Refresh an Instagram Login long-lived token (PROTOCOLS.md §6: ``ig_refresh_token``).

        HTTP and parsing only: which channels are due and what is stored is the pipeline's job
        (connectors/pipeline/tokens.py). The endpoint is unversioned and takes the token as a query
        parameter (documented so; it is masked in every log line and error). Retried by the HTTP client on
        5xx/429/transport errors: a refresh is repeatable, the old token stays valid meanwhile.
        """
        if not token:
            return TokenRefresh(invalid=True, error="no access token")
        url = f"{config.instagram_graph_url.rstrip('/')}/refresh_access_token"
        result = request("GET", url, config=config, secrets=[token],
                         params={"grant_type": "ig_refresh_token", "access_token": token})
        data = result.data if isinstance(result.data, dict) else {}
        if result.ok:
            new_token, expires_in = data.get("access_token"), data.get("expires_in")
            if isinstance(new_token, str) and new_token and isinstance(expires_in, int) and expires_in > 0:
                return TokenRefresh(access_token=new_token, expires_in=expires_in)
            return TokenRefresh(error="refresh answer without access_token/expires_in")
        failure = meta.graph_error_result(result, [token])
        return TokenRefresh(invalid=failure.token_invalid, error=failure.error)

    # --- health --------------------------------------------------------------------------------

    def health(self, credentials: dict[str, Any], external_id: str | None, settings: Mapping[str, Any],
               config: ConnectorConfig) -> ChannelHealth:
        """Instagram Login: ``GET /me?fields=user_id,username`` (the token works), then
        ``/me/subscribed_apps``, where connecting subscribed the token's account. A Page token
        (``login="facebook"``): ``/me`` is the Page on graph.facebook.com, and the Page's ``subscribed_apps``
        carry the Instagram fields."""
        token = credentials.get("access_token")
        base = _base_url(credentials, config)
        page_login = credentials.get("login") == "facebook"
        account, state = meta_health.token_state(f"{base}/me", token, config,
                                                 "id,name" if page_login else "user_id,username")
        if account is None:
            return state
        if page_login:
            owner = as_id(credentials.get("page_id")) or as_id(account.get("id")) or "me"
            shown = as_text(account.get("name")) or None
        else:
            owner = "me"
            shown = f"@{account['username']}" if as_text(account.get("username")) else None
        url = f"{base}/{quote(owner, safe='')}/subscribed_apps"
        return replace(state, account=shown, **meta_health.subscription(url, token, config))

    # --- sending -------------------------------------------------------------------------------

    def send(self, credentials: dict[str, Any], outbound: Outbound, config: ConnectorConfig) -> SendResult:
        token = credentials.get("access_token")
        if not token:
            return SendResult(status="failed", error="instagram channel has no access token",
                              token_invalid=True)
        handler = _SENDERS.get(outbound.kind)
        if handler is None:
            return SendResult.skipped(f"instagram does not support {outbound.kind!r} messages")
        if not outbound.recipient:
            return SendResult(status="failed", error="no recipient")
        base = _base_url(credentials, config)
        outbound = replace(outbound, recipient=str(outbound.recipient))
        return handler(self, base, token, meta.account_key(credentials, token), outbound, config)


def _base_url(credentials: dict[str, Any], config: ConnectorConfig) -> str:
    host = config.meta_graph_url if credentials.get("login") == "facebook" else config.instagram_graph_url
    return f"{host.rstrip('/')}/{config.graph_version}"


def _send_comment_reply(ig: InstagramConnector, base: str, token: str, account: str, outbound: Outbound,
                        config: ConnectorConfig) -> SendResult:
    if not outbound.text.strip():
        return SendResult.skipped("empty message")
    limited = ig.rate_limited(config, [("instagram.send", account)])
    if limited:
        return limited
    url = f"{base}/{quote(outbound.recipient, safe='')}/replies"
    result = meta.post_graph(url, token, {"message": truncate(outbound.text, COMMENT_REPLY_MAX)}, config)
    return meta.send_outcome(result, token, "id")


def _send_private_reply(ig: InstagramConnector, base: str, token: str, account: str, outbound: Outbound,
                        config: ConnectorConfig) -> SendResult:
    """One DM per comment: the job claims the comment first; a read timeout is not retried here.

    Text only: quick replies are not documented for private replies, so buttons are left for the
    conversation that follows once the user answers.
    """
    message = meta.message_body(replace(outbound, buttons=[]), ig.max_text_length)
    if message is None:
        return SendResult.skipped("empty message")
    limited = ig.rate_limited(config, [("instagram.private_reply", account), ("instagram.send", account)])
    if limited:
        return limited
    body = {"recipient": {"comment_id": outbound.recipient}, "message": message}
    result = meta.post_graph(f"{base}/me/messages", token, body, config, repeatable=False)
    return meta.send_outcome(result, token, "message_id")


_SENDERS: dict[str, Callable[[InstagramConnector, str, str, str, Outbound, ConnectorConfig], SendResult]] = {
    "message": InstagramConnector.send_dm,
    "comment_reply": _send_comment_reply,
    "private_reply": _send_private_reply,
}
