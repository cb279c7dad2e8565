"""Benchmark: the daily pages of the largest tenant at 10,000 tenants vs. a 10-tenant database (same run).

    .venv/bin/python bench/scale.py                      # 10,000 tenants, ~1.02M messages (a few minutes)
    .venv/bin/python bench/scale.py --tenants 2000 --scale 0.2   # a smaller try
    .venv/bin/python bench/scale.py --keep               # keep the databases; --reuse measures them again

Three scratch PostgreSQL databases, each migrated by `flask db upgrade` and seeded set-based in SQL
(generate_series, no ORM), rows inserted in time order across tenants as production writes them:

* big:   `--tenants` tenants (default 10,000), one web-chat channel each. Tenant 1 has 12,000 conversations
         (120,000 messages), tenants 2 and 3 have 10,000 each (100,000 messages), every other tenant 7
         conversations (70 messages): 1,019,790 messages in all. Per conversation: a contact, 10 messages
         (5 in, 5 out), one inbound event; every other contact a lead and its notification. Dates spread over
         the last 360 days, newest for the highest numbers.
* small: 10 tenants of 100 conversations each (1,000 messages, 50 leads): a typical tenant.
* same:  10 tenants, tenant 1 shaped like big's tenant 1, the others like small's.

The measured tenant is tenant 1 in each, on the PRO plan (no CRM history cut), signed in through the real
login form. Each page is requested in-process with Flask's test client (the whole body read, streamed exports
included), 2 times to warm up, then 10 times, the three databases taking turns request by request; the median
is printed per database with the ratios big/small (the target: <= 2 for every daily page: the largest tenant
of a big platform against a typical tenant of a small one) and big/same (the same tenant on both platforms).

Pages: home, inbox, a conversation (the newest), leads, leads with a search (the phone number of one lead from
the middle of the list: a person looked up by number), a lead, notifications, events, the leads export (CSV of
every lead), plus `export 1st KB`: the time until the export's first chunk (its first 500 rows; what a streamed
download makes the user wait for before it starts). The export's whole download is linear in the tenant's
leads (6,000 against 50): its big/small line is printed for the record with the time per lead, and its
big/same ratio is the one that shows whether the platform's size costs it anything.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import DEFAULT_PG, say, scratch_database  # noqa: E402

PASSWORD = "bench-password-1"
MESSAGES_PER_CONVERSATION = 10


def seed(url: str, tenants: int, sizes: dict[int, int], others: int) -> dict[str, Any]:
    """Set-based seed of `tenants` tenants; `sizes`: conversations of the named tenants, `others` for the rest."""
    import psycopg

    with psycopg.connect(url.replace("postgresql://", "postgresql://", 1), autocommit=False) as conn:
        cur = conn.cursor()
        plan_id = cur.execute("SELECT id FROM plans WHERE code = 'PRO'").fetchone()
        if plan_id is None:
            cur.execute("""INSERT INTO plans (code, name, limits, features, priority)
                           VALUES ('PRO', 'Pro', '{"channels": 10}', '["llm","custom_fields"]', 'high')
                           RETURNING id""")
            plan_id = cur.fetchone()
        cur.execute("""INSERT INTO tenants (id, name, slug, plan_id, language, timezone, profile, settings, status,
                                            created_at)
                       SELECT g, 'Tenant ' || g, 'tenant-' || g, %s, 'en', 'UTC', '{}', '{}', 'active',
                              now() - interval '400 days'
                       FROM generate_series(1, %s) g""", (plan_id[0], tenants))
        cur.execute("SELECT setval('tenants_id_seq', %s)", (tenants,))
        cur.execute("""INSERT INTO channels (id, tenant_id, type, name, public_key, status, webhook_state, settings,
                                             created_at)
                       SELECT g, g, 'webchat', 'Web chat', 'pk-' || g, 'active', '{}', '{}', now() - interval '400 days'
                       FROM generate_series(1, %s) g""", (tenants,))
        cur.execute("SELECT setval('channels_id_seq', %s)", (tenants,))
        cur.execute("CREATE TEMP TABLE spec (tenant_id int PRIMARY KEY, convs int)")
        cur.execute("INSERT INTO spec SELECT g, %s FROM generate_series(1, %s) g", (others, tenants))
        for tenant_id, convs in sizes.items():
            cur.execute("UPDATE spec SET convs = %s WHERE tenant_id = %s", (convs, tenant_id))
        say("seed: contacts")
        # Contact g of a tenant: a name from a short list, a phone and an email of its own; the day it came
        # spreads over 360 days (the highest g newest).
        cur.execute("""INSERT INTO contacts (tenant_id, channel_id, external_user_id, name, username, phone, email,
                                             profile, created_at, last_seen_at)
                       SELECT s.tenant_id, s.tenant_id, 'visitor-' || g,
                              (ARRAY['Anna','Boris','Vera','Gleb','Dina','Egor','Zoya','Ivan'])[1 + g % 8]
                                || ' ' || g, '', '+7900' || lpad(g::text, 7, '0'),
                              'client' || g || '@example.com', '{}',
                              now() - (360.0 * (s.convs - g) / s.convs) * interval '1 day',
                              now() - (360.0 * (s.convs - g) / s.convs) * interval '1 day'
                       FROM spec s CROSS JOIN LATERAL generate_series(1, s.convs) g
                       ORDER BY 9, 1""")
        say("seed: conversations")
        cur.execute("""INSERT INTO conversations (tenant_id, contact_id, channel_id, state, stage, status, bot_paused,
                                                  last_inbound_at, last_outbound_at, created_at, updated_at,
                                                  unread_count)
                       SELECT c.tenant_id, c.id, c.channel_id, '{}', 'new',
                              CASE WHEN c.g % 10 = 0 THEN 'closed' ELSE 'open' END, c.g % 50 = 0,
                              c.created_at, c.created_at, c.created_at, c.created_at + interval '10 minutes',
                              CASE WHEN c.g % 7 = 0 THEN 1 ELSE 0 END
                       FROM (SELECT *, substr(external_user_id, 9)::int AS g FROM contacts) c
                       ORDER BY c.created_at, c.id""")
        say("seed: inbound events")
        cur.execute("""INSERT INTO inbound_events (tenant_id, channel_id, external_id, kind, user_id, parsed, status,
                                                   attempts, error, created_at, processed_at)
                       SELECT v.tenant_id, v.channel_id, 'ev-' || v.id, 'webchat', 'visitor', '{}',
                              CASE WHEN v.id % 97 = 0 THEN 'failed' ELSE 'processed' END, 1,
                              CASE WHEN v.id % 97 = 0 THEN 'model timeout' END, v.created_at, v.created_at
                       FROM conversations v ORDER BY v.created_at, v.id""")
        say("seed: messages")
        cur.execute("""INSERT INTO messages (tenant_id, conversation_id, channel_id, direction, kind, text, payload,
                                             external_id, delivery_status, created_at, attempts)
                       SELECT v.tenant_id, v.id, v.channel_id, CASE WHEN k % 2 = 1 THEN 'in' ELSE 'out' END,
                              'message',
                              CASE WHEN k % 2 = 1 THEN 'Hello, how much is a haircut? (' || k || ')'
                                   ELSE 'A haircut is 1500 RUB. Shall I book you in? (' || k || ')' END,
                              '{}', CASE WHEN k % 2 = 1 THEN 'm-' || v.id || '-' || k END,
                              CASE WHEN k % 2 = 1 THEN 'received' ELSE 'delivered' END,
                              v.created_at + k * interval '1 minute', CASE WHEN k % 2 = 1 THEN 0 ELSE 1 END
                       FROM conversations v CROSS JOIN generate_series(1, %(n)s) k
                       ORDER BY v.created_at + k * interval '1 minute', v.id"""
                    .replace("%(n)s", str(MESSAGES_PER_CONVERSATION)))
        say("seed: leads and notifications")
        cur.execute("""INSERT INTO leads (tenant_id, contact_id, conversation_id, source_channel, fields, status, note,
                                          created_at)
                       SELECT v.tenant_id, v.contact_id, v.id, 'webchat',
                              jsonb_build_object('name', c.name, 'phone', c.phone, 'service', 'Haircut'),
                              (ARRAY['new','contacted','won','lost'])[1 + v.id % 4], '',
                              v.created_at + interval '9 minutes'
                       FROM conversations v JOIN contacts c ON c.id = v.contact_id
                       WHERE substr(c.external_user_id, 9)::int % 2 = 0 ORDER BY v.created_at, v.id""")
        cur.execute("""INSERT INTO notifications (tenant_id, kind, title, body, payload, status, created_at, lead_id,
                                                  conversation_id, event_key)
                       SELECT l.tenant_id, 'lead', 'New lead: ' || (l.fields->>'name'), '', '{}', 'new',
                              l.created_at, l.id, l.conversation_id, 'lead:' || l.id
                       FROM leads l ORDER BY l.created_at, l.id""")
        conn.commit()
        say("seed: analyze")
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
        counts = {name: cur.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # noqa: S608 - fixed names
                  for name in ("tenants", "contacts", "conversations", "messages", "leads", "notifications",
                               "inbound_events")}
        counts["tenant_1_messages"] = cur.execute(
            "SELECT count(*) FROM messages WHERE tenant_id = 1").fetchone()[0]
        counts["tenant_1_leads"] = cur.execute("SELECT count(*) FROM leads WHERE tenant_id = 1").fetchone()[0]
    return counts


Target = tuple[Any, Any, dict[str, str]]  # the app, its signed-in client, the pages


def prepare(url: str) -> Target:
    """The app on `url`, a client signed in as tenant 1's owner (made here through the app's own service) and
    the pages to time."""
    from sqlalchemy import func, select

    from tests.helpers.web import login
    from webapp import create_app
    from webapp.config import TestConfig
    from webapp.extensions import db
    from webapp.models import Conversation, Lead, User
    from webapp.services.tenants import create_user

    app = create_app(TestConfig(database_url=url, redis_url=None))
    email = "owner@tenant-1.example.com"
    with app.app_context():
        if db.session.scalar(select(User).where(User.email == email)) is None:
            create_user(email, PASSWORD, 1, False)
        conversation_id = db.session.scalar(select(func.max(Conversation.id)).where(Conversation.tenant_id == 1))
        lead_ids = db.session.scalars(select(Lead.id).where(Lead.tenant_id == 1).order_by(Lead.id)).all()
        middle = db.session.get(Lead, lead_ids[len(lead_ids) // 2])
        phone = str(middle.fields.get("phone", ""))
        db.session.remove()
    client = app.test_client()
    if login(client, email, PASSWORD).status_code != 302:
        raise RuntimeError("could not sign in")
    pages = {
        "home": "/", "inbox": "/inbox", "conversation": f"/conversations/{conversation_id}", "leads": "/leads",
        "leads search": f"/leads?q={phone.replace('+', '%2B')}", "lead": f"/leads/{middle.id}",
        "notifications": "/notifications", "events": "/events", "leads export": "/leads.csv",
        "export 1st KB": "/leads.csv",
    }
    with app.app_context():
        if phone not in client.get(pages["leads search"]).get_data(as_text=True):
            raise RuntimeError("the search does not find the lead it looks for")
    return app, client, pages


def _time(app: Any, client: Any, name: str, path: str) -> float:
    with app.app_context():
        start = time.perf_counter()
        response = client.get(path)
        if name == "export 1st KB":
            body = next(iter(response.response))
            elapsed = time.perf_counter() - start
            response.close()
        else:
            body = response.get_data()
            elapsed = time.perf_counter() - start
    if response.status_code != 200 or not body:
        raise RuntimeError(f"{name} {path}: HTTP {response.status_code}")
    return elapsed


def measure(targets: dict[str, Target], runs: int, warmups: int) -> dict[str, dict[str, float]]:
    """Median seconds per page and database. The databases take turns request by request, so a slow moment
    of the machine falls on all of them alike."""
    times: dict[str, dict[str, list[float]]] = {label: {} for label in targets}
    pages = next(iter(targets.values()))[2]
    for name in pages:
        for i in range(warmups + runs):
            for label, (app, client, paths) in targets.items():
                elapsed = _time(app, client, name, paths[name])
                if i >= warmups:
                    times[label].setdefault(name, []).append(elapsed)
    return {label: {name: statistics.median(values) for name, values in by_page.items()}
            for label, by_page in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL without a database")
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the big tenants' sizes")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the databases (bench_scale_small/_same/_big)")
    parser.add_argument("--reuse", action="store_true", help="measure databases kept by --keep, no seeding")
    args = parser.parse_args()

    big_sizes = {1: int(12_000 * args.scale), 2: int(10_000 * args.scale), 3: int(10_000 * args.scale)}
    databases = (("small", 10, {}, 100), ("same", 10, {1: big_sizes[1]}, 100),
                 ("big", args.tenants, big_sizes, 7))
    counts: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        targets = {}
        for label, tenants, sizes, others in databases:
            name = f"bench_scale_{label}"
            if args.reuse:
                url = args.pg.rstrip("/") + "/" + name
            else:
                url = stack.enter_context(scratch_database(args.pg, name, keep=args.keep))
                started = time.perf_counter()
                counts[label] = seed(url, tenants, sizes, others)
                say(f"{label}: seeded in {time.perf_counter() - started:.0f} s: {counts[label]}")
            targets[label] = prepare(url)
        say("timing the pages")
        results = measure(targets, args.runs, args.warmups)

    for label, numbers in counts.items():
        print(f"{label}: " + ", ".join(f"{k} {v:,}" for k, v in numbers.items()))
    print(f"median of {args.runs} requests after {args.warmups} warm-ups, tenant 1 of each database; ratio: big / "
          "small (the largest tenant at 10,000 tenants against a typical one at 10), and big / same (the same "
          "tenant at 10,000 tenants and at 10)")
    print(f"{'page':<15} {'small ms':>9} {'same ms':>9} {'big ms':>9} {'big/small':>10} {'big/same':>9}")
    worst = 0.0
    for page in results["small"]:
        small, same, big = (results[label][page] * 1000 for label in ("small", "same", "big"))
        if page != "leads export":
            worst = max(worst, big / small)
        print(f"{page:<15} {small:9.1f} {same:9.1f} {big:9.1f} {big / small:10.2f} {big / same:9.2f}")
    if counts:
        per = {label: results[label]["leads export"] * 1e6 / counts[label]["tenant_1_leads"] for label in counts}
        print("leads export per lead: " + ", ".join(f"{label} {value:.0f} µs" for label, value in per.items())
              + f"; big / small {per['big'] / per['small']:.2f}")
    print(f"worst big/small ratio of the daily pages, the export's whole download aside (it is linear in the "
          f"tenant's leads): {worst:.2f} (target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
