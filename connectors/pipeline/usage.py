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


def messages_used(tenant_id: int) -> int:
    row = db.session.scalar(select(UsageCounter).where(UsageCounter.tenant_id == tenant_id,
                                                       UsageCounter.month == month_key()))
    return (row.messages_in + row.messages_out) if row else 0


def has_room_for_reply(tenant: Tenant, totals: Totals | None) -> bool:
    """Inbound messages count too: is there room for one more (the reply) this month?"""
    cap = limit_of(tenant, "monthly_messages")
    used = totals.messages if totals is not None else messages_used(tenant.id)
    return cap is None or used + 1 <= cap
