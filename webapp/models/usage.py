"""Monthly usage per tenant: the counters plan limits are checked against."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TenantOwned, utcnow


def month_key(at: datetime | None = None) -> str:
    return (at or utcnow()).strftime("%Y-%m")


class UsageCounter(TenantOwned, db.Model):
    __tablename__ = "usage_counters"
    __table_args__ = (UniqueConstraint("tenant_id", "month", name="uq_usage_tenant_month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    messages_in: Mapped[int] = mapped_column(Integer, default=0)
    messages_out: Mapped[int] = mapped_column(Integer, default=0)
    llm_prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    llm_completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
