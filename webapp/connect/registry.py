"""What the Channels page offers and where a channel is reconnected: registered by the pages that do it.

Each page that connects a kind of channel registers itself here — its button on the Channels page
(`offers`) and, for the channels it connected, where reconnecting them starts (`reconnects`: Instagram Login
channels at /connect/instagram, Page-token channels at /connect/facebook, ...). The Channels page, the
channel page and the reconnect banner ask this module and know no page or channel type themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for

from connectors.channels.registry import channel_choices
from webapp.models import Channel

Reconnector = Callable[[Channel], str | None]
_reconnectors: list[Reconnector] = []


@dataclass(frozen=True)
class Offer:
    channel_type: str
    endpoint: str
    label: Callable[[], str]  # translated when the page is drawn
    available: Callable[[], bool]  # e.g. the Meta app this page needs is configured


_offers: list[Offer] = []


def offers(channel_type: str, endpoint: str, label: Callable[[], str],
           available: Callable[[], bool] = lambda: True) -> None:
    """Put a connect button for ``channel_type`` on the Channels page (while ``available()``: a button
    that can only end on "not set up here" is not offered)."""
    _offers.append(Offer(channel_type, endpoint, label, available))


def connect_pages() -> list[tuple[str, str]]:
    """(label, URL) of the ways a tenant connects a channel by itself, in the channel registry's order."""
    return [(offer.label(), url_for(offer.endpoint)) for channel_type, _label in channel_choices()
            for offer in _offers if offer.channel_type == channel_type and offer.available()]


def reconnects(fn: Reconnector) -> Reconnector:
    """Register a function that answers the reconnect URL for the channels it knows (None for others)."""
    _reconnectors.append(fn)
    return fn


def reconnect_url(channel: Channel) -> str | None:
    return next((url for fn in _reconnectors if (url := fn(channel))), None)
