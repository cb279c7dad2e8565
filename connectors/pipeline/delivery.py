"""Outbound: store each reply with an idempotency key, send it at most once on our own, and keep trying
what the channel asked us to try later.

Message states (docs/architecture.md, "Message states"):
- a turn stores its replies `claimed` by its worker (the insert is the claim); other senders (a retry, a
  manager's "send again", the sweeper) claim `pending`/`retrying` rows with one atomic UPDATE … RETURNING;
- right before a message's request leaves (connectors.channels.http.before_send) it becomes `sending`: a worker that
  dies before that point leaves a message the sweeper can safely send again; one that dies after it leaves
  the message `unknown`, because the channels have no idempotency keys: never re-sent automatically, shown
  on the conversation, the owner notified, settled by a later WhatsApp status, or re-sent by a person's
  explicit "send again";
- the channel's answer makes it `sent` (then `delivered`/`read` from statuses), `skipped` (outside a reply
  window, one private reply per comment…), `failed` (refused), `unknown` (no answer after sending) or
  `retrying` (429/5xx/not reached: sent again after the channel's `retry_after` or a jittered backoff, in
  order within the conversation, until 24 h after the customer's message, then `failed` and the owner told).

No DB connection is held while the channel APIs answer. Written with store.py's Core statements where the
turn is hot.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, literal_column, select, update
from sqlalchemy.exc import IntegrityError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from connectors.channels.base import ReplyWindow
from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult
from connectors.channels.http import before_send
from connectors.channels.registry import get_connector, text_limit
from connectors.runtime import liveness
from connectors.runtime.queue import QueueUnavailable, get_queue
from connectors.runtime.run_slots import waiting
from flows.text_limits import fit_text
from flows.turn import OutboundMessage
from webapp.extensions import db
from webapp.models import Contact, Conversation, Message
from webapp.models.base import as_utc, utcnow
from webapp.services import audit

from . import store, usage
from .effects import notify
from .locks import contact_lock
from .store import TRANSIENT_ERRORS, ChannelLike, ConversationLike, TenantLike

log = logging.getLogger(__name__)

ENGINE_TO_CHANNEL_KIND = {"reply": "message", "comment_reply": "comment_reply", "private_reply": "private_reply"}
RETRY_FOR = timedelta(hours=24)  # the channels' reply window, from the customer's message
PRIVATE_REPLY_FOR = timedelta(days=7)  # Instagram: a private reply within 7 days of the comment
BACKOFF_BASE, BACKOFF_MAX = 5.0, 600.0  # seconds, for retries without the channel's retry_after
RESULT_WRITE_FOR = 60.0  # seconds a send result keeps being written through a database outage


@dataclass
class DeliverySummary:
    sent: int = 0
    skipped: int = 0
    retrying: int = 0
    unknown: int = 0
    failed: list[str] = field(default_factory=list)

    def outcome(self, flow_error: str | None = None) -> tuple[str, str | None, str | None]:
        if self.failed:
            return "failed", None, f"{len(self.failed)} message(s) not sent: " + "; ".join(self.failed)[:900]
        reason = f"sent {self.sent}, skipped {self.skipped}"
        if self.retrying:
            reason += f", {self.retrying} to retry later"
        if self.unknown:
            reason += f", {self.unknown} with an unknown outcome"
        return "done", reason + (f"; flow error: {flow_error}" if flow_error else ""), None


def _recipient(channel: ChannelLike, inbound: InboundEvent | None, conv: ConversationLike) -> str:
    if inbound is not None:
        pick = getattr(get_connector(channel.type), "reply_recipient", None)
        return pick(inbound) if pick else inbound.user_id
    reply_to = (conv.state or {}).get("reply_to")
    if reply_to:
        return str(reply_to)
    return str(db.session.scalar(select(Contact.external_user_id).where(Contact.id == conv.contact_id)))


def record_outbound(tenant: TenantLike, channel: ChannelLike, conv: ConversationLike,
                    outbound: list[OutboundMessage], *,
                    key_prefix: str, event_id: int | None, inbound: InboundEvent | None,
                    claimed: bool = False, why: list[str] | None = None) -> list[Any]:
    """Store the turn's replies, `pending` (or `claimed` by this worker when the caller sends them right
    after the commit: the insert is the claim); returns them as rows with the columns sending reads. The
    conversation's `reply_to` and `last_outbound_at` are set on `conv`; the caller saves it. `why`: the
    turn's routing notes, kept with its first reply for the conversation page ("Why this reply")."""
    recipient = _recipient(channel, inbound, conv)
    if inbound is not None:
        conv.state = {**(conv.state or {}), "reply_to": recipient}
    comment_id = (inbound.meta or {}).get("comment_id") if inbound is not None else None
    comment_at = inbound.timestamp if comment_id and inbound is not None else None
    owner, now = (liveness.owner(), utcnow()) if claimed else (None, None)
    replies: list[dict[str, Any]] = []
    for index, out in enumerate(_merge_for_comments(outbound, comment_id)):
        kind = ENGINE_TO_CHANNEL_KIND.get(out.kind, "message")
        target = str(out.meta.get("comment_id") or comment_id or "") if kind != "message" else recipient
        key = f"private_reply:{channel.id}:{target}" if kind == "private_reply" else f"{key_prefix}:{index}"
        meta = dict(out.meta)
        if kind == "private_reply" and comment_at is not None:
            meta.setdefault("comment_at", comment_at)
        values = {"tenant_id": tenant.id, "conversation_id": conv.id, "channel_id": channel.id,
                  "event_id": event_id, "direction": "out", "kind": kind,
                  "text": fit_text(out.text, text_limit(channel.type)), "idempotency_key": key,
                  "delivery_status": "claimed" if claimed else "pending", "claimed_by": owner, "claimed_at": now,
                  "error": None,
                  "payload": {"buttons": list(out.buttons), "recipient": target, "meta": meta,
                              **({"why": why} if why and index == 0 else {})}}
        if not target:
            values.update(delivery_status="skipped", claimed_by=None, claimed_at=None,
                          error="no recipient for this reply")
        replies.append(values)
    rows: list[Any] = []
    plain: list[dict[str, Any]] = []  # consecutive replies inserted in one statement, in the flow's order
    for values in replies:
        if values["kind"] != "private_reply":
            plain.append(values)
            continue
        rows += store.insert_replies(plain)
        plain = []
        row = store.insert_reply_once(values)  # the unique key is the claim: one per comment, ever
        if row is None:
            log.info("%s already claimed: a comment gets one private reply", values["idempotency_key"])
        else:
            rows.append(row)
    rows += store.insert_replies(plain)
    usage.add(tenant.id, messages_out=sum(1 for r in rows if r.delivery_status in ("pending", "claimed")))
    conv.last_outbound_at = utcnow() if rows else conv.last_outbound_at
    return rows


