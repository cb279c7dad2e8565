"""What arrives at the webhook edge: characters no column can hold are cleaned (signed webhooks would only be
delivered again after a 4xx), one request's bad input never fails another's, and a delivery's body is stored
once however many events it carries."""

from __future__ import annotations

import json
import threading

from sqlalchemy import func, select

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import IG_ACCOUNT, events, outbound
from tests.helpers.webhooks import IG_SECRET, post, telegram_channel

BAD = "a\u0000b\ud800c"  # NUL and a lone surrogate: PostgreSQL refuses both in text and jsonb


def _escaped(payload: dict) -> bytes:
    """JSON as Meta and Telegram send it: non-ASCII escaped (a lone surrogate can only travel escaped)."""
    return json.dumps(payload, ensure_ascii=True).encode()


def test_a_signed_webhook_with_nul_and_a_lone_surrogate_is_stored_cleaned_and_answered(client, shop, wired, db):
    from webapp.models import Message

    raw = _escaped(mp.instagram_payload(mp.ig_dm_entry(IG_ACCOUNT, [mp.ig_dm("IGSID-bad", "mid.bad", BAD)])))
    assert b"\\u0000" in raw and b"\\ud800" in raw
    resp = post(client, raw, IG_SECRET)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    wired.queue.drain()
    [event] = events(db)
    assert event.status == "done" and event.parsed["text"] == "a\ufffdb\ufffdc"
    [inbound] = db.session.query(Message).filter_by(direction="in").all()
    assert inbound.text == "a\ufffdb\ufffdc"
    assert [m.delivery_status for m in outbound(db, shop.ig.id)] == ["sent", "sent"]


def test_one_bad_request_never_fails_the_concurrent_webhooks_of_other_tenants(shop, wired, make_tenant, app, db):
    """Concurrent requests share one INSERT (group commit): a web-chat POST with NUL among 11 Telegram webhooks
    of another tenant must not make any of them answer 500 (before the fix the shared INSERT failed for the
    whole flush)."""
    channel, secret = telegram_channel(wired, make_tenant)
    start = threading.Barrier(12)  # within the SQLite test pool: each request holds a connection
    codes: dict[int, int] = {}

    def send(n: int) -> None:
        client = app.test_client()
        start.wait(5)
        if n == 0:
            body = _escaped({"visitor_id": "v-bad", "text": BAD, "client_message_id": "c-bad"})
            resp = client.post(f"/webchat/{shop.web.public_key}/messages", data=body,
                               headers={"Content-Type": "application/json"})
        else:
            resp = client.post(f"/webhooks/telegram/{channel.id}", data=mp.tg_update(
                1000 + n, f"hello {n}", chat_id=7000 + n, message_id=n), headers={
                "X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"})
        codes[n] = resp.status_code

    threads = [threading.Thread(target=send, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [codes[n] for n in range(1, 12)] == [200] * 11
    assert codes[0] < 500
    assert len(events(db, channel_id=channel.id)) == 11


def test_a_batch_stores_its_body_once_and_every_event_points_at_it(client, shop, wired, db):
    from webapp.models import InboundEvent, WebhookDelivery

    messaging = [mp.ig_dm(f"IGSID-{k}", f"mid.batch.{k}", f"hello {k}") for k in range(300)]
    raw = mp.encode(mp.instagram_payload(mp.ig_dm_entry(IG_ACCOUNT, messaging)))
    resp = post(client, raw, IG_SECRET)
    assert resp.status_code == 200 and resp.get_json()["stored"] == 300
    [delivery] = db.session.scalars(select(WebhookDelivery)).all()
    assert delivery.raw_body == raw.decode() and delivery.headers.get("X-Hub-Signature-256")
    assert db.session.scalar(select(func.count()).select_from(InboundEvent)
                             .where(InboundEvent.delivery_id == delivery.id)) == 300
    assert not hasattr(InboundEvent, "raw_body")  # no copy per event any more
    again = post(client, raw, IG_SECRET)  # a redelivery: a delivery of its own, no new events
    assert again.status_code == 200 and again.get_json()["stored"] == 0
    assert len(events(db)) == 300


def test_a_delivery_with_more_events_than_the_cap_is_refused_whole(client, shop, wired, app, db, monkeypatch):
    from webapp.models import WebhookDelivery

    monkeypatch.setitem(app.config, "WEBHOOK_MAX_EVENTS", 50)
    messaging = [mp.ig_dm(f"IGSID-{k}", f"mid.cap.{k}", "hi") for k in range(51)]
    resp = post(client, mp.encode(mp.instagram_payload(mp.ig_dm_entry(IG_ACCOUNT, messaging))), IG_SECRET)
    assert resp.status_code == 413 and "at most 50 events" in resp.get_json()["error"]
    assert events(db) == [] and db.session.scalars(select(WebhookDelivery)).all() == []
    ok = post(client, mp.encode(mp.instagram_payload(mp.ig_dm_entry(IG_ACCOUNT, messaging[:50]))), IG_SECRET)
    assert ok.status_code == 200 and ok.get_json()["stored"] == 50
