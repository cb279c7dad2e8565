"""Webhook side: store each event once (unique channel + external id), then enqueue it. No flow loading,
no LLM, no outbound HTTP here: the webhook must answer fast."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Engine, create_engine, event, insert, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from connectors.channels.events import InboundEvent, clean_json, clean_text
from connectors.pipeline.groupcommit import GroupCommit
from webapp.extensions import db, per_app
from webapp.models import Channel, Plan, Tenant
from webapp.models import InboundEvent as EventRow
from webapp.models import WebhookDelivery as DeliveryRow
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


_EVENT_RECORD = ("n integer, tenant_id integer, channel_id integer, external_id text, kind text, user_id text, "
                 "parsed jsonb, status text, attempts integer, created_at timestamptz")
_EVENT_COLUMNS = tuple(spec.split()[0] for spec in _EVENT_RECORD.split(", "))[1:]
_DELIVERY_RECORD = "n integer, raw_body text, headers jsonb, created_at timestamptz"
# PostgreSQL: the whole flush is one statement, so it needs no transaction around it (the ingest engine is
# in autocommit). The deliveries and the events travel as two JSON documents unpacked by json_to_recordset()
# (the statement text is the same for any batch size: prepared once per connection, rows encoded by the C
# json encoder); each delivery takes its id from the table's sequence first, so its events can name it in
# the same statement.
_PG_INSERT = text(
    "WITH d AS MATERIALIZED (SELECT n, raw_body, headers, created_at,"
    " nextval(pg_get_serial_sequence('webhook_deliveries', 'id')) AS id"
    f" FROM json_to_recordset(CAST(:deliveries AS json)) AS r({_DELIVERY_RECORD})),"
    " stored AS (INSERT INTO webhook_deliveries (id, raw_body, headers, created_at)"
    " SELECT id, raw_body, headers, created_at FROM d)"
    f" INSERT INTO inbound_events ({', '.join(_EVENT_COLUMNS)}, delivery_id)"
    f" SELECT {', '.join('e.' + c for c in _EVENT_COLUMNS)}, d.id"
    f" FROM json_to_recordset(CAST(:rows AS json)) AS e({_EVENT_RECORD}) JOIN d ON d.n = e.n"
    " ON CONFLICT (channel_id, external_id) DO NOTHING RETURNING id, channel_id, external_id")
_SQLITE_DELIVERY = insert(DeliveryRow.__table__).returning(DeliveryRow.__table__.c.id)
_SQLITE_INSERT = (sqlite.insert(EventRow.__table__)
                  .on_conflict_do_nothing(index_elements=["channel_id", "external_id"])
                  .returning(EventRow.__table__.c.id, EventRow.__table__.c.channel_id,
                             EventRow.__table__.c.external_id))


def _insert(conn: Any, batches: Sequence[_Batch]) -> list[Any]:
    """Store each request's delivery and its events (a (channel, external id) already stored is skipped);
    returns (id, channel id, external id) of the new events."""
    if conn.dialect.name == "postgresql":
        deliveries = [{"n": n, "raw_body": b.raw_body, "headers": b.headers, "created_at": b.created_at}
                      for n, b in enumerate(batches)]
        rows = [{**row, "n": n} for n, b in enumerate(batches) for row in b.rows]
        return conn.execute(_PG_INSERT, {"deliveries": json.dumps(deliveries, default=datetime.isoformat),
                                         "rows": json.dumps(rows, default=datetime.isoformat)}).all()
    inserted: list[Any] = []
    for b in batches:
        delivery_id = conn.execute(_SQLITE_DELIVERY, {"raw_body": b.raw_body, "headers": b.headers,
                                                      "created_at": b.created_at}).scalar_one()
        inserted += conn.execute(_SQLITE_INSERT, [{**row, "delivery_id": delivery_id} for row in b.rows]).all()
    return inserted


@dataclass
class _Batch:
    """One request's share of a group commit: the delivery (its body, once), its event rows and the queue
    priority of each channel."""
    raw_body: str
    headers: dict[str, str]
    created_at: datetime
    rows: list[dict[str, Any]]
    priority: dict[int, str]


@dataclass(frozen=True)
class Ingested:
    stored: list[tuple[int, str]]
    queued: int


def _flush(batches: Sequence[_Batch]) -> list[Ingested]:
    """Insert every request's delivery and events in one statement, then enqueue the new events in one
    round trip per priority. Within and across requests a (channel, external id) seen twice is stored once
    and counted for the first request that carried it."""
    from connectors.runtime.queue import QueueUnavailable, get_queue

    engine = _ingest_engine()
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                inserted = _insert(conn, batches)
            break
        except DBAPIError as exc:  # a connection the server dropped (restart, idle timeout): once more
            if attempt == 2 or not exc.connection_invalidated:
                raise
    new_ids = {(channel_id, external_id): event_id for event_id, channel_id, external_id in inserted}
    stored: list[list[tuple[int, str]]] = []
    by_priority: dict[str, list[tuple[int]]] = {}
    for b in batches:
        mine = []
        for row in b.rows:
            event_id = new_ids.pop((row["channel_id"], row["external_id"]), None)
            if event_id is not None:
                priority = b.priority[row["channel_id"]]
                mine.append((event_id, priority))
                by_priority.setdefault(priority, []).append((event_id,))
        stored.append(sorted(mine))
    failed: set[int] = set()
    for priority, calls in by_priority.items():
        try:
            get_queue().enqueue_many("connectors.runtime.jobs.handle_inbound", calls, priority=priority)
        except QueueUnavailable:
            failed.update(c[0] for c in calls)
    if failed:
        log.warning("queue unavailable: %d event(s) stay stored for the sweeper", len(failed))
        with db.engine.begin() as conn:
            conn.execute(update(EventRow.__table__)
                         .where(EventRow.__table__.c.id.in_(sorted(failed)),
                                EventRow.__table__.c.status == "queued")
                         .values(status="received"))
    return [Ingested(mine, sum(1 for event_id, _ in mine if event_id not in failed)) for mine in stored]


def _ingest_engine() -> Engine:
    """PostgreSQL: an engine of the webhook's own, in autocommit (the INSERT is one statement, atomic by
    itself: no BEGIN and COMMIT round trips) and without the pool's pre-ping round trip; a connection the
    server dropped is retried once instead. Every round trip counts here: under load the flushing thread
    waits for the GIL after each one while the other request threads parse. SQLite: the app's engine."""

    def build() -> Engine:
        if db.engine.dialect.name != "postgresql":
            return db.engine
        return create_engine(db.engine.url, pool_size=2, max_overflow=2, pool_pre_ping=False,
                             isolation_level="AUTOCOMMIT")

    return per_app("ingest_engine", build)


