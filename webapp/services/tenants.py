"""Tenants and the people who sign in: created the same way by the CLI, the demo seed, staff and tests."""

from __future__ import annotations

import re
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Plan, Tenant, User
from webapp.plans import ensure_default_plans, plan_by_code
from webapp.services.errors import Refused


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "tenant"


def get_tenant(tenant_id: int) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise Refused(f"tenant {tenant_id} does not exist (see `flask tenant list`)", 404)
    return tenant


def tenant_dict(t: Tenant) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "slug": t.slug, "plan": t.plan.code, "language": t.language,
            "timezone": t.timezone, "status": t.status}


def create_tenant(name: str, plan_code: str, language: str = "en", slug: str | None = None) -> Tenant:
    if not name.strip():
        raise Refused("--name must not be empty")
    ensure_default_plans()
    plan = plan_by_code(plan_code)
    if plan is None:
        codes = ", ".join(p.code for p in db.session.scalars(select(Plan)))
        raise Refused(f"unknown plan {plan_code!r}; choose one of: {codes}")
    base = slug or slugify(name)
    candidate, n = base, 1
    while db.session.scalar(select(Tenant.id).where(Tenant.slug == candidate)) is not None:
        n += 1
        candidate = f"{base}-{n}"
    tenant = Tenant(name=name.strip(), slug=candidate, plan=plan, language=language,
                    profile={"niche": "", "offer": "", "prices": "", "faq": [], "address": "", "hours": "",
                             "tone": "friendly"})
    db.session.add(tenant)
    db.session.commit()
    return tenant


def create_user(email: str, password: str, tenant_id: int | None, staff: bool, role: str = "owner") -> User:
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Refused(f"invalid --email: {exc}") from None
    if len(password) < 8:
        raise Refused("--password must be at least 8 characters")
    if staff == (tenant_id is not None):
        raise Refused("give exactly one of --tenant ID or --staff")
    if tenant_id is not None:
        get_tenant(tenant_id)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Refused(f"a user with email {email} already exists")
    user = User(email=email, tenant_id=tenant_id, role="staff" if staff else role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user
