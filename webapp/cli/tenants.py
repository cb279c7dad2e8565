"""`flask tenant ...`, `flask user create`, `flask plan list`."""

from __future__ import annotations

import click
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import LANGUAGES, Tenant
from webapp.plans import ensure_default_plans
from webapp.services.tenants import create_tenant, create_user, tenant_dict

from .common import emit


def register(cli: click.Group) -> None:
    @cli.group()
    def tenant() -> None:
        """Tenants."""

    @tenant.command("create")
    @click.option("--name", required=True)
    @click.option("--plan", "plan_code", required=True, help="START, BUSINESS or PRO (any plan code)")
    @click.option("--language", type=click.Choice(LANGUAGES), default="en")
    @click.option("--slug")
    def tenant_create(name: str, plan_code: str, language: str, slug: str | None) -> None:
        emit(tenant_dict(create_tenant(name, plan_code, language, slug)))

    @tenant.command("list")
    def tenant_list() -> None:
        emit([tenant_dict(t) for t in db.session.scalars(select(Tenant).order_by(Tenant.id))])

    @cli.group()
    def user() -> None:
        """Users."""

    @user.command("create")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    @click.option("--tenant", "tenant_id", type=int)
    @click.option("--staff", is_flag=True)
    @click.option("--role", type=click.Choice(["owner", "member"]), default="owner")
    def user_create(email: str, password: str, tenant_id: int | None, staff: bool, role: str) -> None:
        u = create_user(email, password, tenant_id, staff, role)
        emit({"id": u.id, "email": u.email, "tenant_id": u.tenant_id, "role": u.role})

    @cli.group()
    def plan() -> None:
        """Plans."""

    @plan.command("list")
    def plan_list() -> None:
        emit([{"code": p.code, "name": p.name, "priority": p.priority, "features": p.features,
               "limits": p.limits, "llm_model": p.llm_model} for p in ensure_default_plans()])
