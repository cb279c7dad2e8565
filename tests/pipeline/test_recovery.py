"""Recovery paths found in review: retried turns, stale sends, spoofed web chat ids, retries, suspension."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import IG_ACCOUNT, events, outbound
from tests.helpers.webhooks import IG_SECRET, post


def test_a_turn_that_failed_after_storing_the_message_runs_again_on_retry(client, shop, wired, db, monkeypatch):
    import connectors.pipeline.turns as turns
    from connectors.runtime.jobs import retry_events

    real = turns.execute_turn
    calls = []

    def flaky(prepared):  # the engine step blows up once (a crash between storing and answering)
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("worker lost")
        return real(prepared)

    monkeypatch.setattr(turns, "execute_turn", flaky)
    post(client, mp.ig_dm_body(IG_ACCOUNT, "U-r", "mid.r", "hi"), IG_SECRET)
    wired.queue.drain()
    [event] = events(db)
    assert event.status == "failed" and outbound(db, shop.ig.id) == []
    assert retry_events([event.id]) == 1
    wired.queue.drain()
    assert events(db)[0].status == "done"
    assert len(outbound(db, shop.ig.id)) == 2 and len(wired.graph.messages) == 2
    from webapp.models import Message

    assert db.session.query(Message).filter_by(direction="in").count() == 1  # stored once


def test_sends_left_by_a_gone_worker_become_unknown_not_resent(shop, wired, db):
    """A reply `sending` when its worker vanished (here: claimed before owners were recorded) may have
    reached the channel: it is marked `unknown`, the owner is told, and nothing is sent again on our own."""
    from connectors.pipeline.sweeper import sweep
    from webapp.models import Contact, Conversation, InboundEvent, Message, Notification
    from webapp.models.base import utcnow

    contact = Contact(tenant_id=shop.tenant.id, channel_id=shop.ig.id, external_user_id="U-s")
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=shop.tenant.id, contact_id=contact.id, channel_id=shop.ig.id, state={})
    event = InboundEvent(tenant_id=shop.tenant.id, channel_id=shop.ig.id, external_id="m-s", kind="dm",
                         user_id="U-s", status="processing", parsed={}, locked_at=utcnow() - timedelta(hours=1))
    db.session.add_all([conv, event])
    db.session.flush()
    db.session.add(Message(tenant_id=shop.tenant.id, conversation_id=conv.id, channel_id=shop.ig.id,
                           event_id=event.id, direction="out", text="hello", delivery_status="sending",
                           created_at=utcnow() - timedelta(hours=1), payload={"recipient": "U-s"}))
    db.session.commit()
    sweep(grace_seconds=0)
    wired.queue.drain()
    [message] = outbound(db, shop.ig.id)
    assert message.delivery_status == "unknown" and "outcome unknown" in message.error
    assert wired.graph.messages == []
    [note] = db.session.query(Notification).filter_by(kind="delivery_unknown").all()
    assert note.tenant_id == shop.tenant.id and f"message {message.id}" in note.body


def test_a_visitor_cannot_block_another_visitors_replies(client, shop, wired):
    key = shop.web.public_key

    def send(visitor, client_id, text):
        return client.post(f"/webchat/{key}/messages", data=json.dumps(
            {"visitor_id": visitor, "text": text, "client_message_id": client_id}),
            headers={"Content-Type": "application/json"})

    send("e2", "0", "spoof")  # inbound external id "e2:0", the shape of event 2's first reply key
    wired.queue.drain()
    send("victim", "c1", "hello")
    wired.queue.drain()
    got = client.get(f"/webchat/{key}/messages?visitor_id=victim").get_json()["messages"]
    assert [m["from"] for m in got] == ["visitor", "bot", "bot"]


def test_retry_leaves_done_events_alone(client, shop, wired, db):
    from connectors.runtime.jobs import retry_events

    post(client, mp.ig_dm_body(IG_ACCOUNT, "U-d", "mid.d", "hi"), IG_SECRET)
    wired.queue.drain()
    assert retry_events([events(db)[0].id]) == 0
    wired.queue.drain()
    assert len(wired.graph.messages) == 2


def test_suspended_tenants_get_no_replies(client, shop, wired, db):
    shop.tenant.status = "suspended"
    db.session.commit()
    key = shop.web.public_key
    client.post(f"/webchat/{key}/messages", data=json.dumps(
        {"visitor_id": "v1", "text": "hi", "client_message_id": "c1"}), headers={"Content-Type": "application/json"})
    wired.queue.drain()
    [event] = events(db)
    assert event.status == "skipped" and "suspended" in event.reason


def test_staff_retry_action_requeues_failed_events(client, staff_user, shop, wired, db):
    from tests.helpers.web import csrf_token, login
    from webapp.models import InboundEvent

    event = InboundEvent(tenant_id=shop.tenant.id, channel_id=shop.web.id, external_id="v:x", kind="webchat",
                         user_id="v", status="failed", error="boom", parsed={})
    db.session.add(event)
    db.session.commit()
    login(client, staff_user.email, staff_user.raw_password)
    token = csrf_token(client, "/admin/inboundevent/")
    resp = client.post("/admin/inboundevent/action/", data={"action": "retry", "rowid": [str(event.id)],
                                                             "csrf_token": token})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(InboundEvent, event.id).status in ("queued", "received")


def test_a_database_error_during_a_turn_is_retried_not_failed(client, shop, wired, db):
    """The driver raises an OperationalError (as when the server restarts or runs out of connections)
    while the turn stores its replies: the event goes back to `queued` for the sweeper, and the next run
    answers once. Errors of other kinds still fail the event (test above)."""
    from tests.helpers.pipeline import handle_with_one_driver_error
    post(client, mp.ig_dm_body(IG_ACCOUNT, "U-db", "mid.db", "hi"), IG_SECRET)
    [stored] = events(db)
    failed = handle_with_one_driver_error(  # the replies' INSERT
        db, stored.id, lambda sql, params: sql.startswith("INSERT INTO messages") and "'out'" in repr(params))
    db.session.expire_all()
    [event] = events(db)
    assert failed
    assert (event.status, event.reason) == ("queued", "retrying after a database error")
    assert "OperationalError" in event.error and outbound(db, shop.ig.id) == []
    from connectors.pipeline.sweeper import sweep

    with_old = event.created_at - timedelta(minutes=5)  # past the sweeper's grace period
    from webapp.models import InboundEvent

    db.session.query(InboundEvent).filter_by(id=event.id).update({"created_at": with_old})
    db.session.commit()
    assert sweep()["events_requeued"] == 1
    wired.queue.drain()
    db.session.expire_all()
    [event] = events(db)
    assert event.status == "done" and event.attempts == 2
    assert len(outbound(db, shop.ig.id)) == 2 and len(wired.graph.messages) == 2  # answered once



def test_after_a_database_error_the_persons_later_message_waits_for_the_retry(client, shop, wired, db):
    """Two messages of one person are claimed together; a database error on the first sends it back to
    `queued`, and the second is not answered before it: both go back, and are answered in order."""
    from connectors.pipeline.sweeper import sweep
    from tests.helpers.pipeline import handle_with_one_driver_error
    from webapp.models import InboundEvent, Message

    post(client, mp.ig_dm_body(IG_ACCOUNT, "U-two", "mid.two1", "hi"), IG_SECRET)
    post(client, mp.ig_dm_body(IG_ACCOUNT, "U-two", "mid.two2", "Anna"), IG_SECRET)
    first, second = events(db)
    assert handle_with_one_driver_error(  # claims the person's backlog: the first message, then this one
        db, second.id, lambda sql, params: sql.startswith("INSERT INTO messages") and "'out'" in repr(params))
    db.session.expire_all()
    assert [e.status for e in events(db)] == ["queued", "queued"] and outbound(db, shop.ig.id) == []
    db.session.query(InboundEvent).update({"created_at": first.created_at - timedelta(minutes=5)})
    db.session.commit()
    sweep()
    wired.queue.drain()
    db.session.expire_all()
    assert [e.status for e in events(db)] == ["done", "done"]
    replies = db.session.query(Message).filter_by(direction="out").order_by(Message.id).all()
    assert [r.event_id for r in replies] == [first.id, first.id, second.id]  # in the person's order
