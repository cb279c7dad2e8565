"""The operator inbox's reads: one page of conversations, their previews and the tab badges.

The list must stay fast for a tenant with tens of thousands of conversations, so every query here is shaped
for an index: a page is a keyset walk of `ix_conversation_tenant_updated (tenant_id, updated_at, id)` newest
first (an OFFSET would read every skipped row again), it selects only the columns the list shows (never the
~1 KB `state`, which made the old list's sort spill to disk), the previews are one backward step of
`ix_message_conversation_id (conversation_id, id)` per conversation of the page, and the badges count at
most `BADGE_CAP + 1` rows each. Everything goes through `webapp.tenancy.scoped`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, select, tuple_, update
from sqlalchemy.orm.attributes import set_committed_value

from webapp.services import crm_depth, keyset
from webapp.services.channels import REMOVED

from ..extensions import db
from ..models import Channel, Contact, Conversation, Message
from ..tenancy import scoped
from . import media

PAGE_SIZE = 50
PREVIEW_CHARS = 140
#: Badges show "99+" beyond this: counting further would read every conversation of a large tenant.
BADGE_CAP = 99
FILTERS = ("all", "mine", "needs_human", "bot", "closed")


class InboxArgumentError(ValueError):
    """A filter or cursor the inbox cannot use: the routes answer 400 with this message."""


def filter_condition(name: str, member_email: str | None = None) -> ColumnElement[bool] | None:
    """A filter tab's condition. "Needs a human" is every open conversation whose bot is paused: a human was
    asked for (a handoff node or keyword) or took it over; "bot" is the open ones the bot still answers;
    "mine" ("Assigned to me") the ones `member_email` took over (`human_owner`), open or closed.
    `== True` (not `IS TRUE`) so that PostgreSQL can match a partial index on `bot_paused`."""
    if name == "mine":
        if not member_email:
            raise InboxArgumentError("the filter mine needs a signed-in member")
        return Conversation.human_owner == member_email[:255]
    if name == "needs_human":
        return and_(Conversation.bot_paused == True, Conversation.status == "open")  # noqa: E712
    if name == "bot":
        return and_(Conversation.bot_paused == False, Conversation.status == "open")  # noqa: E712
    if name == "closed":
        return Conversation.status == "closed"
    if name == "all":
        return None
    raise InboxArgumentError(f"unknown filter {name[:40]!r}: use one of {', '.join(FILTERS)}")


# -- the cursor ----------------------------------------------------------------------------------------
def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The shared keyset cursor (webapp/services/keyset.py); a bad one is this list's 400, never a 500."""
    try:
        return keyset.decode_cursor(cursor)
    except ValueError:
        raise InboxArgumentError("this page link is not valid any more: open the inbox again") from None


# -- the page ------------------------------------------------------------------------------------------
@dataclass(slots=True)
class InboxRow:
    id: int
    status: str
    bot_paused: bool
    human_owner: str | None
    unread_count: int
    updated_at: datetime
    channel_id: int
    channel_name: str
    channel_type: str
    contact: str
    preview: str = ""
    preview_direction: str = ""

    @property
    def state(self) -> str:
        """The row's badge: closed, needs a human (paused while open) or bot."""
        if self.status == "closed":
            return "closed"
        return "needs_human" if self.bot_paused else "bot"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["updated_at"] = self.updated_at.isoformat()
        data["state"] = self.state
        return data


