"""A turn's reads and writes: plain rows and prebuilt Core statements instead of ORM entities.

Every message runs the same few statements against the same four rows: the channel, its tenant with the
plan, the person's contact and conversation. Building ORM identities for them, tracking their changes and
flushing them cost a turn more CPU than the statements' round trips (in bench/pipeline.py the flushes
alone were ~16% of an AI turn's CPU), so the hot path reads them into the small dataclasses below and
writes back exactly the columns it changes. The back-office, Flask-Admin and the rarer effects (leads,
notifications, follow-up timers) keep using the ORM models; both see the same tables.

Statements are built once at import and run on the session's connection (`run`), in whatever phase the
session is in; parameters of an UPDATE are named `p_*` (one named like a column would join its SET).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Column, Table, and_, bindparam, case, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from webapp.extensions import db
from webapp.models import Channel, Contact, Conversation, Message, Plan, Tenant

from . import usage

# The database was unreachable, out of connections, restarting, or chose this transaction as a deadlock
# victim: nothing is wrong with the work itself, so it is tried again.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)


@dataclass(slots=True)
class PlanRow:
    id: int
    features: list[str]
    limits: dict[str, Any]
    priority: str
    llm_model: str | None


@dataclass(slots=True)
class TenantRow:
    """The tenant as `webapp.plans` and the engine's services read it (`plan` holds the plan's row)."""

    id: int
    name: str
    status: str
    language: str
    timezone: str
    profile: dict[str, Any]
    settings: dict[str, Any]
    default_flow_id: int | None
    plan: PlanRow


@dataclass(slots=True)
class ChannelRow:
    id: int
    tenant_id: int
    type: str
    name: str
    external_id: str | None
    credentials: dict[str, Any] | None
    status: str
    settings: dict[str, Any]


@dataclass(slots=True)
class ContactRow:
    id: int
    tenant_id: int
    channel_id: int
    external_user_id: str
    name: str
    username: str
    phone: str


@dataclass(slots=True)
class ConversationRow:
    id: int
    tenant_id: int
    contact_id: int
    channel_id: int
    flow_id: int | None
    flow_version_id: int | None
    state: dict[str, Any]
    stage: str
    bot_paused: bool
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    retry_backlog: bool = False  # not a column: earlier replies wait to go out (new ones wait behind them)


# What delivery and the plan checks accept: a turn's rows, or the ORM objects the back-office holds.
ChannelLike = ChannelRow | Channel
ConversationLike = ConversationRow | Conversation
TenantLike = TenantRow | Tenant


class Loaded(NamedTuple):
    """What a turn reads before it runs, from one query: the channel, its tenant (with the plan), the
    person's contact and open conversation when they exist, and this month's usage totals."""

    channel: ChannelRow
    tenant: TenantRow
    contact: ContactRow | None
    conv: ConversationRow | None
    totals: usage.Totals


_C, _T, _P, _K, _V, _M = (m.__table__ for m in (Channel, Tenant, Plan, Contact, Conversation, Message))


def _columns(cls: type, table: Table) -> list[Column[Any]]:
    """The table's columns named like the dataclass's fields, in field order (rows are built by position)."""
    return [table.c[f.name] for f in fields(cls) if f.name in table.c]


_LAYOUT = ((ChannelRow, _C), (TenantRow, _T), (PlanRow, _P), (ContactRow, _K), (ConversationRow, _V))
_SELECTED = [column for cls, table in _LAYOUT for column in _columns(cls, table)]
_SLICES: list[slice] = []
for _cls, _table in _LAYOUT:
    _start = _SLICES[-1].stop if _SLICES else 0
    _SLICES.append(slice(_start, _start + len(_columns(_cls, _table))))


def _loaded(row: Any) -> Loaded:
    values = tuple(row)
    chan, tenant, plan, contact, conv = (values[s] for s in _SLICES)
    tenant_row = TenantRow(*tenant, plan=PlanRow(*plan))
    messages, tokens, backlog = values[_SLICES[-1].stop:]
    totals = usage.with_pending(tenant_row.id, messages, tokens)
    conv_row = ConversationRow(*conv, retry_backlog=bool(backlog)) if conv[0] is not None else None
    return Loaded(ChannelRow(*chan), tenant_row, ContactRow(*contact) if contact[0] is not None else None,
                  conv_row, totals)


_TENANT_JOIN = (_C.join(_T, _T.c.id == _C.c.tenant_id).join(_P, _P.c.id == _T.c.plan_id))
# Earlier replies of the conversation still waiting to go out: a turn's new replies wait behind them.
_BACKLOG = exists().where(_M.c.conversation_id == _V.c.id,
                          _M.c.delivery_status.in_(("retrying", "pending"))).label("backlog")
_LOAD = (select(*_SELECTED, *usage.totals_columns(_C.c.tenant_id), _BACKLOG)
         .select_from(_TENANT_JOIN
                      .outerjoin(_K, and_(_K.c.channel_id == _C.c.id, _K.c.external_user_id == bindparam("user_id")))
                      .outerjoin(_V, and_(_V.c.contact_id == _K.c.id, _V.c.status == "open")))
         .where(_C.c.id == bindparam("channel_id")).order_by(_V.c.id.desc()).limit(1))
_LOAD_CONVERSATION = (select(*_SELECTED, *usage.totals_columns(_C.c.tenant_id), _BACKLOG)
                      .select_from(_TENANT_JOIN.join(_V, _V.c.channel_id == _C.c.id)
                                   .join(_K, _K.c.id == _V.c.contact_id))
                      .where(_V.c.id == bindparam("conversation_id")))
_CHANNEL_COLUMNS = _columns(ChannelRow, _C)
_RELOAD = (select(*_CHANNEL_COLUMNS, *_columns(ConversationRow, _V)).join_from(_C, _V, _V.c.channel_id == _C.c.id)
           .where(_C.c.id == bindparam("channel_id"), _V.c.id == bindparam("conversation_id")))
_CHANNEL = select(*_CHANNEL_COLUMNS).where(_C.c.id == bindparam("channel_id"))
_INBOUND_AT = select(_V.c.last_inbound_at).where(_V.c.id == bindparam("conversation_id"))


def load(channel_id: int, user_id: str) -> Loaded:
    row = run(_LOAD, {"channel_id": channel_id, "user_id": user_id, **usage.month_params()}).one()
    return _loaded(row)


def load_conversation(conversation_id: int) -> Loaded | None:
    """The same rows for a known conversation (a follow-up timer)."""
    row = run(_LOAD_CONVERSATION, {"conversation_id": conversation_id, **usage.month_params()}).one_or_none()
    return _loaded(row) if row is not None else None


def reload(channel_id: int, conversation_id: int) -> tuple[ChannelRow, ConversationRow]:
    """The channel and conversation as they are now (after a model call: a token may have been
    reconnected, a manager may have taken over)."""
    values = tuple(run(_RELOAD, {"channel_id": channel_id, "conversation_id": conversation_id}).one())
    split = len(_CHANNEL_COLUMNS)
    return ChannelRow(*values[:split]), ConversationRow(*values[split:])


def channel(channel_id: int) -> ChannelRow | None:
    row = run(_CHANNEL, {"channel_id": channel_id}).one_or_none()
    return ChannelRow(*row) if row is not None else None


def last_inbound_at(conversation_id: int) -> datetime | None:
    return run(_INBOUND_AT, {"conversation_id": conversation_id}).scalar()


# -- the person ----------------------------------------------------------------------------------------
_CONTACT_COLUMNS = _columns(ContactRow, _K)
_DIALECT_INSERTS = (("postgresql", pg_insert), ("sqlite", sqlite_insert))
_INSERT_CONTACT = {name: make(_K).on_conflict_do_nothing(index_elements=["channel_id", "external_user_id"])
                   .returning(*_CONTACT_COLUMNS) for name, make in _DIALECT_INSERTS}
_FIND_CONTACT = select(*_CONTACT_COLUMNS).where(_K.c.channel_id == bindparam("channel_id"),
                                                _K.c.external_user_id == bindparam("user_id"))
_TOUCH_CONTACT = update(_K).where(_K.c.id == bindparam("p_id")).values(
    name=case((_K.c.name == "", bindparam("p_name")), else_=_K.c.name),
    username=case((_K.c.username == "", bindparam("p_username")), else_=_K.c.username),
    last_seen_at=bindparam("p_now", type_=_K.c.last_seen_at.type))


def run(statement: Any, params: Any = None) -> Any:
    """Execute a prebuilt Core statement on the session's connection (its current phase and transaction),
    skipping the ORM layer of `Session.execute`: no ORM compile state and no autoflush, which these
    statements of plain rows never need (what the ORM has pending is flushed by the commit that ends the
    phase)."""
    return db.session.connection().execute(statement, params)


def _dialect() -> str:
    return "postgresql" if db.session.get_bind().dialect.name == "postgresql" else "sqlite"


def insert_contact(**values: Any) -> ContactRow | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING (PostgreSQL and SQLite); None when another worker
    created the contact first."""
    row = run(_INSERT_CONTACT[_dialect()], [values]).one_or_none()
    return ContactRow(*row) if row is not None else None


