"""The database is the source of truth: re-enqueue what Redis or a killed worker lost.

Stored events still `received`/`queued` after a grace period, events stuck in `processing`, and follow-up
timers that are due are handed to the queue again. Every job is idempotent (atomic claims), so a duplicate
enqueue is harmless.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import FollowUp, InboundEvent, Tenant
from webapp.models.base import utcnow
from webapp.plans import queue_priority

log = logging.getLogger(__name__)


def sweep(*, grace_seconds: int = 30, stuck_seconds: int = 600, limit: int = 500) -> dict[str, int]:
    from connectors.jobs import enqueue_event, mark_queued
    from connectors.queue import QueueUnavailable, get_queue

    now = utcnow()
    _fail_stale_sends(now - timedelta(seconds=stuck_seconds))
    db.session.execute(update(InboundEvent).where(
        InboundEvent.status == "processing", InboundEvent.locked_at < now - timedelta(seconds=stuck_seconds))
        .values(status="queued"))
    db.session.commit()
    rows = db.session.execute(
        select(InboundEvent.id, InboundEvent.tenant_id).where(
            InboundEvent.status.in_(("received", "queued")),
            InboundEvent.created_at <= now - timedelta(seconds=grace_seconds))
        .order_by(InboundEvent.id).limit(limit)).all()
    priorities: dict[int, str] = {}
    requeued: list[int] = []
    for event_id, tenant_id in rows:
        if tenant_id not in priorities:
            priorities[tenant_id] = queue_priority(db.session.get(Tenant, tenant_id))
        if not enqueue_event(event_id, priorities[tenant_id]):
            break
        requeued.append(event_id)
    mark_queued(requeued)
    due = db.session.scalars(select(FollowUp.id).where(FollowUp.status == "scheduled", FollowUp.due_at <= now)
                             .limit(limit)).all()
    fired = 0
    for fu_id in due:
        try:
            get_queue().enqueue("connectors.jobs.fire_follow_up", fu_id)
            fired += 1
        except QueueUnavailable:
            break
    return {"events_requeued": len(requeued), "follow_ups_due": fired}


def _fail_stale_sends(before: Any) -> None:
    """Replies claimed for sending long ago whose worker died: we cannot know whether they went out, so
    they are marked failed (visible, retryable by a person) rather than sent again automatically."""
    from webapp.models import Message

    stale = db.session.execute(select(Message.id, Message.event_id).where(
        Message.delivery_status == "sending", Message.created_at < before)).all()
    if not stale:
        return
    db.session.execute(update(Message).where(Message.id.in_([m for m, _ in stale])).values(
        delivery_status="failed", error="outcome unknown: the worker stopped while sending"))
    events = {e for _, e in stale if e is not None}
    if events:
        db.session.execute(update(InboundEvent).where(InboundEvent.id.in_(events)).values(
            status="failed", error="a worker stopped while sending the replies: check the conversation, then retry"))
    db.session.commit()


def start_sweeper(app: Any, interval: float = 30.0) -> threading.Thread:
    """A daemon thread for the worker (and the embedded queue): one sweep every `interval` seconds."""
    stop = threading.Event()

    def my_turn() -> bool:
        """Every worker process runs this thread; one sweep per interval across all of them is enough."""
        queue = app.extensions["job_queue"]
        if getattr(queue, "backend", "") != "rq":
            return True
        try:
            return bool(queue.connection.set("temoweb:sweeper", "1", nx=True, ex=max(1, int(interval * 0.8))))
        except Exception:  # Redis down: sweep anyway (the DB is the source of truth)
            return True

    def loop() -> None:
        while not stop.wait(interval):
            with app.app_context():
                try:
                    if my_turn():
                        sweep()
                except Exception:  # keep sweeping; the next round retries
                    log.exception("sweep failed")

    thread = threading.Thread(target=loop, name="sweeper", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
