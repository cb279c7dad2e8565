"""Group commit: concurrent webhook requests share one INSERT/COMMIT/enqueue, and each still gets its own
answer only after its events are stored."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from connectors.pipeline.groupcommit import GroupCommit
from tests.fakes import meta_payloads as mp
from tests.pipeline.conftest import IG_ACCOUNT, events

IG_SECRET = "test-ig-app-secret"


def first_flush_blocks(factor: int):
    """A flush whose first call waits for `release`; it returns item * factor and records its batches."""
    release = threading.Event()
    batches: list[list[int]] = []

    def flush(items):
        batches.append(list(items))
        if len(batches) == 1:
            release.wait(5)
        return [i * factor for i in items]

    return flush, release, batches


def wait_until(condition) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in 5 s"
        time.sleep(0.001)


def test_callers_arriving_during_a_flush_share_the_next_one():
    flush, release, batches = first_flush_blocks(10)
    group: GroupCommit[int, int] = GroupCommit(flush, concurrency=1)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(group.submit, 0)
        wait_until(lambda: batches)
        rest = [pool.submit(group.submit, i) for i in range(1, 8)]
        wait_until(lambda: len(group._pending) >= 7)  # all seven queued behind the blocked flush
        release.set()
        assert first.result(5) == 0
        assert [f.result(5) for f in rest] == [i * 10 for i in range(1, 8)]
    assert batches[0] == [0] and sorted(batches[1]) == list(range(1, 8))
    assert (group.batches, group.items) == (2, 8)


def test_with_two_lanes_a_second_batch_is_flushed_while_the_first_is_still_waiting():
    flush, release, batches = first_flush_blocks(1)
    group: GroupCommit[int, int] = GroupCommit(flush, concurrency=2)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(group.submit, 0)
        wait_until(lambda: batches)
        others = [pool.submit(group.submit, i) for i in range(1, 6)]
        assert [f.result(5) for f in others] == [1, 2, 3, 4, 5]  # done while batch [0] is still blocked
        assert not first.done()
        release.set()
        assert first.result(5) == 0
    assert sorted(i for b in batches for i in b) == list(range(6)) and group._leaders == 0


def test_one_callers_bad_item_fails_only_that_caller_and_the_others_are_stored():
    """A flush of several items that raises is redone item by item: the item that fails on its own gets the
    error, every other caller of that batch its result (one bad request never fails another)."""
    release = threading.Event()
    calls = []

    def flush(items):
        calls.append(list(items))
        if len(calls) == 1:
            release.wait(5)
            return list(items)
        if 4 in items:
            raise RuntimeError("item 4 cannot be stored")
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(flush, max_batch=3, concurrency=1)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(group.submit, 1)
        wait_until(lambda: calls)
        waiting = [pool.submit(group.submit, i) for i in range(2, 7)]
        wait_until(lambda: len(group._pending) >= 5)
        release.set()
        assert first.result(5) == 1
        outcomes = []
        for f in waiting:
            try:
                outcomes.append(f.result(5))
            except RuntimeError as exc:
                outcomes.append(str(exc))
    assert outcomes.count("item 4 cannot be stored") == 1
    assert sorted(o for o in outcomes if isinstance(o, int)) == [2, 3, 5, 6]
    assert [4] in calls  # redone alone
    assert group.items == 6 and not group._pending and not group._leaders


def test_a_flush_returning_the_wrong_number_of_results_fails_loudly():
    group: GroupCommit[int, int] = GroupCommit(lambda items: [])
    for _ in range(2):  # the failure does not leave the group stuck "flushing"
        with pytest.raises(RuntimeError, match="0 results for 1 items"):
            group.submit(1)
    assert not group._leaders


def test_concurrent_webhooks_store_each_event_once_and_enqueue_it_once(app, shop, wired, db):
    bodies = [mp.ig_dm_body(IG_ACCOUNT, f"IGSID-{k % 4}", f"mid.gc.{k}", f"hello {k}") for k in range(24)]
    bodies += bodies[:6]  # Meta redelivers some of them at the same moment

    def post(raw: bytes):
        with app.test_client() as c:
            return c.post("/webhooks/meta", data=raw,
                          headers={"Content-Type": "application/json", **mp.signed_headers(raw, IG_SECRET)})

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(post, bodies))
    assert [r.status_code for r in responses] == [200] * 30
    assert sum(r.get_json()["stored"] for r in responses) == 24
    assert sum(r.get_json()["queued"] for r in responses) == 24
    stored = events(db)
    assert sorted(e.external_id for e in stored) == sorted(f"mid.gc.{k}" for k in range(24))
    assert {e.status for e in stored} == {"queued"}
    group = app.extensions["ingest_group_commit"]
    assert group.items >= 30 and group.batches <= group.items
    assert wired.queue.drain() == 24


@pytest.mark.parametrize("concurrency,max_batch", [(1, 256), (2, 3), (3, 1)])
def test_many_callers_each_get_their_own_result(concurrency, max_batch):
    import random

    def flush(items):
        time.sleep(random.random() / 500)
        return [i * 2 for i in items]

    group: GroupCommit[int, int] = GroupCommit(flush, concurrency=concurrency, max_batch=max_batch)
    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(group.submit, range(600), timeout=30))
    assert results == [i * 2 for i in range(600)]
    assert group.items == 600 and group._leaders == 0 and not group._pending


def test_a_connection_dropped_by_the_server_is_replaced_without_losing_the_webhook(app, client, shop, wired, db):
    """The webhook's own engine skips the pool's pre-ping; a dropped connection is retried once instead."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("server-side connection termination is a PostgreSQL test")
    from sqlalchemy import text

    def post(mid: str):
        raw = mp.ig_dm_body(IG_ACCOUNT, "IGSID-9", mid, "hello")
        return client.post("/webhooks/meta", data=raw,
                           headers={"Content-Type": "application/json", **mp.signed_headers(raw, IG_SECRET)})

    assert post("mid.drop.1").get_json()["stored"] == 1
    engine = app.extensions["ingest_engine"]
    with engine.connect() as conn:  # the pooled connection the next flush will use
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with db.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        admin.commit()
    second = post("mid.drop.2")
    assert second.status_code == 200 and second.get_json()["stored"] == 1
    assert sorted(e.external_id for e in events(db)) == ["mid.drop.1", "mid.drop.2"]
