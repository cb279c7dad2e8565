"""A killed worker's work is recovered by its missing heartbeat within seconds, not by a 10-minute timeout;
a contact lock belongs to a live job (renewed) or expires soon after its job dies."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.helpers.pipeline import events, outbound
from tests.helpers.webhooks import dm


def _heartbeat(redis, name: str, seconds_ago: float) -> None:
    from rq.utils import utcformat

    from webapp.models.base import utcnow

    redis.hset(f"rq:worker:{name}", "last_heartbeat", utcformat(utcnow() - timedelta(seconds=seconds_ago)))
    redis.expire(f"rq:worker:{name}", 600)


def _claim_as(db, event_id: int, owner: str) -> None:
    """What a worker's claim leaves behind: the event `processing`, locked by that worker, a moment ago."""
    from webapp.models import InboundEvent
    from webapp.models.base import utcnow

    db.session.query(InboundEvent).filter_by(id=event_id).update(
        {"status": "processing", "locked_by": owner, "locked_at": utcnow(), "attempts": 1})
    db.session.commit()


def _rq(queue):
    if queue.backend != "rq":
        pytest.skip("worker heartbeats live in RQ's registry (REDIS_URL)")
    return queue.connection


def test_a_dead_workers_event_is_run_again_and_a_live_workers_is_left_alone(client, shop, wired, db):
    from connectors.pipeline.sweeper import sweep

    redis = _rq(wired.queue)
    dm(client, "mid.k1", sender="U-dead")
    dm(client, "mid.k2", sender="U-live")
    dead, live = events(db)
    _heartbeat(redis, "w-dead", seconds_ago=60)  # killed a minute ago: no heartbeat since
    _heartbeat(redis, "w-live", seconds_ago=1)
    _claim_as(db, dead.id, "w-dead")
    _claim_as(db, live.id, "w-live")
    result = sweep()
    assert result["events_recovered"] == 1
    wired.queue.drain()
    by_id = {e.id: e for e in events(db)}
    assert by_id[dead.id].status == "done" and by_id[live.id].status == "processing"


def test_a_reply_claimed_by_a_dead_worker_is_sent_and_one_it_was_sending_is_unknown(client, shop, wired, db):
    """Claimed but not yet sending: the request never left, so it is sent (once). Sending: it may have left,
    so it becomes `unknown` and is not sent again."""
    from connectors.pipeline.sweeper import sweep
    from webapp.models import Message

    redis = _rq(wired.queue)
    dm(client, "mid.k3", sender="U-k3")
    wired.queue.drain()
    first, second = outbound(db, shop.ig.id)
    _heartbeat(redis, "w-gone", seconds_ago=120)
    db.session.query(Message).filter_by(id=first.id).update({"delivery_status": "sending", "claimed_by": "w-gone"})
    db.session.query(Message).filter_by(id=second.id).update({"delivery_status": "claimed", "claimed_by": "w-gone"})
    db.session.commit()
    wired.graph.reset()
    result = sweep()
    wired.queue.drain()
    assert result["unknown"] == 1
    first, second = outbound(db, shop.ig.id)
    assert (first.delivery_status, second.delivery_status) == ("unknown", "sent")
    assert [r.json["message"]["text"] for r in wired.graph.messages] == [second.text]


def test_the_embedded_queue_knows_its_own_name_from_a_previous_run(shop, wired, db):
    from connectors.runtime import liveness

    me = liveness._EMBEDDED  # what this process's embedded queue records
    status = liveness.alive([me, "embedded:old-host:123:abcd"], None)
    assert status == {me: True, "embedded:old-host:123:abcd": False}


def test_nobody_is_declared_dead_while_redis_cannot_be_read(shop, db):
    from redis import Redis

    from connectors.runtime import liveness

    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    assert liveness.alive(["w-someone"], unreachable) == {"w-someone": True}


def test_a_contact_lock_lives_seconds_unless_its_holder_renews_it(shop, wired, app):
    from connectors.pipeline import locks
    from connectors.runtime import liveness

    redis = _rq(wired.queue)
    key = "temoweb:lock:99:renewed"
    with app.app_context(), locks.contact_lock("99:renewed"):
        first = redis.pttl(key)
        assert 0 < first <= liveness.LOCK_TTL * 1000  # a dead holder's lock is gone within LOCK_TTL
        time.sleep(1.1)
        locks._renew_held()  # what the process's heartbeat thread does every BEAT_EVERY seconds
        assert redis.pttl(key) > first - 500
    assert redis.exists(key) == 0
