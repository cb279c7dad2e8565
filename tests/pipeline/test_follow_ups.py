"""follow_up nodes: a timer stored in the database, fired by the worker or the sweeper."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes import meta_payloads as mp
from tests.fakes.documents import document
from tests.pipeline.conftest import IG_ACCOUNT, outbound
from tests.pipeline.test_meta_webhooks import IG_SECRET, post


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
    from webapp.flowstore import create_flow, publish
    from webapp.models import Flow

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
