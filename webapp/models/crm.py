"""Leads, notifications to the tenant and scheduled follow-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import JSONType, TenantOwned, UTCDateTime, utcnow
from .conversation import Contact

LEAD_STATUSES = ("new", "contacted", "won", "lost")


class Lead(TenantOwned, db.Model):
    __tablename__ = "leads"
    __table_args__ = (Index("ix_lead_tenant_created", "tenant_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    source_channel: Mapped[str] = mapped_column(String(16), default="")
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="new")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contact: Mapped[Contact | None] = relationship()


class Notification(TenantOwned, db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notification_tenant_created", "tenant_id", "created_at"),
                      Index("ix_notification_tenant_kind", "tenant_id", "kind"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="new")
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FollowUp(TenantOwned, db.Model):
    """A `follow_up` node's timer; the worker fires due ones as a `timeout` turn."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_up_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
