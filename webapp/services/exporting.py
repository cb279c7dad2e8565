"""Lead export rows, shared by the CSV download and `flask leads export`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from webapp.models import Lead

LEAD_EXPORT_COLUMNS = ["id", "created_at", "status", "source_channel", "name", "phone", "email", "fields"]


def lead_rows(leads: Iterable[Lead]) -> Iterator[dict[str, Any]]:
    import json

    for lead in leads:
        fields = lead.fields or {}
        yield {"id": lead.id, "created_at": lead.created_at.isoformat(), "status": lead.status,
               "source_channel": lead.source_channel, "name": fields.get("name", ""),
               "phone": fields.get("phone", ""), "email": fields.get("email", ""),
               "fields": json.dumps(fields, ensure_ascii=False, sort_keys=True)}
