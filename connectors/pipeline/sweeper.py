"""The database is the source of truth: recover what Redis or a killed worker lost.

Every pass (every SWEEP_INTERVAL seconds, in one process of the fleet at a time):
- work held by a dead worker (liveness.py: its heartbeat stopped DEAD_AFTER seconds ago) is recovered: its
  `processing` events go back to `queued` (or `failed` once they have taken AUTO_ATTEMPTS workers down); its
  `claimed` replies (the request never left) back to `pending`, delivered again; its `sending` replies (the
  request may have left) become `unknown` and the owner is told, since sending them again could duplicate;
- the same for work held far longer than any job runs (STALE: a live worker whose job failed before it could
  record the outcome, or rows from before owners were recorded);
- events still `received`/`queued` after a grace period (Redis lost the job, or was down) are enqueued again;
- replies `pending`, or `retrying` and overdue (their delayed job was lost), are delivered;
- follow-up timers that are due fire (and ones whose firing worker vanished are due again);
- notification deliveries whose job was lost (queue down, a dead worker) are enqueued (notifications.py);
- customers waiting for a person longer than their tenant allows get "we'll get back to you" once (waiting.py);
- once an hour, Instagram tokens close to expiry are refreshed (tokens.py).
Every job is idempotent (atomic claims), so a duplicate enqueue is harmless.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from connectors.runtime import liveness
from connectors.runtime.jobs import enqueue_event, mark_queued
from connectors.runtime.queue import QueueUnavailable, get_queue
from webapp.extensions import db
from webapp.models import FollowUp, InboundEvent, Message, Tenant
from webapp.models.base import utcnow
from webapp.plans import queue_priority

from .delivery import tell_owners
from .notifications import due_deliveries
from .tokens import refresh_if_due
from .turns import AUTO_ATTEMPTS
from .waiting import send_waiting_notices

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 10.0
RETRY_GRACE = timedelta(seconds=15)  # a due retry's own delayed job normally runs within this
STALE = timedelta(minutes=15)  # longer than any job may run (connectors.runtime.queue.JOB_TIMEOUT, 10 minutes)


def sweep(*, grace_seconds: int = 30, limit: int = 500) -> dict[str, int]:
    now = utcnow()
    recovered = _recover(now)
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
        Message.delivery_status == "pending",  # recovered, or a manager's "send again" whose job was lost
        and_(Message.delivery_status == "retrying", Message.next_attempt_at <= now - RETRY_GRACE))).distinct()
        .limit(limit)).all()
    delivering = _enqueue("connectors.runtime.jobs.deliver_conversation", sorted(set(waiting)))
    db.session.execute(update(FollowUp).where(FollowUp.status == "firing", FollowUp.due_at < now - STALE)
                       .values(status="scheduled"))
    due = db.session.scalars(select(FollowUp.id).where(FollowUp.status == "scheduled", FollowUp.due_at <= now)
                             .limit(limit)).all()
    db.session.commit()
    fired = _enqueue("connectors.runtime.jobs.fire_follow_up", list(due))
    notifying = _enqueue("connectors.runtime.jobs.deliver_notification", due_deliveries(now, limit))  # lost jobs
    try:  # customers waiting for a person past their tenant's time (waiting.py); never stops the sweep
        notices = send_waiting_notices(now, batch=limit)
    except Exception:
        db.session.rollback()
        log.exception("waiting notices failed; tried again next sweep")
        notices = 0
    try:  # hourly: Instagram tokens refreshed before they expire (tokens.py); never stops the sweep
        tokens = refresh_if_due(now) or {}
    except Exception:
        db.session.rollback()
        log.exception("token refresh failed; tried again next hour")
        tokens = {}
    return {"events_requeued": len(requeued), "follow_ups_due": fired, "deliveries": delivering,
            "waiting_notices": notices, "notification_deliveries": notifying, **recovered, **tokens}


def _recover(now: datetime) -> dict[str, int]:
    """What dead workers (or jobs gone for longer than STALE) held, put back (see the module docstring).
    Owners are looked up first and the updates name them, so no row limit can hide a dead worker's work and a
    row a live worker claimed meanwhile is never touched."""
    owners = set(db.session.scalars(select(InboundEvent.locked_by).where(
        InboundEvent.status == "processing", InboundEvent.locked_by.isnot(None)).distinct()))
    owners |= set(db.session.scalars(select(Message.claimed_by).where(
        Message.delivery_status.in_(("claimed", "sending")), Message.claimed_by.isnot(None)).distinct()))
    status = liveness.alive(owners, _redis())
    dead = sorted(owner for owner in owners if not status.get(owner, True))
    gone_events = and_(InboundEvent.status == "processing", or_(
        InboundEvent.locked_by.in_(dead), InboundEvent.locked_by.is_(None),
        InboundEvent.locked_at < now - STALE))
    failed = db.session.execute(update(InboundEvent).where(gone_events, InboundEvent.attempts >= AUTO_ATTEMPTS).values(
        status="failed", locked_by=None,
        error=f"the worker running it stopped {AUTO_ATTEMPTS} times: check the conversation, then retry")).rowcount
    queued = db.session.execute(update(InboundEvent).where(gone_events).values(
        status="queued", locked_by=None, reason="its worker stopped: run again")).rowcount
    gone_claims = or_(Message.claimed_by.in_(dead), Message.claimed_by.is_(None), Message.claimed_at < now - STALE)
    unsent = db.session.execute(update(Message).where(Message.delivery_status == "claimed", gone_claims).values(
        delivery_status="pending", claimed_by=None).returning(Message.conversation_id)).scalars().all()
    maybe_sent = db.session.execute(update(Message).where(Message.delivery_status == "sending", gone_claims).values(
        delivery_status="unknown", claimed_by=None,
        error="outcome unknown: the worker stopped while the channel was answering")
        .returning(Message.id, Message.tenant_id)).all()
    db.session.commit()
    if maybe_sent:
        tell_owners([(m.tenant_id, "delivery_unknown", f"message {m.id}: the worker stopped while sending it")
                     for m in maybe_sent])
    if failed or queued or unsent or maybe_sent:
        log.warning("recovered from stopped workers %s: %d event(s) to run again, %d failed, %d reply(ies) to send, "
                    "%d with an unknown outcome", dead, queued, failed, len(unsent), len(maybe_sent))
    return {"events_recovered": queued, "events_failed": failed, "unknown": len(maybe_sent)}


def _enqueue(job: str, ids: list[int]) -> int:
    queued = 0
    for one in ids:
        try:
            get_queue().enqueue(job, one)
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
