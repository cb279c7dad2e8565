"""Every query the hot paths run is served by an index once the tables are large (PostgreSQL's plans).

The tables are seeded with 120,000 messages and events across 2,000 conversations, and the statements are
not written out here: they are captured while the real code runs (a sweep, a whole turn, the back-office
pages that count and page failed events), then EXPLAINed with their own parameters. A sequential scan of
`messages`, `inbound_events` or `notifications` in any of them fails the test."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.helpers.pipeline import events
from tests.helpers.plans import captured as capture
from tests.helpers.plans import explained
from tests.helpers.webhooks import dm

BIG = ("messages", "inbound_events", "notifications")
SEEDED = 120_000


@pytest.fixture()
def big_tables(shop, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    params = {"t": shop.tenant.id, "c": shop.ig.id, "n": SEEDED}
    for sql in (
        "INSERT INTO contacts (tenant_id, channel_id, external_user_id, name, username, phone, email, profile,"
        " created_at) SELECT :t, :c, 'seed-' || g, '', '', '', '', '{}', now() FROM generate_series(1, 2000) g",
        "INSERT INTO conversations (tenant_id, contact_id, channel_id, state, stage, status, bot_paused, created_at,"
        " updated_at) SELECT :t, id, :c, '{}', 'new', 'open', false, now(), now() FROM contacts"
        " WHERE external_user_id LIKE 'seed-%'",
        "INSERT INTO inbound_events (tenant_id, channel_id, external_id, kind, user_id, parsed, status, attempts,"
        " created_at) SELECT :t, :c, 'seed-' || g, 'dm', 'seed-' || (g % 2000), '{}', 'done', 1, now()"
        " FROM generate_series(1, :n) g",
        "INSERT INTO messages (tenant_id, conversation_id, channel_id, direction, kind, text, payload, external_id,"
        " delivery_status, attempts, created_at) SELECT :t, (SELECT min(id) FROM conversations) + g % 2000, :c,"
        " CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END, 'message', 'hello', '{}', 'seed-' || g,"
        " CASE WHEN g % 2 = 0 THEN 'received' ELSE 'sent' END, 1, now() FROM generate_series(1, :n) g",
        "INSERT INTO notifications (tenant_id, kind, title, body, payload, status, created_at)"
        " SELECT :t, 'lead', 'New lead', '', '{}', 'new', now() FROM generate_series(1, 20000) g",
    ):
        db.session.execute(text(sql), params)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return shop


def _big(statement: str) -> bool:
    return any(f" {table}" in statement for table in BIG) and statement.lstrip().upper().startswith(
        ("SELECT", "UPDATE", "WITH"))


def captured(engine: Any) -> Any:
    return capture(engine, _big)


def seq_scans(db, statements: list[tuple[str, Any]]) -> list[str]:
    return [f"{table}: {statement[:160]}\n{plan}" for statement, plan in explained(db.engine, statements)
            for table in BIG if f"Seq Scan on {table}" in plan]


def test_the_sweeper_uses_indexes(big_tables, wired, db):
    from connectors.pipeline.sweeper import sweep

    with captured(db.engine) as statements:
        sweep()
    assert len(statements) >= 4
    assert seq_scans(db, statements) == []


def test_a_turn_uses_indexes(big_tables, client, wired, db):
    from connectors.runtime.jobs import handle_inbound

    dm(client, "mid.plan", sender="seed-7")
    new = [e for e in events(db, external_id="mid.plan")][0]
    with captured(db.engine) as statements:
        handle_inbound(new.id)
    assert events(db, external_id="mid.plan")[0].status == "done"
    assert len(statements) >= 3
    assert seq_scans(db, statements) == []


def test_the_back_office_event_and_notification_queries_use_indexes(big_tables, member_client, db):
    from connectors.pipeline.effects import warn_limit_once
    from connectors.pipeline.store import TenantRow

    with captured(db.engine) as statements:
        assert member_client.get("/").status_code == 200  # the failed-events count
        assert member_client.get("/events?status=failed").status_code == 200  # their page
        warn_limit_once(TenantRow(big_tables.tenant.id, "", "active", "en", "UTC", {}, {}, None, None))  # type: ignore[arg-type]
        db.session.rollback()
    assert any("inbound_events" in s for s, _ in statements) and any("notifications" in s for s, _ in statements)
    assert seq_scans(db, statements) == []
