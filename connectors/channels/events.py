"""Channel-neutral value objects that cross the connector seam.

Everything here is plain data (frozen dataclasses) so an InboundEvent can be stored as JSON in the
``inbound_events`` table, re-loaded by a worker and replayed by the sweeper without losing anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

EventKind = Literal["dm", "comment", "message", "edit", "status", "webchat"]
OutboundKind = Literal["message", "comment_reply", "private_reply", "template"]
SendStatus = Literal["sent", "failed", "skipped"]

# NUL and UTF-16 surrogates (in a Python str they are always unpaired: JSON's escaped pairs decode to one
# character): PostgreSQL's text and jsonb refuse them, and psycopg cannot even encode a lone surrogate.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` with the characters no database column can hold replaced by U+FFFD."""
    return UNSTORABLE.sub("\ufffd", text) if UNSTORABLE.search(text) else text


def clean_json(value: Any) -> Any:
    """`clean_text` applied to every string of a JSON value, object keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


EVENT_KINDS: frozenset[str] = frozenset({"dm", "comment", "message", "edit", "status", "webchat"})
OUTBOUND_KINDS: frozenset[str] = frozenset({"message", "comment_reply", "private_reply", "template"})

#: What a customer's message is besides text, one word for every channel ("other": a shared post, a
#: contact card, content the platform could not show us). flows/media.py keeps the same list (``flows``
#: imports nothing of ours; a test keeps the two equal).
MEDIA_KINDS: tuple[str, ...] = ("image", "audio", "video", "sticker", "file", "location", "other")
#: The keys a normalised media item may carry besides ``kind`` (absent when the platform gave none).
MEDIA_FIELDS = ("type", "id", "url", "mime_type", "caption", "file_name", "size", "duration", "latitude",
                "longitude", "title", "address")


def media_item(kind: str, **values: Any) -> dict[str, Any]:
    """One attachment in the shape every channel gives the pipeline: ``kind`` (MEDIA_KINDS), ``type`` (the
    platform's own word: "photo", "voice", "document"...), ``id`` (the platform's media or file id, to fetch
    it later), ``url``, ``mime_type``, ``caption``, ``file_name``, ``size``, ``duration``, ``latitude`` /
    ``longitude`` / ``title`` / ``address`` for a location. Values the platform did not give (None, "")
    are left out; numbers are kept only when they are numbers (payloads carry placeholders)."""
    if kind not in MEDIA_KINDS:
        kind = "other"
    item: dict[str, Any] = {"kind": kind}
    for key in MEDIA_FIELDS:
        value = values.get(key)
        if key in ("latitude", "longitude", "size", "duration"):
            if isinstance(value, int | float) and not isinstance(value, bool):
                item[key] = value
        elif isinstance(value, int) and not isinstance(value, bool) and key == "id":
            item[key] = str(value)
        elif isinstance(value, str) and value:
            item[key] = value
    return item


def content_kind(media: list[dict[str, Any]]) -> str:
    """What a message is: "text" without media, else its first attachment's kind (a message with two
    photos is one image message: it gets one answer, never one per attachment)."""
    for item in media:
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind in MEDIA_KINDS:
            return str(kind)
    return "other" if media else "text"


@dataclass(frozen=True)
class InboundEvent:
    """One normalised thing a channel told us about.

    ``account_id`` routes the event to a tenant channel (IG ``entry.id``, WA ``phone_number_id``,
    Telegram/webchat: the channel id given by the route). ``external_id`` is the dedupe key the
    webhook stores under a unique (channel, external_id) constraint.
    """

    channel_type: str
    account_id: str
    kind: EventKind
    external_id: str
    user_id: str
    text: str = ""
    media: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    timestamp: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (what the webhook stores as the event payload). Built by hand rather than with
        dataclasses.asdict: this runs for every webhook event and asdict's recursive deep copy cost more
        than the rest of the parsing. Lists and dicts are copied one level; anything nested deeper is shared,
        which is safe because the result is serialised to JSON at once (a test keeps it equal to asdict)."""
        return {"channel_type": self.channel_type, "account_id": self.account_id, "kind": self.kind,
                "external_id": self.external_id, "user_id": self.user_id, "text": self.text,
                "media": [dict(m) for m in self.media], "meta": dict(self.meta), "timestamp": self.timestamp}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InboundEvent:
        """Inverse of :meth:`to_dict`; unknown keys are ignored so old rows keep loading."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["media"] = list(values.get("media") or [])
        values["meta"] = dict(values.get("meta") or {})
        ts = values.get("timestamp")
        values["timestamp"] = float(ts) if ts is not None else None
        return cls(**values)


@dataclass(frozen=True)
class Outbound:
    """One message we want a channel to deliver.

    ``recipient`` depends on ``kind``: a user id (IGSID, wa_id/BSUID, Telegram chat id) for
    ``message``/``template``, the comment id for ``comment_reply`` and ``private_reply``.
    ``idempotency_key`` is stable across job retries; the job records it before sending so a retried
    job never sends twice (the channels themselves have no idempotency support).
    """

    kind: OutboundKind
    recipient: str
    text: str = ""
    buttons: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outbound:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["buttons"] = list(values.get("buttons") or [])
        values["meta"] = dict(values.get("meta") or {})
        return cls(**values)


@dataclass(frozen=True)
class SendResult:
    """Outcome of one send, rich enough for the job to decide what happens next.

    ``retryable``: the job may try again later (after ``retry_after`` seconds when given).
    ``token_invalid``: the channel needs re-connection (Graph code 190, Telegram 401).
    ``outcome_unknown``: the request may have reached the channel (no answer after it was sent): never
    repeated on our own, since the channels have no idempotency keys.
    """

    status: SendStatus
    external_id: str | None = None
    error: str | None = None
    error_code: int | None = None
    retryable: bool = False
    token_invalid: bool = False
    retry_after: float | None = None
    outcome_unknown: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "sent"

    @classmethod
    def sent(cls, external_id: str | None) -> SendResult:
        return cls(status="sent", external_id=external_id)

    @classmethod
    def skipped(cls, reason: str) -> SendResult:
        return cls(status="skipped", error=reason)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ConnectorConfig:
    """External base URLs, API version, timeouts and retry/rate-limit knobs.

    Tests point the URLs at the loopback fakes; :meth:`from_mapping` reads a Flask-style config.
    """

    meta_graph_url: str = "https://graph.facebook.com"
    instagram_graph_url: str = "https://graph.instagram.com"
    telegram_api_url: str = "https://api.telegram.org"
    graph_version: str = "v21.0"
    timeout: float = 10.0
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    ratelimit_storage: str = "memory://"
    # Longest we sleep in-process for a server's retry_after or a local rate limit; beyond it the
    # send returns retryable with retry_after so the job reschedules instead of holding a worker.
    max_wait: float = 5.0
    # Overrides of the channels' declared rate limits (their `rate_limits`), e.g. {"telegram.chat": "5/second"}.
    rate_limits: Mapping[str, str] = field(default_factory=dict)

    _ENV_KEYS = {
        "META_GRAPH_URL": "meta_graph_url",
        "INSTAGRAM_GRAPH_URL": "instagram_graph_url",
        "TELEGRAM_API_URL": "telegram_api_url",
        "META_GRAPH_VERSION": "graph_version",
        "CONNECTOR_TIMEOUT": "timeout",
        "CONNECTOR_MAX_ATTEMPTS": "max_attempts",
        "CONNECTOR_BACKOFF_BASE": "backoff_base",
        "CONNECTOR_BACKOFF_MAX": "backoff_max",
        "RATELIMIT_STORAGE_URI": "ratelimit_storage",
        "CONNECTOR_MAX_WAIT": "max_wait",
    }

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> ConnectorConfig:
        """Build from upper-case config keys (``app.config``); missing keys keep the defaults."""
        kwargs: dict[str, Any] = {}
        defaults = cls()
        for key, attr in cls._ENV_KEYS.items():
            value = config.get(key)
            if value is None or value == "":
                continue
            kind = type(getattr(defaults, attr))
            kwargs[attr] = kind(value).rstrip("/") if kind is str and attr.endswith("_url") else kind(value)
        # Flask-Limiter shares RATELIMIT_STORAGE_URI; CONNECTOR_RATELIMIT_STORAGE may override it
        # (e.g. "none://" to switch connector limits off in a benchmark).
        if config.get("CONNECTOR_RATELIMIT_STORAGE") is not None:
            kwargs["ratelimit_storage"] = str(config["CONNECTOR_RATELIMIT_STORAGE"])
        if config.get("CONNECTOR_RATE_LIMITS"):
            kwargs["rate_limits"] = dict(config["CONNECTOR_RATE_LIMITS"])
        return cls(**kwargs)
