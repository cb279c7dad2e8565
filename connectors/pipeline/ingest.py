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

from sqlalchemy import Engine, create_engine, event, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from connectors.events import InboundEvent
from connectors.pipeline.groupcommit import GroupCommit
from webapp.extensions import db, per_app
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


_RECORD = ("tenant_id integer, channel_id integer, external_id text, kind text, user_id text, raw_body text, "
           "headers jsonb, parsed jsonb, status text, attempts integer, created_at timestamptz")
_COLUMNS = tuple(spec.split()[0] for spec in _RECORD.split(", "))
# PostgreSQL: the whole batch travels as one JSON document unpacked by json_to_recordset(), so the statement
# text is the same for any batch size (prepared once per connection) and the rows are encoded by the C json
# encoder; a multi-row VALUES list would be a new statement per batch size that psycopg parses every time,
# and array parameters are escaped element by element in Python.
_PG_INSERT = text(
    f"INSERT INTO inbound_events ({', '.join(_COLUMNS)}) "
    f"SELECT {', '.join(_COLUMNS)} FROM json_to_recordset(CAST(:rows AS json)) AS r({_RECORD}) "
    "ON CONFLICT (channel_id, external_id) DO NOTHING RETURNING id, channel_id, external_id")
_SQLITE_INSERT = (sqlite.insert(EventRow.__table__)
                  .on_conflict_do_nothing(index_elements=["channel_id", "external_id"])
                  .returning(EventRow.__table__.c.id, EventRow.__table__.c.channel_id,
                             EventRow.__table__.c.external_id))


def _insert(conn: Any, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert rows (a (channel, external id) already stored is skipped); returns (id, channel id, external
    id) of the new ones."""
    if conn.dialect.name == "postgresql":
        return conn.execute(_PG_INSERT, {"rows": json.dumps(rows, default=datetime.isoformat)}).all()
    return conn.execute(_SQLITE_INSERT, rows).all()


@dataclass
class _Batch:
    """One request's share of a group commit: its rows and the queue priority of each channel."""
    rows: list[dict[str, Any]]
    priority: dict[int, str]


@dataclass(frozen=True)
class Ingested:
    stored: list[tuple[int, str]]
    queued: int


def _flush(batches: Sequence[_Batch]) -> list[Ingested]:
    """Insert every request's rows in one statement and commit once, then enqueue the new events in one
    round trip per priority. Within and across requests a (channel, external id) seen twice is stored once
    and counted for the first request that carried it."""
    from connectors.queue import QueueUnavailable, get_queue

    rows = [row for b in batches for row in b.rows]
    engine = _ingest_engine()
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                inserted = _insert(conn, rows)
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
            get_queue().enqueue_many("connectors.jobs.handle_inbound", calls, priority=priority)
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


def ingest(pairs: list[tuple[RoutedChannel, InboundEvent]], raw_body: bytes, headers: Mapping[str, str]
           ) -> dict[str, Any]:
    """Store new events (a duplicate delivery stores nothing) and enqueue them; returns once they are
    committed. Events are stored as `queued`: enqueueing follows at once, and if the queue is down they go
    back to `received` for the sweeper (which treats both alike). Concurrent requests in this process share
    one INSERT, one COMMIT and one Redis round trip (see groupcommit.py)."""
    if not pairs:
        return {"received": 0, "stored": 0, "queued": 0}
    raw = raw_body.decode("utf-8", errors="replace")
    kept = kept_headers(headers)
    now = utcnow()
    rows = [{"tenant_id": ch.tenant_id, "channel_id": ch.id, "external_id": ev.external_id[:200],
             "kind": ev.kind, "user_id": str(ev.user_id)[:128], "raw_body": raw, "headers": kept,
             "parsed": ev.to_dict(), "status": "queued", "attempts": 0, "created_at": now}
            for ch, ev in pairs]
    done = _group_commit().submit(_Batch(rows, {ch.id: ch.priority for ch, _ in pairs}))
    return {"received": len(pairs), "stored": len(done.stored), "queued": done.queued}