def _merge_for_comments(outbound: list[OutboundMessage], comment_id: str | None) -> list[OutboundMessage]:
    """On a comment, plain replies cannot be DMs (no conversation yet): they join the one private reply."""
    if not comment_id:
        return outbound
    private = [o for o in outbound if o.kind == "private_reply"]
    plain = [o for o in outbound if o.kind == "reply"]
    if not private or not plain:
        return [o for o in outbound if o.kind != "reply"]
    merged = OutboundMessage(text="\n\n".join([private[0].text] + [p.text for p in plain]),
                             buttons=private[0].buttons or plain[-1].buttons, kind="private_reply",
                             meta=private[0].meta)
    return [o for o in outbound if o.kind == "comment_reply"] + [merged]


def connector_config() -> ConnectorConfig:
    return ConnectorConfig.from_mapping(current_app.config)


def send_credentials(channel: ChannelLike) -> dict[str, Any]:
    """Stored credentials in the shape the connectors read (one token key for every channel)."""
    creds = dict(channel.credentials or {})
    token = credential_token(creds)
    return {**creds, "access_token": token, "token": token, "phone_number_id": channel.external_id}


TOKEN_KEYS = ("access_token", "token")  # the channel service stores "token"; an OAuth flow may store either


def credential_token(creds: dict[str, Any]) -> str | None:
    """The channel's token, whichever key holds it."""
    return next((str(creds[key]) for key in TOKEN_KEYS if creds.get(key)), None)


