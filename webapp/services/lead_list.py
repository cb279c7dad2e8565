"""The leads list's reads: search, filters, keyset pages and the streamed export of the same filtered list.

The list must stay fast for a tenant with many thousands of leads, so every query here is shaped for an
index: a page is a keyset walk of `ix_lead_tenant_created_id (tenant_id, created_at, id)` newest first (an
OFFSET would read every skipped row again, and the old "newest 500" cap left older leads unreachable), and it
selects only the columns the list shows, as Core rows (no ORM objects, no identity map).

Search is a case-insensitive substring match (ILIKE on PostgreSQL, `lower() LIKE` on SQLite) over the lead's
field values and its contact's name, phone and email. It has no index of its own: the database walks the
tenant's rows in index order and stops once a page is full, so a search reads at most the tenant's leads and
usually far fewer. pg_trgm would make a rare term in a huge tenant faster, but it needs `CREATE EXTENSION`
(not every deployment's role may run it) and an index over an expression of the JSON values; left for when
the benchmark asks for it.

The export reuses the same query in batches of `EXPORT_BATCH` rows (again a keyset walk), so a streamed
download holds one batch in memory, never every lead. Every query goes through `webapp.tenancy.scoped`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, literal_column, or_, select, tuple_
from sqlalchemy.engine import Row

from ..extensions import db
from ..inputs import DB_INT_MAX
from ..models import LEAD_STATUSES, Contact, Conversation, Lead
from ..tenancy import scoped
from . import keyset

PAGE_SIZE = 50
EXPORT_BATCH = 1000
#: Longer search terms are cut: nobody types more, and a huge pattern only costs the database time.
MAX_SEARCH = 100


class LeadListError(ValueError):
    """A filter or cursor the list cannot use: the routes answer 400 with a message."""


@dataclass(frozen=True, slots=True)
class LeadFilters:
    """What the owner asked for. Empty values mean "any"; `date_to` is inclusive (the whole day, UTC)."""

    q: str = ""
    status: str | None = None
    channel: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    flow_id: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> LeadFilters:
        """From the query string. An unknown status is ignored (the old list did so: links keep working);
        a date or flow that is not one raises LeadListError."""
        status = args.get("status") or None
        flow_text = (args.get("flow") or "").strip()
        if flow_text and not (flow_text.isdigit() and 0 < int(flow_text) <= DB_INT_MAX):
            raise LeadListError("flow")
        return cls(q=(args.get("q") or "").strip()[:MAX_SEARCH],
                   status=status if status in LEAD_STATUSES else None,
                   channel=(args.get("channel") or "").strip()[:16] or None,
                   date_from=_date(args.get("from")), date_to=_date(args.get("to")),
                   flow_id=int(flow_text) if flow_text else None)

    def as_args(self) -> dict[str, str]:
        """Back to query arguments (for the next-page and export links), leaving out the empty ones."""
        values = {"q": self.q, "status": self.status, "channel": self.channel,
                  "from": self.date_from.isoformat() if self.date_from else None,
                  "to": self.date_to.isoformat() if self.date_to else None,
                  "flow": str(self.flow_id) if self.flow_id else None}
        return {k: v for k, v in values.items() if v}


def _date(value: str | None) -> date | None:
    """A YYYY-MM-DD date (what `<input type="date">` sends), else LeadListError."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise LeadListError("date") from None


# -- the cursor ----------------------------------------------------------------------------------------
def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The shared keyset cursor (webapp/services/keyset.py); a bad one is this list's 400, never a 500."""
    try:
        return keyset.decode_cursor(cursor)
    except ValueError:
        raise LeadListError("cursor") from None


# -- the query -----------------------------------------------------------------------------------------
def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _field_values_match(pattern: str) -> ColumnElement[bool]:
    """Some value of the lead's `fields` object contains the term: values only, so that searching "phone"
    does not match every lead that has a phone. PostgreSQL's jsonb_each_text refuses a non-object, hence
    the CASE; SQLite's json_each reads the stored JSON (decoding `\\u` escapes, so non-ASCII text matches)."""
    if db.session.get_bind().dialect.name == "postgresql":
        obj = case((func.jsonb_typeof(Lead.fields) == "object", Lead.fields),
                   else_=literal_column("'{}'::jsonb"))
        values = func.jsonb_each_text(obj).table_valued("key", "value")
    else:
        values = func.json_each(Lead.fields).table_valued("value")
    return select(literal(1)).select_from(values).where(
        values.c.value.ilike(pattern, escape="\\")).exists()


