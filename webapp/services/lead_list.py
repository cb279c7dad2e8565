"""The leads list's reads: search, filters, keyset pages and the streamed export of the same filtered list.

The list must stay fast for a tenant with many thousands of leads, so every query here is shaped for an
index: a page is a keyset walk of `ix_lead_tenant_created_id (tenant_id, created_at, id)` newest first (an
OFFSET would read every skipped row again, and the old "newest 500" cap left older leads unreachable), and it
selects only the columns the list shows, as Core rows (no ORM objects, no identity map).

Search is a case-insensitive substring match (ILIKE on PostgreSQL, `lower() LIKE` on SQLite) over the lead's
field values and its contact's name, phone and email. Each of the two ways to match is its own query for the
page's newest ids (`_limited`), so PostgreSQL serves each from an index: the trigram indexes of migration
0008 (`ix_lead_values_trgm`, `ix_contact_search_trgm`; pg_trgm and btree_gin, created where the role may) for
a rare term, a short walk of the list's index for a common one. Without the extensions (and on SQLite) the
same queries walk the tenant's rows in index order and stop once a page is full. On PostgreSQL the values are
matched as the JSON text of the values array, so a term with a double quote or a backslash may also match
its JSON quoting.

The export reuses the same query in batches of `EXPORT_BATCH` rows (again a keyset walk), so a streamed
download holds one batch in memory, never every lead. Every query goes through `webapp.tenancy.scoped`, and
every one is cut to the plan's CRM history depth (webapp/services/crm_depth.py): a lower bound on
`created_at`, the column the walk runs on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, func, literal, literal_column, or_, select, tuple_, union_all
from sqlalchemy.engine import Row

from ..extensions import db
from ..inputs import like_pattern, parse_row_id
from ..models import LEAD_STATUSES, Contact, Conversation, Lead
from ..tenancy import scoped
from . import crm_depth, keyset

PAGE_SIZE = 50
EXPORT_BATCH = 1000
#: The export's first batch: one CSV chunk's worth (exporting.CHUNK_ROWS), so the download starts at once.
FIRST_BATCH = 200
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
        flow_id = parse_row_id(flow_text)
        if flow_text and flow_id is None:
            raise LeadListError("flow")
        return cls(q=(args.get("q") or "").strip()[:MAX_SEARCH],
                   status=status if status in LEAD_STATUSES else None,
                   channel=(args.get("channel") or "").strip()[:16] or None,
                   date_from=_date(args.get("from")), date_to=_date(args.get("to")),
                   flow_id=flow_id)

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
def _search_branches(tenant_id: int, pattern: str) -> list[ColumnElement[bool]]:
    """The ways a lead matches a search, each a condition an index can serve on its own: some value of the
    lead's `fields` contains the term (values only, so that searching "phone" does not match every lead that
    has a phone), or its contact's name, phone or email does. On PostgreSQL the values are read as the text of
    `jsonb_path_query_array(fields, '$.*')`, the expression `ix_lead_values_trgm` indexes (migration 0008), and
    the contacts through `ix_contact_search_trgm`; SQLite's json_each reads the stored JSON (decoding `\\u`
    escapes, so non-ASCII text matches)."""
    if db.session.get_bind().dialect.name == "postgresql":
        values_text = func.jsonb_path_query_array(Lead.fields, literal_column("'$.*'::jsonpath")).cast(Text)
        in_values: ColumnElement[bool] = values_text.ilike(pattern, escape="\\")
    else:
        values = func.json_each(Lead.fields).table_valued("value")
        in_values = select(literal(1)).select_from(values).where(
            values.c.value.ilike(pattern, escape="\\")).exists()
    contacts = scoped(Contact, tenant_id).with_only_columns(Contact.id).where(or_(
        Contact.name.ilike(pattern, escape="\\"), Contact.phone.ilike(pattern, escape="\\"),
        Contact.email.ilike(pattern, escape="\\")))
    return [in_values, Lead.contact_id.in_(contacts)]


def _query(tenant_id: int, filters: LeadFilters, export: bool = False) -> Select[Any]:
    """The filtered list newest first, as the lead columns the list (and with `export`, the export) needs."""
    query = (scoped(Lead, tenant_id).with_only_columns(
        Lead.id, Lead.created_at, Lead.status, Lead.source_channel, Lead.fields, Lead.contact_id,
        *((Lead.custom,) if export else ()))
        .order_by(Lead.created_at.desc(), Lead.id.desc()))
    query = crm_depth.only_visible(query, Lead.created_at, tenant_id)
    if filters.status:
        query = query.where(Lead.status == filters.status)
    if filters.channel:
        query = query.where(Lead.source_channel == filters.channel)
    if filters.date_from:
        query = query.where(Lead.created_at >= datetime.combine(filters.date_from, datetime.min.time(), UTC))
    if filters.date_to and filters.date_to < date.max:  # the last day there is bounds nothing
        end = datetime.combine(filters.date_to, datetime.min.time(), UTC) + timedelta(days=1)
        query = query.where(Lead.created_at < end)
    if filters.flow_id:
        # A lead records its conversation; the conversation records the flow that ran it.
        query = query.where(scoped(Conversation, tenant_id).with_only_columns(literal(1)).where(
            Conversation.id == Lead.conversation_id, Conversation.flow_id == filters.flow_id).exists())
    return query


def _after(query: Select[Any], created_at: datetime, lead_id: int) -> Select[Any]:
    # A row value comparison: PostgreSQL turns it into a bound on the index (tenant_id, created_at, id).
    return query.where(tuple_(Lead.created_at, Lead.id) < (created_at, lead_id))


def _limited(tenant_id: int, filters: LeadFilters, limit: int, after: tuple[datetime, int] | None = None,
             export: bool = False) -> Select[Any]:
    """The next `limit` rows of the filtered list after `after`. With a search, each way of matching
    (`_search_branches`) picks its own newest `limit` ids first, and the page is the newest of those: a
    single OR across the lead and its contact can only be checked lead by lead (a search for one phone
    number read all 6,000 leads of bench/scale.py's largest tenant), while each branch alone is a few
    index pages for a rare term and a short walk of the list's index for a common one.

    The contact's columns are joined to the page's rows only, after the limit (bench/scale.py: the largest
    tenant's export 216 → 180 ms, its first chunk 15 → 10 ms, against joining them to the list itself)."""
    query = _query(tenant_id, filters, export)
    if after:
        query = _after(query, *after)
    if filters.q:
        pattern = like_pattern(filters.q)
        branches = []
        for condition in _search_branches(tenant_id, pattern):
            ids = _query(tenant_id, filters).with_only_columns(Lead.id, Lead.created_at)
            ids = (_after(ids, *after) if after else ids).where(condition).limit(limit)
            branches.append(select(ids.subquery().c.id))
        query = query.where(Lead.id.in_(union_all(*branches)))
    rows = query.limit(limit).subquery("page")
    return (select(*rows.c, Contact.name.label("contact_name"), Contact.phone.label("contact_phone"),
                   Contact.email.label("contact_email"))
            .select_from(rows.outerjoin(Contact, and_(Contact.id == rows.c.contact_id,
                                                      Contact.tenant_id == tenant_id)))
            .order_by(rows.c.created_at.desc(), rows.c.id.desc()))


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
    found = db.session.execute(_limited(tenant_id, filters, size + 1,
                                        decode_cursor(after) if after else None)).all()
    rows = [LeadRow(id=r.id, created_at=r.created_at, status=r.status, source_channel=r.source_channel or "",
                    fields=r.fields if isinstance(r.fields, dict) else {}, contact_name=r.contact_name or "",
                    contact_phone=r.contact_phone or "") for r in found[:size]]
    more = len(found) > size
    return LeadPage(rows, keyset.encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)


def iter_rows(tenant_id: int, filters: LeadFilters, batch: int = EXPORT_BATCH) -> Iterator[Row[Any]]:
    """Every row of the filtered list, newest first, fetched `batch` rows at a time (a keyset walk): what
    the streamed export reads. The first batch is `FIRST_BATCH` rows, so a download starts as soon as its
    first chunk is written. The rows have the attributes `exporting.lead_rows` reads."""
    after: tuple[datetime, int] | None = None
    size = min(batch, FIRST_BATCH)
    while True:
        rows = db.session.execute(_limited(tenant_id, filters, size, after, export=True)).all()
        yield from rows
        if len(rows) < size:
            return
        after = (rows[-1].created_at, rows[-1].id)
        size = batch
