"""One conversation turn per stored event, one turn at a time per contact.

`process_event` takes the contact's lock (`locks.contact_lock`), then claims the event and the person's
earlier pending events atomically (two workers never process one twice; `locked_by` names this worker so
the sweeper can recover its events if it dies), so two quick messages from one person are answered in
order. A turn has three phases: prepare (read, store the inbound message with its usage count, pick the flow
version, gather inputs: one transaction, then the DB connection is released), execute (the engine step: may
wait seconds on a model, holding no connection), persist (replies, state, leads, notifications and their
counts in one transaction). Sending happens after that, still under the contact's lock so replies go out in
order (delivery.py); the send results and the event's outcome are one more transaction.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, literal_column, select, update

from connectors.channels.base import GROUPS_SETTING
from connectors.channels.events import InboundEvent, content_kind
from connectors.channels.whatsapp import is_status_upgrade
from connectors.runtime import liveness
from connectors.runtime.run_slots import waiting
from flows import media
from flows.engine import step
from flows.state import resume_bot
from flows.turn import StepResult, TurnEvent
from webapp.extensions import db
from webapp.models import FollowUp, Message
from webapp.models import InboundEvent as EventRow
from webapp.models.base import utcnow
from webapp.plans import has_feature
from webapp.services import people

from . import effects, store, usage
from .context import build_services
from .delivery import DeliverySummary, deliver_event_messages, record_outbound, send_claimed
from .locks import LockTimeout, contact_lock
from .routing import pick_flow
from .store import TRANSIENT_ERRORS, ChannelRow, ContactRow, ConversationRow, Loaded, TenantRow
from .waiting import customer_waiting

log = logging.getLogger(__name__)

CLAIMABLE = ("received", "queued")
# After a database error (store.TRANSIENT_ERRORS) the event goes back to `queued` and the sweeper runs it
# again instead of leaving the customer unanswered until a person presses Retry. A retried turn resumes from
# what was committed (see handle_conversation_turn). After AUTO_ATTEMPTS it fails (visible).
AUTO_ATTEMPTS = 5
# A WhatsApp status for a message we have not stored is looked up once more on the next sweep (~30 s):
# by then a send result of ours is committed; statuses of messages sent by other tools stop there.
STATUS_ATTEMPTS = 2


class Skip(Exception):
    """The event is handled by doing nothing further; the reason is stored on it."""

    def __init__(self, reason: str, status: str = "skipped") -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


_EVENTS = EventRow.__table__
# Hot-path statements are built once (construction and cache keys cost more CPU than their round trips) and
# written against the tables, not the ORM entities, where plain rows are all a turn needs. Parameters of an
# UPDATE are named `p_*`: a parameter named like a column would be added to its SET clause.
_HEAD = select(_EVENTS.c.channel_id, _EVENTS.c.user_id, _EVENTS.c.status).where(_EVENTS.c.id == bindparam("id"))
_CLAIM = (
    update(_EVENTS).where(_EVENTS.c.channel_id == bindparam("p_channel_id"),
                          _EVENTS.c.user_id == bindparam("p_user_id"), _EVENTS.c.id <= bindparam("p_id"),
                          _EVENTS.c.status.in_([literal_column(f"'{s}'") for s in CLAIMABLE]))  # no per-run expansion
    .values(status="processing", attempts=_EVENTS.c.attempts + 1, locked_by=bindparam("p_owner"),
            locked_at=bindparam("p_now", type_=_EVENTS.c.locked_at.type))
    .returning(_EVENTS.c.id, _EVENTS.c.channel_id, _EVENTS.c.tenant_id, _EVENTS.c.user_id, _EVENTS.c.parsed,
               _EVENTS.c.attempts, _EVENTS.c.applied_at))
_FINISH = update(_EVENTS).where(_EVENTS.c.id == bindparam("p_id")).values(
    status=bindparam("p_status"), reason=bindparam("p_reason"), error=bindparam("p_error"),
    processed_at=bindparam("p_now", type_=_EVENTS.c.processed_at.type))
# In the transaction that stores the turn's replies, state and effects: a retried event finds the turn applied
# (applied_at set) and only sends what is still unsent, even when the turn stored no reply.
_APPLIED = update(_EVENTS).where(_EVENTS.c.id == bindparam("p_id")).values(
    applied_at=bindparam("p_now", type_=_EVENTS.c.applied_at.type))


def claim_pending(channel_id: int, user_id: str, event_id: int) -> list[Any]:
    """Atomic: exactly one worker moves an event to `processing`. Called under the person's lock, it claims
    this event and the person's earlier ones still waiting in one statement (oldest first: they are answered
    first), and returns the columns a turn needs (plain rows, not ORM objects: cheaper on the hot path).
    The claim is committed before this returns (a crash later leaves the attempt counted, so an event that
    kills its worker cannot be retried forever)."""
    rows = store.run(_CLAIM, {"p_channel_id": channel_id, "p_user_id": user_id, "p_id": event_id,
                              "p_now": utcnow(), "p_owner": liveness.owner()}).all()
    db.session.commit()
    return sorted(rows, key=lambda r: r.id)


def finish(event_id: int, status: str, reason: str | None = None, error: str | None = None, *,
           discard: bool = False) -> None:
    """Record the outcome by id, committed together with whatever the turn left pending (`discard`: drop
    that first, after an error)."""
    if discard:
        db.session.rollback()
    store.run(_FINISH, {"p_id": event_id, "p_status": status, "p_reason": reason, "p_error": error,
                        "p_now": utcnow()})
    db.session.commit()


def process_event(event_id: int) -> None:
    """Take the person's lock first, then claim: `processing` always means "its worker holds the lock",
    so the person's earlier events (still claimable) are answered first, in order."""
    head = store.run(_HEAD, {"id": event_id}).one_or_none()
    if head is None or head.status not in CLAIMABLE:
        db.session.commit()
        return
    try:
        with contact_lock(f"{head.channel_id}:{head.user_id}", while_blocked=waiting_for_earlier_turn):
            rows = claim_pending(head.channel_id, head.user_id, event_id)
            for index, row in enumerate(rows):
                if not _run_claimed(row):  # it waits for a retry: the person's later messages wait too
                    _requeue([later.id for later in rows[index + 1:]])
                    break
    except LockTimeout:  # still claimable: the sweeper enqueues it again
        log.warning("event %s waits for an earlier turn of the same person; left for the sweeper", event_id)
    db.session.commit()