def _group_commit() -> GroupCommit[_Batch, Ingested]:
    """One per app (the flush uses the leader's app context, so two apps in a process must not share)."""
    return per_app("ingest_group_commit", lambda: GroupCommit(_flush))


class TooManyEvents(ValueError):
    """One delivery carries more events than WEBHOOK_MAX_EVENTS: refused whole (413), nothing stored."""


def check_event_count(events: Sequence[InboundEvent]) -> None:
    """Meta batches hold at most 1,000 updates (PROTOCOLS.md, "Respond / retry / batching"); a body with more is
    not one of theirs, and storing it would cost memory and time in proportion."""
    cap = int(current_app.config.get("WEBHOOK_MAX_EVENTS") or 1000)
    if len(events) > cap:
        raise TooManyEvents(f"one delivery may carry at most {cap} events; this one has {len(events)}")


def ingest(pairs: list[tuple[RoutedChannel, InboundEvent]], raw_body: bytes, headers: Mapping[str, str]
           ) -> dict[str, Any]:
    """Store the delivery and its new events (a duplicate event stores nothing) and enqueue them; returns
    once they are committed. Text is cleaned of what no column can store (NUL, lone surrogates: events.py)
    here, at the edge, for every channel: a signed webhook answered 4xx would only be delivered again.
    Events are stored as `queued`: enqueueing follows at once, and if the queue is down they go back to
    `received` for the sweeper (which treats both alike). Concurrent requests in this process share one
    INSERT and one Redis round trip (see groupcommit.py)."""
    if not pairs:
        return {"received": 0, "stored": 0, "queued": 0}
    check_event_count([ev for _, ev in pairs])
    now = utcnow()
    rows = [{"tenant_id": ch.tenant_id, "channel_id": ch.id, "external_id": clean_text(ev.external_id)[:200],
             "kind": ev.kind, "user_id": clean_text(str(ev.user_id))[:128], "parsed": clean_json(ev.to_dict()),
             "status": "queued", "attempts": 0, "created_at": now}
            for ch, ev in pairs]
    raw = clean_text(raw_body.decode("utf-8", errors="replace"))
    batch = _Batch(raw, clean_json(kept_headers(headers)), now, rows, {ch.id: ch.priority for ch, _ in pairs})
    done = _group_commit().submit(batch)
    return {"received": len(pairs), "stored": len(done.stored), "queued": done.queued}
