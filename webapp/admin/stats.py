"""The numbers on the staff panel's first page, cheap enough to compute on every visit at any scale.

An exact COUNT(*) reads every row (PostgreSQL keeps no row count): over a million leads that is a sequential
scan per page view. So on PostgreSQL a table whose planner estimate (`pg_class.reltuples`, kept by ANALYZE
and autovacuum) is above EXACT_BELOW shows that estimate, labelled "about"; a smaller table — or one never
analysed (reltuples -1) — is counted exactly, which is cheap at that size. SQLite, the embedded default for
small installs, is always counted exactly. Failed events are counted exactly: few rows, read from the index
`ix_inbound_status_created (status, created_at)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text

from ..extensions import db
from ..models import Channel, InboundEvent, Lead, Tenant

#: Tables with fewer (estimated) rows than this are counted exactly.
EXACT_BELOW = 100_000


@dataclass(frozen=True, slots=True)
class Stat:
    value: int
    approximate: bool = False


def _count(model: Any) -> Stat:
    exact = select(func.count()).select_from(model)
    if db.session.get_bind().dialect.name == "postgresql":
        estimate = db.session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"),
                                     {"name": model.__tablename__})
        if estimate is not None and estimate >= EXACT_BELOW:
            return Stat(int(estimate), approximate=True)
    return Stat(int(db.session.scalar(exact) or 0))


def staff_stats() -> dict[str, Stat]:
    return {
        "tenants": _count(Tenant),
        "channels": _count(Channel),
        "leads": _count(Lead),
        "failed_events": Stat(int(db.session.scalar(
            select(func.count()).select_from(InboundEvent).where(InboundEvent.status == "failed")) or 0)),
    }