def _requeue(event_ids: list[int]) -> None:
    if event_ids:
        db.session.execute(update(_EVENTS).where(_EVENTS.c.id.in_(event_ids), _EVENTS.c.status == "processing")
                           .values(status="queued"))
        db.session.commit()


def _run_claimed(row: Any) -> bool:
    """Run one claimed event; False when a database error sent it back to `queued` for a retry (the
    caller must not answer the same person's later messages before it)."""
    event_id = row.id
    try:
        db.session.commit()  # the claim (or an earlier event of the backlog) is done: this turn's transaction
        event = InboundEvent.from_dict(row.parsed)
        loaded = store.load(row.channel_id, event.user_id)
        if loaded.tenant.status != "active":
            raise Skip(f"tenant is {loaded.tenant.status}: no bot replies")
        handler = KIND_HANDLERS.get(event.kind, handle_conversation_turn)
        outcome = handler(row, loaded, event)
        finish(event_id, *outcome)  # a status waiting for its message does not hold up later messages
    except Skip as skip:
        finish(event_id, skip.status, skip.reason, discard=True)
    except Exception as exc:  # recorded on the event (visible, retryable) instead of lost in a log
        error = f"{exc.__class__.__name__}: {str(exc)[:500]}"
        if isinstance(exc, TRANSIENT_ERRORS) and row.attempts < AUTO_ATTEMPTS:
            log.warning("event %s: %s; left for the sweeper to retry (attempt %s of %s)", event_id, error,
                        row.attempts, AUTO_ATTEMPTS)
            finish(event_id, "queued", "retrying after a database error", error, discard=True)
            return False
        log.exception("event %s failed", event_id)
        finish(event_id, "failed", error=error, discard=True)
    return True


