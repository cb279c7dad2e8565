"""The thread-pool RQ worker prototype overlaps LLM waits and keeps RQ's bookkeeping correct."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from connectors.runtime.worker import ThreadPoolWorker
from tests.fakes.openai_server import FakeOpenAI

redis = pytest.importorskip("redis")
rq = pytest.importorskip("rq")


@pytest.fixture
def redis_conn() -> Iterator[object]:
    """A throwaway redis-server on a free loopback port (skipped where none is installed)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                conn.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        yield conn
    finally:
        conn.close()
        proc.terminate()
        proc.wait(timeout=10)


def replies_held_until_in_flight(fake: FakeOpenAI, count: int, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The fake answers no request until `count` are in flight at once (the returned event is set then).
    A generous timeout only guards against a deadlock: it lets the requests go on, the event stays unset,
    and the test's `max_in_flight` assertion fails. Kept below the provider's 15 s client timeout."""
    together, gave_up = threading.Event(), threading.Event()
    reply = fake._completion  # called while the request counts as in flight

    def held(body: dict) -> dict:
        if fake.in_flight >= count:
            together.set()
        if not gave_up.is_set() and not together.wait(10):
            gave_up.set()  # the rest need not wait as long: the test fails anyway
        return reply(body)

    monkeypatch.setattr(fake, "_completion", held)
    return together


def test_jobs_overlap_and_are_recorded(redis_conn, openai_fake: FakeOpenAI, monkeypatch) -> None:
    together = replies_held_until_in_flight(openai_fake, 30, monkeypatch)
    queue = rq.Queue("default", connection=redis_conn)
    jobs = [queue.enqueue("tests.runtime.concurrency_job.llm_turn", openai_fake.url, n) for n in range(30)]
    failing = queue.enqueue("tests.runtime.concurrency_job.llm_turn", openai_fake.url, 99, True)

    worker = ThreadPoolWorker([queue], connection=redis_conn, pool_size=32)
    worker.work(burst=True, logging_level="WARNING")

    assert together.is_set() and openai_fake.max_in_flight == 30  # every job's model wait overlapped
    for job in jobs:
        job.refresh()
        assert job.get_status() == "finished"
        value = job.return_value()
        assert value["replies"] == ["Hello from the fake model."] and not value["llm_errors"]
    failing.refresh()
    assert failing.get_status() == "failed"
    assert queue.finished_job_registry.count == 30 and queue.failed_job_registry.count == 1
    assert not worker.executions  # every execution was cleaned up


def test_pool_size_bounds_concurrency(redis_conn, openai_fake: FakeOpenAI, monkeypatch) -> None:
    replies_held_until_in_flight(openai_fake, 4, monkeypatch)  # the pool fills up...
    openai_fake.delay = 0.3  # ...and a fifth job would have the time to join in
    queue = rq.Queue("default", connection=redis_conn)
    for n in range(12):
        queue.enqueue("tests.runtime.concurrency_job.llm_turn", openai_fake.url, n)
    ThreadPoolWorker([queue], connection=redis_conn, pool_size=4).work(burst=True, logging_level="WARNING")
    assert openai_fake.max_in_flight == 4
    assert queue.finished_job_registry.count == 12


def test_run_slots_let_jobs_work_one_at_a_time_while_their_model_waits_overlap(redis_conn, openai_fake: FakeOpenAI,
                                                                             monkeypatch) -> None:
    """The job's model wait is the pipeline's `execute_turn` (it gives the slot up, not the provider)."""
    from connectors.runtime.run_slots import RunSlots
    from tests.runtime.concurrency_job import worked_at_once

    together = replies_held_until_in_flight(openai_fake, 20, monkeypatch)
    queue = rq.Queue("default", connection=redis_conn)
    jobs = [queue.enqueue("tests.runtime.concurrency_job.slotted_turn", openai_fake.url, n) for n in range(20)]
    worked_at_once(reset=True)
    ThreadPoolWorker([queue], connection=redis_conn, pool_size=32, run_slots=RunSlots(1)).work(
        burst=True, logging_level="WARNING")
    assert worked_at_once() == 1  # never two jobs working at once...
    assert together.is_set() and openai_fake.max_in_flight == 20  # ...while all of them waited on the model together
    for job in jobs:
        job.refresh()
        assert job.get_status() == "finished" and job.return_value()["replies"] == ["Hello from the fake model."]


def test_job_timeout_in_a_thread_fails_that_job_only(redis_conn) -> None:
    queue = rq.Queue("default", connection=redis_conn)
    # 30 s: the burst worker returns only once both jobs ended; only the timeout ends the slow one sooner
    slow = queue.enqueue("tests.runtime.concurrency_job.busy_for", 30, job_timeout=1)
    quick = queue.enqueue("tests.runtime.concurrency_job.busy_for", 0.1)
    ThreadPoolWorker([queue], connection=redis_conn, pool_size=4).work(burst=True, logging_level="ERROR")
    slow.refresh()
    quick.refresh()
    assert slow.get_status() == "failed" and "JobTimeoutException" in (slow.latest_result().exc_string or "")
    assert quick.get_status() == "finished" and quick.return_value() == "done"


def test_a_suspended_worker_takes_no_job(redis_conn) -> None:
    from rq.suspension import resume, suspend

    queue = rq.Queue("default", connection=redis_conn)
    job = queue.enqueue("tests.runtime.concurrency_job.busy_for", 0.01)
    suspend(redis_conn)
    ThreadPoolWorker([queue], connection=redis_conn, pool_size=4).work(burst=True, logging_level="ERROR")
    job.refresh()
    assert job.get_status() == "queued"
    resume(redis_conn)
    ThreadPoolWorker([queue], connection=redis_conn, pool_size=4).work(burst=True, logging_level="ERROR")
    job.refresh()
    assert job.get_status() == "finished"


def test_the_worker_stays_busy_while_a_job_runs_and_the_next_is_dequeued(redis_conn) -> None:

    queue = rq.Queue("default", connection=redis_conn)
    queue.enqueue("tests.runtime.concurrency_job.busy_for", 0.6)
    for _ in range(3):
        queue.enqueue("tests.runtime.concurrency_job.busy_for", 0.05)
    worker = ThreadPoolWorker([queue], connection=redis_conn, pool_size=4)
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:  # the worker must run in the main thread (signal handlers): watch from another
        while not done.is_set():
            with redis_conn.pipeline() as pipe:  # one MULTI: running jobs and the state at the same moment
                running, state = pipe.zcard(queue.started_job_registry.key).hget(worker.key, "state").execute()
            if running:  # a job is running: the worker must not say it is idle
                seen.append((state or b"").decode())
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    worker.work(burst=True, logging_level="ERROR")
    done.set()
    watcher.join()
    assert seen and "idle" not in seen and "busy" in seen
    assert queue.finished_job_registry.count == 4


_RUN_WORKER = """
import sys
from redis import Redis
from rq import Queue
from connectors.runtime.worker import ThreadPoolWorker
conn = Redis(port=int(sys.argv[1]))
ThreadPoolWorker([Queue("default", connection=conn)], connection=conn, pool_size=4).work(logging_level="ERROR")
"""


def test_sigterm_lets_the_running_job_finish_and_stops_without_waiting_for_more(redis_conn) -> None:
    import signal
    import sys
    from pathlib import Path

    queue = rq.Queue("default", connection=redis_conn)
    job = queue.enqueue("tests.runtime.concurrency_job.busy_for", 1.0)
    port = redis_conn.connection_pool.connection_kwargs["port"]
    worker = subprocess.Popen([sys.executable, "-c", _RUN_WORKER, str(port)],
                              cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 20
        while job.get_status(refresh=True) != "started" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.get_status() == "started"
        worker.send_signal(signal.SIGTERM)  # warm shutdown while the job runs in a pool thread
        worker.wait(timeout=10)  # RQ alone would keep the busy worker waiting for the next job (minutes)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0
    assert job.get_status(refresh=True) == "finished"


def test_job_timeouts_take_no_thread_per_job(redis_conn, monkeypatch) -> None:
    """Timeouts are watched by one thread per process, not a timer thread started for each job."""

    started: list[str] = []  # thread names: the pool's are "rq-…", a timer's "Thread-N"
    real_start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread.name)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    queue = rq.Queue("default", connection=redis_conn)
    for _ in range(20):
        queue.enqueue("tests.runtime.concurrency_job.busy_for", 0.01, job_timeout=30)
    ThreadPoolWorker([queue], connection=redis_conn, pool_size=4).work(burst=True, logging_level="ERROR")
    assert queue.finished_job_registry.count == 20
    assert len([name for name in started if name.startswith("Thread-")]) <= 2  # RQ's own helpers, not one per job
    assert sum(t.name == "rq-job-watchdog" for t in threading.enumerate()) == 1


_RUN_PROCESSES = """
from connectors.runtime.worker import run_worker_processes
run_worker_processes(2, ["default"], threads=4, log_level="ERROR")
"""


def test_sigterm_to_the_parent_stops_every_worker_process_after_its_running_job(redis_conn, tmp_path) -> None:
    """`flask worker` starts several processes by default; a service manager signals only the parent."""
    import os
    import signal
    import sys
    from pathlib import Path

    port = redis_conn.connection_pool.connection_kwargs["port"]
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "QUEUE_PREFIX": "",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.db'}"}
    parent = subprocess.Popen([sys.executable, "-c", _RUN_PROCESSES], cwd=Path(__file__).resolve().parents[2],
                              env=env)
    try:
        deadline = time.monotonic() + 60
        while rq.Worker.count(connection=redis_conn) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rq.Worker.count(connection=redis_conn) == 2
        job = rq.Queue("default", connection=redis_conn).enqueue("tests.runtime.concurrency_job.busy_for", 1.0)
        while job.get_status(refresh=True) != "started" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.get_status() == "started"
        parent.send_signal(signal.SIGTERM)
        parent.wait(timeout=15)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode == 0
    assert job.get_status(refresh=True) == "finished"  # warm: the running job was not cut off
    assert rq.Worker.count(connection=redis_conn) == 0  # and no child is left running
