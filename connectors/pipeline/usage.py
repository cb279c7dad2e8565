"""Monthly usage counters: everything a transaction counted, added in one upsert when it commits.

`add` only notes the deltas on the session; the `before_commit` hook sends them as one INSERT … ON CONFLICT
DO UPDATE per tenant, and the end of the transaction drops whatever was not committed. The effect is the
same as an upsert per change inside the transaction (a rollback uncounts, a commit counts), but a turn that
counts its inbound message, its replies and its model tokens pays one statement instead of one per change,
and the tenant's counter row is locked only for the instant before the commit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, bindparam, event, func, select, text
from sqlalchemy.orm import Session, SessionTransaction

from webapp.extensions import db
from webapp.models import Tenant, UsageCounter, month_key
from webapp.plans import limit_of

COUNTERS = ("messages_in", "messages_out", "llm_prompt_tokens", "llm_completion_tokens")
_PENDING = "usage_pending"  # key in Session.info: {tenant_id: {counter: delta}}


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
    """Count in the current transaction: sent with its commit, forgotten with its rollback."""
    if not any(deltas.values()):
        return
    pending = db.session.info.setdefault(_PENDING, {}).setdefault(tenant_id, dict.fromkeys(COUNTERS, 0))
    for counter, delta in deltas.items():
        pending[counter] += int(delta or 0)


def _pending(session: Session, tenant_id: int) -> dict[str, int]:
    return session.info.get(_PENDING, {}).get(tenant_id) or dict.fromkeys(COUNTERS, 0)


@event.listens_for(db.session, "before_commit")
def _flush_counts(session: Session) -> None:
    """One upsert per counted tenant, in the transaction being committed (PostgreSQL and SQLite share the
    syntax); the row is created on first use."""
    pending = session.info.pop(_PENDING, None)
    for tenant_id, deltas in (pending or {}).items():
        if any(deltas.values()):
            session.execute(_UPSERT, {"tenant_id": tenant_id, "month": month_key(), **deltas})


@event.listens_for(db.session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: savepoints never hold counts apart
        session.info.pop(_PENDING, None)


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
    """This month's totals, read without locking the counter row (a turn takes that lock only when it
    commits, so turns of one tenant do not queue behind each other)."""
    row = db.session.execute(_CURRENT, {"tenant_id": tenant_id, **month_params()}).one()
    return with_pending(tenant_id, row[0], row[1])


_CURRENT = select(*totals_columns(bindparam("tenant_id")))


def has_room_for_reply(tenant: Tenant, totals: Totals | None = None, *, uncounted: int = 0) -> bool:
    """Is there room this month for a reply (and for `uncounted` messages not yet added to `totals`)?"""
    cap = limit_of(tenant, "monthly_messages")
    used = (totals if totals is not None else current(tenant.id)).messages + uncounted
    return cap is None or used + 1 <= cap