Outcome = tuple[str, str | None, str | None]


def handle_status(row: Any, loaded: Loaded, event: InboundEvent) -> Outcome:
    """WhatsApp delivery statuses: move the stored message forward, never backwards (callbacks arrive
    unordered and may be processed at the same time: each update is conditional on the status it read). A
    message whose send result was lost (`unknown`) is found by the idempotency key it carried as
    `biz_opaque_callback_data`, and settled."""
    channel = loaded.channel
    wamid, status = event.meta.get("wamid"), str(event.meta.get("status"))
    values: dict[str, Any] = {"delivery_status": status}
    if status == "failed":
        values["error"] = str(event.meta.get("errors") or "")[:1000]
    callback = event.meta.get("callback_data")
    for _ in range(3):
        found = db.session.execute(select(Message.id, Message.delivery_status).where(
            Message.channel_id == channel.id, Message.external_id == wamid)).one_or_none()
        if found is None and callback:  # our send result was lost (a timeout, a killed worker): its key finds it
            found = db.session.execute(select(Message.id, Message.delivery_status).where(
                Message.channel_id == channel.id, Message.idempotency_key == callback,
                Message.direction == "out")).one_or_none()
            values["external_id"] = wamid
        if found is None:
            if row.attempts < STATUS_ATTEMPTS:  # WhatsApp often reports `sent` before our send result is
                return "queued", f"no stored message {wamid} yet: the sweeper retries", None  # committed
            return "skipped", f"no stored message {wamid}", None
        if not is_status_upgrade(found.delivery_status, status):
            return "skipped", f"status {status} would move {found.delivery_status} backwards", None
        moved = db.session.execute(update(Message).where(Message.id == found.id,
                                                         Message.delivery_status == found.delivery_status)
                                   .values(**values).execution_options(synchronize_session=False)).rowcount
        if moved:
            return "done", f"message {found.id} is {status}", None
    return "skipped", f"message status kept changing; {status} not applied", None


def handle_edit(row: Any, loaded: Loaded, event: InboundEvent) -> Outcome:
    """An edited message updates what we stored; the bot does not answer the same message twice."""
    channel = loaded.channel
    original_id = event.meta.get("edit_of")
    message = db.session.scalar(select(Message).where(Message.channel_id == channel.id,
                                                      Message.external_id == original_id))
    if message is None:
        return "skipped", "edit of a message we never stored", None
    message.payload = {**(message.payload or {}), "edited_from": message.text}
    message.text = event.text
    return "done", "stored message updated by an edit; no new reply", None


def _contact(found: ContactRow | None, channel: ChannelRow, event: InboundEvent, now: Any
             ) -> tuple[ContactRow, bool]:
    """The person's contact (`found` by the turn's first query), created on their first message; True
    when this turn created it (then it has no conversation yet)."""
    meta = event.meta or {}
    name, username = str(meta.get("name") or "")[:200], str(meta.get("username") or "")[:200]
    if found is None:
        created = store.insert_contact(tenant_id=channel.tenant_id, channel_id=channel.id,
                                       external_user_id=event.user_id, name=name, username=username,
                                       last_seen_at=now)
        if created is not None:
            return created, True
        found = store.find_contact(channel.id, event.user_id)  # created concurrently
        if found is None:
            raise RuntimeError(f"contact {event.user_id} of channel {channel.id} vanished while being created")
    store.touch_contact(found, name, username, now)
    return found, False


