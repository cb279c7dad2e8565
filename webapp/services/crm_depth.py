"""The plan's CRM history depth (`crm_history_days`), enforced here and nowhere else.

A plan with a depth of N days shows leads created and conversations active in the last N days; older ones
are hidden from the lists, the exports (page and `flask leads export`), the lead page and the home page's
recent leads. They are hidden, never deleted: every reader asks this module for its condition at read time,
so raising the plan's limit (or moving to a plan without one) shows them again at once. `None` is unlimited.

The condition is a lower bound on the timestamp the list already orders by (leads: `created_at`;
conversations: `updated_at`), so it narrows the index range the keyset walk reads rather than adding work.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select

from ..extensions import db
from ..models import Tenant
from ..models.base import as_utc, utcnow
from ..plans import limit_of

S = TypeVar("S", bound=Select[Any])


def _tenant(tenant: Tenant | int) -> Tenant:
    if isinstance(tenant, Tenant):
        return tenant
    found = db.session.get(Tenant, tenant)  # from the identity map after the first call of a request
    if found is None:
        raise LookupError(f"tenant {tenant} does not exist")
    return found


def history_days(tenant: Tenant | int) -> int | None:
    """The plan's depth in days, or None when the plan keeps everything in view."""
    return limit_of(_tenant(tenant), "crm_history_days")


def visible_since(tenant: Tenant | int, now: datetime | None = None) -> datetime | None:
    """The oldest moment the tenant's plan shows, or None (unlimited)."""
    days = history_days(tenant)
    if days is None:
        return None
    return (now or utcnow()) - timedelta(days=max(days, 0))


def condition(column: Any, tenant: Tenant | int) -> ColumnElement[bool] | None:
    """`column >= visible_since(tenant)`, or None when nothing is hidden."""
    since = visible_since(tenant)
    return None if since is None else column >= since


def only_visible(query: S, column: Any, tenant: Tenant | int) -> S:
    """`query` limited to what the plan shows, judged by `column` (a lead's created_at, a conversation's
    updated_at)."""
    cond = condition(column, tenant)
    return query if cond is None else query.where(cond)


def is_visible(tenant: Tenant | int, at: datetime | None) -> bool:
    """Whether a row stamped `at` is within the plan's history (the lead page asks this)."""
    since = visible_since(tenant)
    return since is None or at is None or as_utc(at) >= since  # type: ignore[operator]
