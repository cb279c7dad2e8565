"""The pipeline tests' accounts, tokens and helpers: stored events and replies, a driver error, due retries,
the statements a block runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

IG_ACCOUNT = "17841400000000001"
WA_PHONE_ID = "106540352242922"
IG_TOKEN = "IGQV-test-token"
WA_TOKEN = "EAAG-test-token"
AI_ACCOUNT = "17841400000000999"


def publish_templates(tenant: Any, *keys: str) -> None:
    from webapp.services.flows import seed_templates_for

    seed_templates_for(tenant, list(keys), publish_now=True)


def events(db, **filters: Any) -> list[Any]:
    from sqlalchemy import select

    from webapp.models import InboundEvent

    db.session.expire_all()
    query = select(InboundEvent).order_by(InboundEvent.id)
    for key, value in filters.items():
        query = query.where(getattr(InboundEvent, key) == value)
    return list(db.session.scalars(query))


def outbound(db, channel_id: int) -> list[Any]:
    from sqlalchemy import select

    from webapp.models import Message

    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(Message.channel_id == channel_id,
                                                         Message.direction == "out").order_by(Message.id)))


def handle_with_one_driver_error(db, event_id: int, matches: Any) -> bool:
    """Run the event's job with the first statement for which `matches(statement, parameters)` is true
    failing at the driver boundary, as a dropped server connection does; True when it did fail."""
    from sqlalchemy import event as sa_event

    from connectors.runtime.jobs import handle_inbound

    driver_error = db.engine.dialect.dbapi.OperationalError  # psycopg or sqlite3
    broken = {"left": 1}

    def fail_once(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if broken["left"] and matches(statement.lstrip(), parameters):
            broken["left"] -= 1
            raise driver_error("server closed the connection unexpectedly")

    sa_event.listen(db.engine, "before_cursor_execute", fail_once)
    try:
        handle_inbound(event_id)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", fail_once)
    return broken["left"] == 0


def due_now(db) -> None:
    """Make every waiting retry due (instead of waiting for its backoff)."""
    from webapp.models import Message
    from webapp.models.base import utcnow

    db.session.query(Message).filter(Message.delivery_status == "retrying", Message.next_attempt_at.isnot(None)
                                     ).update({"next_attempt_at": utcnow()})
    db.session.commit()


@contextmanager
def statements(engine: Any) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def aim_connectors(app: Any, monkeypatch: Any, graph_api: Any, telegram_api: Any) -> None:
    """Every connector base URL at the loopback fakes, fast retries, fresh in-memory rate-limit windows."""
    from connectors.channels import ratelimit

    for key, value in {"META_GRAPH_URL": graph_api.url, "INSTAGRAM_GRAPH_URL": graph_api.url,
                       "TELEGRAM_API_URL": telegram_api.url, "CONNECTOR_BACKOFF_BASE": 0.01,
                       "CONNECTOR_BACKOFF_MAX": 0.05, "CONNECTOR_TIMEOUT": 5.0,
                       "RATELIMIT_STORAGE_URI": "memory://"}.items():
        monkeypatch.setitem(app.config, key, value)
    ratelimit.reset("memory://")
