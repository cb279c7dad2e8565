"""Run slots in the pipeline: turns do their database work one slot at a time, their model waits overlap,
and a turn never gives its slot up while it holds a database connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text

from connectors.pipeline.autocommit import autocommit, holds_connection
from connectors.runtime.run_slots import RunSlots
from tests.connectors.test_run_slots import another_thread_gets_a_slot, held_in_a_thread
from tests.fakes import meta_payloads as mp
from tests.pipeline.conftest import outbound
from tests.pipeline.test_llm_pipeline import ACCOUNT, ai_shop  # noqa: F401  (fixture)
from tests.pipeline.test_meta_webhooks import IG_SECRET, post


def test_turns_work_one_slot_at_a_time_and_wait_on_the_model_together(app, client, wired, ai_shop,  # noqa: F811
                                                                      openai_fake, db):
    from connectors.runtime.jobs import handle_inbound
    from tests.pipeline.conftest import events

    channel_id = ai_shop[1].id
    openai_fake.delay = 0.4
    for n in range(5):
        post(client, mp.ig_dm_body(ACCOUNT, f"S{n}", f"mid.slot{n}", "how much for a haircut?"), IG_SECRET)
    event_ids = [row.id for row in events(db)]
    slots = RunSlots(1, busy=holds_connection)
    running: set[int] = set()
    overlap = {"max": 0}
    guard = threading.Lock()

    def before_execute(conn, cursor, statement, *_):
        with guard:
            running.add(threading.get_ident())
            overlap["max"] = max(overlap["max"], len(running))
        time.sleep(0.01)  # a slower database: without the slot another turn's statement would run meanwhile

    def after_execute(conn, cursor, statement, *_):
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
    assert openai_fake.max_in_flight >= 4  # ...yet the model calls overlapped


def test_a_session_holds_a_connection_from_its_first_statement_to_its_commit(app, db):
    with app.app_context():
        assert not holds_connection()
        db.session.execute(text("SELECT 1"))
        assert holds_connection()
        db.session.commit()
        assert not holds_connection()
        autocommit()
        db.session.execute(text("SELECT 1"))
        assert holds_connection()  # autocommit still keeps the connection checked out
        db.session.rollback()
        assert not holds_connection()


def _slot_is_free_while(slots: RunSlots, wait: Callable[[], Any], started: Callable[[], bool]) -> bool:
    """Run `wait` inside a job (slot held) in another thread; once it has started waiting, can a second job
    get the only slot?"""
    done = threading.Event()

    def job() -> None:
        with slots.running():
            wait()
        done.set()

    waiter = threading.Thread(target=job)
    waiter.start()
    deadline = time.monotonic() + 5
    while not started() and time.monotonic() < deadline:
        time.sleep(0.01)
    free = another_thread_gets_a_slot(slots, within=0.5) and not done.is_set()  # while the first still waited
    waiter.join(10)
    return free


def test_every_outside_wait_of_a_job_gives_its_slot_up(app, openai_fake):
    """The model, a channel API call (connectors/http.py) and an `http_request` node's call: each lets
    another job of the process work meanwhile."""
    from connectors.channels.events import ConnectorConfig
    from connectors.channels.http import request
    from connectors.pipeline.context import RequestsHttp
    from connectors.providers.llm import get_provider

    openai_fake.delay = 1.5
    url = openai_fake.url + "/chat/completions"
    body = {"model": "fake-gpt", "messages": [{"role": "user", "content": "hi"}]}
    provider = get_provider(openai_fake.url, "sk-test", "fake-gpt", timeout=10, max_retries=0)
    config = ConnectorConfig(ratelimit_storage="none://", max_attempts=1)
    waits = {
        "model": lambda: provider.complete([{"role": "user", "content": "hi"}]),
        "channel API": lambda: request("POST", url, json=body, config=config),
        "http_request node": lambda: RequestsHttp(allow_private=True).request("POST", url, json=body),  # loopback
    }
    for name, wait in waits.items():
        before = len(openai_fake.requests)  # a request is recorded when it arrives, before the delay
        assert _slot_is_free_while(RunSlots(1), wait, lambda b=before: len(openai_fake.requests) > b), name


def test_waiting_for_another_turns_lock_gives_the_slot_up(app):
    from connectors.pipeline.locks import contact_lock

    @contextmanager
    def holding_the_lock() -> Iterator[None]:
        with app.app_context(), contact_lock("1:someone"):
            yield

    first, release = held_in_a_thread(holding_the_lock)
    waiting_for_lock = threading.Event()

    def turn() -> None:
        with app.app_context():
            waiting_for_lock.set()
            with contact_lock("1:someone"):
                pass

    try:
        assert _slot_is_free_while(RunSlots(1), turn, waiting_for_lock.is_set)
    finally:
        release.set()
        first.join(5)
