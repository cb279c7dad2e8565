"""Monthly usage counters: everything a transaction counted, added in one upsert when it commits.

`add` only notes the deltas on the session; when the transaction commits they are sent as one INSERT … ON
CONFLICT DO UPDATE per tenant, in autocommit right after the commit (see _add_committed for why not inside
it), and the end of a transaction that rolls back drops them. A rollback uncounts, a commit counts, and turns
of one tenant never wait on each other for the counter row. Inside `one_upsert()` (a job: several commits)
the committed counts are kept until the block ends and go out in one upsert then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, bindparam, event, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from webapp.extensions import db
from webapp.models import Tenant, UsageCounter, month_key
from webapp.plans import limit_of

from .autocommit import in_autocommit

log = logging.getLogger(__name__)

COUNTERS = ("messages_in", "messages_out", "llm_prompt_tokens", "llm_completion_tokens")
_PENDING = "usage_pending"  # key in Session.info: {tenant_id: {counter: delta}}
_COMMITTED = "usage_committed"  # the same, once its transaction has committed: added when it has ended
_DEFERRED = "usage_deferred"  # set inside one_upsert(): committed counts wait for the end of the block


_UPSERT = text(
    "INSERT INTO usage_counters (tenant_id, month, messages_in, messages_out, llm_prompt_tokens,"
    " llm_completion_tokens) VALUES (:tenant_id, :month, :messages_in, :messages_out, :llm_prompt_tokens,"
    " :llm_completion_tokens) ON CONFLICT (tenant_id, month) DO UPDATE SET"
    " messages_in = usage_counters.messages_in + excluded.messages_in,"
    " messages_out = usage_counters.messages_out + excluded.messages_out,"
    " llm_prompt_tokens = usage_counters.llm_prompt_tokens + excluded.llm_prompt_tokens,"
    " llm_completion_tokens = usage_counters.llm_completion_tokens + excluded.llm_completion_tokens")


class Totals(NamedTuple):
    """This month's totals: what the limits are checked against."""

    messages: int
    llm_tokens: int


def add(tenant_id: int, **deltas: int) -> None:
    """Count in the current transaction: sent with its commit, forgotten with its rollback. In an
    autocommit phase (autocommit.py) the write being counted is durable already, so the count is too: a
    failure later in the phase must not leave a stored message uncounted."""
    if not any(deltas.values()):
        return
    counts = {counter: int(delta or 0) for counter, delta in deltas.items()}
    session = db.session()
    if in_autocommit(session):
        _merge(session, {tenant_id: counts})
        return
    pending = session.info.setdefault(_PENDING, {}).setdefault(tenant_id, dict.fromkeys(COUNTERS, 0))
    for counter, delta in counts.items():
        pending[counter] += delta


def _pending(session: Session, tenant_id: int) -> dict[str, int]:
    """Counted but not in the counter row yet: this transaction's counts and committed ones still waiting
    for their upsert (inside one_upsert)."""
    total = dict.fromkeys(COUNTERS, 0)
    for key in (_PENDING, _COMMITTED):
        for counter, delta in (session.info.get(key, {}).get(tenant_id) or {}).items():
            total[counter] += delta
    return total


def _merge(session: Session, counted: dict[int, dict[str, int]]) -> None:
    committed = session.info.setdefault(_COMMITTED, {})
    for tenant_id, deltas in counted.items():
        into = committed.setdefault(tenant_id, dict.fromkeys(COUNTERS, 0))
        for counter, delta in deltas.items():
            into[counter] += delta


@event.listens_for(db.session, "after_commit")
def _mark_committed(session: Session) -> None:
    """What the transaction counted is now committed: added once the transaction has ended."""
    counted = session.info.pop(_PENDING, None)
    if counted:
        _merge(session, counted)


