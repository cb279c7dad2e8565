"""Recovery at the edges: a lock is renewed from the heartbeat thread, claims a live worker could not finish go
back, a turn is applied once, a poison event stops, "send again" sends once, parked replies cost nothing."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from tests.helpers.pipeline import due_now as _due_now
from tests.helpers.pipeline import events, outbound
from tests.helpers.webhooks import dm


def _break(db, matches, times: int | None = 1):
    """The next `times` statements for which `matches(statement, parameters)` fail at the driver, as a
    dropped server connection does; returns the undo."""
    driver_error = db.engine.dialect.dbapi.OperationalError
    left = {"n": times}

    def fail(conn, cursor, statement, parameters, *args):
        if (left["n"] is None or left["n"] > 0) and matches(statement.lstrip(), parameters):
            if left["n"] is not None:
                left["n"] -= 1
            raise driver_error("server closed the connection unexpectedly")

    sa_event.listen(db.engine, "before_cursor_execute", fail)
    return lambda: sa_event.remove(db.engine, "before_cursor_execute", fail)


@pytest.fixture()
def short_locks():
    """Lock lifetimes scaled down (LOCK_TTL 2 s instead of 45 s), restored afterwards."""
    from connectors.runtime import liveness

    saved = (liveness.DEAD_AFTER, liveness.BEAT_EVERY, liveness.LOCK_TTL)
    liveness.configure(1.0, 0.25)
    yield liveness
    liveness.DEAD_AFTER, liveness.BEAT_EVERY, liveness.LOCK_TTL = saved


def test_the_heartbeat_thread_renews_a_running_turns_lock(wired, app, short_locks):
    """Renewed from another thread than the holder's (redis-py keeps tokens thread-local by default), and set
    again if Redis lost it: a turn longer than LOCK_TTL keeps its person to itself."""
    from connectors.pipeline import locks

    if wired.queue.backend != "rq":
        pytest.skip("Redis locks")
    redis = wired.queue.connection
    holding, done = threading.Event(), threading.Event()

    def long_turn():
        with app.app_context(), locks.contact_lock("7:person"):
            holding.set()
            done.wait(10)

    holder = threading.Thread(target=long_turn)
    holder.start()
    try:
        assert holding.wait(5)
        for _ in range(3):  # three lock lifetimes, renewed from this (another) thread
            time.sleep(short_locks.LOCK_TTL / 2)
            locks._renew_held()
        redis.delete("temoweb:lock:7:person")  # what a Redis restart does
        locks._renew_held()
        assert redis.exists("temoweb:lock:7:person")
        with pytest.raises(locks.LockTimeout), app.app_context(), locks.contact_lock("7:person", wait=0.3):
            pass
    finally:
        done.set()
        holder.join(10)


def test_the_lock_of_a_dead_worker_outlives_its_recovery():
    """So the person's next turn, waiting for the lock, finds the dead worker's events queued again and
    answers them first (in order)."""
    from connectors.runtime import liveness

    saved = (liveness.DEAD_AFTER, liveness.BEAT_EVERY, liveness.LOCK_TTL)
    try:
        for dead_after, sweep_every in ((20, 10), (6, 1), (2, 0.5)):
            liveness.configure(dead_after, sweep_every)
            assert dead_after + sweep_every <= liveness.LOCK_TTL - liveness.BEAT_EVERY
    finally:
        liveness.DEAD_AFTER, liveness.BEAT_EVERY, liveness.LOCK_TTL = saved


def test_a_database_error_after_a_retry_was_claimed_gives_the_claim_back(client, shop, wired, db):
    from connectors.runtime.jobs import deliver_conversation
    from tests.helpers.pipeline import due_now as due
    wired.graph.fail(status=500, times=None, path="/messages")
    dm(client, "mid.s1", sender="IGSID-s1")
    wired.queue.drain()
    first, _ = outbound(db, shop.ig.id)
    wired.graph.reset()
    due(db)
    undo = _break(db, lambda s, p: s.startswith("SELECT") and "last_inbound_at" in s and "FROM conversations" in s)
    try:
        with pytest.raises(Exception, match="server closed"):
            deliver_conversation(first.conversation_id)
    finally:
        undo()
    db.session.rollback()
    assert [m.delivery_status for m in outbound(db, shop.ig.id)] == ["pending", "pending"]
    deliver_conversation(first.conversation_id)
    assert [m.delivery_status for m in outbound(db, shop.ig.id)] == ["sent", "sent"]
    assert len(wired.graph.messages) == 2


def test_claims_older_than_any_job_are_taken_back_whoever_holds_them(client, shop, wired, db):
    """A live worker whose job failed after claiming (or after sending): its claim is stale after 15
    minutes. Never sent: sent now. Maybe sent: unknown, the owner told."""
    from connectors.pipeline.sweeper import sweep
    from webapp.models import Message, Notification
    from webapp.models.base import utcnow

    dm(client, "mid.s4", sender="IGSID-s4")
    wired.queue.drain()
    first, second = outbound(db, shop.ig.id)
    old = utcnow() - timedelta(minutes=20)
    for message, state in ((first, "claimed"), (second, "sending")):
        db.session.query(Message).filter_by(id=message.id).update(
            {"delivery_status": state, "claimed_by": "a-live-worker", "claimed_at": old})
    db.session.commit()
    wired.graph.reset()
    result = sweep()
    wired.queue.drain()
    assert result["unknown"] == 1
    assert [m.delivery_status for m in outbound(db, shop.ig.id)] == ["sent", "unknown"]
    assert [r.json["message"]["text"] for r in wired.graph.messages] == [first.text]
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.kind == "delivery_unknown")) == 1


def test_a_database_error_marking_a_reply_sending_retries_it_instead_of_calling_it_unknown(client, shop, wired, db):
    """The request never left (the mark comes first): the reply is retried later, not `unknown`."""
    from connectors.runtime.jobs import deliver_conversation

    undo = _break(db, lambda s, p: s.startswith("UPDATE messages SET delivery_status") and "claimed_at" in s)
    try:
        dm(client, "mid.s2", sender="IGSID-s2")
        wired.queue.drain()
    finally:
        undo()
    first, second = outbound(db, shop.ig.id)
    assert (first.delivery_status, second.delivery_status) == ("retrying", "retrying")
    assert wired.graph.messages == []
    _due_now(db)
    deliver_conversation(first.conversation_id)
    assert [m.delivery_status for m in outbound(db, shop.ig.id)] == ["sent", "sent"]


def test_an_event_that_took_its_worker_down_five_times_fails_instead_of_running_again(client, shop, wired, db):
    from connectors.pipeline.sweeper import sweep
    from webapp.models import InboundEvent
    from webapp.models.base import utcnow

    dm(client, "mid.k1", sender="IGSID-k")
    [event] = events(db)
    db.session.query(InboundEvent).filter_by(id=event.id).update(
        {"status": "processing", "locked_by": "embedded:gone:1:x", "locked_at": utcnow(), "attempts": 5})
    db.session.commit()
    assert sweep(grace_seconds=0)["events_failed"] == 1
    wired.queue.drain()
    [event] = events(db)
    assert event.status == "failed" and "stopped 5 times" in event.error and wired.graph.messages == []


def test_a_turn_that_stored_no_reply_is_applied_once_when_its_outcome_was_not_recorded(
        client, shop, wired, db, monkeypatch):
    """The turn committed (state, effects) but recording the event's outcome failed: the retried event finds
    it applied and does not run the engine (nor its effects) again."""
    from connectors.pipeline import turns
    from connectors.pipeline.sweeper import sweep
    from flows.turn import Effect, StepResult
    from webapp.models import Notification

    steps = []
    real = turns.execute_turn

    def no_reply(prepared):
        result = real(prepared)
        steps.append(prepared.state)
        return StepResult([], result.state, [Effect("notify", {"text": "new lead"})], result.trace,
                          result.finished, result.error, result.state_kept)

    monkeypatch.setattr(turns, "execute_turn", no_reply)
    undo = _break(db, lambda s, p: s.startswith("UPDATE inbound_events SET status") and "done" in str(p))
    try:
        dm(client, "mid.z1", sender="IGSID-z")
        wired.queue.drain()
    finally:
        undo()
    assert events(db)[0].status == "queued"
    sweep(grace_seconds=0)
    wired.queue.drain()
    assert events(db)[0].status == "done" and len(steps) == 1
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "notify")) == 1


def test_one_send_again_click_sends_once_even_when_the_sweeper_also_picks_the_reply_up(
        client, shop, wired, db, app, monkeypatch):
    from connectors.pipeline.sweeper import sweep
    from connectors.runtime.jobs import deliver_conversation, send_again
    from webapp.models import Message

    monkeypatch.setitem(app.config, "CONNECTOR_TIMEOUT", 0.3)
    wired.graph.delay(1.0, times=1, path="/messages")
    dm(client, "mid.a1", sender="IGSID-a")
    wired.queue.drain()
    first = outbound(db, shop.ig.id)[0]
    assert first.delivery_status == "unknown"
    wired.graph.reset()
    db.session.query(Message).filter_by(id=first.id).update({"delivery_status": "pending", "error": None})
    db.session.commit()  # what the click does, with its send_again job
    sweep(grace_seconds=3600)  # the sweeper sees the pending reply at once
    wired.graph.delay(1.0, times=1, path="/messages")  # and its send is unknown again
    deliver_conversation(first.conversation_id)
    send_again(first.id)  # the click's own job comes second: nothing left to send
    assert sum(r.json["message"]["text"] == first.text for r in wired.graph.messages) == 1


def test_replies_parked_behind_a_retry_cost_no_jobs_until_it_is_due(client, shop, wired, db):
    from connectors.pipeline.sweeper import sweep
    from webapp.models import Message
    from webapp.models.base import utcnow

    wired.graph.fail(status=500, times=None, path="/messages")
    dm(client, "mid.n1", text="hi", sender="IGSID-n")
    wired.queue.drain()
    db.session.query(Message).filter(Message.delivery_status == "retrying").update(
        {"next_attempt_at": utcnow() + timedelta(minutes=10)})
    db.session.commit()
    dm(client, "mid.n2", text="Anna", sender="IGSID-n")
    wired.queue.drain()
    assert all(m.next_attempt_at is not None for m in outbound(db, shop.ig.id))
    assert [sweep(grace_seconds=3600)["deliveries"] for _ in range(3)] == [0, 0, 0]