def _conversation(loaded: Loaded, contact: ContactRow, created: bool, now: Any, unread: int = 1
                  ) -> ConversationRow:
    """The open conversation (found by the turn's first query when the contact was), or a new one; its
    last inbound time (the reply windows start from it) is stored with the person's message, whatever
    becomes of the turn. ``unread``: 0 for a retried event whose message is already stored (and counted)."""
    conv = loaded.conv
    if conv is None and loaded.contact is None and not created:  # another worker created the contact
        conv = store.open_conversation(contact.id)
    if conv is not None:
        store.touch_conversation(conv, now, unread=unread)
        return conv
    return store.insert_conversation(contact, now)


def contact_dict(contact: ContactRow, channel: ChannelRow) -> dict[str, Any]:
    return {"name": contact.name, "username": contact.username, "phone": contact.phone,
            "channel": channel.type, "id": contact.external_user_id}


def turn_event(event: InboundEvent, channel: ChannelRow, contact: ContactRow) -> TurnEvent:
    """The engine's input; a message with attachments says what it is (`meta["content"]`: "image",
    "audio"..., flows/media.py), so a `condition` rule can branch on it and a photo is never an empty answer."""
    meta = dict(event.meta or {})
    if event.media:
        meta[media.CONTENT_KEY] = content_kind(event.media)
    return TurnEvent(kind=event.kind, channel=channel.type, text=event.text,  # type: ignore[arg-type]
                     meta=meta, contact=contact_dict(contact, channel), at=utcnow())


def inbound_payload(event: InboundEvent) -> dict[str, Any]:
    """What a customer's message stores beside its text (the caption, for media): its attachments in the
    channels' shared shape (connectors/channels/events.media_item: kind, the platform's media id or URL, mime
    type, file name, coordinates) and what it is ("content": "text", "image"...; the conversation page)."""
    return {"media": event.media, "meta": event.meta, "content": content_kind(event.media)}


def handle_conversation_turn(row: Any, loaded: Loaded, event: InboundEvent) -> Outcome:
    """Runs under the person's lock (process_event). A retried event whose replies were stored only needs
    sending; one whose inbound side was stored before a failed step runs its turn again."""
    event_id, channel, tenant = row.id, loaded.channel, loaded.tenant
    stored_inbound = False
    if row.attempts > 1:
        if row.applied_at is not None:  # the turn was applied: only what is still unsent goes out, never twice
            return deliver_event_messages(event_id).outcome()
        stored_inbound = db.session.scalar(select(Message.id).where(Message.event_id == event_id,
                                                                    Message.direction == "in")) is not None
    if (event.meta or {}).get("group_id") and not (channel.settings or {}).get(GROUPS_SETTING):
        raise Skip("a group message, and the channel answers private chats only")
    if event.kind == "comment" and not has_feature(tenant, "comment_replies"):
        raise Skip("comment replies are not in the tenant's plan (feature comment_replies)")
    now = utcnow()
    contact, created = _contact(loaded.contact, channel, event, now)
    people.on_inbound(tenant.id, channel.type, contact.id, created, event.user_id, event.meta)  # vouched phones
    inbound = 0 if stored_inbound else 1
    conv = _conversation(loaded, contact, created, now, unread=inbound)
    if inbound:
        store.insert_message(tenant_id=tenant.id, conversation_id=conv.id, channel_id=channel.id,
                             event_id=event_id, direction="in", kind=event.kind, text=event.text,
                             external_id=event.external_id, payload=inbound_payload(event),
                             delivery_status="received")
        usage.add(tenant.id, messages_in=1)  # written with this transaction's commit
    if conv.bot_paused:
        if inbound:  # once per message, not again when a retried event finds it stored
            preview = event.text or (f"[{content_kind(event.media)}]" if event.media else "")  # a photo: "[image]"
            customer_waiting(tenant.id, conv.id, preview, now)
        db.session.commit()
        return "done", "bot paused in this conversation (handed off to a human)", None
    if not usage.has_room_for_reply(tenant, loaded.totals, uncounted=inbound):
        effects.warn_limit_once(tenant)
        db.session.commit()
        return "skipped", "monthly message limit of the plan reached: no bot reply", None
    prepared = prepare_turn(tenant, channel, conv, turn_event(event, channel, contact), f"e{event_id}",
                            event_id, event, llm_tokens_used=loaded.totals.llm_tokens)
    if prepared is None:
        db.session.commit()
        return "done", "no published flow answers this event", None
    result = execute_turn(prepared)
    return send_turn(prepared, persist_turn(prepared, result)).outcome(result.error)


