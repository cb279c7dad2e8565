"""Jobs: where the database, the flow engine and the channel connectors meet.

Jobs take ids and load what they need; each runs inside an app context (the worker's app, or the
caller's context in tests and the embedded queue).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context

F = TypeVar("F", bound=Callable[..., Any])
_bound_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """The worker process binds its app once; jobs then open a fresh app context per run."""
    global _bound_app
    _bound_app = app


def _app() -> Flask:
    global _bound_app
    if _bound_app is None:
        from webapp import create_app

        _bound_app = create_app()
    return _bound_app


def app_job(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return fn(*args, **kwargs)
        with _app().app_context():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def enqueue_event(event_id: int, priority: str) -> bool:
    """Enqueue one stored event; False when the queue is down (the sweeper picks it up later)."""
    from webapp.extensions import db
    from webapp.models import InboundEvent

    from .queue import QueueUnavailable, get_queue

    try:
        get_queue(current_app).enqueue("connectors.jobs.handle_inbound", event_id, priority=priority)
    except QueueUnavailable:
        return False
    event = db.session.get(InboundEvent, event_id)
    if event is not None and event.status == "received":
        event.status = "queued"
        db.session.commit()
    return True


def retry_events(event_ids: list[int]) -> int:
    """Re-enqueue failed or stuck events (staff action, sweeper)."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import InboundEvent, Tenant
    from webapp.plans import queue_priority

    count = 0
    for event in db.session.scalars(select(InboundEvent).where(InboundEvent.id.in_(event_ids))):
        event.status = "received"
        event.error = None
        tenant = db.session.get(Tenant, event.tenant_id)
        db.session.commit()
        if tenant is not None and enqueue_event(event.id, queue_priority(tenant)):
            count += 1
    return count


@app_job
def handle_inbound(event_id: int) -> None:
    from .pipeline import process_event

    process_event(event_id)
