"""Failures: rate limits, outages, dead tokens, Redis down, ordering, plan limits."""

from __future__ import annotations

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import due_now, events, outbound
from tests.helpers.webhooks import IG_SECRET, dm, post


def test_429_then_success_honours_retry_after(client, shop, wired, db):
    wired.graph.fail(status=429, times=1, headers={"Retry-After": "0"}, path="/messages")
    dm(client, "mid.r1")
    wired.queue.drain()
    assert [m.delivery_status for m in outbound(db, shop.ig.id)] == ["sent", "sent"]
    assert len(wired.graph.messages) == 3  # one 429, then both replies
    assert events(db)[0].status == "done"


def test_a_5xx_burst_longer_than_the_in_job_retries_is_retried_later_and_sent_once(client, shop, wired, db):
    from connectors.runtime.jobs import deliver_conversation

    wired.graph.fail(status=500, times=None, path="/messages")
    dm(client, "mid.r2")
    wired.queue.drain()
    [event] = events(db)
    assert event.status == "done" and "to retry later" in event.reason
    first, second = outbound(db, shop.ig.id)
    assert (first.delivery_status, second.delivery_status) == ("retrying", "retrying")
    assert first.next_attempt_at is not None  # its own backoff...
    assert second.next_attempt_at == first.next_attempt_at and "earlier reply" in second.error  # ...then the next
    tried = len(wired.graph.messages)
    assert tried >= 2  # the in-job retries of the first reply only
    wired.graph.reset()
    due_now(db)
    deliver_conversation(first.conversation_id)
    assert [m.delivery_status for m in outbound(db, shop.ig.id)] == ["sent", "sent"]
    assert len(wired.graph.messages) == 2  # each reply sent exactly once after recovery
    assert [r.json["message"]["text"] for r in wired.graph.messages] == [first.text, second.text]


def test_a_long_retry_after_reschedules_instead_of_failing(client, shop, wired, db):
    """A 429 whose retry_after exceeds CONNECTOR_MAX_WAIT is not slept on in the job, nor a failure: the
    reply waits for at least retry_after, then goes out."""
    from connectors.runtime.jobs import deliver_conversation
    from webapp.models.base import as_utc, utcnow

    wired.graph.fail(status=429, times=1, headers={"Retry-After": "10"}, path="/messages")
    dm(client, "mid.r2b")
    wired.queue.drain()
    first, second = outbound(db, shop.ig.id)
    assert first.delivery_status == "retrying" and as_utc(first.next_attempt_at) >= utcnow().replace(microsecond=0)
    assert (as_utc(first.next_attempt_at) - as_utc(first.created_at)).total_seconds() >= 9.5
    deliver_conversation(first.conversation_id)  # not due yet: nothing is sent early
    assert len(wired.graph.messages) == 1
    due_now(db)
    deliver_conversation(first.conversation_id)
    assert [m.delivery_status for m in outbound(db, shop.ig.id)] == ["sent", "sent"]
    assert len(wired.graph.messages) == 3  # the 429, then each reply once


def test_retries_stop_24_hours_after_the_customers_message_and_the_owner_is_told(client, shop, wired, db):
    """A retry that could only come after the reply window (24 h from the customer's message) is not
    scheduled: the reply fails visibly and the owner gets one notification."""
    from datetime import timedelta

    from connectors.runtime.jobs import deliver_conversation
    from webapp.models import Conversation, Notification
    from webapp.models.base import utcnow

    wired.graph.fail(status=503, times=None, path="/messages")
    dm(client, "mid.r2c")
    wired.queue.drain()
    first, _ = outbound(db, shop.ig.id)
    db.session.query(Conversation).update({"last_inbound_at": utcnow() - timedelta(hours=24) + timedelta(seconds=30)})
    db.session.commit()
    wired.graph.reset()
    wired.graph.fail(status=429, times=None, headers={"Retry-After": "60"}, path="/messages")
    due_now(db)
    deliver_conversation(first.conversation_id)
    failed = outbound(db, shop.ig.id)[0]
    assert failed.delivery_status == "failed" and "within 24 h" in failed.error
    [note] = db.session.query(Notification).filter_by(kind="delivery_failed").all()
    assert f"message {first.id}" in note.body


def test_redelivering_a_processed_event_never_sends_twice(client, shop, wired, db):
    from connectors.runtime.jobs import handle_inbound

    dm(client, "mid.r3")
    wired.queue.drain()
    before = len(wired.graph.messages)
    handle_inbound(events(db)[0].id)  # a duplicate job (e.g. the sweeper raced the worker)
    assert len(wired.graph.messages) == before


