"""Finishing slots: after a model call, at most N turns of a worker process store their results at once."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event

from connectors.pipeline.finishing import finishing_slot
from tests.fakes import meta_payloads as mp
from tests.pipeline.conftest import outbound
from tests.pipeline.test_llm_pipeline import ACCOUNT, ai_shop  # noqa: F401  (fixture)
from tests.pipeline.test_meta_webhooks import IG_SECRET, post


@pytest.fixture()
def slots(app, monkeypatch):
    """Set the app's slot count for one test (the semaphore is built on first use, so drop the cached one)."""

    def configure(size: int) -> None:
        monkeypatch.setitem(app.config, "WORKER_FINISH_SLOTS", size)
        app.extensions.pop("finishing_slots", None)

    yield configure
    app.extensions.pop("finishing_slots", None)


def _enter_in_thread(app, inside: threading.Event, leave: threading.Event) -> threading.Thread:
    def hold() -> None:
        with app.app_context(), finishing_slot():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def test_a_full_process_makes_the_next_turn_wait_for_a_slot(app, slots):
    slots(1)
    first_in, first_leave, second_in, second_leave = (threading.Event() for _ in range(4))
    first = _enter_in_thread(app, first_in, first_leave)
    assert first_in.wait(5)
    second = _enter_in_thread(app, second_in, second_leave)
    assert not second_in.wait(0.3)  # the only slot is taken
    first_leave.set()
    assert second_in.wait(5)  # and handed over once it is free
    second_leave.set()
    first.join(5)
    second.join(5)


def test_zero_slots_means_no_limit_and_a_thread_never_waits_for_itself(app, slots):
    slots(0)
    inside = [threading.Event() for _ in range(3)]
    leave = threading.Event()
    threads = [_enter_in_thread(app, e, leave) for e in inside]
    assert all(e.wait(5) for e in inside)
    leave.set()
    for t in threads:
        t.join(5)
    slots(1)
    with app.app_context(), finishing_slot(), finishing_slot():  # re-entrant: no deadlock on the thread's own slot
        pass


def test_slow_turns_store_their_replies_one_at_a_time_with_one_slot(app, client, wired, ai_shop, openai_fake,  # noqa: F811
                                                                   db, slots):
    from connectors.jobs import handle_inbound
    from tests.pipeline.conftest import events

    slots(1)
    channel_id = ai_shop[1].id
    openai_fake.delay = 0.3  # every turn is back from the model at about the same moment
    for n in range(5):
        post(client, mp.ig_dm_body(ACCOUNT, f"S{n}", f"mid.slot{n}", "how much for a haircut?"), IG_SECRET)
    event_ids = [row.id for row in events(db)]

    storing: set[int] = set()
    overlap = {"max": 0}
    guard = threading.Lock()

    def before_execute(conn, cursor, statement, *_):  # the first statement of storing a slow turn's result
        if "FROM channels JOIN conversations" in statement:
            with guard:
                storing.add(threading.get_ident())
                overlap["max"] = max(overlap["max"], len(storing))
            time.sleep(0.1)  # a slower database: without the slot the other turns would be storing meanwhile

    def committed(conn):
        with guard:
            storing.discard(threading.get_ident())

    def turn(event_id: int) -> None:
        with app.app_context():
            handle_inbound(event_id)

    event.listen(db.engine, "before_cursor_execute", before_execute)
    event.listen(db.engine, "commit", committed)
    try:
        threads = [threading.Thread(target=turn, args=(event_id,)) for event_id in event_ids]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        event.remove(db.engine, "before_cursor_execute", before_execute)
        event.remove(db.engine, "commit", committed)
    assert time.monotonic() - started < 30
    replies = outbound(db, channel_id)
    assert len(replies) == 5 and {r.delivery_status for r in replies} == {"sent"}
    assert overlap["max"] == 1


def test_a_turn_that_waited_too_long_for_a_slot_goes_on_without_one(app, slots, monkeypatch):
    from connectors.pipeline import finishing

    slots(1)
    monkeypatch.setattr(finishing, "SLOT_WAIT", 0.2)
    inside, leave = threading.Event(), threading.Event()
    holder = _enter_in_thread(app, inside, leave)
    assert inside.wait(5)
    started = time.monotonic()
    with app.app_context(), finishing_slot():  # the only slot stays taken: stores without it after the wait
        waited = time.monotonic() - started
    leave.set()
    holder.join(5)
    assert 0.15 <= waited < 2
