"""Shared Meta platform bits: webhook signature + handshake, payload dispatch, Graph error mapping, and the
Messenger Platform pieces Instagram and Messenger DMs share (the ``messaging[]`` item, the Send API, the
24 h + HUMAN_AGENT reply window).

Every Meta product shares one webhook endpoint (``/webhooks/meta``): the body's ``object`` decides which
connector parses it. Each Meta connector declares ``meta_object`` and ``parse_payload``; the dispatch
below finds it through the registry, so no code here names a channel.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from connectors.channels.base import (
    BaseConnector,
    PayloadError,
    ReplyWindow,
    as_dict,
    as_id,
    as_list,
    as_text,
    header,
    load_json_object,
    sane_events,
    to_seconds,
    truncate,
    untruncate,
)
from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult, media_item
from connectors.channels.http import HttpResult, mask_secrets, request

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_RE = re.compile(r"sha256=([0-9a-fA-F]{64})")

# Graph error codes (PROTOCOLS.md §2, §4.4, §4.5).
TOKEN_INVALID_CODES = frozenset({190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80007, 130429, 131056})
TRANSIENT_CODES = frozenset({1, 2, 131016})  # "unknown error", "service unavailable"
OUTSIDE_WINDOW_CODE = 131047

__all__ = [
    "PayloadError",
    "verify_signature",
    "verify_request",
    "verify_handshake",
    "parse_meta_payload",
    "graph_error_result",
]


def sign(raw_body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta would send for these bytes."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, header_value: str | None, app_secret: str) -> bool:
    """HMAC-SHA256 of the RAW body (Meta escapes non-ASCII as \\uXXXX; re-serialised JSON won't match).

    Requires ``sha256=`` + 64 hex chars, compares in constant time and refuses an empty secret (an
    unset secret must never turn verification off).
    """
    if not app_secret or not header_value or not isinstance(raw_body, bytes | bytearray):
        return False
    match = _SIGNATURE_RE.fullmatch(header_value.strip())
    if not match:
        return False
    expected = hmac.new(app_secret.encode(), bytes(raw_body), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1).lower())


def verify_request(headers: Mapping[str, str], raw_body: bytes, secrets: Iterable[str | None]) -> bool:
    """True if the signature matches any configured secret.

    One endpoint serves Instagram-Login apps (Instagram app secret) and FB-Login/WhatsApp (Meta app
    secret), so the route passes both; empty secrets are skipped.
    """
    value = header(headers, SIGNATURE_HEADER)
    return any(verify_signature(raw_body, value, s) for s in secrets if s)


def verify_handshake(args: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo back for a valid ``GET`` subscription handshake, else None (answer 403)."""
    if not verify_token:
        return None
    if args.get("hub.mode") != "subscribe":
        return None
    given = args.get("hub.verify_token") or ""
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    challenge = args.get("hub.challenge")
    return challenge if challenge else None


def load_meta_payload(raw_body: bytes) -> dict[str, Any]:
    """Decode and shape-check the envelope ``{"object": str, "entry": [ {...}, ... ]}``."""
    payload = load_json_object(raw_body)
    obj = payload.get("object")
    if not isinstance(obj, str) or not obj:
        raise PayloadError("missing 'object'")
    entries = as_list(payload.get("entry"), "entry")
    if any(not isinstance(e, dict) for e in entries):
        raise PayloadError("every entry must be an object")
    return payload


def parse_meta_payload(raw_body: bytes) -> list[InboundEvent]:
    """All events in a Meta webhook body, whatever product sent it (the registered connector whose
    ``meta_object`` is the body's ``object`` parses it).

    ``object`` values no connector declares (``permissions``, ``user``...) yield no events: they are
    acknowledged, not errors. Malformed JSON or shape raises PayloadError (the route answers 400).
    """
    from connectors.channels.registry import meta_connector  # local: channel modules import this module

    payload = load_meta_payload(raw_body)
    connector = meta_connector(payload["object"])
    if connector is None:
        log.info("ignoring Meta webhook for object %r", payload["object"])
        return []
    return sane_events(connector.parse_payload(payload))  # type: ignore[attr-defined]


def graph_error_result(result: HttpResult, secrets: Iterable[str | None] = ()) -> SendResult:
    """Map a failed Graph API call to a SendResult the job can act on.

    190 → token_invalid (re-connect the channel); throttling codes and 5xx/429/transport → retryable;
    131047 (outside the 24 h window) → final, with the code kept so the job can switch to a template.
    """
    if result.status_code is None:
        suffix = " (outcome unknown: not retried)" if result.outcome_unknown else ""
        return SendResult(
            status="failed",
            error=mask_secrets((result.error or "no response") + suffix, secrets),
            retryable=not result.outcome_unknown,
            outcome_unknown=result.outcome_unknown,
        )
    error = result.data.get("error") if isinstance(result.data, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    code = int(code) if isinstance(code, int | str) and str(code).isdigit() else None
    subcode = error.get("error_subcode")
    message = str(error.get("message") or f"HTTP {result.status_code}")
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    text = f"({code}) {message}" if code is not None else message
    if subcode:
        text += f" [subcode {subcode}]"
    if details:
        text += f": {details}"
    token_invalid = code in TOKEN_INVALID_CODES
    retryable = not token_invalid and (
        result.transient
        or code in RATE_LIMIT_CODES
        or code in TRANSIENT_CODES
        or bool(error.get("is_transient"))
    )
    if code == OUTSIDE_WINDOW_CODE or result.outcome_unknown:
        retryable = False
    if result.outcome_unknown:
        text += " (outcome unknown: not retried)"
    return SendResult(
        status="failed",
        error=mask_secrets(text, secrets),
        error_code=code if code is not None else result.status_code,
        retryable=retryable,
        token_invalid=token_invalid,
        retry_after=result.retry_after,
        outcome_unknown=result.outcome_unknown,
    )


def bearer(token: str) -> dict[str, str]:
    """Authorization header for Graph calls (keeps the token out of URLs and access logs)."""
    return {"Authorization": f"Bearer {token}"}


def safely(parse_item: Callable[..., InboundEvent | None], *args: Any, **kwargs: Any) -> InboundEvent | None:
    """Parse one item of a batch; a malformed item is logged and skipped, not fatal.

    Failing the whole POST would make Meta re-deliver the batch for days and lose its good items. The
    parsers check the types they read and raise PayloadError for a malformed item; any other exception
    is a parser bug: still skipped here, but logged as an error with its traceback so tests see it.
    """
    try:
        return parse_item(*args, **kwargs)
    except PayloadError as exc:
        log.warning("skipping malformed webhook item (%s): %s", parse_item.__name__, exc)
    except (TypeError, ValueError, AttributeError, ArithmeticError, LookupError):
        log.exception("parser bug: webhook item skipped (%s)", parse_item.__name__)
    return None


def items(container: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The objects of an optional JSON array field. A field of another type is logged and skipped, not
    fatal (a 4xx makes Meta redeliver the whole batch, good items included); non-objects are ignored."""
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        log.warning("skipping webhook field %r: a %s, not a list", key, type(value).__name__)
        return []
    return [item for item in value if isinstance(item, dict)]


class MetaConnector(BaseConnector):
    """Behaviour shared by the Meta products: signature check and envelope parsing.

    Subclasses declare ``type``, ``label``, ``meta_object``, ``max_text_length``, ``needs`` (a token, and
    the account id their webhooks name) and implement ``parse_payload(payload)``.
    """

    #: One URL for the whole Meta app: the body's ``object`` says which product it is for.
    webhook_path = "/webhooks/meta"

    def verify(self, headers: Mapping[str, str], raw_body: bytes, secret: str) -> bool:
        return verify_request(headers, raw_body, [secret])

    def parse(self, raw_body: bytes, account_id: str = "", settings: Mapping[str, Any] | None = None
              ) -> list[InboundEvent]:
        """Events for this product only; a body for another ``object`` yields nothing.

        ``account_id`` and ``settings`` are ignored: ``entry.id`` / ``metadata.phone_number_id`` name the
        account, and the channel is only known once the events are routed.
        """
        payload = load_meta_payload(raw_body)
        if payload["object"] != self.meta_object:
            return []
        return sane_events(self.parse_payload(payload))

    def parse_payload(self, payload: dict[str, Any]) -> list[InboundEvent | None]:  # pragma: no cover
        """The events of an envelope ``load_meta_payload`` checked; None for skipped items (the callers
        pass the result through ``sane_events``)."""
        raise NotImplementedError

    def send_dm(self, base: str, token: str, rate_key: str, outbound: Outbound, config: ConnectorConfig, *,
                default_type: str | None = None) -> SendResult:
        """One Send API message (``POST {base}/me/messages``) to ``outbound.recipient`` (an IGSID or a PSID):
        text cut to this channel's ``max_text_length``, buttons as quick replies, the ``HUMAN_AGENT`` tag
        when the reply is a person's outside the free window (:func:`messaging_type`), throttled per account
        under ``<type>.send``. Instagram and Messenger DMs both go through here."""
        message = message_body(outbound, self.max_text_length)
        if message is None:
            return SendResult.skipped("empty message")
        body: dict[str, Any] = {"recipient": {"id": outbound.recipient},
                                **messaging_type(outbound, self.reply_window, default=default_type),
                                "message": message}
        limited = self.rate_limited(config, [(f"{self.type}.send", rate_key)])
        if limited:
            return limited
        return send_outcome(post_graph(f"{base}/me/messages", token, body, config), token, "message_id")


def post_graph(url: str, token: str, body: dict[str, Any], config: ConnectorConfig, *,
               repeatable: bool = True) -> HttpResult:
    """POST JSON to the Graph API with a Bearer token through the retrying client."""
    return request("POST", url, config=config, json=body, headers=bearer(token), secrets=[token],
                   retry_unknown_outcome=repeatable)


# --- Messenger Platform: what Instagram and Messenger DMs share -----------------------------------------

#: Instagram and Messenger DMs: free-form replies for 24 h after the customer's last message; after that a
#: person (not the bot) may still answer for 7 days with the ``HUMAN_AGENT`` tag, where the tenant turned
#: the channel setting ``human_agent`` on (Meta's Human Agent feature).
HUMAN_AGENT_WINDOW = ReplyWindow(hours=24, tag="HUMAN_AGENT", tag_hours=7 * 24, tag_setting="human_agent")

MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_MAX = 20


#: Messenger Platform attachment types → the shared media kinds (events.MEDIA_KINDS); anything else (a
#: shared post or reel, a story mention, a link preview "fallback", "unsupported_type") is "other".
MEDIA_KIND = {"image": "image", "animated_image": "image", "video": "video", "audio": "audio", "file": "file",
              "location": "location"}


def _media(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The message's attachments in the shared shape (events.media_item): the CDN ``url`` Meta gives (it
    expires after a while), a sticker (an image with a ``sticker_id``) as "sticker", a location's
    coordinates. Some payloads put ``title``/``url`` beside a ``payload`` that is a plain string."""
    media = []
    for att in items(message, "attachments"):
        payload = att.get("payload") if isinstance(att.get("payload"), dict) else {}
        kind_of = as_text(att.get("type"))
        kind = MEDIA_KIND.get(kind_of, "other")
        if kind == "image" and as_id(payload.get("sticker_id")):
            kind = "sticker"
        coordinates = payload.get("coordinates") if isinstance(payload.get("coordinates"), dict) else {}
        media.append(media_item(kind, type=kind_of, url=as_text(payload.get("url")) or as_text(att.get("url")),
                                id=as_id(payload.get("sticker_id")) or as_id(payload.get("attachment_id")),
                                title=as_text(payload.get("title")) or as_text(att.get("title")),
                                latitude=coordinates.get("lat"), longitude=coordinates.get("long")))
    return media


def parse_messaging(channel_type: str, account_id: str, item: dict[str, Any]) -> InboundEvent | None:
    """One ``messaging[]`` item (Instagram or Messenger: the same Messenger Platform shape) → a ``dm``
    event, or None for what the bot must not answer: our own messages (``is_echo``, or sent by the
    account itself), deleted and unsupported messages, reads, deliveries, reactions, edits, optins."""
    sender = as_id(as_dict(item.get("sender"), "sender").get("id"))
    if not sender or sender == account_id:
        return None  # our own outbound (echo without the flag) or junk
    timestamp = to_seconds(item.get("timestamp"))
    message = item.get("message")
    if isinstance(message, dict):
        if message.get("is_echo") or message.get("is_deleted") or message.get("is_unsupported"):
            return None
        mid = as_id(message.get("mid"))
        if not mid:
            return None
        extra: dict[str, Any] = {}
        text = as_text(message.get("text"))
        if isinstance(message.get("quick_reply"), dict):
            extra["quick_reply_payload"] = message["quick_reply"].get("payload")
            text = untruncate(text, extra["quick_reply_payload"])
        if isinstance(message.get("reply_to"), dict):
            extra["reply_to"] = message["reply_to"]
        if isinstance(message.get("referral"), dict):
            extra["referral"] = message["referral"]
        return InboundEvent(
            channel_type=channel_type, account_id=account_id, kind="dm", external_id=mid,
            user_id=sender, text=text, media=_media(message), meta=extra,
            timestamp=timestamp,
        )
    postback = item.get("postback")
    if isinstance(postback, dict):
        mid = as_id(postback.get("mid")) or f"postback:{sender}:{as_id(item.get('timestamp')) or ''}"
        extra = {"postback_payload": postback.get("payload")}
        if isinstance(postback.get("referral"), dict):
            extra["referral"] = postback["referral"]
        return InboundEvent(
            channel_type=channel_type, account_id=account_id, kind="dm", external_id=mid,
            user_id=sender, text=as_text(postback.get("title")) or as_text(postback.get("payload")),
            meta=extra, timestamp=timestamp,
        )
    return None  # read, delivery, reaction, message_edit, referral-only, optin...: nothing to answer


def quick_replies(buttons: list[str]) -> list[dict[str, str]]:
    """Buttons as Send API quick replies: the title cut to 20 characters, the whole label as payload (a
    tap comes back with it, and :func:`parse_messaging` restores the full label)."""
    return [
        {"content_type": "text", "title": truncate(b, QUICK_REPLY_TITLE_MAX), "payload": b[:1000]}
        for b in buttons[:MAX_QUICK_REPLIES]
    ]


def message_body(outbound: Outbound, limit: int) -> dict[str, Any] | None:
    """The Send API ``message`` of an outbound: an attachment by URL, or text (cut to ``limit``) with its
    buttons as quick replies; None when there is nothing to send."""
    attachment = outbound.meta.get("attachment")
    if isinstance(attachment, dict) and attachment.get("url"):
        kind = attachment.get("type", "image")
        return {"attachment": {"type": kind, "payload": {"url": attachment["url"]}}}
    if not outbound.text.strip():
        return None
    message: dict[str, Any] = {"text": truncate(outbound.text, limit)}
    if outbound.buttons:
        message["quick_replies"] = quick_replies(outbound.buttons)
    return message


def messaging_type(outbound: Outbound, window: ReplyWindow | None, *, default: str | None = None
                   ) -> dict[str, str]:
    """The Send API's ``messaging_type`` (and ``tag``): a reply a person sends outside the free window
    (``outbound.meta["human_agent"]``, set by whoever decided the window allows it) carries the window's
    tag; anything else goes as ``default`` (``RESPONSE``), or without the field where the API does not ask
    for it."""
    if outbound.meta.get("human_agent") and window is not None and window.tag:
        return {"messaging_type": "MESSAGE_TAG", "tag": window.tag}
    return {"messaging_type": default} if default else {}


def send_outcome(result: HttpResult, token: str, id_key: str) -> SendResult:
    """A Graph call's SendResult: sent with the id the API gave back (``message_id``, ``id``), or the
    mapped Graph error."""
    if result.ok and isinstance(result.data, dict) and result.data.get(id_key):
        return SendResult.sent(str(result.data[id_key]))
    if result.ok:
        return SendResult.sent(None)
    return graph_error_result(result, [token])


def account_key(credentials: dict[str, Any], token: str) -> str:
    """The rate-limit key of an account: its id when the credentials carry it, else a token digest (keeps
    accounts apart without putting the token into limiter keys)."""
    if credentials.get("account_id"):
        return str(credentials["account_id"])
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]