def find_contact(channel_id: int, user_id: str) -> ContactRow | None:
    row = run(_FIND_CONTACT, {"channel_id": channel_id, "user_id": user_id}).one_or_none()
    return ContactRow(*row) if row is not None else None


def touch_contact(contact: ContactRow, name: str, username: str, now: datetime) -> None:
    """A known person wrote again: profile fields they lacked are filled in, last seen moves."""
    run(_TOUCH_CONTACT, {"p_id": contact.id, "p_name": name, "p_username": username, "p_now": now})
    contact.name = contact.name or name
    contact.username = contact.username or username


# -- the conversation ----------------------------------------------------------------------------------
_CONVERSATION_COLUMNS = _columns(ConversationRow, _V)
_INSERT_CONVERSATION = insert(_V).returning(*_CONVERSATION_COLUMNS)
_OPEN_CONVERSATION = (select(*_CONVERSATION_COLUMNS).where(_V.c.contact_id == bindparam("contact_id"),
                                                           _V.c.status == "open")
                      .order_by(_V.c.id.desc()).limit(1))
_TOUCH_CONVERSATION = update(_V).where(_V.c.id == bindparam("p_id")).values(
    last_inbound_at=bindparam("p_now", type_=_V.c.last_inbound_at.type),
    unread_count=_V.c.unread_count + bindparam("p_unread"))
