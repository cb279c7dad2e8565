"""Operator commands (`flask ...`): JSON on stdout, a clear message and a non-zero exit on bad input."""

from __future__ import annotations

import csv
import json
import re
import sys
from typing import Any, NoReturn

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from sqlalchemy import select

from .extensions import db
from .models import CHANNEL_TYPES, LANGUAGES, Lead, Plan, Tenant, User


def emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(message: str) -> NoReturn:
    raise click.ClickException(message)


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "tenant"


def get_tenant(tenant_id: int) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        fail(f"tenant {tenant_id} does not exist (see `flask tenant list`)")
    return tenant


def tenant_dict(t: Tenant) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "slug": t.slug, "plan": t.plan.code, "language": t.language,
            "timezone": t.timezone, "status": t.status}


def create_tenant(name: str, plan_code: str, language: str = "en", slug: str | None = None) -> Tenant:
    from .plans import ensure_default_plans, plan_by_code

    if not name.strip():
        fail("--name must not be empty")
    ensure_default_plans()
    plan = plan_by_code(plan_code)
    if plan is None:
        codes = ", ".join(p.code for p in db.session.scalars(select(Plan)))
        fail(f"unknown plan {plan_code!r}; choose one of: {codes}")
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
        fail(f"invalid --email: {exc}")
    if len(password) < 8:
        fail("--password must be at least 8 characters")
    if staff == (tenant_id is not None):
        fail("give exactly one of --tenant ID or --staff")
    if tenant_id is not None:
        get_tenant(tenant_id)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        fail(f"a user with email {email} already exists")
    user = User(email=email, tenant_id=tenant_id, role="staff" if staff else role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def register_cli(app: Flask) -> None:
    from .cli_more import register_more

    @app.cli.group()
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

    @app.cli.group()
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

    @app.cli.group()
    def plan() -> None:
        """Plans."""

    @plan.command("list")
    def plan_list() -> None:
        from .plans import ensure_default_plans

        emit([{"code": p.code, "name": p.name, "priority": p.priority, "features": p.features,
               "limits": p.limits, "llm_model": p.llm_model} for p in ensure_default_plans()])

    @app.cli.group()
    def channel() -> None:
        """Channels."""

    @channel.command("add")
    @click.option("--tenant", "tenant_id", type=int, required=True)
    @click.option("--type", "channel_type", type=click.Choice(CHANNEL_TYPES), required=True)
    @click.option("--external-id")
    @click.option("--token")
    @click.option("--secret")
    @click.option("--name", default="")
    def channel_add(tenant_id: int, channel_type: str, external_id: str | None, token: str | None,
                    secret: str | None, name: str) -> None:
        from .channels_service import ChannelSetupError, add_channel
        from .dashboard.links import webhook_url, widget_snippet

        tenant = get_tenant(tenant_id)
        try:
            ch = add_channel(tenant, channel_type, external_id=external_id, token=token, secret=secret,
                             name=name)
        except ChannelSetupError as exc:
            fail(str(exc))
        emit({"id": ch.id, "tenant_id": ch.tenant_id, "type": ch.type, "external_id": ch.external_id,
              "status": ch.status, "webhook_url": webhook_url(ch), "public_key": ch.public_key,
              "widget_snippet": widget_snippet(ch), "webhook_state": ch.webhook_state})

    @app.cli.group()
    def leads() -> None:
        """Leads."""

    @leads.command("export")
    @click.option("--tenant", "tenant_id", type=int, required=True)
    @click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
    def leads_export(tenant_id: int, fmt: str) -> None:
        from .dashboard.exporting import LEAD_EXPORT_COLUMNS, lead_rows

        get_tenant(tenant_id)
        rows = list(lead_rows(db.session.scalars(
            select(Lead).where(Lead.tenant_id == tenant_id).order_by(Lead.id))))
        if fmt == "json":
            emit(rows)
        else:
            writer = csv.DictWriter(sys.stdout, fieldnames=LEAD_EXPORT_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    register_more(app)
    from .flow_cli import register_flow_cli
    from .inputs import guard_cli

    register_flow_cli(app)
    guard_cli(app.cli)

