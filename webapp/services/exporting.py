"""Lead export rows, shared by the streamed download of the leads list and `flask leads export`.

The columns are LEAD_EXPORT_COLUMNS, then one `custom_<key>` column per custom lead field the tenant's plan
lets it use (webapp/services/lead_fields.py), in the order the owner defined them. `export_chunks` is the
whole export of a filtered list: the keyset batches of lead_list.iter_rows (cut to the plan's CRM history
depth there) written as CSV or JSON chunks, never one big string.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..models import Tenant
from . import lead_list
from .lead_fields import definitions_in_use, display

LEAD_EXPORT_COLUMNS = ["id", "created_at", "status", "source_channel", "name", "phone", "email", "fields"]
#: Rows per chunk handed to the WSGI server: big enough that the per-chunk overhead does not matter,
#: small enough that a huge export never sits in memory as one string.
CHUNK_ROWS = 200
CUSTOM_PREFIX = "custom_"
FORMATS = ("csv", "json")


def custom_columns(custom_keys: Sequence[str]) -> list[str]:
    return [CUSTOM_PREFIX + key for key in custom_keys]


def lead_columns(custom_keys: Sequence[str] = ()) -> list[str]:
    """The export's columns: the fixed ones, then the custom fields'."""
    return [*LEAD_EXPORT_COLUMNS, *custom_columns(custom_keys)]


def lead_rows(leads: Iterable[Any], custom_keys: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
    """One export row per lead. `leads` are Lead objects or Core rows with the same attribute names
    (id, created_at, status, source_channel, fields, and `custom` when `custom_keys` are asked for): the
    list's export streams Core rows."""
    for lead in leads:
        fields = lead.fields if isinstance(lead.fields, dict) else {}
        row = {"id": lead.id, "created_at": lead.created_at.isoformat(), "status": lead.status,
               "source_channel": lead.source_channel, "name": fields.get("name", ""),
               "phone": fields.get("phone", ""), "email": fields.get("email", ""),
               "fields": json.dumps(fields, ensure_ascii=False, sort_keys=True)}
        if custom_keys:
            custom = lead.custom if isinstance(lead.custom, dict) else {}
            for key in custom_keys:
                row[CUSTOM_PREFIX + key] = display(custom.get(key))
        yield row


def export_chunks(tenant: Tenant, filters: lead_list.LeadFilters, fmt: str) -> Iterator[str]:
    """The tenant's filtered leads as CSV or JSON text chunks (with its custom field columns)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    keys = [d.key for d in definitions_in_use(tenant)]
    rows = lead_rows(lead_list.iter_rows(tenant.id, filters), keys)
    return json_chunks(rows) if fmt == "json" else csv_chunks(rows, lead_columns(keys))


def csv_chunks(rows: Iterable[dict[str, Any]], columns: Sequence[str] = LEAD_EXPORT_COLUMNS) -> Iterator[str]:
    """The CSV text of `rows` (header first) in chunks of CHUNK_ROWS rows, for a streamed response."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for count, row in enumerate(rows, 1):
        writer.writerow(row)
        if count % CHUNK_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def json_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array of `rows`, written as it goes (the same rows and columns as the CSV)."""
    parts: list[str] = ["["]
    for count, row in enumerate(rows):
        parts.append(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
        if len(parts) >= CHUNK_ROWS:
            yield "".join(parts)
            parts = []
    parts.append("\n]\n")
    yield "".join(parts)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return text