@dataclass
class PreparedTurn:
    """Everything the engine needs, as plain values: no DB connection is held while the model thinks."""

    version: Any
    flow: Any
    reason: str
    state: dict[str, Any] | None
    event: TurnEvent
    services: Any
    key_prefix: str
    event_id: int | None
    inbound: InboundEvent | None
    slow: bool  # the flow may wait on a model or an HTTP integration: persist reads what may have changed
    rows: tuple[TenantRow, ChannelRow, ConversationRow]  # as read for the turn (persist may read them again)


def prepare_turn(tenant: TenantRow, channel: ChannelRow, conv: ConversationRow, tevent: TurnEvent,
                 key_prefix: str, event_id: int | None, inbound: InboundEvent | None, *,
                 llm_tokens_used: int | None = None) -> PreparedTurn | None:
    """Gather the turn's inputs; None when no flow answers. What the phase wrote (in a turn: the inbound
    side) is committed and the DB connection handed back before the step, which may wait
    seconds on a model or an HTTP integration."""
    picked = pick_flow(tenant, conv, tevent)
    if picked is None:
        return None
    version, flow, reason = picked
    slow = bool(flow.uses)
    state = copy.deepcopy(conv.state) or None
    if state and state.get("paused") and tevent.kind != "handback":  # `bot_paused` is the truth: a person
        state = resume_bot(state)  # handed the conversation back and the customer wrote before the bot went on
    prepared = PreparedTurn(version, flow, reason, state, tevent,
                            build_services(tenant, channel.type, flow.uses, llm_tokens_used), key_prefix, event_id,
                            inbound, slow, (tenant, channel, conv))
    db.session.commit()
    return prepared


def execute_turn(prepared: PreparedTurn) -> StepResult:
    """The engine step holds no database connection; its model and integration calls give the worker's run
    slot up while they wait (context.build_services)."""
    return step(prepared.flow, prepared.state, prepared.event, prepared.services)


@contextmanager
def waiting_for_earlier_turn() -> Iterator[None]:
    """While this turn waits for the person's earlier one: no transaction open, no run slot held."""
    db.session.rollback()
    with waiting():
        yield


def persist_turn(prepared: PreparedTurn, result: StepResult) -> list[Any]:
    """Everything the step produced, in one transaction; the replies are stored already claimed for
    sending (`claimed`), so no second transaction is needed before they go out."""
    tenant, channel, conv = prepared.rows
    if prepared.slow:  # the step may have taken a minute: the channel and conversation as they are now, in
        # one query (its token may have been reconnected, a manager may have taken over); the tenant as
        # this turn read it (as a fast turn uses it)
        backlog = conv.retry_backlog
        channel, conv = store.reload(channel.id, conv.id)
        conv.retry_backlog = backlog
        prepared.rows = (tenant, channel, conv)
        if conv.bot_paused:  # a manager took over while the model was thinking: the bot stays silent
            result = StepResult([], result.state, [e for e in result.effects if e.type == "llm_usage"],
                                result.trace, result.finished, result.error, result.state_kept)
    if not result.state_kept:  # else a comment ran beside a pending question: it stays on its flow (engine.step)
        conv.flow_id, conv.flow_version_id = prepared.version.flow_id, prepared.version.id
    conv.state = {**result.state, "trace_reason": prepared.reason}
    conv.stage = str(result.state.get("node") or ("finished" if result.finished else conv.stage))[:64]
    rows = record_outbound(tenant, channel, conv, result.outbound, key_prefix=prepared.key_prefix,
                           event_id=prepared.event_id, inbound=prepared.inbound, claimed=True,
                           why=routing_notes(prepared.reason, result.trace))
    effects.apply(tenant, channel, conv, result.effects, prepared.services)
    store.save_conversation(conv)
    if prepared.event_id is not None:
        store.run(_APPLIED, {"p_id": prepared.event_id, "p_now": utcnow()})
    if result.error:
        log.warning("flow error in conversation %s: %s", conv.id, result.error)
    db.session.commit()
    return [r for r in rows if r.delivery_status == "claimed"]


