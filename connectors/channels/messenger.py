"""Facebook Messenger: the conversations of a Facebook Page (Messenger Platform, graph.facebook.com).

Inbound: Page webhooks on the shared ``/webhooks/meta`` endpoint, ``object`` "page", signed with the Meta
app secret like the other Meta products. ``entry[].id`` is the Page id (the channel's external id) and
``messaging[].sender.id`` the customer's page-scoped id (PSID). Messenger and Instagram DMs are the same
Messenger Platform item, so text messages, quick replies and postbacks are answered exactly as on Instagram
(``meta.parse_messaging``), and echoes of our own sends (``message.is_echo``), deliveries, reads,
reactions and edits are dropped. ``standby[]`` (a thread another app owns under the handover protocol) is
left alone, and ``changes[]`` (Page feed, ratings...) are not conversations.

Outbound: the Send API, ``POST {META_GRAPH_URL}/{version}/me/messages`` with the Page access token,
``recipient.id`` = PSID and ``messaging_type`` RESPONSE; after the 24-hour window only a person's reply
tagged HUMAN_AGENT, within 7 days, where the tenant enabled it: Instagram's rule,
``meta.HUMAN_AGENT_WINDOW``. Text up to 2000 characters, buttons as quick replies.

Credentials: ``{"access_token": str}``, the Page access token (``account_id``, when given, keys the rate
limit; otherwise a digest of the token, which is one per Page).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from connectors.channels import meta, meta_health
from connectors.channels.base import N_, ChannelHealth, Needs, as_id, as_text
from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult
from connectors.channels.registry import register

log = logging.getLogger(__name__)


def parse_messaging(page_id: str, item: dict[str, Any]) -> InboundEvent | None:
    """One ``messaging[]`` item → a ``dm`` event, or None for what the bot must not answer."""
    return meta.parse_messaging(MessengerConnector.type, page_id, item)


@register
class MessengerConnector(meta.MetaConnector):
    type = "messenger"
    label = N_("Messenger")
    meta_object = "page"
    max_text_length = 2000
    prompt_style = ("Facebook Messenger", 600)
    reply_window = meta.HUMAN_AGENT_WINDOW
    needs = Needs(token=True, external_id="the Facebook Page id (webhook entry.id)")
    message_kind = "dm"
    # The Send API allows ~300 calls/s per Page for text; kept below on purpose, as Instagram's.
    rate_limits = {"messenger.send": "100/second"}

    def parse_payload(self, payload: dict[str, Any]) -> list[InboundEvent | None]:
        """Every message and postback of every entry of the batch, in order, routed by ``entry.id``."""
        events: list[InboundEvent | None] = []
        for entry in payload.get("entry") or []:
            page_id = as_id(entry.get("id"))
            if page_id is None:
                log.warning("skipping Messenger webhook entry without a page id")
                continue
            for item in meta.items(entry, "messaging"):
                events.append(meta.safely(parse_messaging, page_id, item))
        return events

    def send(self, credentials: dict[str, Any], outbound: Outbound, config: ConnectorConfig) -> SendResult:
        token = credentials.get("access_token")
        if not token:
            return SendResult(status="failed", error="messenger channel has no page access token",
                              token_invalid=True)
        if outbound.kind != "message":
            return SendResult.skipped(f"messenger does not support {outbound.kind!r} messages")
        if not outbound.recipient:
            return SendResult(status="failed", error="no recipient")
        base = f"{config.meta_graph_url.rstrip('/')}/{config.graph_version}"
        outbound = replace(outbound, recipient=str(outbound.recipient))
        return self.send_dm(base, token, meta.account_key(credentials, token), outbound, config,
                            default_type="RESPONSE")

    def health(self, credentials: dict[str, Any], external_id: str | None, settings: Mapping[str, Any],
               config: ConnectorConfig) -> ChannelHealth:
        """The Page token works (``GET /me``: the Page itself), then the Page's ``subscribed_apps``."""
        token = credentials.get("access_token")
        base = f"{config.meta_graph_url.rstrip('/')}/{config.graph_version}"
        page, state = meta_health.token_state(f"{base}/me", token, config, "id,name")
        if page is None:
            return state
        page_id = external_id or as_id(page.get("id")) or "me"
        url = f"{base}/{quote(page_id, safe='')}/subscribed_apps"
        return replace(state, account=as_text(page.get("name")) or None,
                       **meta_health.subscription(url, token, config))
