"""The Connector protocol every channel module implements, the declarations a channel makes about itself,
plus small shared helpers.

A channel is one module that registers one connector class (see ``connectors.channels.registry``). The
class declares everything the rest of the platform needs to know about the channel type (its name and
label, text limit, reply window, what connecting one asks for, how its webhooks arrive), so nothing outside
the channel module keeps a list of channels or branches on the channel type.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult
from connectors.channels.ratelimit import throttle

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
# ``channels.type`` is varchar(16): a longer type name could not be stored.
MAX_TYPE_NAME = 16


# Channel setting: answer in group chats and channels too (off by default: a bot of a business talks to
# its customers one to one, as peers such as Chatwoot do).
GROUPS_SETTING = "allow_groups"


def N_(text: str) -> str:  # noqa: N802 (the gettext convention for "mark, translate later")
    """Mark a text for translation without importing Flask: ``pybabel extract`` collects ``N_`` calls and
    the webapp translates the text when it shows it (a channel's ``label``)."""
    return text


class PayloadError(ValueError):
    """The webhook body is not JSON or not the shape the channel documents: the route answers 400."""


WindowDecision = Literal["free", "tag", "template", "closed"]


@dataclass(frozen=True)
class ReplyWindow:
    """How long after the customer's last message a channel takes free-form replies, and what it still
    takes after that.

    Declared once per rule and shared by the channels that follow it (``meta.HUMAN_AGENT_WINDOW`` for
    Instagram and Messenger DMs), so the rule is reused rather than copied. ``tag``: a message tag that
    extends the window to ``tag_hours`` for replies written by a person (Meta's ``HUMAN_AGENT``), used
    only where the tenant turned the channel setting ``tag_setting`` on. ``template_setting``: the channel
    setting that holds an approved template to send instead once the window closed (WhatsApp).
    """

    hours: int
    tag: str | None = None
    tag_hours: int | None = None
    tag_setting: str | None = None
    template_setting: str | None = None

    def decide(self, last_inbound_at: datetime | None, now: datetime,
               settings: Mapping[str, Any] | None = None) -> WindowDecision:
        """What may go out now: ``free`` (inside the window), ``tag`` (a person's reply with ``tag``),
        ``template`` (the configured template instead) or ``closed`` (nothing)."""
        settings = settings or {}
        if within_window(last_inbound_at, now, self.hours):
            return "free"
        if (self.tag and self.tag_hours and self.tag_setting and settings.get(self.tag_setting)
                and within_window(last_inbound_at, now, self.tag_hours)):
            return "tag"
        if self.template_setting and settings.get(self.template_setting):
            return "template"
        return "closed"


def within_window(last_inbound_at: datetime | None, now: datetime, hours: int) -> bool:
    """Is ``now`` less than ``hours`` after the customer's last message? Our own sends do not extend a
    window; no message from the customer means no window. Naive datetimes are taken as UTC."""
    if last_inbound_at is None:
        return False
    if last_inbound_at.tzinfo is None:
        last_inbound_at = last_inbound_at.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now - last_inbound_at < timedelta(hours=hours)


@dataclass(frozen=True)
class Needs:
    """What connecting a channel of this type asks the operator for (CLI ``flask channel add``, the
    back-office): ``token`` an access or bot token (stored encrypted); ``external_id`` a description of
    the account id its webhooks name, when the operator has to give it (None: not asked, or found by the
    channel's own set-up, as Telegram's bot id)."""

    token: bool = False
    external_id: str | None = None


@dataclass(frozen=True)
class ChannelHealth:
    """What a channel's own API says about one connected account right now, for the channel page's "Check
    again": each connector reads it its own way (``health``), over HTTP only.

    Three outcomes: ``checked`` (the API answered: the fields below say what it told), ``error`` set (no
    usable answer: not reached, a server error, throttled; nothing is concluded about the token), or
    neither with ``remote`` False (the channel has nothing to ask remotely: the web chat). ``token_ok`` is
    False only when the API rejected the token itself (Graph code 190, Telegram 401/404), the one answer
    that calls for reconnecting; None means not known (another error is kept in ``token_error``).
    ``subscribed``: the webhook subscription read back from the API (Meta: ``subscribed_apps``; Telegram:
    a webhook URL is set, which ``webhook_url`` gives so the caller can compare it with ours).
    ``platform_error``: the last delivery error the platform itself reports (Telegram's webhook info).
    """

    remote: bool = True
    checked: bool = False
    error: str | None = None
    token_ok: bool | None = None
    token_error: str | None = None
    token_expires_at: datetime | None = None
    account: str | None = None
    subscribed: bool | None = None
    subscribed_fields: tuple[str, ...] = ()
    webhook_url: str | None = None
    pending_updates: int | None = None
    platform_error: str | None = None
    platform_error_at: datetime | None = None
    detail: str | None = None

    @classmethod
    def unreachable(cls, error: str) -> ChannelHealth:
        """Nothing could be asked or answered usefully (not reached, a server error, an id missing): say why,
        conclude nothing."""
        return cls(error=error)


@runtime_checkable
class Connector(Protocol):
    """What the webhook routes, the jobs and the webapp rely on. Implementations are stateless.

    The class attributes are the channel type's declaration, read through the registry: ``type`` (the
    stored name), ``label`` (shown in forms; marked with ``N_``), ``max_text_length`` (the longest text
    one message takes: flows and delivery cut replies to it), ``webhook_path`` (where the channel calls us,
    formatted with ``channel_id`` / ``public_key``), ``meta_object`` (the ``object`` of the bodies it parses
    on the shared ``/webhooks/meta`` endpoint, None for a channel with its own route), ``reply_window``
    (None: replies any time), ``needs`` (what connecting one asks for), ``message_kind`` (the event kind its
    customer messages arrive as) and ``pushes_replies`` (False: nothing is sent, the web widget fetches
    replies). ``reply_recipient(event)``, where present, says where a reply goes when it is not
    ``event.user_id`` (Telegram: the chat).
    """

    type: ClassVar[str]
    label: ClassVar[str]
    max_text_length: ClassVar[int]
    prompt_style: ClassVar[tuple[str, int] | None]
    webhook_path: ClassVar[str]
    meta_object: ClassVar[str | None]
    reply_window: ClassVar[ReplyWindow | None]
    needs: ClassVar[Needs]
    message_kind: ClassVar[str]
    pushes_replies: ClassVar[bool]

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

    def health(self, credentials: dict[str, Any], external_id: str | None, settings: Mapping[str, Any],
               config: ConnectorConfig) -> ChannelHealth:
        """The account's state as the channel's API reports it (token, webhook subscription); never raises
        for channel/HTTP errors."""
        ...


class BaseConnector:
    """Defaults of the declaration (see :class:`Connector`): a channel module subclasses this (or
    ``meta.MetaConnector``) and sets what differs; the registry refuses a class that leaves ``type``,
    ``label``, ``max_text_length`` or ``webhook_path`` unset."""

    type: ClassVar[str] = ""
    label: ClassVar[str] = ""
    max_text_length: ClassVar[int] = 0
    #: Where the bot writes, as an `llm` node's rules tell the model, and the reply length to aim for
    #: (None: flows.prompt.DEFAULT_STYLE).
    prompt_style: ClassVar[tuple[str, int] | None] = None
    webhook_path: ClassVar[str] = ""
    meta_object: ClassVar[str | None] = None
    reply_window: ClassVar[ReplyWindow | None] = None
    needs: ClassVar[Needs] = Needs()
    message_kind: ClassVar[str] = "message"
    pushes_replies: ClassVar[bool] = True
    #: Default windows of rate-limit scopes this channel adds (``{"messenger.send": "100/second"}``);
    #: ``CONNECTOR_RATE_LIMITS`` overrides them.
    rate_limits: ClassVar[Mapping[str, str]] = {}

    def rate_limited(self, config: ConnectorConfig, checks: list[tuple[str, str]]) -> SendResult | None:
        """``ratelimit.throttle`` with this channel's declared default windows added, so a new channel's
        scopes need no entry in the shared table: None when the send may go ahead, else the retryable
        result to return without sending."""
        declared = {name: self.rate_limits[name] for name, _key in checks
                    if name in self.rate_limits and name not in config.rate_limits}
        if declared:
            config = replace(config, rate_limits={**declared, **config.rate_limits})
        return throttle(config, checks)

    def health(self, credentials: dict[str, Any], external_id: str | None, settings: Mapping[str, Any],
               config: ConnectorConfig) -> ChannelHealth:
        """Nothing to check remotely (a channel without an API of its own, as the web chat); a channel with
        one overrides this with its token and subscription calls."""
        return ChannelHealth(remote=False)

    @property
    def reply_window_hours(self) -> int | None:
        """The free-form reply window in hours (None: none), for callers that only need its length."""
        return self.reply_window.hours if self.reply_window is not None else None


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
