"""Monthly usage counters: one atomic upsert per change, in the turn's transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from webapp.extensions import db
from webapp.models import Tenant, UsageCounter, month_key
from webapp.plans import limit_of

COUNTERS = ("messages_in", "messages_out", "llm_prompt_tokens", "llm_completion_tokens")


def add(tenant_id: int, **deltas: int) -> int | None:
    """Add to this month's counters (creating the row on first use); returns messages in + out after it."""
    deltas = {k: int(v) for k, v in deltas.items() if v}
    if not deltas:
        return None
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    values = {c: deltas.get(c, 0) for c in COUNTERS}
    stmt = insert(UsageCounter).values(tenant_id=tenant_id, month=month_key(), **values)
    table = UsageCounter.__table__.c
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "month"],
        set_={c: table[c] + stmt.excluded[c] for c in deltas},
    ).returning(table.messages_in + table.messages_out)
    return db.session.execute(stmt).scalar()


def messages_used(tenant_id: int) -> int:
    row = db.session.scalar(select(UsageCounter).where(UsageCounter.tenant_id == tenant_id,
                                                       UsageCounter.month == month_key()))
    return (row.messages_in + row.messages_out) if row else 0


def has_room_for_reply(tenant: Tenant, used: int | None) -> bool:
    """Inbound messages count too: is there room for one more (the reply) this month?"""
    cap = limit_of(tenant, "monthly_messages")
    return cap is None or (used if used is not None else messages_used(tenant.id)) + 1 <= cap
