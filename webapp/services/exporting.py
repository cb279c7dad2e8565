"""Lead export rows, shared by the streamed download of the leads list and `flask leads export`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

LEAD_EXPORT_COLUMNS = ["id", "created_at", "status", "source_channel", "name", "phone", "email", "fields"]
#: Rows per chunk handed to the WSGI server: big enough that the per-chunk overhead does not matter,
#: small enough that a huge export never sits in memory as one string.
CHUNK_ROWS = 200


def lead_rows(leads: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """One export row per lead. `leads` are Lead objects or Core rows with the same attribute names
    (id, created_at, status, source_channel, fields): the list's export streams Core rows."""
    for lead in leads:
        fields = lead.fields if isinstance(lead.fields, dict) else {}
        yield {"id": lead.id, "created_at": lead.created_at.isoformat(), "status": lead.status,
               "source_channel": lead.source_channel, "name": fields.get("name", ""),
               "phone": fields.get("phone", ""), "email": fields.get("email", ""),
               "fields": json.dumps(fields, ensure_ascii=False, sort_keys=True)}


def csv_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The CSV text of `rows` (header first) in chunks of CHUNK_ROWS rows, for a streamed response."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LEAD_EXPORT_COLUMNS, extrasaction="ignore")
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
