"""The channels a flow may name (a trigger's filter, a condition's channel rule), handed to `flows`, which
does not know them: `flows.validate(document, channels=flow_channel_names())` and
`flows.node_types(channels=flow_channel_choices())`. `test` is the simulator's channel.

Today's fixed list; it is to come from the channel registry (connectors/channels/registry.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

FLOW_CHANNELS = (
    ("instagram", "Instagram"),
    ("whatsapp", "WhatsApp"),
    ("telegram", "Telegram"),
    ("webchat", _l("Web chat")),
    ("test", _l("Test (simulator)")),
)


def flow_channel_names() -> list[str]:
    return [value for value, _label in FLOW_CHANNELS]


def flow_channel_choices() -> list[tuple[str, str]]:
    """(value, label) pairs in the current request's language."""
    return [(value, str(label)) for value, label in FLOW_CHANNELS]
