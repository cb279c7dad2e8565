"""Webhook side: store each event once (unique channel + external id), then enqueue it. No flow loading,
no LLM, no outbound HTTP here: the webhook must answer fast."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from connectors.events import InboundEvent
from webapp.extensions import db
from webapp.models import Channel, Plan, Tenant
from webapp.models import InboundEvent as EventRow

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
    """One indexed query for every account id in a Meta batch."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Channel.external_id, Channel.id, Channel.tenant_id, Plan.priority)
        .join(Tenant, Tenant.id == Channel.tenant_id).join(Plan, Plan.id == Tenant.plan_id)
        .where(Channel.type == channel_type, Channel.external_id.in_(ids), Tenant.status == "active"))
    return {ext: RoutedChannel(cid, tid, prio or "default") for ext, cid, tid, prio in rows}


def routed(channel: Channel) -> RoutedChannel:
    return RoutedChannel(channel.id, channel.tenant_id, channel.tenant.plan.priority or "default")


def _insert(dialect: str):  # type: ignore[no-untyped-def]
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(EventRow)


def store_events(pairs: Iterable[tuple[RoutedChannel, InboundEvent]], raw_body: bytes,
                 headers: Mapping[str, str]) -> list[tuple[int, str]]:
    """Insert new events (a duplicate delivery inserts nothing) and commit; returns (id, priority) pairs."""
    dialect = db.engine.dialect.name
    raw = raw_body.decode("utf-8", errors="replace")
    kept = kept_headers(headers)
    stored: list[tuple[int, str]] = []
    for channel, event in pairs:
        stmt = _insert(dialect).values(
            tenant_id=channel.tenant_id, channel_id=channel.id, external_id=event.external_id[:200],
            kind=event.kind, user_id=str(event.user_id)[:128], raw_body=raw, headers=kept,
            parsed=json.loads(json.dumps(event.to_dict(), default=str)), status="received", attempts=0,
        ).on_conflict_do_nothing(index_elements=["channel_id", "external_id"]).returning(EventRow.id)
        new_id = db.session.execute(stmt).scalar()
        if new_id is not None:
            stored.append((new_id, channel.priority))
    db.session.commit()
    return stored


def enqueue_stored(stored: list[tuple[int, str]]) -> int:
    """Enqueue after commit; when the queue is down the events stay `received` for the sweeper."""
    from connectors.jobs import enqueue_event, mark_queued

    queued = [event_id for event_id, priority in stored if enqueue_event(event_id, priority)]
    if len(queued) != len(stored):
        log.warning("queue unavailable: %d event(s) stay stored for the sweeper", len(stored) - len(queued))
    mark_queued(queued)
    return len(queued)


def ingest(pairs: list[tuple[RoutedChannel, InboundEvent]], raw_body: bytes, headers: Mapping[str, str]
           ) -> dict[str, Any]:
    stored = store_events(pairs, raw_body, headers)
    queued = enqueue_stored(stored)
    return {"received": len(pairs), "stored": len(stored), "queued": queued}