def _not_sendable(channel: ChannelLike, last_inbound_at: Any, claimed: Any) -> Outbound | str | None:
    """A reason not to send now (a skip), a replacement to send instead (a template outside a reply window),
    or None."""
    now = utcnow()
    meta = (claimed.payload or {}).get("meta") or {}
    comment_at = meta.get("comment_at") if claimed.kind == "private_reply" else None
    if isinstance(comment_at, int | float) and now - datetime.fromtimestamp(comment_at, now.tzinfo) > PRIVATE_REPLY_FOR:
        return "Instagram allows a private reply only within 7 days of the comment"
    window = get_connector(channel.type).reply_window
    if window is None or claimed.kind != "message":
        return None
    if meta.get("human"):  # a person's reply: never swapped for a template; the tag as their tenant allowed it
        return _human_not_sendable(window, channel, as_utc(last_inbound_at), now, claimed, meta)
    decision = window.decide(as_utc(last_inbound_at), now, channel.settings)
    if decision == "free":  # a bot's reply: the tag is a person's (_human_not_sendable), never the bot's
        return None
    if decision == "template":
        template = (channel.settings or {})[window.template_setting or ""]
        return Outbound(kind="template", recipient=(claimed.payload or {}).get("recipient", ""),
                        text=claimed.text, meta=dict(template), idempotency_key=claimed.idempotency_key or "")
    if window.template_setting:
        return f"outside the {window.hours}-hour reply window and no re-engagement template is configured"
    return f"outside the {window.hours}-hour reply window"


def _human_not_sendable(window: ReplyWindow, channel: ChannelLike, last_inbound_at: datetime | None,
                        now: datetime, claimed: Any, meta: dict[str, Any]) -> Outbound | str | None:
    """A person's reply (an operator's, `meta["human"]`): free inside the window; after it, tagged (Meta's
    HUMAN_AGENT) within the tag's days only where the tenant allowed it when the reply was written
    (`meta["tag_allowed"]`); never replaced by the re-engagement template (a person picks a template
    themselves: a `template` message)."""
    settings = {k: v for k, v in (channel.settings or {}).items() if k != window.template_setting}
    if window.tag_setting:
        settings[window.tag_setting] = bool(meta.get("tag_allowed"))
    decision = window.decide(last_inbound_at, now, settings)
    if decision == "free":
        return None
    if decision == "tag":
        payload = claimed.payload or {}
        return Outbound(kind="message", recipient=payload.get("recipient", ""), text=claimed.text,
                        buttons=list(payload.get("buttons") or []), meta={**meta, "human_agent": True},
                        idempotency_key=claimed.idempotency_key or "")
    if window.tag and window.tag_hours and meta.get("tag_allowed"):
        return f"more than {window.tag_hours // 24} days after the customer's last message: not sent"
    if window.template_setting:
        return f"outside the {window.hours}-hour window: only an approved template may be sent"
    return f"outside the {window.hours}-hour reply window"


def conversation_recipient(channel: ChannelLike, conv: ConversationLike) -> str:
    """Where a message outside a turn goes (an operator's reply, the waiting notice): the address the
    customer last wrote from, else the contact's id."""
    return _recipient(channel, None, conv)


def record_once(tenant_id: int, channel: ChannelLike, conv: ConversationLike, *, kind: str, text: str, key: str,
                meta: dict[str, Any]) -> Any | None:
    """One outbound message written outside a turn (a person's reply, the "we'll get back to you"), stored
    `pending` under its idempotency key: None when the key exists (a form sent twice, a second sweeper).
    The caller commits, then enqueues `deliver_conversation` (the sweeper sends it if that is lost), so it
    goes out the way a bot reply does: in order, claimed, retried, its outcome recorded."""
    recipient = conversation_recipient(channel, conv)
    values = {"tenant_id": tenant_id, "conversation_id": conv.id, "channel_id": channel.id, "event_id": None,
              "direction": "out", "kind": kind, "text": fit_text(text, text_limit(channel.type)),
              "idempotency_key": key, "delivery_status": "pending", "claimed_by": None, "claimed_at": None,
              "error": None, "payload": {"buttons": [], "recipient": recipient, "meta": meta}}
    if not recipient:
        values.update(delivery_status="skipped", error="no recipient for this reply")
    row = store.insert_reply_once(values)
    if row is not None and row.delivery_status == "pending":
        usage.add(tenant_id, messages_out=1)
    return row


