"""Contacts, conversations and messages: what the pipeline reads and writes per message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import JSONType, TenantOwned, UTCDateTime, utcnow

# Outbound states (docs/architecture.md, "Message states", and connectors/pipeline/delivery.py).
OUTBOUND_STATES = ("pending", "claimed", "sending", "retrying", "sent", "delivered", "read", "unknown", "failed",
                   "skipped")


class Contact(TenantOwned, db.Model):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel_id", "external_user_id", name="uq_contact_channel_user"),
                      Index("ix_contact_tenant_id", "tenant_id", "id"),
                      Index("ix_contact_person", "person_id"),
                      # a phone or email typed into a form, matched against the tenant's other contacts
                      Index("ix_contact_tenant_phone", "tenant_id", "phone"),
                      Index("ix_contact_tenant_email", "tenant_id", "email"))
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    # The person this contact is one channel identity of (webapp/services/people.py); NULL until linked.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    external_user_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    profile: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __str__(self) -> str:
        return self.name or self.username or self.external_user_id


class Conversation(TenantOwned, db.Model):
    """One thread with a contact; `state` is the engine's versioned state, pinned to `flow_version_id`."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversation_contact_status", "contact_id", "status"),
                      Index("ix_conversation_tenant_updated", "tenant_id", "updated_at", "id"),
                      Index("ix_conversation_needs_human", "tenant_id", "updated_at", "id",
                            postgresql_where=text("bot_paused AND status = 'open'"),
                            sqlite_where=text("bot_paused AND status = 'open'")),
                      Index("ix_conversation_unread", "tenant_id", "updated_at", "id",
                            postgresql_include=["unread_count"], postgresql_where=text("unread_count > 0"),
                            sqlite_where=text("unread_count > 0")),
                      Index("ix_conversation_waiting", "waiting_since",
                            postgresql_where=text("waiting_since IS NOT NULL"),
                            sqlite_where=text("waiting_since IS NOT NULL")))
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    flow_id: Mapped[int | None] = mapped_column(ForeignKey("flows.id", ondelete="SET NULL"))
    flow_version_id: Mapped[int | None] = mapped_column(ForeignKey("flow_versions.id", ondelete="SET NULL"))
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    stage: Mapped[str] = mapped_column(String(64), default="new")
    status: Mapped[str] = mapped_column(String(16), default="open")
    bot_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_outbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The operator inbox: customer messages not yet opened by anyone; who took over (a member's email, NULL
    # while the bot answers) and when a human was asked for; a customer message no human has answered yet
    # (while a human owns it) and the "we'll get back to you" sent for that wait.
    unread_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    human_owner: Mapped[str | None] = mapped_column(String(255))
    handed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    auto_reply_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact] = relationship()


class Message(TenantOwned, db.Model):
    """Inbound messages are unique per (channel, external id); outbound ones carry an idempotency key.
    An outbound message in flight names the worker process that claimed it and when (`claimed_by`,
    `claimed_at`: set again when its request leaves); a retryable failure waits for `next_attempt_at`
    (`attempts` so far)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id", name="uq_message_channel_external"),
        Index("ix_message_conversation_id", "conversation_id", "id"),
        Index("ix_message_channel_id", "channel_id", "id"),  # a channel's newest messages (health, checklist)
        Index("ix_message_in_flight", "delivery_status", "next_attempt_at",
              postgresql_where=text("delivery_status IN ('pending', 'claimed', 'sending', 'retrying')"),
              sqlite_where=text("delivery_status IN ('pending', 'claimed', 'sending', 'retrying')")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_events.id", ondelete="SET NULL"), index=True)
    direction: Mapped[str] = mapped_column(String(4))
    kind: Mapped[str] = mapped_column(String(24), default="message")
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    external_id: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    delivery_status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
