"""The webhook side: each request stores its delivery and its new events in one transaction, then enqueues
them; concurrent and repeated deliveries store and enqueue each event once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import IG_ACCOUNT, events

IG_SECRET = "test-ig-app-secret"


def test_concurrent_webhooks_store_each_event_once_and_enqueue_it_once(app, shop, wired, db):
    bodies = [mp.ig_dm_body(IG_ACCOUNT, f"IGSID-{k % 4}", f"mid.gc.{k}", f"hello {k}") for k in range(24)]
    bodies += bodies[:6]  # Meta redelivers some of them at the same moment

    def post(raw: bytes):
        with app.test_client() as c:
            return c.post("/webhooks/meta", data=raw,
                          headers={"Content-Type": "application/json", **mp.signed_headers(raw, IG_SECRET)})

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(post, bodies))
    assert [r.status_code for r in responses] == [200] * 30
    assert sum(r.get_json()["stored"] for r in responses) == 24
    assert sum(r.get_json()["queued"] for r in responses) == 24
    stored = events(db)
    assert sorted(e.external_id for e in stored) == sorted(f"mid.gc.{k}" for k in range(24))
    assert {e.status for e in stored} == {"queued"}
    assert wired.queue.drain() == 24


def test_an_event_twice_in_one_delivery_is_stored_once(app, client, shop, wired, db):
    import json

    raw = mp.ig_dm_body(IG_ACCOUNT, "IGSID-1", "mid.twice", "hello")
    body = json.loads(raw)
    body["entry"] = body["entry"] * 2
    raw = json.dumps(body).encode()
    answer = client.post("/webhooks/meta", data=raw,
                         headers={"Content-Type": "application/json", **mp.signed_headers(raw, IG_SECRET)})
    assert answer.status_code == 200 and answer.get_json()["stored"] == 1
    assert [e.external_id for e in events(db)] == ["mid.twice"]


def test_a_connection_dropped_by_the_server_is_replaced_without_losing_the_webhook(app, client, shop, wired, db):
    """The pool pings a connection before handing it out (pool_pre_ping): one the server dropped is
    replaced unseen."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("server-side connection termination is a PostgreSQL test")
    from sqlalchemy import create_engine, text

    def post(mid: str):
        raw = mp.ig_dm_body(IG_ACCOUNT, "IGSID-9", mid, "hello")
        return client.post("/webhooks/meta", data=raw,
                           headers={"Content-Type": "application/json", **mp.signed_headers(raw, IG_SECRET)})

    assert post("mid.drop.1").get_json()["stored"] == 1
    db.session.remove()
    db.engine.pool.dispose()
    with db.engine.connect() as conn:  # the one pooled connection the next request will use
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(db.engine.url)  # not from the pool: its one connection is the one to drop
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        conn.commit()
    admin.dispose()
    second = post("mid.drop.2")
    assert second.status_code == 200 and second.get_json()["stored"] == 1
    assert sorted(e.external_id for e in events(db)) == ["mid.drop.1", "mid.drop.2"]
