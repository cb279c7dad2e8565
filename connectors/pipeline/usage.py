"""Monthly usage counters: one atomic upsert per change, in the turn's transaction."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select, text

from webapp.extensions import db
from webapp.models import Tenant, UsageCounter, month_key
from webapp.plans import limit_of

COUNTERS = ("messages_in", "messages_out", "llm_prompt_tokens", "llm_completion_tokens")


_UPSERT = text(
    "INSERT INTO usage_counters (tenant_id, month, messages_in, messages_out, llm_prompt_tokens,"
    " llm_completion_tokens) VALUES (:tenant_id, :month, :messages_in, :messages_out, :llm_prompt_tokens,"
    " :llm_completion_tokens) ON CONFLICT (tenant_id, month) DO UPDATE SET"
    " messages_in = usage_counters.messages_in + excluded.messages_in,"
    " messages_out = usage_counters.messages_out + excluded.messages_out,"
    " llm_prompt_tokens = usage_counters.llm_prompt_tokens + excluded.llm_prompt_tokens,"
    " llm_completion_tokens = usage_counters.llm_completion_tokens + excluded.llm_completion_tokens"
    " RETURNING messages_in + messages_out, llm_prompt_tokens + llm_completion_tokens")


class Totals(NamedTuple):
    """This month's totals after an update: what the limits are checked against."""

    messages: int
    llm_tokens: int


def add(tenant_id: int, **deltas: int) -> Totals | None:
    """Add to this month's counters in one statement (the row is created on first use) and return the
    totals after it (PostgreSQL and SQLite share this upsert syntax)."""
    if not any(deltas.values()):
        return None
    params = {c: int(deltas.get(c) or 0) for c in COUNTERS}
    row = db.session.execute(_UPSERT, {"tenant_id": tenant_id, "month": month_key(), **params}).one()
    return Totals(int(row[0]), int(row[1]))


def current(tenant_id: int) -> Totals:
    """This month's totals, read without locking the counter row (a turn takes that lock only at its
    end, so turns of one tenant do not queue behind each other)."""
    row = db.session.scalar(select(UsageCounter).where(UsageCounter.tenant_id == tenant_id,
                                                       UsageCounter.month == month_key()))
    if row is None:
        return Totals(0, 0)
    return Totals(row.messages_in + row.messages_out, row.llm_prompt_tokens + row.llm_completion_tokens)


def has_room_for_reply(tenant: Tenant, totals: Totals | None = None, *, uncounted: int = 0) -> bool:
    """Is there room this month for a reply (and for `uncounted` messages not yet added to `totals`)?"""
    cap = limit_of(tenant, "monthly_messages")
    used = (totals if totals is not None else current(tenant.id)).messages + uncounted
    return cap is None or used + 1 <= cap