def _query(tenant_id: int, filters: LeadFilters) -> Select[Any]:
    """The filtered list newest first, as the columns the list and the export need."""
    query = (scoped(Lead, tenant_id).with_only_columns(
        Lead.id, Lead.created_at, Lead.status, Lead.source_channel, Lead.fields,
        Contact.name.label("contact_name"), Contact.phone.label("contact_phone"),
        Contact.email.label("contact_email"), maintain_column_froms=False)
        .select_from(Lead)
        .outerjoin(Contact, and_(Contact.id == Lead.contact_id, Contact.tenant_id == Lead.tenant_id))
        .order_by(Lead.created_at.desc(), Lead.id.desc()))
    if filters.status:
        query = query.where(Lead.status == filters.status)
    if filters.channel:
        query = query.where(Lead.source_channel == filters.channel)
    if filters.date_from:
        query = query.where(Lead.created_at >= datetime.combine(filters.date_from, datetime.min.time(), UTC))
    if filters.date_to:
        end = datetime.combine(filters.date_to, datetime.min.time(), UTC) + timedelta(days=1)
        query = query.where(Lead.created_at < end)
    if filters.flow_id:
        # A lead records its conversation; the conversation records the flow that ran it.
        query = query.where(scoped(Conversation, tenant_id).with_only_columns(literal(1)).where(
            Conversation.id == Lead.conversation_id, Conversation.flow_id == filters.flow_id).exists())
    if filters.q:
        pattern = _like_pattern(filters.q)
        query = query.where(or_(Contact.name.ilike(pattern, escape="\\"), Contact.phone.ilike(pattern, escape="\\"),
                                Contact.email.ilike(pattern, escape="\\"), _field_values_match(pattern)))
    return query


def _after(query: Select[Any], created_at: datetime, lead_id: int) -> Select[Any]:
    # A row value comparison: PostgreSQL turns it into a bound on the index (tenant_id, created_at, id).
    return query.where(tuple_(Lead.created_at, Lead.id) < (created_at, lead_id))


# -- the page ------------------------------------------------------------------------------------------
@dataclass(slots=True)
class LeadRow:
    id: int
    created_at: datetime
    status: str
    source_channel: str
    fields: dict[str, Any]
    contact_name: str
    contact_phone: str

    @property
    def name(self) -> str:
        """What the form captured, else what the channel told us about the person."""
        return str(self.fields.get("name") or self.contact_name or "")

    @property
    def phone(self) -> str:
        return str(self.fields.get("phone") or self.contact_phone or "")


@dataclass(slots=True)
class LeadPage:
    rows: list[LeadRow]
    next_cursor: str | None


def page(tenant_id: int, filters: LeadFilters, after: str | None = None, size: int = PAGE_SIZE) -> LeadPage:
    """One page of the filtered list (one query: `size + 1` rows tell whether there is a next page)."""
    query = _query(tenant_id, filters)
    if after:
        query = _after(query, *decode_cursor(after))
    found = db.session.execute(query.limit(size + 1)).all()
    rows = [LeadRow(id=r.id, created_at=r.created_at, status=r.status, source_channel=r.source_channel or "",
                    fields=r.fields if isinstance(r.fields, dict) else {}, contact_name=r.contact_name or "",
                    contact_phone=r.contact_phone or "") for r in found[:size]]
    more = len(found) > size
    return LeadPage(rows, keyset.encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)


def iter_rows(tenant_id: int, filters: LeadFilters, batch: int = EXPORT_BATCH) -> Iterator[Row[Any]]:
    """Every row of the filtered list, newest first, fetched `batch` rows at a time (a keyset walk): what
    the streamed export reads. The rows have the attributes `exporting.lead_rows` reads."""
    base = _query(tenant_id, filters)
    query = base
    while True:
        rows = db.session.execute(query.limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        query = _after(base, rows[-1].created_at, rows[-1].id)