_MESSAGES = Message.__table__


def _claim(condition: Any, states: tuple[str, ...]) -> list[Any]:
    rows = db.session.execute(
        update(_MESSAGES).where(condition, _MESSAGES.c.direction == "out", _MESSAGES.c.delivery_status.in_(states))
        .values(delivery_status="claimed", claimed_by=liveness.owner(), claimed_at=utcnow())
        .returning(*store.SENDABLE)).all()
    db.session.commit()
    return sorted(rows, key=lambda r: r.id)


@dataclass
class _Send:
    message_id: int
    channel: ChannelLike
    outbound: Outbound | str  # a str: the reason it is skipped
    attempts: int
    give_up_at: datetime
    conversation_id: int
    tenant_id: int


def _plan(claimed: list[Any], channel: ChannelLike | None, conversation: ConversationLike | None) -> list[_Send]:
    """What to send for each claimed message: the channel and conversation rows the caller has (a turn)
    are used as they are, others are read."""
    channels: dict[int, ChannelLike | None] = {channel.id: channel} if channel is not None else {}
    last_inbound: dict[int, Any] = ({conversation.id: conversation.last_inbound_at} if conversation is not None
                                    else {})
    plans: list[_Send] = []
    for row in claimed:
        if row.channel_id not in channels:
            channels[row.channel_id] = store.channel(row.channel_id)
        channel_row = channels[row.channel_id]
        if row.conversation_id not in last_inbound:
            last_inbound[row.conversation_id] = store.last_inbound_at(row.conversation_id)
        payload = row.payload or {}
        outbound = Outbound(kind=row.kind, recipient=payload.get("recipient", ""), text=row.text,
                            buttons=list(payload.get("buttons") or []), meta=dict(payload.get("meta") or {}),
                            idempotency_key=row.idempotency_key or "")
        since = as_utc(last_inbound[row.conversation_id]) or as_utc(row.created_at) or utcnow()
        if (payload.get("meta") or {}).get("human"):  # a person may write days later: retried for 24 h from then
            since = max(since, as_utc(row.created_at) or since)
        plans.append(_Send(row.id, channel_row, _not_sendable(channel_row, last_inbound[row.conversation_id], row)
                           or outbound, row.attempts or 0, since + RETRY_FOR, row.conversation_id, row.tenant_id))
    return plans


_MARK_SENDING = update(_MESSAGES).where(
    _MESSAGES.c.id == bindparam("p_id"), _MESSAGES.c.delivery_status == "claimed",
    _MESSAGES.c.claimed_by == bindparam("p_owner")).values(
    delivery_status="sending", claimed_at=bindparam("p_now", type_=_MESSAGES.c.claimed_at.type))


class Reclaimed(RuntimeError):
    """The message is no longer this worker's to send (the sweeper took it back, believing the worker dead):
    the request must not leave, and no result is written for it."""


class NotMarked(RuntimeError):
    """The database could not record that the request is leaving: it does not leave (it is retried later)."""


def _mark_sending(message_id: int) -> None:
    """Durable before the request leaves, on a connection of its own (the session holds none while the
    channel answers)."""
    try:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            marked = conn.execute(_MARK_SENDING, {"p_id": message_id, "p_owner": liveness.owner(),
                                                  "p_now": utcnow()}).rowcount
    except TRANSIENT_ERRORS as exc:
        raise NotMarked(f"{exc.__class__.__name__}: {str(exc)[:200]}") from exc
    if marked != 1:
        raise Reclaimed(f"message {message_id} was taken back before it was sent")


