"""The one tenant-scoping path: every query of tenant data in a request goes through here."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select

from .extensions import db
from .models import Tenant

M = TypeVar("M")


def current_tenant_id() -> int:
    """The signed-in member's tenant; staff and anonymous users have none and get 404, never data."""
    tenant_id = getattr(current_user, "tenant_id", None) if current_user.is_authenticated else None
    if tenant_id is None:
        abort(404)
    return int(tenant_id)


def scoped(model: type[M], tenant_id: int | None = None) -> Select[Any]:
    tid = current_tenant_id() if tenant_id is None else tenant_id
    return select(model).where(model.tenant_id == tid)  # type: ignore[attr-defined]


def get_scoped_or_404(model: type[M], object_id: int, tenant_id: int | None = None) -> M:
    obj = db.session.scalar(scoped(model, tenant_id).where(model.id == object_id))  # type: ignore[attr-defined]
    if obj is None:
        abort(404)
    return obj


def current_tenant():
    return db.session.get(Tenant, current_tenant_id())
