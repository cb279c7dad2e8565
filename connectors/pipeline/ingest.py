"""Webhook side: store each event once (unique channel + external id), then enqueue it. No flow loading,
no LLM, no outbound HTTP here: the webhook must answer fast."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connectors.events import InboundEvent
from webapp.extensions import db
from webapp.models import Channel, Plan, Tenant
from webapp.models import InboundEvent as EventRow
from webapp.models.base import utcnow

log = logging.getLogger(__name__)

HEADERS_KEPT = ("Content-Type", "User-Agent", "X-Hub-Signature-256", "X-Forwarded-For")


@dataclass(frozen=True)
class RoutedChannel:
    id: int
    tenant_id: int
    priority: str


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: headers[k] for k in HEADERS_KEPT if headers.get(k)}


_ROUTE_TTL = 30.0
_route_cache: dict[tuple[str, str], tuple[float, RoutedChannel]] = {}


def clear_route_cache(*_: Any) -> None:
    _route_cache.clear()


def route_meta_accounts(channel_type: str, account_ids: Iterable[str]) -> dict[str, RoutedChannel]:
    """Channels for the account ids of a Meta batch. Known accounts are remembered for a few seconds
    (a webhook should not cost a JOIN); unknown ones are always looked up, so a newly connected account
    is routed at once."""
    now = time.monotonic()
    found: dict[str, RoutedChannel] = {}
    missing = []
    for account in set(account_ids):
        hit = _route_cache.get((channel_type, account))
        if hit is not None and hit[0] > now:
            found[account] = hit[1]
        else:
            missing.append(account)
    if missing:
        rows = db.session.execute(
            select(Channel.external_id, Channel.id, Channel.tenant_id, Plan.priority)
            .join(Tenant, Tenant.id == Channel.tenant_id).join(Plan, Plan.id == Tenant.plan_id)
            .where(Channel.type == channel_type, Channel.external_id.in_(sorted(missing)),
                   Tenant.status == "active"))
        for ext, cid, tid, prio in rows:
            found[ext] = RoutedChannel(cid, tid, prio or "default")
            _route_cache[(channel_type, ext)] = (now + _ROUTE_TTL, found[ext])
    return found


event.listen(Channel, "after_update", clear_route_cache)
event.listen(Channel, "after_delete", clear_route_cache)
event.listen(Tenant, "after_update", clear_route_cache)


def routed(channel: Channel) -> RoutedChannel:
    return RoutedChannel(channel.id, channel.tenant_id, channel.tenant.plan.priority or "default")


_INSERTS: dict[str, Any] = {}


def _insert_statement(dialect: str) -> Any:
    """Built once per dialect with bind parameters, so its compiled form is cached (a webhook must not
    compile SQL); executed with one parameter set per event (one round trip: insertmanyvalues)."""
    stmt = _INSERTS.get(dialect)
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = _INSERTS[dialect] = (insert(EventRow)
                                    .on_conflict_do_nothing(index_elements=["channel_id", "external_id"])
                                    .returning(EventRow.id, EventRow.channel_id))
    return stmt


def store_events(pairs: Iterable[tuple[RoutedChannel, InboundEvent]], raw_body: bytes,
                 headers: Mapping[str, str]) -> list[tuple[int, str]]:
    """Insert new events (a duplicate delivery inserts nothing) and commit; returns (id, priority) of the
    new ones. They are stored as `queued`: enqueueing follows at once, and if the queue is down they go
    back to `received` for the sweeper (which treats both alike)."""
    pairs = list(pairs)
    if not pairs:
        return []
    raw = raw_body.decode("utf-8", errors="replace")
    kept = kept_headers(headers)
    now = utcnow()
    rows = [{"tenant_id": ch.tenant_id, "channel_id": ch.id, "external_id": ev.external_id[:200],
             "kind": ev.kind, "user_id": str(ev.user_id)[:128], "raw_body": raw, "headers": kept,
             "parsed": ev.to_dict(), "status": "queued", "attempts": 0, "created_at": now}
            for ch, ev in pairs]
    inserted = db.session.execute(_insert_statement(db.engine.dialect.name), rows).all()
    db.session.commit()
    priority = {ch.id: ch.priority for ch, _ in pairs}
    return sorted((event_id, priority[channel_id]) for event_id, channel_id in inserted)


def enqueue_stored(stored: list[tuple[int, str]]) -> int:
    """Enqueue after commit (one round trip per priority); if the queue is down, mark the events
    `received` so the sweeper picks them up."""
    from connectors.queue import QueueUnavailable, get_queue

    by_priority: dict[str, list[tuple[int]]] = {}
    for event_id, priority in stored:
        by_priority.setdefault(priority, []).append((event_id,))
    failed: list[int] = []
    for priority, calls in by_priority.items():
        try:
            get_queue().enqueue_many("connectors.jobs.handle_inbound", calls, priority=priority)
        except QueueUnavailable:
            failed.extend(c[0] for c in calls)
    if failed:
        log.warning("queue unavailable: %d event(s) stay stored for the sweeper", len(failed))
        db.session.execute(update(EventRow).where(EventRow.id.in_(failed), EventRow.status == "queued")
                           .values(status="received").execution_options(synchronize_session=False))
        db.session.commit()
    return len(stored) - len(failed)


def ingest(pairs: list[tuple[RoutedChannel, InboundEvent]], raw_body: bytes, headers: Mapping[str, str]
           ) -> dict[str, Any]:
    stored = store_events(pairs, raw_body, headers)
    queued = enqueue_stored(stored)
    return {"received": len(pairs), "stored": len(stored), "queued": queued}
