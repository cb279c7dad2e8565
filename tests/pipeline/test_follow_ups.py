"""follow_up nodes: a timer stored in the database, fired by the worker or the sweeper."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes import meta_payloads as mp
from tests.fakes.documents import document
from tests.helpers.pipeline import IG_ACCOUNT, outbound
from tests.helpers.webhooks import IG_SECRET, post


def follow_up_flow() -> dict:
    nodes = [("start", "trigger", {"channels": ["any"]}),
             ("hello", "message", {"text": "Hi! Tell me what you need."}),
             ("wait", "follow_up", {"delay": 30, "unit": "minutes", "text": ""}),
             ("thanks", "message", {"text": "Thanks, we'll get back to you."}),
             ("nudge", "message", {"text": "Still there? Reply any time."})]
    edges = [("start", "out", "hello"), ("hello", "out", "wait"), ("wait", "replied", "thanks"),
             ("wait", "timeout", "nudge")]
    return document("Nudge", nodes, edges)


def setup_flow(db, tenant) -> None:
    from webapp.models import Flow
    from webapp.services.flows import create_flow, publish

    for flow in db.session.query(Flow).filter_by(tenant_id=tenant.id):  # only the new flow answers
        flow.published_version_id = None
    tenant.default_flow_id = None
    publish(create_flow(tenant, "Nudge", follow_up_flow()))
    db.session.commit()


def test_timeout_fires_the_nudge(client, wired, shop, db):
    from connectors.pipeline.sweeper import sweep
    from webapp.models import FollowUp

    setup_flow(db, shop.tenant)
    post(client, mp.ig_dm_body(IG_ACCOUNT, "U-f1", "mid.f1", "hello"), IG_SECRET)
    wired.queue.drain()
    assert [m.text for m in outbound(db, shop.ig.id)] == ["Hi! Tell me what you need."]
    [timer] = db.session.query(FollowUp).all()
    assert timer.status == "scheduled"
    assert sweep(grace_seconds=0)["follow_ups_due"] == 0  # not due yet: nothing fires early
    timer.due_at = timer.due_at - timedelta(minutes=31)
    db.session.commit()
    assert sweep(grace_seconds=0)["follow_ups_due"] == 1
    wired.queue.drain()
    assert [m.text for m in outbound(db, shop.ig.id)][-1] == "Still there? Reply any time."
    db.session.expire_all()
    assert db.session.get(FollowUp, timer.id).status == "fired"


def test_a_reply_cancels_the_timer(client, wired, shop, db):
    from webapp.models import FollowUp

    setup_flow(db, shop.tenant)
    post(client, mp.ig_dm_body(IG_ACCOUNT, "U-f2", "mid.f2", "hello"), IG_SECRET)
    wired.queue.drain()
    post(client, mp.ig_dm_body(IG_ACCOUNT, "U-f2", "mid.f3", "I need a haircut"), IG_SECRET)
    wired.queue.drain()
    assert [m.text for m in outbound(db, shop.ig.id)][-1] == "Thanks, we'll get back to you."
    db.session.expire_all()
    assert [t.status for t in db.session.query(FollowUp).all()] == ["cancelled"]


def test_a_timer_waiting_for_the_persons_turn_holds_no_connection(app, client, wired, shop, db):
    """The timer fires while the person's turn is running: it waits for that turn without a database
    connection, then sends its nudge."""
    import threading
    import time

    from connectors.pipeline.locks import contact_lock
    from connectors.runtime.jobs import fire_follow_up
    from webapp.models import FollowUp

    setup_flow(db, shop.tenant)
    post(client, mp.ig_dm_body(IG_ACCOUNT, "U-f9", "mid.f9", "hello"), IG_SECRET)
    wired.queue.drain()
    [timer] = db.session.query(FollowUp).all()
    timer_id = timer.id
    db.session.remove()
    done = threading.Event()

    def fire() -> None:
        with app.app_context():
            fire_follow_up(timer_id)
        done.set()

    with contact_lock(f"{shop.ig.id}:U-f9"):  # the person's turn is running
        worker = threading.Thread(target=fire)
        worker.start()
        time.sleep(0.5)
        assert not done.is_set() and db.engine.pool.checkedout() == 0
    assert done.wait(10)
    worker.join(5)
    assert [m.text for m in outbound(db, shop.ig.id)][-1] == "Still there? Reply any time."
    assert db.session.get(FollowUp, timer_id).status == "fired"
