"""Webhook side: store each event once (unique channel + external id), then enqueue it. No flow loading,
no LLM, no outbound HTTP here: the webhook must answer fast."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from connectors.channels.events import InboundEvent, clean_json, clean_text
from connectors.runtime.queue import QueueUnavailable, get_queue
from webapp.extensions import db
from webapp.models import Channel, Plan, Tenant, WebhookDelivery
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


def route_meta_accounts(channel_type: str, account_ids: Iterable[str]) -> dict[str, RoutedChannel]:
    """Channels of an active tenant for the account ids of a Meta batch, in one indexed query."""
    rows = db.session.execute(
        select(Channel.external_id, Channel.id, Channel.tenant_id, Plan.priority)
        .join(Tenant, Tenant.id == Channel.tenant_id).join(Plan, Plan.id == Tenant.plan_id)
        .where(Channel.type == channel_type, Channel.external_id.in_(sorted(set(account_ids))),
               Tenant.status == "active"))
    return {ext: RoutedChannel(cid, tid, prio or "default") for ext, cid, tid, prio in rows}


def routed(channel: Channel) -> RoutedChannel:
    return RoutedChannel(channel.id, channel.tenant_id, channel.tenant.plan.priority or "default")


class TooManyEvents(ValueError):
    """One delivery carries more events than WEBHOOK_MAX_EVENTS: refused whole (413), nothing stored."""


def check_event_count(events: Sequence[InboundEvent]) -> None:
    """Meta batches hold at most 1,000 updates (PROTOCOLS.md, "Respond / retry / batching"); a body with more is
    not one of theirs, and storing it would cost memory and time in proportion."""
    cap = int(current_app.config.get("WEBHOOK_MAX_EVENTS") or 1000)
    if len(events) > cap:
        raise TooManyEvents(f"one delivery may carry at most {cap} events; this one has {len(events)}")


def _insert_new_events(rows: list[dict[str, Any]]) -> list[Any]:
    """INSERT … ON CONFLICT (channel, external id) DO NOTHING RETURNING: (id, channel id, external id) of the
    events stored now; one seen before (a redelivery, or twice in this body) is stored once."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(EventRow).values(rows)
                 .on_conflict_do_nothing(index_elements=["channel_id", "external_id"])
                 .returning(EventRow.id, EventRow.channel_id, EventRow.external_id))
    return list(db.session.execute(statement))


def ingest(pairs: list[tuple[RoutedChannel, InboundEvent]], raw_body: bytes, headers: Mapping[str, str]
           ) -> dict[str, Any]:
    """Store the delivery (its body, once) and its new events in one transaction (a duplicate event stores
    nothing), then enqueue them; returns once they are committed. Text is cleaned of what no column can
    store (NUL, lone surrogates: events.py) here, at the edge, for every channel: a signed webhook answered
    4xx would only be delivered again. Events are stored as `queued`: enqueueing follows at once, and if the
    queue is down they go back to `received` for the sweeper (which treats both alike)."""
    if not pairs:
        return {"received": 0, "stored": 0, "queued": 0}
    check_event_count([ev for _, ev in pairs])
    now = utcnow()
    delivery = WebhookDelivery(raw_body=clean_text(raw_body.decode("utf-8", errors="replace")),
                               headers=clean_json(kept_headers(headers)), created_at=now)
    db.session.add(delivery)
    db.session.flush()
    rows = [{"tenant_id": ch.tenant_id, "channel_id": ch.id, "delivery_id": delivery.id,
             "external_id": clean_text(ev.external_id)[:200], "kind": ev.kind,
             "user_id": clean_text(str(ev.user_id))[:128], "parsed": clean_json(ev.to_dict()),
             "status": "queued", "attempts": 0, "created_at": now}
            for ch, ev in pairs]
    inserted = _insert_new_events(rows)
    db.session.commit()
    priority_of = {ch.id: ch.priority for ch, _ in pairs}
    by_priority: dict[str, list[tuple[int]]] = {}
    for event_id, channel_id, _ in sorted(inserted):
        by_priority.setdefault(priority_of[channel_id], []).append((event_id,))
    failed: list[int] = []
    for priority, calls in by_priority.items():
        try:
            get_queue().enqueue_many("connectors.runtime.jobs.handle_inbound", calls, priority=priority)
        except QueueUnavailable:
            failed += [event_id for (event_id,) in calls]
    if failed:
        log.warning("queue unavailable: %d event(s) stay stored for the sweeper", len(failed))
        db.session.execute(update(EventRow).where(EventRow.id.in_(failed), EventRow.status == "queued")
                           .values(status="received"))
        db.session.commit()
    return {"received": len(pairs), "stored": len(inserted), "queued": len(inserted) - len(failed)}
