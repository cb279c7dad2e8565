"""The one place that answers "may tenant T use feature F / is there room under limit L".

Plans are data (seeded here and by the initial migration, editable by staff); nothing else in the code
looks at a plan's code.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .extensions import db
from .models import Plan, Tenant

FEATURES = ("comment_replies", "follow_ups", "analytics", "integrations", "llm", "custom_fields")
LIMITS = ("channels", "monthly_messages", "crm_history_days", "analytics_days", "flows", "llm_tokens_monthly")

DEFAULT_PLANS: list[dict[str, Any]] = [
    {"code": "START", "name": "Start", "priority": "low", "features": ["llm"],
     "limits": {"channels": 1, "monthly_messages": 1000, "crm_history_days": 30, "analytics_days": 0,
                "flows": 3, "llm_tokens_monthly": 200_000}},
    {"code": "BUSINESS", "name": "Business", "priority": "default",
     "features": ["llm", "comment_replies", "follow_ups", "analytics", "custom_fields"],
     "limits": {"channels": 3, "monthly_messages": 10_000, "crm_history_days": 365, "analytics_days": 90,
                "flows": 20, "llm_tokens_monthly": 2_000_000}},
    {"code": "PRO", "name": "Pro", "priority": "high",
     "features": ["llm", "comment_replies", "follow_ups", "analytics", "integrations", "custom_fields"],
     "limits": {"channels": 10, "monthly_messages": 100_000, "crm_history_days": None,
                "analytics_days": 730, "flows": 100, "llm_tokens_monthly": 20_000_000}},
]


def has_feature(tenant: Tenant, feature: str) -> bool:
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}")
    return feature in (tenant.plan.features or [])


def features_of(tenant: Tenant) -> set[str]:
    return set(tenant.plan.features or [])


def limit_of(tenant: Tenant, name: str) -> int | None:
    """The plan's limit, or None for unlimited."""
    if name not in LIMITS:
        raise ValueError(f"unknown limit {name!r}")
    value = (tenant.plan.limits or {}).get(name)
    return None if value is None else int(value)


def within_limit(tenant: Tenant, name: str, used: int, adding: int = 1) -> bool:
    cap = limit_of(tenant, name)
    return cap is None or used + adding <= cap


def queue_priority(tenant: Tenant) -> str:
    return tenant.plan.priority or "default"


def ensure_default_plans() -> list[Plan]:
    """Create any missing default plan; existing plans (possibly edited by staff) are left as they are."""
    existing = {p.code for p in db.session.scalars(select(Plan))}
    for spec in DEFAULT_PLANS:
        if spec["code"] not in existing:
            db.session.add(Plan(**spec))
    db.session.commit()
    return list(db.session.scalars(select(Plan).order_by(Plan.id)))


def plan_by_code(code: str) -> Plan | None:
    return db.session.scalar(select(Plan).where(Plan.code == code.upper()))
