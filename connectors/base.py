"""The Connector protocol every channel module implements, plus small shared helpers.

A channel is one module that registers one connector class (see ``connectors.registry``); nothing
outside the channel module branches on the channel type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from connectors.events import ConnectorConfig, InboundEvent, Outbound, SendResult


class PayloadError(ValueError):
    """The webhook body is not JSON or not the shape the channel documents: the route answers 400."""


@runtime_checkable
class Connector(Protocol):
    """What the webhook routes and the jobs rely on. Implementations are stateless."""

    type: ClassVar[str]
    max_text_length: ClassVar[int]
    webhook_path: ClassVar[str]  # where the channel calls us: "/webhooks/meta", ".../{channel_id}"...
    # Optional (read with getattr): ``reply_window_hours`` on channels that only allow free-form
    # replies for that long after the user's last message (Instagram, WhatsApp); ``reply_recipient``
    # (event) -> str where a reply to that event goes when it is not ``event.user_id`` (Telegram).

    def verify(self, headers: Mapping[str, str], raw_body: bytes, secret: str) -> bool:
        """True only when the request provably comes from the channel (signature / secret token)."""
        ...

    def parse(self, raw_body: bytes, account_id: str = "") -> list[InboundEvent]:
        """Every event in the body (batches included); raises PayloadError on malformed input.

        ``account_id`` is the channel id from the route for channels whose bodies do not name the
        account (Telegram, webchat); Meta bodies carry it themselves and ignore the argument.
        """
        ...

    def send(self, credentials: dict[str, Any], outbound: Outbound, config: ConnectorConfig) -> SendResult:
        """Deliver one outbound message; never raises for channel/HTTP errors."""
        ...


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works for plain dicts as well as werkzeug Headers."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def load_json_object(raw_body: bytes | str) -> dict[str, Any]:
    """Decode a webhook body into a dict or raise PayloadError with a message fit for a 400."""
    try:
        data = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError("body must be a JSON object")
    return data


def truncate(text: str, limit: int) -> str:
    """Cut text to a channel's limit (with an ellipsis) rather than have the API reject the send."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def untruncate(shown: str, full: Any) -> str:
    """The full button label when a channel echoes back our truncated title plus the full id/payload.

    Buttons carry their whole label as id/payload; the visible title may have been cut to the
    channel's limit by :func:`truncate`. Returning the full label lets flows match the choice exactly.
    """
    if isinstance(full, str) and shown.endswith("…") and full.startswith(shown[:-1]) and len(full) >= len(shown):
        return full
    return shown


def as_list(value: Any, what: str) -> list[Any]:
    """A JSON array field that may be absent; anything else than a list is a malformed payload."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{what} must be a list")
    return value


def as_dict(value: Any, what: str) -> dict[str, Any]:
    """A JSON object field that may be absent; anything else than an object is a malformed payload."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{what} must be an object")
    return value


def to_seconds(value: Any) -> float | None:
    """Unix time in seconds from the seconds / milliseconds / numeric strings channels send."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    # IG messaging timestamps are milliseconds; anything past year ~5000 in seconds is ms.
    return number / 1000.0 if number > 1e11 else number


def reply_recipient(connector: Connector, event: InboundEvent) -> str:
    """Where a reply to ``event`` goes: the connector may say (Telegram: the chat), else the user."""
    custom = getattr(connector, "reply_recipient", None)
    return custom(event) if callable(custom) else event.user_id
