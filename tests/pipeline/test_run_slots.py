"""Run slots in the pipeline: turns do their database work one slot at a time, their model waits overlap,
and a turn never gives its slot up while it holds a database connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text

from connectors.runtime.run_slots import RunSlots, process_slots
from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import AI_ACCOUNT, outbound
from tests.helpers.threads import another_thread_gets_a_slot, held_in_a_thread
from tests.helpers.webhooks import IG_SECRET, post


def test_turns_work_one_slot_at_a_time_and_wait_on_the_model_together(app, client, wired, ai_shop,  # noqa: F811
                                                                      openai_fake, db):
    from connectors.runtime.jobs import handle_inbound
    from tests.helpers.pipeline import events
    channel_id = ai_shop[1].id
    openai_fake.hold_until(5)  # the model answers once all five turns wait on it at once
    for n in range(5):
        post(client, mp.ig_dm_body(AI_ACCOUNT, f"S{n}", f"mid.slot{n}", "how much for a haircut?"), IG_SECRET)
    event_ids = [row.id for row in events(db)]
    slots = RunSlots(1, busy=lambda: db.session().in_transaction())
    running: set[int] = set()
    overlap = {"max": 0}
    guard = threading.Lock()

    def before_execute(conn, cursor, statement, *_):
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # a reply marked `sending` as its request leaves: part of the send, which waits outside
        with guard:
            running.add(threading.get_ident())
            overlap["max"] = max(overlap["max"], len(running))
        time.sleep(0.01)  # a slower database: without the slot another turn's statement would run meanwhile

    def after_execute(conn, cursor, statement, *_):
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        with guard:
            running.discard(threading.get_ident())

    def turn(event_id: int) -> None:
        with app.app_context(), slots.running():
            handle_inbound(event_id)

    event.listen(db.engine, "before_cursor_execute", before_execute)
    event.listen(db.engine, "after_cursor_execute", after_execute)
    try:
        threads = [threading.Thread(target=turn, args=(event_id,)) for event_id in event_ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        event.remove(db.engine, "before_cursor_execute", before_execute)
        event.remove(db.engine, "after_cursor_execute", after_execute)
    replies = outbound(db, channel_id)
    assert len(replies) == 5 and {r.delivery_status for r in replies} == {"sent"}
    assert overlap["max"] == 1  # no two turns' statements at once...
    assert openai_fake.max_in_flight == 5  # ...yet the model calls overlapped


def test_a_session_holds_a_connection_from_its_first_statement_to_its_commit(app, db):
    slots = process_slots(app) or RunSlots(1, busy=lambda: False)
    with app.app_context():
        assert not slots.busy()
        db.session.execute(text("SELECT 1"))
        assert slots.busy()
        db.session.commit()
        assert not slots.busy()


def test_sends_to_a_channel_api_overlap_while_the_turns_work_one_slot_at_a_time(app, wired, shop, db):
    """The channel API (with its rate limit and retries) is an outside wait at the delivery's call site."""
    from connectors.runtime.jobs import handle_inbound
    from tests.helpers.pipeline import events

    wired.graph.delay(0.4, path="/messages")
    for n in range(5):
        post(wired.app.test_client(), mp.ig_dm_body(shop.ig.external_id, f"C{n}", f"mid.send{n}", "hello"), IG_SECRET)
    event_ids = [row.id for row in events(db)]
    slots = RunSlots(1, busy=lambda: db.session().in_transaction())

    def turn(event_id: int) -> None:
        with app.app_context(), slots.running():
            handle_inbound(event_id)

    threads = [threading.Thread(target=turn, args=(event_id,)) for event_id in event_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert {r.delivery_status for r in outbound(db, shop.ig.id)} == {"sent"}
    assert wired.graph.max_in_flight >= 4  # one slot, yet the sends were in flight together


def test_the_http_client_the_model_and_the_lock_know_nothing_of_slots():
    """Slots are given up at the pipeline's call sites only (turns.py, delivery.py)."""
    import inspect

    from connectors.channels import http, ratelimit
    from connectors.pipeline import locks
    from connectors.providers import integration_http, llm

    for module in (http, ratelimit, locks, llm, integration_http):
        assert "run_slots" not in inspect.getsource(module), module.__name__


def test_waiting_for_another_turns_lock_gives_the_slot_up(app):
    from connectors.pipeline.locks import contact_lock
    from connectors.pipeline.turns import waiting_for_earlier_turn

    @contextmanager
    def holding_the_lock() -> Iterator[None]:
        with app.app_context(), contact_lock("1:someone"):
            yield

    first, release = held_in_a_thread(holding_the_lock)
    waiting_for_lock, done = threading.Event(), threading.Event()
    slots = RunSlots(1)

    def turn() -> None:
        with app.app_context(), slots.running():
            waiting_for_lock.set()
            with contact_lock("1:someone", while_blocked=waiting_for_earlier_turn):
                pass
        done.set()

    waiter = threading.Thread(target=turn)
    waiter.start()
    try:
        assert waiting_for_lock.wait(5)
        assert another_thread_gets_a_slot(slots, within=5) and not done.is_set()  # while the turn still waited
    finally:
        release.set()
        first.join(5)
        waiter.join(5)
    assert done.is_set()
