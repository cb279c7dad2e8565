"""Every list of #18 is served by indexes once a tenant is large (PostgreSQL's plans; skipped on SQLite).

A tenant with 20,000 contacts, conversations, leads, notifications and inbound events (and audit entries and
a long lead timeline) beside another tenant just as large. The statements are captured while the real routes
run (a first page, the next page, searches for a rare and a common term, a lead, a person, the export), then
EXPLAINed with their own parameters: none may read one of these tables sequentially."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.helpers.plans import captured
from tests.helpers.plans import explained as explain

ROWS = 20_000
TABLES = ("leads", "contacts", "conversations", "messages", "notifications", "inbound_events", "audit_entries",
          "lead_events", "people", "person_links")


@pytest.fixture()
def big_tenant(db, tenant):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    from webapp.services.channels import add_channel

    web = add_channel(tenant, "webchat")
    db.session.execute(text(
        "INSERT INTO tenants (name, slug, plan_id, status, language, timezone, profile, settings, created_at)"
        " SELECT 'Noise', 'noise', plan_id, status, language, timezone, profile, settings, now() FROM tenants"
        " WHERE id = :t"), {"t": tenant.id})
    noise = db.session.scalar(text("SELECT max(id) FROM tenants"))
    db.session.execute(text(
        "INSERT INTO channels (tenant_id, type, name, public_key, status, webhook_state, settings, created_at)"
        " VALUES (:t, 'webchat', 'noise', 'noise-key', 'active', '{}', '{}', now())"), {"t": noise})
    noise_channel = db.session.scalar(text("SELECT max(id) FROM channels"))
    for owner, channel in ((noise, noise_channel), (tenant.id, web.id)):  # the noise first: not the table
        params = {"t": owner, "c": channel, "n": ROWS}
        for sql in (
            "INSERT INTO contacts (tenant_id, channel_id, external_user_id, name, username, phone, email, profile,"
            " created_at) SELECT :t, :c, 'v-' || g, 'Person ' || g, '', '+7900' || lpad(g::text, 7, '0'),"
            " 'p' || g || '@example.com', '{}', now() - g * interval '1 minute' FROM generate_series(1, :n) g",
            "INSERT INTO conversations (tenant_id, contact_id, channel_id, state, stage, status, bot_paused,"
            " unread_count, created_at, updated_at) SELECT tenant_id, id, channel_id, '{}', 'new', 'open', false,"
            " 0, created_at, created_at FROM contacts WHERE tenant_id = :t",
            "INSERT INTO messages (tenant_id, conversation_id, channel_id, direction, kind, text, payload,"
            " delivery_status, attempts, created_at) SELECT tenant_id, id, channel_id, 'in', 'message', 'hello',"
            " '{}', 'received', 0, created_at FROM conversations WHERE tenant_id = :t",
            "INSERT INTO leads (tenant_id, contact_id, conversation_id, source_channel, fields, status, note, custom,"
            " created_at) SELECT v.tenant_id, v.contact_id, v.id, 'webchat',"
            " jsonb_build_object('name', c.name, 'phone', c.phone, 'service', 'Haircut'), 'new', '', '{}',"
            " v.created_at FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE v.tenant_id = :t",
            "INSERT INTO notifications (tenant_id, kind, title, body, payload, status, created_at, lead_id)"
            " SELECT tenant_id, 'lead', 'New lead', '', '{}', 'new', created_at, id FROM leads WHERE tenant_id = :t",
            "INSERT INTO inbound_events (tenant_id, channel_id, external_id, kind, user_id, parsed, status, attempts,"
            " created_at) SELECT tenant_id, channel_id, 'e-' || id, 'webchat', 'v', '{}', 'processed', 1, created_at"
            " FROM conversations WHERE tenant_id = :t",
            "INSERT INTO audit_entries (tenant_id, actor, staff, action, target, details, ip, created_at)"
            " SELECT :t, 'owner@example.com', false, 'login', '', '{}', '', now() FROM generate_series(1, :n) g",
            "INSERT INTO lead_events (tenant_id, lead_id, kind, author, data, created_at)"
            " SELECT tenant_id, id, 'note', 'owner@example.com', '{\"text\": \"called\"}', created_at FROM leads"
            " WHERE tenant_id = :t",
            "INSERT INTO lead_events (tenant_id, lead_id, kind, author, data, created_at)"
            " SELECT :t, (SELECT max(id) FROM leads WHERE tenant_id = :t), 'note', 'owner@example.com',"
            " jsonb_build_object('text', 'note ' || g), now() FROM generate_series(1, 200) g",
            "INSERT INTO people (tenant_id, name, phone, email, created_at)"
            " SELECT :t, 'Person ' || g, '', '', now() FROM generate_series(1, :n) g",
            "UPDATE contacts SET person_id = p.id FROM people p WHERE contacts.tenant_id = :t AND p.tenant_id = :t"
            " AND p.name = contacts.name",
            "INSERT INTO person_links (tenant_id, contact_id, person_id, rule, value, status, actor, created_at)"
            " SELECT :t, id, person_id, 'manual', '', 'merged', 'owner@example.com', now() FROM contacts"
            " WHERE tenant_id = :t",
        ):
            db.session.execute(text(sql), params)
    # Far more of the other tenants' contacts than the tenant's own, as on a real platform (with the tenant
    # half of the table, reading the whole table is the cheaper plan, and a right one).
    db.session.execute(text(
        "INSERT INTO contacts (tenant_id, channel_id, external_user_id, name, username, phone, email, profile,"
        " created_at) SELECT :t, :c, 'x-' || g, '', '', '', '', '{}', now() FROM generate_series(1, :n) g"),
        {"t": noise, "c": noise_channel, "n": 5 * ROWS})
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    lead = db.session.scalar(text("SELECT max(id) FROM leads WHERE tenant_id = :t"), {"t": tenant.id})
    contact = db.session.scalar(text("SELECT max(id) FROM contacts WHERE tenant_id = :t"), {"t": tenant.id})
    return {"lead": lead, "contact": contact}


def _reads_a_big_table(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT") and any(f" {t}" in statement for t in TABLES)


def _next_page(body: str) -> str | None:
    found = re.search(r'href="([^"]*[?&](?:after|timeline_before|messages_before)=[^"]+)"', body)
    return found.group(1).replace("&amp;", "&") if found else None


def test_every_list_is_served_by_indexes(big_tenant, member_client, db):
    paths = ["/leads", "/leads?q=%2B79000012345", "/leads?q=person", "/leads?status=new&q=haircut",
             "/notifications", "/events", "/contacts", "/contacts?q=p12345%40", "/settings/audit",
             f"/leads/{big_tenant['lead']}", f"/contacts/{big_tenant['contact']}", "/inbox"]
    visited = []
    with captured(db.engine, _reads_a_big_table) as statements:
        for path in paths:
            resp = member_client.get(path)
            assert resp.status_code == 200, path
            visited.append(path)
            later = _next_page(resp.get_data(as_text=True))
            if later and not path.startswith("/leads?q=%2B"):
                assert member_client.get(later).status_code == 200, later
                visited.append(later)
        export = member_client.get("/leads.csv")
        assert export.get_data(as_text=True).count("\n") == ROWS + 1
    assert {"/notifications", "/events", "/contacts", "/settings/audit"} <= {p.split("?")[0] for p in visited[1:]}
    assert any("after=" in p for p in visited if p.startswith("/notifications"))
    seq_scan = re.compile(r"Seq Scan on (" + "|".join(TABLES) + r")\b")
    problems = [f"{statement}\n{plan}" for statement, plan in explain(db.engine, statements) if seq_scan.search(plan)]
    assert not problems, "\n\n".join(problems)