def send_claimed(claimed: list[Any], *, channel: ChannelLike | None = None,
                 conversation: ConversationLike | None = None, behind_backlog: bool = False) -> DeliverySummary:
    """Send messages this worker has claimed, in order, and record the results. `channel` /
    `conversation`: rows the caller read already (a turn). `behind_backlog`: earlier replies of the
    conversation wait to go out, so these wait behind them instead of overtaking them."""
    summary = DeliverySummary()
    if not claimed:
        return summary
    try:
        plans = _plan(claimed, channel, conversation)
        credentials = {p.channel.id: send_credentials(p.channel) for p in plans}
        db.session.commit()  # hand the connection back while the channel APIs answer
    except BaseException:  # nothing left: the claims go back, or the sweeper takes them back later
        _release([row.id for row in claimed])
        raise
    config = connector_config()
    now = utcnow()
    results: list[dict[str, Any]] = []
    waiting_until: dict[int, datetime] = {}  # conversations whose earlier reply waits: when it is due
    if behind_backlog and plans:
        waiting_until[plans[0].conversation_id] = now
    rejected: dict[int, tuple[ChannelLike, str]] = {}  # channels whose token a send was refused with
    told: list[tuple[int, str, str]] = []  # (tenant, kind, text) for the owner
    for send in plans:
        if send.conversation_id in waiting_until:  # keep the conversation's order
            results.append({"p_message_id": send.message_id, "p_status": "retrying", "p_error": "waiting for an "
                            "earlier reply to go out", "p_next": waiting_until[send.conversation_id],
                            "p_attempts": send.attempts})
            summary.retrying += 1
            continue
        try:
            result = _send_one(send, credentials[send.channel.id], config)
        except Reclaimed:
            log.warning("message %s was taken back by the sweeper: left to whoever holds it now", send.message_id)
            continue
        values = _result_values(send, result, summary, now, told)
        if values["p_status"] == "retrying":
            waiting_until[send.conversation_id] = values["p_next"]
        results.append(values)
        if result.token_invalid and send.channel.status != "needs_reconnect":
            rejected.setdefault(send.channel.id, (send.channel, f"the channel's access token was rejected: "
                                                                f"{result.error}"))
    _write_results(results)
    for rejected_channel, reason in rejected.values():
        _needs_reconnect(rejected_channel, reason)
    tell_owners(told)
    _schedule_retries(waiting_until, now)
    return summary


def _release(message_ids: list[int]) -> None:
    """Claims this worker will not send after all go back to `pending` (best effort: after a database error
    this may fail too; then the sweeper takes them back once their claim is stale)."""
    try:
        db.session.rollback()
        db.session.execute(update(_MESSAGES).where(
            _MESSAGES.c.id.in_(message_ids), _MESSAGES.c.delivery_status == "claimed",
            _MESSAGES.c.claimed_by == liveness.owner()).values(delivery_status="pending", claimed_by=None))
        db.session.commit()
    except Exception:
        log.warning("claims of messages %s not released: the sweeper will", message_ids, exc_info=True)
        db.session.rollback()


def _send_one(send: _Send, credentials: dict[str, Any], config: ConnectorConfig) -> SendResult:
    if isinstance(send.outbound, str):
        return SendResult.skipped(send.outbound)
    try:
        # the channel API (its rate limit, retries and backoff): the worker's run slot goes to another job
        with waiting(), before_send(lambda: _mark_sending(send.message_id)):
            return get_connector(send.channel.type).send(credentials, send.outbound, config)
    except Reclaimed:
        raise
    except NotMarked as exc:  # the request never left
        return SendResult(status="failed", error=f"not sent: the database was unavailable ({exc})", retryable=True)
    except Exception as exc:  # one broken send must not strand the others; whether it left is unknown
        log.exception("send of message %s failed", send.message_id)
        return SendResult(status="failed", error=f"{exc.__class__.__name__}: {str(exc)[:300]}", outcome_unknown=True)