def _add_committed(session: Session, *, on_session: bool = False) -> None:
    """One upsert per counted tenant once the committed transaction has ended, in autocommit (PostgreSQL
    and SQLite share the syntax; the row is created on first use). By then the session has handed its
    connection back to the pool, so this reuses it instead of holding a second one.

    Why not inside the committing transaction: the counter row is one per tenant and month, so every turn
    of a tenant updates the same row, and a row updated in a transaction stays locked until that
    transaction's COMMIT comes back from the client. With 200 turns at once on two cores, the thread holding
    it waited for the GIL between statements and every other turn of the tenant queued behind it (26 ms per
    upsert, most of the time-to-reply of bench/llm_concurrency.py). In autocommit the lock lives only inside
    the server for one statement. The price: a worker killed between the two commits leaves that turn
    uncounted (never counted twice).

    `on_session`: the session's own connection is in autocommit (the end of a job): the upsert goes there
    instead of through a second pool checkout."""
    pending = session.info.pop(_COMMITTED, None)
    if not pending:
        return
    rows = [{"tenant_id": tid, "month": month_key(), **d} for tid, d in pending.items() if any(d.values())]
    if not rows:
        return
    try:
        if on_session:
            for row in rows:
                session.execute(_UPSERT, row)
            return
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for row in rows:
                conn.execute(_UPSERT, row)
    except SQLAlchemyError:
        log.exception("usage for tenant(s) %s not counted", sorted(pending))


@event.listens_for(db.session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: savepoints never hold counts apart
        session.info.pop(_PENDING, None)  # still here only if the transaction did not commit
        if not session.info.get(_DEFERRED):
            _add_committed(session)


@contextmanager
def one_upsert() -> Iterator[None]:
    """The counts of every transaction committed inside the block, in one upsert per tenant at its end (a
    job commits a few times; each commit would otherwise cost an upsert and a pool checkout). Ending in
    autocommit (autocommit.py), the upsert reuses that connection. Re-entrant: an inner block leaves the
    upsert to the outer one. The price: a worker killed during the job (a model call may take seconds)
    leaves the whole job uncounted, never counted twice."""
    session = db.session()
    if session.info.get(_DEFERRED):
        yield
        return
    session.info[_DEFERRED] = True
    try:
        yield
    finally:
        session.info.pop(_DEFERRED, None)
        if in_autocommit(session):
            _add_committed(session, on_session=True)
        elif not session.in_transaction():
            _add_committed(session)
        # else: a transaction is still open; its commit (or the end of the session) adds the counts


def totals_columns(tenant_id: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """This month's totals as two scalar subqueries, so a query the turn runs anyway reads them (no round
    trip of their own); 0 before the month's row exists. The month is the parameter `usage_month`
    (`month_params()`), so the statement can be built once and reused."""
    this_month = (UsageCounter.tenant_id == tenant_id, UsageCounter.month == bindparam("usage_month"))
    messages = select(UsageCounter.messages_in + UsageCounter.messages_out).where(*this_month).scalar_subquery()
    tokens = (select(UsageCounter.llm_prompt_tokens + UsageCounter.llm_completion_tokens).where(*this_month)
              .scalar_subquery())
    return func.coalesce(messages, 0).label("usage_messages"), func.coalesce(tokens, 0).label("usage_tokens")


def month_params() -> dict[str, str]:
    return {"usage_month": month_key()}


def with_pending(tenant_id: int, messages: int, llm_tokens: int) -> Totals:
    """Stored totals plus what this transaction counted but has not sent yet."""
    pending = _pending(db.session, tenant_id)
    return Totals(int(messages) + pending["messages_in"] + pending["messages_out"],
                  int(llm_tokens) + pending["llm_prompt_tokens"] + pending["llm_completion_tokens"])


def current(tenant_id: int) -> Totals:
    """This month's totals (stored plus what this transaction counted), read without locking the counter
    row."""
    row = db.session.execute(_CURRENT, {"tenant_id": tenant_id, **month_params()}).one()
    return with_pending(tenant_id, row[0], row[1])


_CURRENT = select(*totals_columns(bindparam("tenant_id")))


def has_room_for_reply(tenant: Tenant, totals: Totals | None = None, *, uncounted: int = 0) -> bool:
    """Is there room this month for a reply (and for `uncounted` messages not yet added to `totals`)?"""
    cap = limit_of(tenant, "monthly_messages")
    used = (totals if totals is not None else current(tenant.id)).messages + uncounted
    return cap is None or used + 1 <= cap
