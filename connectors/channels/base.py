"""The Connector protocol every channel module implements, plus small shared helpers.

A channel is one module that registers one connector class (see ``connectors.channels.registry``); nothing
outside the channel module branches on the channel type.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult

log = logging.getLogger(__name__)

# The longest ids an event may carry: the columns they are stored in (``inbound_events.external_id`` and
# ``messages.external_id`` varchar(200), ``user_id`` / ``contacts.external_user_id`` / ``channels.external_id``
# varchar(128)). No platform issues ids near these lengths; a longer one is junk or an attack, and an event
# carrying it would be acknowledged and then fail in the worker.
MAX_EXTERNAL_ID = 200
MAX_USER_ID = 128
MAX_ACCOUNT_ID = 128
# A comment id becomes part of the private reply's idempotency key ("private_reply:<channel>:<comment>",
# varchar(120)); platform comment ids are ~18 digits.
MAX_COMMENT_ID = 80


# Channel setting: answer in group chats and channels too (off by default: a bot of a business talks to
# its customers one to one, as peers such as Chatwoot do).
GROUPS_SETTING = "allow_groups"


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

    def parse(self, raw_body: bytes, account_id: str = "", settings: Mapping[str, Any] | None = None
              ) -> list[InboundEvent]:
        """Every event in the body (batches included); raises PayloadError on malformed input and
        nothing else. A malformed item of a valid body is skipped (logged), not fatal: a 4xx makes the
        platform redeliver the whole body. Events never carry ids longer than the ``MAX_*`` limits.

        ``account_id`` is the channel id from the route for channels whose bodies do not name the
        account (Telegram, webchat); Meta bodies carry it themselves and ignore the argument.
        ``settings`` is the channel's settings dict where the route knows the channel before parsing
        (Telegram: ``allow_groups``); Meta bodies are routed after parsing and ignore it.
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


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:20]} is out of range")
    return number


def load_json_object(raw_body: bytes | str) -> dict[str, Any]:
    """Decode a webhook body into a dict or raise PayloadError with a message fit for a 400.

    Strict JSON: Python's decoder also takes ``NaN``/``Infinity`` (and turns ``1e999`` into infinity),
    which no platform sends and no JSON column stores; a body nested deeper than the decoder's
    recursion limit is refused as well.
    """
    try:
        data = json.loads(raw_body, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise PayloadError("body is nested too deeply") from None
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


def as_id(value: Any) -> str | None:
    """A platform id as text: JSON strings and integers (some payloads write ids as numbers); None for
    anything else (an object, a list, a boolean, a fraction), which the caller treats as missing."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None


def as_text(value: Any) -> str:
    """A text field: a JSON string as it is, anything else (a number, an object, a list) is no text."""
    return value if isinstance(value, str) else ""


def to_seconds(value: Any) -> float | None:
    """Unix time in seconds from the seconds / milliseconds / numeric strings channels send; None for
    anything that is not a plausible time (ISO strings, placeholders, NaN, absurd magnitudes)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    # IG messaging timestamps are milliseconds; anything past year ~5000 in seconds is ms.
    number = number / 1000.0 if number > 1e11 else number
    return number if 0 <= number < 1e11 else None


def sane_events(events: Iterable[InboundEvent | None]) -> list[InboundEvent]:
    """The parsed events without the gaps (items that were skipped) and without any whose ids could not
    be stored (see ``MAX_*``): such an event is dropped with a warning, the rest of the body is kept."""
    kept: list[InboundEvent] = []
    for event in events:
        if event is None:
            continue
        comment_id = event.meta.get("comment_id")
        problem = (
            "no external id" if not event.external_id
            else "external id too long" if len(event.external_id) > MAX_EXTERNAL_ID
            else "user id too long" if len(event.user_id) > MAX_USER_ID
            else "account id too long" if len(event.account_id) > MAX_ACCOUNT_ID
            else "comment id too long" if isinstance(comment_id, str) and len(comment_id) > MAX_COMMENT_ID
            else None
        )
        if problem:
            log.warning("dropping %s %s event: %s (%r...)", event.channel_type, event.kind, problem,
                        event.external_id[:40])
            continue
        kept.append(event)
    return kept


def reply_recipient(connector: Connector, event: InboundEvent) -> str:
    """Where a reply to ``event`` goes: the connector may say (Telegram: the chat), else the user."""
    custom = getattr(connector, "reply_recipient", None)
    return custom(event) if callable(custom) else event.user_id
