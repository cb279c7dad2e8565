"""Inbound events as received: the database, not Redis, is the source of truth for the pipeline.

A webhook request is one `WebhookDelivery` (its raw body and headers, stored once however many events it
carries) and one `InboundEvent` per thing it told us about."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import JSONType, TenantOwned, UTCDateTime, utcnow

EVENT_STATUSES = ("received", "queued", "processing", "done", "skipped", "failed")


class WebhookDelivery(db.Model):
    """One webhook request as it arrived. Not tenant data: a Meta batch may carry several tenants' events,
    so only staff see it (each tenant sees its own events' parsed form)."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    raw_body: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InboundEvent(TenantOwned, db.Model):
    """`locked_by` names the worker process that holds a `processing` event, so the sweeper can tell a
    dead worker's events from a live one's (connectors/liveness.py)."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id", name="uq_inbound_channel_external"),
        Index("ix_inbound_status_created", "status", "created_at"),
        Index("ix_inbound_channel_user_status", "channel_id", "user_id", "status"),
        Index("ix_inbound_tenant_status_id", "tenant_id", "status", "id"),
        Index("ix_inbound_tenant_id", "tenant_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128), default="")
    parsed: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="received")
    reason: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(80))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # its turn's replies/state committed