def test_token_error_marks_channel_for_reconnection(client, shop, wired, db, member_client):
    wired.graph.expire_token("IGQV-test-token")
    dm(client, "mid.r4")
    wired.queue.drain()
    db.session.expire_all()
    from webapp.models import Channel, Notification

    channel = db.session.get(Channel, shop.ig.id)
    assert channel.status == "needs_reconnect"
    assert db.session.query(Notification).filter_by(kind="token_invalid").count() == 1


def test_no_connection_is_held_while_the_replies_after_a_token_error_are_sent(client, shop, wired, db,
                                                                              monkeypatch):
    """The channel is marked for reconnection after the sends, not between them (a row lock and a pool
    connection would be held while the channel API answers)."""
    from connectors.channels import registry
    from webapp.extensions import db as session_db

    holding: list[bool] = []
    connector = registry.get_connector("instagram")
    real_send = connector.send

    def send(credentials, outbound_message, config):
        transaction = session_db.session().get_transaction()
        holding.append(transaction is not None and bool(transaction._connections))
        return real_send(credentials, outbound_message, config)

    monkeypatch.setattr(connector, "send", send)
    wired.graph.expire_token("IGQV-test-token")
    dm(client, "mid.r4b")
    wired.queue.drain()
    assert holding == [False, False]  # the lead_capture greeting sends two replies
    from webapp.models import Channel

    db.session.expire_all()
    assert db.session.get(Channel, shop.ig.id).status == "needs_reconnect"


def test_redis_down_during_webhook_loses_nothing(client, shop, wired, db, app):
    from connectors.pipeline.sweeper import sweep
    from connectors.runtime.queue import RedisQueue

    working = app.extensions["job_queue"]
    app.extensions["job_queue"] = RedisQueue("redis://127.0.0.1:1/0")
    try:
        resp = dm(client, "mid.r5")
    finally:
        app.extensions["job_queue"] = working
    assert resp.status_code == 200
    assert [e.status for e in events(db)] == ["received"]
    assert wired.graph.messages == []
    assert sweep(grace_seconds=0)["events_requeued"] == 1
    wired.queue.drain()
    assert events(db)[0].status == "done" and len(wired.graph.messages) == 2


def test_two_quick_messages_are_answered_in_order(client, shop, wired, db):
    from connectors.pipeline.turns import process_event

    dm(client, "mid.o1", "hi", sender="U-order")
    dm(client, "mid.o2", "Anna", sender="U-order")
    first, second = events(db)
    process_event(second.id)  # the second job runs first: the first message must still be answered first
    texts = [r.json["message"]["text"] for r in wired.graph.messages]
    assert "Thanks for reaching out" in texts[0]
    assert texts[-1].startswith("What's the best phone number")
    assert [e.status for e in events(db)] == ["done", "done"]


def test_over_the_monthly_limit_no_reply_and_a_warning(client, wired, db, make_tenant, member_client):
    from tests.helpers.pipeline import publish_templates
    from webapp.models import UsageCounter, month_key
    from webapp.services.channels import add_channel

    tenant = make_tenant("Busy", plan="START")
    add_channel(tenant, "instagram", external_id="1785", token="tok")
    publish_templates(tenant, "lead_capture")
    db.session.add(UsageCounter(tenant_id=tenant.id, month=month_key(), messages_in=600, messages_out=400))
    db.session.commit()
    post(client, mp.ig_dm_body("1785", "U1", "mid.l1", "hi"), IG_SECRET)
    wired.queue.drain()
    [event] = events(db)
    assert event.status == "skipped" and "limit" in event.reason
    assert wired.graph.messages == []
    from tests.helpers.web import login

    other = wired.app.test_client()
    login(other, tenant.owner_email, tenant.owner_password)
    page = other.get("/").get_data(as_text=True)
    assert 'data-testid="limit-warning"' in page


def test_usage_counts_each_message_once(client, shop, wired, db):
    from webapp.models import UsageCounter

    dm(client, "mid.u1")
    dm(client, "mid.u1")  # a duplicate delivery is not counted again
    wired.queue.drain()
    db.session.expire_all()
    usage = db.session.query(UsageCounter).filter_by(tenant_id=shop.tenant.id).one()
    assert (usage.messages_in, usage.messages_out) == (1, 2)
