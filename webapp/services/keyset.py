"""The cursor of a list paged by keyset on (a timestamp, id), newest first: the inbox, the leads list.

Opaque to clients (microseconds since the epoch and the id, base64), and checked on the way back: anything
that is not a cursor we made — garbage, an id beyond the column's range, a date beyond year 9999 — raises
ValueError, which each list turns into its own 400, never a 500."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

from ..inputs import DB_INT_MAX

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CURSOR = 64


def encode_cursor(at: datetime, row_id: int) -> str:
    """The position after a row; the id breaks ties between rows of the same microsecond."""
    micros = (at.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}.{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Back to (timestamp, id), or ValueError."""
    if len(cursor) > MAX_CURSOR:
        raise ValueError("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        micros_text, id_text = raw.split(".")
        if not (micros_text.lstrip("-").isdigit() and id_text.isdigit()):
            raise ValueError(raw)
        micros, row_id = int(micros_text), int(id_text)
        if not 0 < row_id <= DB_INT_MAX:
            raise ValueError(raw)
        return _EPOCH + timedelta(microseconds=micros), row_id
    except (UnicodeDecodeError, binascii.Error, OverflowError) as exc:
        raise ValueError("not a cursor") from exc
