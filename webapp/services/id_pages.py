"""Keyset pages of a list that runs newest first on its id: notifications and events (each on its index
(tenant_id, id)), a lead's conversation (conversation_id, id) and its timeline (lead_id, id).

The "older" link carries the shared opaque cursor of webapp/services/keyset.py (the row's created_at and
id; only the id bounds the walk here, ids being the order). A cursor that is not one we made raises
ValueError: each route answers it with a 400 that says so, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select

from ..extensions import db
from . import keyset

T = TypeVar("T")


@dataclass(slots=True)
class IdPage(Generic[T]):
    rows: list[T]             # newest first
    next_cursor: str | None   # the page after the last row, if there is one


def start_id(cursor: str | None) -> int | None:
    """The id a page starts below, or None for the first page; ValueError for a cursor we did not make."""
    return keyset.decode_cursor(cursor)[1] if cursor else None


def page(query: Select[Any], model: Any, after: str | None, size: int) -> IdPage[Any]:
    """One page of `query` (a select of `model` objects, already scoped and filtered) below the cursor,
    newest first; `size + 1` rows in one query tell whether there is a next page."""
    start = start_id(after)
    query = query.order_by(model.id.desc()).limit(size + 1)
    if start is not None:
        query = query.where(model.id < start)
    found = list(db.session.scalars(query))
    rows = found[:size]
    more = len(found) > size and rows
    return IdPage(rows, keyset.encode_cursor(rows[-1].created_at, rows[-1].id) if more else None)