#: At most this many notes per turn are kept with its reply: the first ones say which flow and where it
#: started; a long loop of nodes would only repeat itself.
MAX_WHY_NOTES = 12


def routing_notes(reason: str | None, trace: list[dict[str, Any]]) -> list[str]:
    """Why the bot answered as it did, for the person reading the conversation: which flow took the message
    (routing.pick_flow's reason), where the run started, and the engine's and nodes' notes (an FAQ answer
    after the form, a question answered inside it, a model reply replaced), each once, in order."""
    notes = [reason] if reason else []
    for entry in trace:
        for text in (entry.get("note"), *(entry.get("warnings") or ())):
            if text and str(text) not in notes:
                notes.append(str(text))
    return notes[:MAX_WHY_NOTES]


def send_turn(prepared: PreparedTurn, claimed: list[Any]) -> DeliverySummary:
    _tenant, channel, conv = prepared.rows
    return send_claimed(claimed, channel=channel, conversation=conv, behind_backlog=conv.retry_backlog)


KIND_HANDLERS: dict[str, Callable[[Any, Loaded, InboundEvent], Outcome]] = {
    "status": handle_status,
    "edit": handle_edit,
}


def process_follow_up(follow_up_id: int) -> None:
    """A `follow_up` node's timer fired: continue on `timeout` unless the person answered meanwhile."""
    claimed = db.session.execute(update(FollowUp).where(FollowUp.id == follow_up_id,
                                                        FollowUp.status == "scheduled").values(status="firing"))
    db.session.commit()
    if claimed.rowcount != 1:
        return
    try:
        _fire(db.session.get(FollowUp, follow_up_id))
    except Exception:  # visible on the timer instead of silently lost
        log.exception("follow-up %s failed", follow_up_id)
        db.session.rollback()
        db.session.execute(update(FollowUp).where(FollowUp.id == follow_up_id).values(status="failed"))
        db.session.commit()


def _fire(fu: Any) -> None:
    loaded = store.load_conversation(fu.conversation_id)
    if loaded is None:
        raise RuntimeError(f"conversation {fu.conversation_id} of follow-up {fu.id} no longer exists")
    channel, contact = loaded.channel, loaded.contact
    assert contact is not None  # a conversation always has its contact
    with contact_lock(f"{channel.id}:{contact.external_user_id}", while_blocked=waiting_for_earlier_turn):
        loaded = store.load_conversation(fu.conversation_id) or loaded  # as it is now we hold the lock
        tenant, conv = loaded.tenant, loaded.conv
        assert conv is not None
        if conv.bot_paused or tenant.status != "active" or not usage.has_room_for_reply(tenant, loaded.totals):
            fu.status = "cancelled"
            db.session.commit()
            return
        tevent = TurnEvent(kind="timeout", channel=channel.type, text="",  # type: ignore[arg-type]
                           meta={"token": fu.token}, contact=contact_dict(contact, channel), at=utcnow())
        fu.status = "fired"
        prepared = prepare_turn(tenant, channel, conv, tevent, f"fu{fu.id}", None, None)
        db.session.commit()
        if prepared is None:
            return
        send_turn(prepared, persist_turn(prepared, execute_turn(prepared)))
        db.session.commit()


def describe(row: EventRow) -> dict[str, Any]:
    return {"id": row.id, "status": row.status, "reason": row.reason, "error": row.error,
            "attempts": row.attempts}
