"""One person across channels: a person record above the per-channel contacts, and the links that joined
a contact to a person (automatic, offered, undone) so every merge can be explained and undone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TenantOwned, UTCDateTime, utcnow

#: Why a contact belongs (or may belong) to a person: identities a platform vouches for merge on their own
#: (`wa_id`: a WhatsApp id is the phone number; `telegram_contact`: a contact the customer shared from
#: Telegram); a phone or email typed into a form is only offered; `manual` is a member's own merge.
LINK_RULES = ("wa_id", "telegram_contact", "phone", "email", "manual")
LINK_STATES = ("offered", "merged", "undone", "dismissed")


class Person(TenantOwned, db.Model):
    __tablename__ = "people"
    __table_args__ = (Index("ix_person_tenant_phone", "tenant_id", "phone"),
                      Index("ix_person_tenant_email", "tenant_id", "email"),
                      Index("ix_person_tenant_id", "tenant_id", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # A phone or email the platform vouched for (E.164 without "+", lower-case email); "" when none.
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PersonLink(TenantOwned, db.Model):
    """A contact joined to (or offered for) a person. `from_person_id` is the person the contact belonged to
    before, so an undo puts it back."""

    __tablename__ = "person_links"
    __table_args__ = (Index("ix_person_link_tenant_status", "tenant_id", "status", "id"),
                      Index("ix_person_link_contact", "contact_id", "id"),
                      Index("ix_person_link_person", "person_id", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    from_person_id: Mapped[int | None] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(24))
    value: Mapped[str] = mapped_column(String(254), default="")  # the phone/email/id that matched
    status: Mapped[str] = mapped_column(String(16), default="offered")
    actor: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
