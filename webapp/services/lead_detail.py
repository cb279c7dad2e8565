"""A lead's page: what changes it (status, notes, custom fields; each change a line of its timeline) and what
it reads (the timeline and the whole conversation, both in keyset pages).

Every change is a `LeadEvent` in the caller's transaction (the caller commits), so the timeline is the
history: a note is never overwritten (each note is its own event; `Lead.note` keeps the latest one for the
list and older pages), a status change records from and to, a custom field change records its key, from
and to. Who did it is the member's email.

Reads are keyset walks of an index, newest first, so a lead with a 100k-message conversation opens as fast
as any: the messages of `ix_message_conversation_id (conversation_id, id)`, the events of
`ix_lead_event_lead_id (lead_id, id)`; "earlier" links carry the shared opaque cursor (id_pages.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from ..extensions import db
from ..models import LEAD_STATUSES, Lead, LeadEvent, Message, Tenant
from ..tenancy import scoped
from . import id_pages
from .errors import Refused
from .lead_fields import FieldDef, LeadFieldError, definitions_in_use, parse_value

MAX_NOTE = 5000
MESSAGES_PAGE = 100
TIMELINE_PAGE = 100


# -- changes -------------------------------------------------------------------------------------------
def _event(lead: Lead, kind: str, author: str, data: dict[str, Any]) -> LeadEvent:
    event = LeadEvent(tenant_id=lead.tenant_id, lead_id=lead.id, kind=kind, author=author or "", data=data)
    db.session.add(event)
    return event


def change_status(lead: Lead, status: str, author: str) -> LeadEvent | None:
    """Move the lead to `status` (one of LEAD_STATUSES); None when it already is there (nothing to record)."""
    if status not in LEAD_STATUSES:
        raise Refused(_("Unknown status."))
    if status == lead.status:
        return None
    event = _event(lead, "status", author, {"from": lead.status, "to": status})
    lead.status = status
    return event


def add_note(lead: Lead, text: str, author: str) -> LeadEvent:
    """A new note on the timeline; `Lead.note` becomes this latest one (earlier notes stay as events)."""
    text = (text or "").strip()
    if not text:
        raise Refused(_("The note is empty."))
    if len(text) > MAX_NOTE:
        raise Refused(_("A note is at most %(n)d characters.", n=MAX_NOTE))
    lead.note = text
    return _event(lead, "note", author, {"text": text})


def set_custom(tenant: Tenant, lead: Lead, values: Mapping[str, str], author: str) -> list[LeadEvent]:
    """Set the custom fields the form sent (keys of the tenant's definitions; others are ignored), each
    checked against its definition; one event per changed key. LeadFieldError (per key) leaves the lead
    as it was; a plan without the feature is refused (403)."""
    defs = definitions_in_use(tenant)
    if not defs:
        raise Refused(_("Custom lead fields are a feature of higher plans."), 403)
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for definition in defs:
        if definition.key not in values:
            continue
        try:
            parsed[definition.key] = parse_value(definition, values[definition.key])
        except LeadFieldError as exc:
            errors.update(exc.errors)
    if errors:
        raise LeadFieldError(errors)
    current = dict(lead.custom or {})
    events = []
    for key, new in parsed.items():
        old = current.get(key)
        if old == new:
            continue
        if new is None:
            current.pop(key, None)
        else:
            current[key] = new
        events.append(_event(lead, "field", author, {"key": key, "from": old, "to": new}))
    if events:
        lead.custom = current
    return events


# -- reads ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class MessagePage:
    messages: list[Message]   # oldest first, as a conversation reads
    earlier: str | None       # the cursor of the page before, if any


def conversation_page(lead: Lead, before: str | None = None, size: int | None = None) -> MessagePage:
    """The newest `size` messages of the lead's conversation before the cursor, in reading order;
    ValueError for a cursor we did not make."""
    if lead.conversation_id is None:
        id_pages.start_id(before)  # a bad link is still a bad link
        return MessagePage([], None)
    found = id_pages.page(scoped(Message, lead.tenant_id).where(Message.conversation_id == lead.conversation_id),
                          Message, before, size or MESSAGES_PAGE)
    return MessagePage(list(reversed(found.rows)), found.next_cursor)


@dataclass(slots=True)
class TimelineLine:
    kind: str
    author: str
    at: datetime
    data: dict[str, Any]


@dataclass(slots=True)
class Timeline:
    lines: list[TimelineLine]  # newest first
    older: str | None


def timeline(lead: Lead, before: str | None = None, size: int | None = None) -> Timeline:
    """The lead's events newest first; its creation (from `Lead.created_at`, so leads older than the
    timeline have it too) is the last line once the walk reaches the beginning. ValueError for a cursor we
    did not make."""
    found = id_pages.page(scoped(LeadEvent, lead.tenant_id).where(LeadEvent.lead_id == lead.id),
                          LeadEvent, before, size or TIMELINE_PAGE)
    lines = [TimelineLine(e.kind, e.author or "", e.created_at, dict(e.data or {})) for e in found.rows]
    if found.next_cursor is None and not any(line.kind == "created" for line in lines):
        lines.append(TimelineLine("created", "", lead.created_at, {"channel": lead.source_channel or ""}))
    return Timeline(lines, found.next_cursor)


def custom_values(tenant: Tenant, lead: Lead) -> list[tuple[FieldDef, Any]]:
    """The lead's value of each field the tenant may use now (None when unset)."""
    stored = lead.custom or {}
    return [(d, stored.get(d.key)) for d in definitions_in_use(tenant)]