@dataclass(slots=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None


def page(tenant_id: int, filter_name: str = "all", channel_id: int | None = None, after: str | None = None,
         size: int = PAGE_SIZE, member_email: str | None = None) -> InboxPage:
    """One page of the inbox newest first, then the previews of its conversations (two queries);
    `member_email` is whose "Assigned to me" the filter "mine" means."""
    condition = filter_condition(filter_name, member_email)
    query = (scoped(Conversation, tenant_id).with_only_columns(
        Conversation.id, Conversation.status, Conversation.bot_paused, Conversation.human_owner,
        Conversation.unread_count, Conversation.updated_at, Conversation.channel_id, Channel.name, Channel.type,
        Contact.name, Contact.username, Contact.external_user_id, maintain_column_froms=False)
        .select_from(Conversation)
        .join(Contact, Contact.id == Conversation.contact_id)
        .join(Channel, Channel.id == Conversation.channel_id)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(size + 1))
    query = crm_depth.only_visible(query, Conversation.updated_at, tenant_id)  # the plan's CRM history depth
    if condition is not None:
        query = query.where(condition)
    if channel_id is not None:
        query = query.where(Conversation.channel_id == channel_id)
    if after:
        updated_at, last_id = decode_cursor(after)
        # A row value comparison: PostgreSQL turns it into a bound on the index (updated_at, id).
        query = query.where(tuple_(Conversation.updated_at, Conversation.id) < (updated_at, last_id))
    found = db.session.execute(query).all()
    rows = [InboxRow(id=r[0], status=r[1], bot_paused=bool(r[2]), human_owner=r[3], unread_count=r[4] or 0,
                     updated_at=r[5], channel_id=r[6], channel_name=r[7] or "", channel_type=r[8],
                     contact=r[9] or r[10] or r[11]) for r in found[:size]]
    _add_previews(tenant_id, rows)
    more = len(found) > size
    return InboxPage(rows, keyset.encode_cursor(rows[-1].updated_at, rows[-1].id) if more and rows else None)


def _add_previews(tenant_id: int, rows: list[InboxRow]) -> None:
    """Each conversation's newest message (either side), cut short, in one query: a correlated max(id) per
    conversation of the page, which PostgreSQL answers with one backward step of the index
    (conversation_id, id), however long the conversation (an ORDER BY … LIMIT 1 there was planned as a
    bitmap scan of all its messages plus a sort). The max only finds an id: the message row joined is
    scoped to the tenant like every other read."""
    if not rows:
        return
    conv = Conversation.__table__.alias("page_conv")
    newest = (select(func.max(Message.id)).where(Message.conversation_id == conv.c.id)
              .correlate(conv).scalar_subquery())
    query = (scoped(Message, tenant_id)
             .with_only_columns(Message.conversation_id, Message.direction,
                                func.substr(Message.text, 1, PREVIEW_CHARS), Message.payload["content"].as_string(),
                                maintain_column_froms=False)
             .select_from(conv).join(Message, Message.id == newest)
             .where(conv.c.id.in_([row.id for row in rows]), conv.c.tenant_id == tenant_id))
    previews = {conversation_id: (direction, media.preview(text or "", content))
                for conversation_id, direction, text, content in db.session.execute(query)}
    for row in rows:
        row.preview_direction, row.preview = previews.get(row.id, ("", ""))


# -- badges --------------------------------------------------------------------------------------------
def counts(tenant_id: int, channel_id: int | None = None) -> dict[str, int]:
    """The tab badges: conversations that need a human, and unread customer messages; each counted over at
    most BADGE_CAP + 1 rows (a badge above the cap says "99+"), both in one round trip. Each walks the
    tenant's part of the inbox index newest first (the ORDER BY makes PostgreSQL take it rather than scan the
    table), so it reads at most the tenant's own rows and stops at the cap."""
    def bounded(column: Any, condition: ColumnElement[bool]) -> Any:
        inner = (scoped(Conversation, tenant_id).with_only_columns(column.label("v")).where(condition)
                 .order_by(Conversation.updated_at.desc(), Conversation.id.desc()))
        inner = crm_depth.only_visible(inner, Conversation.updated_at, tenant_id)  # as the list shows
        if channel_id is not None:
            inner = inner.where(Conversation.channel_id == channel_id)
        sub = inner.limit(BADGE_CAP + 1).subquery()
        return select(func.coalesce(func.sum(sub.c.v), 0)).scalar_subquery()

    needs = filter_condition("needs_human")
    assert needs is not None
    row = db.session.execute(select(
        bounded(literal(1), needs),
        bounded(Conversation.unread_count, Conversation.unread_count > 0),
    )).one()
    return {"needs_human": int(row[0]), "unread": int(row[1])}


def badge(value: int) -> str:
    return f"{BADGE_CAP}+" if value > BADGE_CAP else str(value)


def channels(tenant_id: int) -> list[tuple[int, str, str]]:
    """The channel select: (id, name, type) of the tenant's channels that are not removed."""
    return [tuple(r) for r in db.session.execute(  # type: ignore[misc]
        scoped(Channel, tenant_id).with_only_columns(Channel.id, Channel.name, Channel.type)
        .where(Channel.status != REMOVED).order_by(Channel.id))]


# -- read ----------------------------------------------------------------------------------------------
def mark_read(conversation: Conversation) -> None:
    """Opening a conversation reads it: its unread count goes to 0 (the caller commits). One UPDATE that
    keeps `updated_at`, so reading a conversation does not move it to the top of everyone's inbox (the
    model's onupdate would), and none at all when nothing is unread."""
    if not conversation.unread_count:
        return
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.tenant_id == conversation.tenant_id)
        .values(unread_count=0, updated_at=Conversation.updated_at)
        .execution_options(synchronize_session=False))
    set_committed_value(conversation, "unread_count", 0)  # as stored: the ORM has nothing more to write
