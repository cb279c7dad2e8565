"""Team invitations and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import JSONType, UTCDateTime, utcnow

#: Roles of a tenant's members. Staff (role "staff", no tenant) work in /admin.
MEMBER_ROLES = ("owner", "operator")


class Invitation(db.Model):
    """A one-time link to join a tenant. Only the token's SHA-256 is stored; the link works once, until
    `expires_at`, and not after the owner revoked it."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitation_tenant_id", "tenant_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16), default="operator")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(db.Model):
    """One recorded action: staff's in /admin (tenant_id = the tenant acted on, if any) and a tenant's
    security events. `actor` is an email, ``system`` or ``anonymous``; `ip` the client's address."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_tenant_id", "tenant_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(255), default="")
    staff: Mapped[bool] = mapped_column(default=False)  # done by staff in /admin
    action: Mapped[str] = mapped_column(String(48))
    target: Mapped[str] = mapped_column(String(255), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
