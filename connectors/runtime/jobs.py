"""Jobs: where the database, the flow engine and the channel connectors meet.

Jobs take ids and load what they need; each runs inside an app context (the worker's app, or the
caller's context in tests and the embedded queue).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context

from connectors.pipeline.delivery import deliver_conversation as deliver
from connectors.pipeline.delivery import deliver_message
from connectors.pipeline.handback import process_hand_back
from connectors.pipeline.notifications import deliver as deliver_one_notification
from connectors.pipeline.turns import process_event, process_follow_up
from connectors.runtime.queue import QueueUnavailable, get_queue, resolve
from connectors.runtime.run_slots import waiting
from webapp.extensions import db
from webapp.models import InboundEvent, Message, Tenant
from webapp.plans import queue_priority
from webapp.services.mail import send_mail

F = TypeVar("F", bound=Callable[..., Any])
APP_FACTORY = "webapp.create_app"
_bound_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """The worker process binds its app once; jobs then open a fresh app context per run."""
    global _bound_app
    _bound_app = app


def _app() -> Flask:
    """A job run outside any app context (e.g. by RQ's own `rq worker`) builds the app named by
    TEMOWEB_APP_FACTORY once: the runtime names the app as RQ names jobs, by dotted path, so it does not
    import the web app it serves."""
    global _bound_app
    if _bound_app is None:
        _bound_app = resolve(os.environ.get("TEMOWEB_APP_FACTORY", APP_FACTORY))()
    return _bound_app


def app_job(fn: F) -> F:
    """Every job runs in its own app context (its own DB session), as in a worker process, even when it
    is called from inside another context (tests draining a queue, the embedded queue)."""
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app = current_app._get_current_object() if has_app_context() else _app()  # type: ignore[attr-defined]
        with app.app_context():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def enqueue_event(event_id: int, priority: str) -> bool:
    """Enqueue one stored event; False when the queue is down (the sweeper picks it up later)."""
    try:
        get_queue(current_app).enqueue("connectors.runtime.jobs.handle_inbound", event_id, priority=priority)
    except QueueUnavailable:
        return False
    return True


def mark_queued(event_ids: list[int]) -> None:
    """One UPDATE for a batch; only `received` rows move, so a worker that already started is not undone."""
    from sqlalchemy import update


    if event_ids:
        db.session.execute(update(InboundEvent).where(InboundEvent.id.in_(event_ids),
                                                      InboundEvent.status == "received").values(status="queued"))
        db.session.commit()


def retry_events(event_ids: list[int]) -> int:
    """Re-enqueue failed or skipped events (staff action, back-office); others are left alone."""
    from sqlalchemy import select, update


    events = list(db.session.scalars(select(InboundEvent).where(
        InboundEvent.id.in_(event_ids), InboundEvent.status.in_(("failed", "skipped")))))
    for event in events:
        event.status = "received"
        event.error = None
    if events:  # the replies a channel refused are sent again too (a person asked); never unknown ones
        db.session.execute(update(Message).where(Message.event_id.in_([e.id for e in events]),
                                                 Message.direction == "out", Message.delivery_status == "failed")
                           .values(delivery_status="pending", error=None))
    db.session.commit()
    queued = [e.id for e in events
              if enqueue_event(e.id, queue_priority(db.session.get(Tenant, e.tenant_id)))]
    mark_queued(queued)
    return len(queued)


@app_job
def handle_inbound(event_id: int) -> None:
    process_event(event_id)


@app_job
def fire_follow_up(follow_up_id: int) -> None:
    process_follow_up(follow_up_id)


@app_job
def deliver_conversation(conversation_id: int) -> None:
    deliver(conversation_id)


@app_job
def hand_back(conversation_id: int, handed_back_at: float) -> None:
    """A person gave the conversation back to the bot (webapp/services/handoff.py)."""
    process_hand_back(conversation_id, handed_back_at)


@app_job
def deliver_notification(delivery_id: int) -> None:
    """One attempt at sending a notification to one destination (connectors/pipeline/notifications.py);
    a failed attempt schedules the next one itself."""
    deliver_one_notification(delivery_id)


@app_job
def send_again(message_id: int) -> None:
    """A person asked for it (the back-office warned that the customer may get it twice)."""
    deliver_message(message_id)


@app_job
def mail_link(kind: str, user_id: int | None, email: str | None) -> bool:
    """A sign-up confirmation or password-reset mail, sent here rather than in the request: a slow SMTP
    server never holds a page, and only this job finds out whether a reset address has an account, so the
    request takes the same time either way. True when the SMTP server took it.

    The mail is the auth blueprint's (its tokens, routes and templates), hence the import at call time, the
    one place the runtime reaches into a blueprint. Its database reads end before the SMTP exchange, so the
    run slot goes to other jobs while the mail server answers."""
    from webapp.auth.signup import write_link_mail

    mail = write_link_mail(kind, user_id, email)
    db.session.close()
    if mail is None:
        return False
    with waiting():
        return send_mail(*mail)
