"""A tenant's connected channel: account id, encrypted credentials and webhook state."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto import EncryptedJSON
from ..extensions import db
from .base import JSONType, TenantOwned, UTCDateTime, utcnow

if TYPE_CHECKING:
    from .tenant import Tenant

def new_public_key() -> str:
    return secrets.token_urlsafe(18)


class Channel(TenantOwned, db.Model):
    """`external_id` is what a webhook names (IG account id, WA phone_number_id): unique per type.

    `type` is a channel type of the registry (connectors/channels/registry.py), which alone knows the
    types (`connector_types()`); they are checked where a channel is added (services.channels)."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("type", "external_id", name="uq_channel_type_external"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    external_id: Mapped[str | None] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_public_key)
    credentials: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    status: Mapped[str] = mapped_column(String(24), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    webhook_state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tenant: Mapped[Tenant] = relationship()

    @property
    def needs_reconnect(self) -> bool:
        return self.status == "needs_reconnect"

    def __str__(self) -> str:
        return f"{self.type}:{self.name or self.external_id or self.id}"


#: What a ChannelChange records: the channel was connected, connected again (a new token for the same
#: account, the channel's history kept) or removed.
CHANNEL_ACTIONS = ("connected", "reconnected", "removed")


class ChannelChange(TenantOwned, db.Model):
    """Who connected, reconnected or removed a channel and when (an owner's question after a channel stops
    answering, and staff's when a token was swapped). `actor` is what identified the person: a member's
    email, ``staff:<email>`` for /admin, ``cli`` for the command line, ``system`` for the token sweeper."""

    __tablename__ = "channel_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[str] = mapped_column(String(255), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
