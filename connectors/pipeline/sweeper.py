"""The database is the source of truth: recover what Redis or a killed worker lost.

Every pass (every SWEEP_INTERVAL seconds, in one process of the fleet at a time):
- work held by a dead worker (liveness.py: its heartbeat stopped DEAD_AFTER seconds ago) is recovered: its
  `processing` events go back to `queued`; its `claimed` replies (the request never left) back to `pending`
  and are delivered again; its `sending` replies (the request may have left) become `unknown` and the owner
  is told, since sending them again could duplicate them;
- events still `received`/`queued` after a grace period (Redis lost the job, or was down) are enqueued again;
- replies whose retry is due and overdue (their delayed job was lost), and `pending` ones, are delivered;
- follow-up timers that are due fire.
Every job is idempotent (atomic claims), so a duplicate enqueue is harmless. Events `processing` longer than
`stuck_seconds` are requeued whoever holds them (a worker that lost its owner name, or older rows).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from webapp.extensions import db
from webapp.models import FollowUp, InboundEvent, Message, Tenant
from webapp.models.base import utcnow
from webapp.plans import queue_priority

from . import liveness

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 10.0
RETRY_GRACE = timedelta(seconds=15)  # a due retry's own delayed job normally runs within this


def sweep(*, grace_seconds: int = 30, stuck_seconds: int = 900, limit: int = 500) -> dict[str, int]:
    from connectors.jobs import enqueue_event, mark_queued
    from connectors.queue import QueueUnavailable, get_queue

    now = utcnow()
    recovered = _recover_dead_workers(limit)
    db.session.execute(update(InboundEvent).where(
        InboundEvent.status == "processing", InboundEvent.locked_at < now - timedelta(seconds=stuck_seconds))
        .values(status="queued", locked_by=None))
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
    waiting = db.session.scalars(select(Message.conversation_id).where(or_(
        Message.delivery_status == "pending",  # a manager's "send again" whose job was lost
        and_(Message.delivery_status == "retrying",
             or_(Message.next_attempt_at <= now - RETRY_GRACE, Message.next_attempt_at.is_(None))))).distinct()
        .limit(limit)).all()
    delivering = _deliver(set(waiting) | recovered["conversations"])
    due = db.session.scalars(select(FollowUp.id).where(FollowUp.status == "scheduled", FollowUp.due_at <= now)
                             .limit(limit)).all()
    db.session.commit()
    fired = 0
    for fu_id in due:
        try:
            get_queue().enqueue("connectors.jobs.fire_follow_up", fu_id)
            fired += 1
        except QueueUnavailable:
            break
    return {"events_requeued": len(requeued), "follow_ups_due": fired, "deliveries": delivering,
            "events_recovered": recovered["events"], "unknown": recovered["unknown"]}


def _recover_dead_workers(limit: int) -> dict[str, Any]:
    """What dead workers held, put back (see the module docstring)."""
    from .delivery import tell_owners

    events = db.session.execute(select(InboundEvent.id, InboundEvent.locked_by).where(
        InboundEvent.status == "processing").limit(limit)).all()
    messages = db.session.execute(select(Message.id, Message.claimed_by, Message.delivery_status,
                                         Message.conversation_id, Message.tenant_id).where(
        Message.delivery_status.in_(("claimed", "sending"))).limit(limit)).all()
    owners = {e.locked_by for e in events if e.locked_by} | {m.claimed_by for m in messages if m.claimed_by}
    status = liveness.alive(owners, _redis())

    def dead(owner: str | None) -> bool:  # no owner: claimed before owners were recorded, by a worker gone since
        return owner is None or not status.get(owner, True)

    dead_events = [e.id for e in events if e.locked_by and dead(e.locked_by)]
    dead_claims = [m for m in messages if dead(m.claimed_by)]
    unsent = [m.id for m in dead_claims if m.delivery_status == "claimed"]
    maybe_sent = [m for m in dead_claims if m.delivery_status == "sending"]
    if dead_events:
        db.session.execute(update(InboundEvent).where(InboundEvent.id.in_(dead_events),
                                                      InboundEvent.status == "processing")
                           .values(status="queued", locked_by=None, reason="its worker stopped: run again"))
    if unsent:
        db.session.execute(update(Message).where(Message.id.in_(unsent), Message.delivery_status == "claimed")
                           .values(delivery_status="pending", claimed_by=None))
    if maybe_sent:
        db.session.execute(update(Message).where(Message.id.in_([m.id for m in maybe_sent]),
                                                 Message.delivery_status == "sending")
                           .values(delivery_status="unknown", claimed_by=None,
                                   error="outcome unknown: the worker stopped while the channel was answering"))
    db.session.commit()
    if maybe_sent:
        tell_owners([(m.tenant_id, "delivery_unknown", f"message {m.id}: the worker stopped while sending it")
                      for m in maybe_sent])
    if dead_events or dead_claims:
        log.warning("recovered from dead workers %s: %d event(s), %d reply(ies) to send, %d with an unknown outcome",
                    sorted(o for o, ok in status.items() if not ok), len(dead_events), len(unsent), len(maybe_sent))
    return {"events": len(dead_events), "unknown": len(maybe_sent),
            "conversations": {m.conversation_id for m in dead_claims if m.delivery_status == "claimed"}}


def _deliver(conversation_ids: set[int]) -> int:
    from connectors.queue import QueueUnavailable, get_queue

    queued = 0
    for conversation_id in sorted(conversation_ids):
        try:
            get_queue().enqueue("connectors.jobs.deliver_conversation", conversation_id)
            queued += 1
        except QueueUnavailable:
            break
    return queued


def _redis() -> Any | None:
    from flask import current_app

    queue = current_app.extensions["job_queue"]
    return getattr(queue, "connection", None)


def start_sweeper(app: Any, interval: float | None = None) -> threading.Thread:
    """A daemon thread for the worker (and the embedded queue): one sweep every `interval` seconds."""
    interval = float(interval or app.config.get("SWEEP_INTERVAL") or SWEEP_INTERVAL)
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
                finally:
                    db.session.remove()

    thread = threading.Thread(target=loop, name="sweeper", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
