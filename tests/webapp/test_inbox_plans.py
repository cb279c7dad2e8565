"""The inbox is served by indexes once a tenant is large (PostgreSQL's plans; skipped on SQLite).

One tenant has 20,000 conversations (each with a ~1 KB state) among 40,000, and 120,000 messages. The
statements are captured while the real routes run (first page and a later page, each filter, a channel),
then EXPLAINed with their own parameters: the page must walk `ix_conversation_tenant_updated` or a partial
twin (no sort of the tenant's conversations), and nothing may scan `messages` or `conversations`
sequentially."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.helpers.plans import captured
from tests.helpers.plans import explained as explain

#: The keyset index, or its partial twins for the "needs a human" and unread views.
INBOX_INDEX = re.compile(r"ix_conversation_(tenant_updated|needs_human|unread)")

CONVERSATIONS = 20_000
MESSAGES = 120_000


@pytest.fixture()
def big_inbox(db, tenant):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    from webapp.services.channels import add_channel

    web = add_channel(tenant, "webchat")
    other = add_channel(tenant, "webchat")
    params = {"t": tenant.id, "c": web.id, "o": other.id, "n": CONVERSATIONS, "m": MESSAGES}
    for sql in (
        # another tenant's rows first, so that the tenant's own are not simply the table
        "INSERT INTO tenants (name, slug, plan_id, status, language, timezone, profile, settings, created_at)"
        " SELECT 'Noise', 'noise', plan_id, status, language, timezone, profile, settings, now() FROM tenants"
        " WHERE id = :t",
        "INSERT INTO channels (tenant_id, type, name, public_key, status, webhook_state, settings, created_at)"
        " SELECT (SELECT max(id) FROM tenants), 'webchat', 'noise', 'noise-key', 'active', '{}', '{}', now()",
        "INSERT INTO contacts (tenant_id, channel_id, external_user_id, name, username, phone, email, profile,"
        " created_at) SELECT (SELECT max(id) FROM tenants), (SELECT max(id) FROM channels), 'noise-' || g, '',"
        " '', '', '', '{}', now() FROM generate_series(1, :n) g",
        "INSERT INTO contacts (tenant_id, channel_id, external_user_id, name, username, phone, email, profile,"
        " created_at) SELECT :t, CASE WHEN g % 10 = 0 THEN :o ELSE :c END, 'seed-' || g, 'Person ' || g, '',"
        " '', '', '{}', now() FROM generate_series(1, :n) g",
        "INSERT INTO conversations (tenant_id, contact_id, channel_id, state, stage, status, bot_paused,"
        " unread_count, created_at, updated_at) SELECT tenant_id, id, channel_id,"
        " jsonb_build_object('vars', repeat('x', 1000)), 'new',"
        " CASE WHEN id % 10 = 3 THEN 'closed' ELSE 'open' END, id % 50 = 7, id % 4,"
        " now(), now() - (id % 5000) * interval '1 minute' FROM contacts",
        "INSERT INTO messages (tenant_id, conversation_id, channel_id, direction, kind, text, payload,"
        " delivery_status, attempts, created_at) SELECT c.tenant_id, c.id, c.channel_id,"
        " CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END, 'message', 'hello ' || g, '{}', 'received', 1, now()"
        " FROM generate_series(1, :m) g JOIN conversations c ON c.id = (SELECT min(id) FROM conversations)"
        " + g % (2 * :n)",
    ):
        db.session.execute(text(sql), params)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return web


def _conversations(statement: str) -> bool:
    return " conversations" in statement and statement.lstrip().upper().startswith("SELECT")


def test_every_inbox_page_is_served_by_indexes(big_inbox, member_client, db):
    paths = []
    for query in ("", "filter=needs_human", "filter=bot", "filter=closed", f"channel={big_inbox.id}"):
        first = member_client.get("/inbox.json?" + query).get_json()
        assert len(first["rows"]) == 50 and first["next"], query
        paths.append("/inbox.json?" + query)
        later = member_client.get(f"/inbox.json?{query}&after={first['next']}").get_json()
        assert len(later["rows"]) == 50 and not {r["id"] for r in later["rows"]} & {r["id"] for r in first["rows"]}
        paths.append(f"/inbox.json?{query}&after={first['next']}")
    with captured(db.engine, _conversations) as statements:
        for path in paths:
            assert member_client.get(path).status_code == 200
        assert member_client.get("/inbox").status_code == 200
    explained = explain(db.engine, statements)
    previews = [p for s, p in explained if "FROM conversations AS page_conv" in s]
    pages = [(s, p) for s, p in explained if s.startswith("SELECT conversations.id, conversations.status")]
    badges = [(s, p) for s, p in explained if "sum(" in s]
    assert len(pages) == len(badges) == len(previews) == len(paths) + 1 == len(explained) // 3
    for _statement, plan in explained:
        assert "Seq Scan on messages" not in plan and "Seq Scan on conversations" not in plan, plan
    for statement, plan in pages:  # a page walks the inbox index: no sort of the tenant's conversations
        assert INBOX_INDEX.search(plan) and "Sort" not in plan, f"{statement}\n{plan}"
    for statement, plan in badges:  # the inbox index, or a channel's (ix_conversations_channel_id)
        assert len(re.findall(r"(?:Index Only Scan|Index Scan|Bitmap Index Scan) ", plan)) >= 2, f"{statement}\n{plan}"
    assert all("ix_message_conversation_id" in p for p in previews), previews