def _result_values(send: _Send, result: SendResult, summary: DeliverySummary, now: datetime,
                   told: list[tuple[int, str, str]]) -> dict[str, Any]:
    """The message's new columns, as parameters of `_RESULT`."""
    values: dict[str, Any] = {"p_message_id": send.message_id, "p_next": None, "p_attempts": send.attempts + 1,
                              "p_error": None}
    if result.status == "sent":
        values.update(p_status="sent", p_external_id=result.external_id)
        summary.sent += 1
    elif result.status == "skipped":
        values.update(p_status="skipped", p_error=result.error, p_attempts=send.attempts)
        summary.skipped += 1
    elif result.outcome_unknown:
        values.update(p_status="unknown", p_error=f"outcome unknown: {result.error}")
        summary.unknown += 1
        told.append((send.tenant_id, "delivery_unknown", f"message {send.message_id}: {result.error}"))
    elif result.retryable and (due := _next_attempt(send.attempts + 1, result.retry_after, now)) < send.give_up_at:
        values.update(p_status="retrying", p_error=f"{result.error} (code {result.error_code}); retrying", p_next=due)
        summary.retrying += 1
    else:
        gave_up = " (no delivery within 24 h of the customer's message)" if result.retryable else ""
        values.update(p_status="failed", p_error=f"{result.error} (code {result.error_code}){gave_up}")
        summary.failed.append(f"message {send.message_id}: {result.error}{gave_up}")
        if result.retryable:
            told.append((send.tenant_id, "delivery_failed", f"message {send.message_id}: {result.error}{gave_up}"))
    return values


def _next_attempt(attempt: int, retry_after: float | None, now: datetime) -> datetime:
    """The channel's retry_after when it gave one (plus a little jitter, so a burst of retries does not hit
    the channel at one instant), else an exponential backoff with full jitter."""
    if retry_after is not None:
        delay = float(retry_after) + random.uniform(0, min(5.0, 0.2 * float(retry_after) + 1))
    else:
        delay = random.uniform(BACKOFF_BASE / 2, min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1)))
    return now + timedelta(seconds=delay)


# Only over a state a send can leave: a WhatsApp status that settled the message first (found by its
# callback data) is not moved back to `sent`.
_RESULT = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("p_message_id"),
                                  _MESSAGES.c.delivery_status.in_(  # literals: an executemany cannot expand
                                      [literal_column(f"'{s}'") for s in ("claimed", "sending", "unknown")])).values(
    delivery_status=bindparam("p_status"), error=bindparam("p_error"), claimed_by=None,
    attempts=bindparam("p_attempts"), next_attempt_at=bindparam("p_next", type_=_MESSAGES.c.next_attempt_at.type))
_RESULT_SENT = _RESULT.values(external_id=bindparam("p_external_id"))


def _write_results(results: list[dict[str, Any]]) -> None:
    """One executemany per statement, in one transaction after the sends (nothing is written while the
    channel APIs answer). A database outage is waited out for RESULT_WRITE_FOR seconds (a
    delivered reply must not be reported failed, nor be sent again); an id the channel gave twice is kept
    off the second message rather than failing the others."""
    sent = [r for r in results if "p_external_id" in r]
    rest = [r for r in results if "p_external_id" not in r]

    def write() -> None:
        try:
            for statement, params in ((_RESULT_SENT, sent), (_RESULT, rest)):
                if params:
                    db.session.execute(statement, params)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            _write_one_by_one(sent, rest)
        except BaseException:
            db.session.rollback()
            raise

    for attempt in Retrying(retry=retry_if_exception_type(TRANSIENT_ERRORS), stop=stop_after_delay(RESULT_WRITE_FOR),
                            wait=wait_exponential(multiplier=0.2, max=5), reraise=True):
        with attempt:
            write()


def _write_one_by_one(sent: list[dict[str, Any]], rest: list[dict[str, Any]]) -> None:
    if rest:
        db.session.execute(_RESULT, rest)
        db.session.commit()
    for params in sent:
        try:
            db.session.execute(_RESULT_SENT, params)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            log.error("message %s: the channel's id %s is already recorded on another message", params["p_message_id"],
                      params["p_external_id"])
            db.session.execute(_RESULT, {**params, "p_error": f"the channel's id {params['p_external_id']} is "
                                                              "already recorded on another message"})
            db.session.commit()


def _schedule_retries(due: dict[int, datetime], now: datetime) -> None:
    """A delayed delivery job per conversation (the sweeper sends whatever is due too: delayed jobs live in
    Redis, which may lose them)."""
    for conversation_id, at in due.items():
        try:
            get_queue().enqueue("connectors.runtime.jobs.deliver_conversation", conversation_id,
                                delay=max(0.0, (at - now).total_seconds()))
        except QueueUnavailable:
            log.warning("retry of conversation %s left for the sweeper (queue down)", conversation_id)


