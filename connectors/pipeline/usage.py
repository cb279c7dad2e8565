"""Monthly usage counters: counted in the same transaction as what they count.

`add` notes the deltas on the session; the transaction's last statement before its COMMIT is one INSERT …
ON CONFLICT DO UPDATE per counted tenant, so a stored message and its count are committed together or not
at all: a worker killed at any point, a database outage or a rollback can neither lose a count nor add one
twice. The counter row (one per tenant and month) stays locked from that upsert to the COMMIT only, one
round trip.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, bindparam, event, func, select, text
from sqlalchemy.orm import Session, SessionTransaction

from webapp.extensions import db
from webapp.models import Plan, Tenant, UsageCounter, month_key
from webapp.plans import limit_of
from webapp.services.notifications import notify_event

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
_UPSERT_TOTAL = text(str(_UPSERT.text) + " RETURNING messages_in + messages_out")
_CAPS = "usage_caps"  # key in Session.info: {tenant_id: monthly_messages} noted by has_room_for_reply
QUOTA_MARKS = ((80, "quota_80", "quota80"), (100, "limit", "quota100"))  # percent, kind, event key prefix


class Totals(NamedTuple):
    """This month's totals: what the limits are checked against."""

    messages: int
    llm_tokens: int


def add(tenant_id: int, **deltas: int) -> None:
    """Count in the current transaction: written with its commit, forgotten with its rollback."""
    if not any(deltas.values()):
        return
    session = db.session()
    pending = session.info.setdefault(_PENDING, {}).setdefault(tenant_id, dict.fromkeys(COUNTERS, 0))
    for counter, delta in deltas.items():
        pending[counter] += int(delta or 0)


def _pending(session: Session, tenant_id: int) -> dict[str, int]:
    return (session.info.get(_PENDING, {}).get(tenant_id) or dict.fromkeys(COUNTERS, 0))


@event.listens_for(db.session, "before_commit")
def _write_counts(session: Session) -> None:
    """The transaction's counts, as its last statements (flushed ORM changes go first); a count that
    crosses 80 % or 100 % of the plan's monthly messages tells the tenant, once a month each."""
    counted = session.info.pop(_PENDING, None)
    if not counted:
        return
    session.flush()
    month = month_key()
    for tenant_id, deltas in sorted(counted.items()):  # a fixed order: two tenants' rows never deadlock
        if any(deltas.values()):
            total = session.execute(_UPSERT_TOTAL, {"tenant_id": tenant_id, "month": month, **deltas}).scalar()
            added = deltas["messages_in"] + deltas["messages_out"]
            if added > 0 and total is not None:
                _tell_quota(session, tenant_id, int(total) - added, int(total), month)


def _tell_quota(session: Session, tenant_id: int, before: int, now: int, month: str) -> None:
    """The 80 % and 100 % marks this transaction's messages passed: one notification each per month (their
    event keys), whichever transaction gets there first."""
    caps = session.info.get(_CAPS, {})
    cap = caps[tenant_id] if tenant_id in caps else _monthly_messages(session, tenant_id)
    if not cap:
        return
    for percent, kind, key in QUOTA_MARKS:
        mark = math.ceil(cap * percent / 100)
        if before < mark <= now:
            notify_event(tenant_id, kind, key=f"{key}:{month}", params={"used": now, "limit": cap, "month": month})


def _monthly_messages(session: Session, tenant_id: int) -> int | None:
    """The plan's limit, read when no turn noted it (an operator's reply, a waiting notice)."""
    limits = session.execute(select(Plan.limits).join(Tenant, Tenant.plan_id == Plan.id)
                             .where(Tenant.id == tenant_id)).scalar()
    value = (limits or {}).get("monthly_messages")
    return None if value is None else int(value)


@event.listens_for(db.session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without committing its counts
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
    """Stored totals plus what this transaction counted but has not written yet."""
    pending = _pending(db.session(), tenant_id)
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
    db.session().info.setdefault(_CAPS, {})[tenant.id] = cap  # for the 80 %/100 % check when counts are written
    used = (totals if totals is not None else current(tenant.id)).messages + uncounted
    return cap is None or used + 1 <= cap
