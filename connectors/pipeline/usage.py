"""Monthly usage counters, incremented atomically in the turn's transaction."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from webapp.extensions import db
from webapp.models import Tenant, UsageCounter, month_key
from webapp.plans import within_limit


def _ensure_row(tenant_id: int, month: str) -> None:
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    db.session.execute(insert(UsageCounter).values(
        tenant_id=tenant_id, month=month, messages_in=0, messages_out=0, llm_prompt_tokens=0,
        llm_completion_tokens=0).on_conflict_do_nothing(index_elements=["tenant_id", "month"]))


def add(tenant_id: int, **deltas: int) -> None:
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    month = month_key()
    _ensure_row(tenant_id, month)
    values = {name: getattr(UsageCounter, name) + amount for name, amount in deltas.items()}
    db.session.execute(update(UsageCounter).where(UsageCounter.tenant_id == tenant_id,
                                                  UsageCounter.month == month).values(**values))


def messages_used(tenant_id: int) -> int:
    row = db.session.scalar(select(UsageCounter).where(UsageCounter.tenant_id == tenant_id,
                                                       UsageCounter.month == month_key()))
    return (row.messages_in + row.messages_out) if row else 0


def within_message_limit(tenant: Tenant) -> bool:
    """Inbound messages count too, so the check is "has the month's allowance been used up"."""
    return within_limit(tenant, "monthly_messages", messages_used(tenant.id), 1)
