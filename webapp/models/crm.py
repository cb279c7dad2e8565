"""Leads, notifications to the tenant and scheduled follow-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import JSONType, TenantOwned, UTCDateTime, utcnow
from .conversation import Contact

LEAD_STATUSES = ("new", "contacted", "won", "lost")


class Lead(TenantOwned, db.Model):
    __tablename__ = "leads"
    # ix_lead_tenant_created_id: the leads list's keyset walk (created_at DESC, id DESC) and its export.
    # On PostgreSQL migration 0008 adds trigram indexes for the search (ix_lead_values_trgm here,
    # ix_contact_search_trgm on contacts) where the extensions may be created; they are not declared here.
    __table_args__ = (Index("ix_lead_tenant_created", "tenant_id", "created_at"),
                      Index("ix_lead_tenant_created_id", "tenant_id", "created_at", "id"),
                      Index("ix_lead_contact", "contact_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    source_channel: Mapped[str] = mapped_column(String(16), default="")
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="new")
    note: Mapped[str] = mapped_column(Text, default="")
    # The tenant's own fields (plan feature `custom_fields`; their definitions in tenant.settings).
    custom: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contact: Mapped[Contact | None] = relationship()


#: What a lead's timeline records.
LEAD_EVENT_KINDS = ("created", "status", "note", "field")


class LeadEvent(TenantOwned, db.Model):
    """One line of a lead's timeline: a status change (`data`: from, to), a note (`data`: text), a custom
    field change (`data`: key, from, to). Notes are never overwritten: each is its own event."""

    __tablename__ = "lead_events"
    __table_args__ = (Index("ix_lead_event_lead_id", "lead_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(255), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notification(TenantOwned, db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notification_tenant_created", "tenant_id", "created_at"),
                      Index("ix_notification_tenant_kind", "tenant_id", "kind"),
                      Index("ix_notification_tenant_id", "tenant_id", "id"),
                      UniqueConstraint("tenant_id", "event_key", name="uq_notification_event"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="new")
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lead_id: Mapped[int | None] = mapped_column(Integer)
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    event_key: Mapped[str | None] = mapped_column(String(120))  # one event → one notification


class NotificationDelivery(TenantOwned, db.Model):
    """One notification sent to one destination (telegram, email, webhook): the delivery log, and the
    retry state of the job that sends it."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("notification_id", "destination", name="uq_notification_delivery"),
                      Index("ix_notification_delivery_due", "status", "next_attempt_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
