"""The channels a flow may name (a trigger's filter, a condition's channel rule), handed to `flows`, which
does not know them: `flows.validate(document, channels=flow_channel_names())` and
`flows.node_types(channels=flow_channel_choices())`. They are the channel registry's
(connectors/channels/registry.py) plus `test`, the simulator's channel; the simulator, the CLI and the
forms offer the same list (`simulator_channel_names`, `channel_type_choices`)."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from connectors.channels.registry import channel_choices, connector_types

#: The simulator's own channel: a run that pretends to be no real channel.
TEST_CHANNEL = ("test", _l("Test (simulator)"))


def channel_type_choices() -> list[tuple[str, str]]:
    """(type, label) of every registered channel type, labels (marked N_ where they are declared) in the
    current request's language; outside a request, as declared. What forms and the back-office offer."""
    return [(value, gettext(label)) for value, label in channel_choices()]


def flow_channel_names() -> list[str]:
    """Every name a flow may use: the registered channel types, then `test`."""
    return [*connector_types(), TEST_CHANNEL[0]]


def flow_channel_choices() -> list[tuple[str, str]]:
    """(value, label) pairs in the current request's language."""
    return [*channel_type_choices(), (TEST_CHANNEL[0], str(TEST_CHANNEL[1]))]


def simulator_channel_names() -> tuple[str, ...]:
    """The channels a simulated run may pretend to be on: `test` first (the default), then every type."""
    return (TEST_CHANNEL[0], *connector_types())