def tell_owners(told: list[tuple[int, str, str]]) -> None:
    """One notification per tenant and kind for what a person has to look at (in the back-office, and sent
    where the tenant chose: webapp/services/notifications.py)."""
    titles = {"delivery_unknown": "Replies whose delivery is unknown: check before sending again",
              "delivery_failed": "Replies that could not be delivered"}
    by_key: dict[tuple[int, str], list[str]] = {}
    for tenant_id, kind, text in told:
        by_key.setdefault((tenant_id, kind), []).append(text)
    if not by_key:
        return
    for (tenant_id, kind), lines in by_key.items():
        notify(tenant_id, kind, titles[kind], "\n".join(lines)[:2000], messages=len(lines))
    db.session.commit()


def _needs_reconnect(channel: ChannelLike, reason: str) -> None:
    flag_reconnect(channel.id, channel.tenant_id, channel.name or channel.type, reason)
    channel.status = "needs_reconnect"


def flag_reconnect(channel_id: int, tenant_id: int, name: str, reason: str) -> bool:
    """A rejected token (a send, the token refresh): the channel shows "needs reconnection" and the
    tenant's inbox says so, once, from whichever flagged it first."""
    flagged = store.mark_needs_reconnect(channel_id, reason)
    if flagged:
        notify(tenant_id, "token_invalid", f"Reconnect {name}", reason[:500], channel_id=channel_id, name=name)
        # Once per flagging, in the same transaction: the tenant's audit log shows the token error.
        audit.record("token_error", tenant_id=tenant_id, actor="system", target=f"#{channel_id} {name}",
                     details={"channel_id": channel_id, "reason": reason[:500]})
    db.session.commit()
    return flagged


def _deliver(condition: Any, states: tuple[str, ...]) -> DeliverySummary:
    summary = send_claimed(_claim(condition, states))
    db.session.commit()
    return summary


def deliver_message(message_id: int) -> DeliverySummary:
    """A reply a person asked to send again ("send again" moved it to `pending`), if nobody sent it yet."""
    return _deliver(_MESSAGES.c.id == message_id, ("pending",))


def deliver_event_messages(event_id: int) -> DeliverySummary:
    """An event's replies not sent yet (a retried event; a person's Retry moved its refused ones back to
    `pending`); never the ones whose outcome is unknown nor those waiting for their retry."""
    return _deliver(_MESSAGES.c.event_id == event_id, ("pending",))


@contextmanager
def _conversation_lock(conversation_id: int) -> Iterator[bool]:
    row = db.session.execute(select(Conversation.channel_id, Contact.external_user_id)
                             .join(Contact, Contact.id == Conversation.contact_id)
                             .where(Conversation.id == conversation_id)).one_or_none()
    db.session.commit()
    if row is None:
        yield False
        return
    with contact_lock(f"{row.channel_id}:{row.external_user_id}"):
        yield True


def deliver_conversation(conversation_id: int) -> DeliverySummary:
    """Send the conversation's replies that wait (`pending`, or `retrying` and due), oldest first, under the
    person's lock (so they keep their order with the bot's next turn); stops at the first one not due yet."""
    total = DeliverySummary()
    with _conversation_lock(conversation_id) as found:
        if not found:
            return total
        while True:
            now = utcnow()
            waiting = db.session.execute(
                select(_MESSAGES.c.id, _MESSAGES.c.delivery_status, _MESSAGES.c.next_attempt_at)
                .where(_MESSAGES.c.conversation_id == conversation_id, _MESSAGES.c.direction == "out",
                       _MESSAGES.c.delivery_status.in_(("pending", "retrying"))).order_by(_MESSAGES.c.id)).all()
            due: list[int] = []
            for row in waiting:
                if row.next_attempt_at is not None and as_utc(row.next_attempt_at) > now:
                    break
                due.append(row.id)
            if not due:
                db.session.commit()
                return total
            summary = send_claimed(_claim(_MESSAGES.c.id.in_(due), ("pending", "retrying")))
            db.session.commit()
            for name in ("sent", "skipped", "retrying", "unknown"):
                setattr(total, name, getattr(total, name) + getattr(summary, name))
            total.failed += summary.failed
            if summary.retrying or (not summary.sent and not summary.skipped and not summary.failed):
                return total