_SAVE_CONVERSATION = update(_V).where(_V.c.id == bindparam("p_id")).values(
    flow_id=bindparam("p_flow_id"), flow_version_id=bindparam("p_flow_version_id"),
    state=bindparam("p_state", type_=_V.c.state.type), stage=bindparam("p_stage"),
    last_outbound_at=bindparam("p_last_outbound_at", type_=_V.c.last_outbound_at.type))
_PAUSE_BOT = update(_V).where(_V.c.id == bindparam("p_id")).values(bot_paused=True)


def insert_conversation(contact: ContactRow, now: datetime) -> ConversationRow:
    row = run(_INSERT_CONVERSATION, [{
        "tenant_id": contact.tenant_id, "contact_id": contact.id, "channel_id": contact.channel_id, "state": {},
        "last_inbound_at": now, "unread_count": 1}]).one()
    return ConversationRow(*row)


def open_conversation(contact_id: int) -> ConversationRow | None:
    row = run(_OPEN_CONVERSATION, {"contact_id": contact_id}).one_or_none()
    return ConversationRow(*row) if row is not None else None


def touch_conversation(conv: ConversationRow, now: datetime, unread: int = 1) -> None:
    """The person wrote: the last inbound time moves and the inbox's unread count goes up, in the one
    UPDATE (`unread=0` for a message already counted, e.g. a retried event whose message was stored)."""
    run(_TOUCH_CONVERSATION, {"p_id": conv.id, "p_now": now, "p_unread": unread})
    conv.last_inbound_at = now


def save_conversation(conv: ConversationRow) -> None:
    """What a turn changes on its conversation: the flow it runs on, the engine's state, the stage, when
    the bot last wrote (`bot_paused` is only ever set by pause_bot: a manager's switch is not
    overwritten; the last inbound time is stored with the person's message: touch_conversation)."""
    run(_SAVE_CONVERSATION, {
        "p_id": conv.id, "p_flow_id": conv.flow_id, "p_flow_version_id": conv.flow_version_id,
        "p_state": conv.state, "p_stage": conv.stage, "p_last_outbound_at": conv.last_outbound_at})


def pause_bot(conv: ConversationRow) -> None:
    run(_PAUSE_BOT, {"p_id": conv.id})
    conv.bot_paused = True


# -- messages ------------------------------------------------------------------------------------------
_INSERT_MESSAGE = insert(_M)
# What delivery reads of a reply it is about to send (delivery._claim's RETURNING, and the status).
SENDABLE = (_M.c.id, _M.c.kind, _M.c.text, _M.c.payload, _M.c.idempotency_key, _M.c.channel_id,
             _M.c.conversation_id, _M.c.attempts, _M.c.tenant_id, _M.c.created_at, _M.c.delivery_status)
_INSERT_REPLIES = insert(_M).returning(*SENDABLE, sort_by_parameter_order=True)
_INSERT_ONCE = {name: make(_M).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(*SENDABLE)
                for name, make in _DIALECT_INSERTS}


def insert_message(**values: Any) -> None:
    run(_INSERT_MESSAGE, [values])


def insert_replies(rows: list[dict[str, Any]]) -> list[Any]:
    """Outbound messages in one statement, returned in the order given (with their ids)."""
    return list(run(_INSERT_REPLIES, rows).all()) if rows else []


def insert_reply_once(values: dict[str, Any]) -> Any | None:
    """A reply whose idempotency key may exist already (a private reply: one per comment, ever); None
    when it does."""
    return run(_INSERT_ONCE[_dialect()], [values]).one_or_none()


# -- channel -------------------------------------------------------------------------------------------
_NEEDS_RECONNECT = update(_C).where(_C.c.id == bindparam("p_id"), _C.c.status != "needs_reconnect").values(
    status="needs_reconnect", status_reason=bindparam("p_reason"))


def mark_needs_reconnect(channel_id: int, reason: str) -> bool:
    """True for the update that flagged the channel (a second marking, from a send or the token refresh,
    changes nothing)."""
    return bool(run(_NEEDS_RECONNECT, {"p_id": channel_id, "p_reason": reason[:500]}).rowcount)
