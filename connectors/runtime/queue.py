"""Job queue: RQ on Redis when REDIS_URL is set, else an embedded in-process queue.

Jobs are named by dotted path and take ids only (they load what they need), so both backends run the same
functions. The database stays the source of truth: if enqueueing fails, the stored event is picked up by
the sweeper later.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Protocol

from connectors.runtime import liveness
from connectors.runtime.run_slots import job_slot, process_slots

log = logging.getLogger(__name__)

PRIORITIES = ("high", "default", "low")
# Longer than the worst turn: waiting for the person's lock (120 s) + a slow model with retries + sends.
JOB_TIMEOUT = 600


class QueueUnavailable(RuntimeError):
    """The queue backend cannot take the job now (e.g. Redis is down)."""


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class JobQueue(Protocol):
    backend: str

    def enqueue(self, func: str, *args: Any, priority: str = "default", delay: float | None = None,
                job_id: str | None = None) -> None: ...

    def enqueue_many(self, func: str, calls: list[tuple[Any, ...]], *, priority: str = "default") -> None: ...

    def ping(self) -> bool: ...

    def drain(self) -> int: ...


class EmbeddedQueue:
    """In-process queue for a single `make run` process and for tests (autostart=False: run on drain())."""

    backend = "embedded"

    def __init__(self, app: Any, *, autostart: bool = True, workers: int = 32) -> None:
        self.app = app
        self.autostart = autostart
        self._pending: deque[tuple[int, float, str, tuple[Any, ...]]] = deque()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job") if autostart else None
        # jobs run in threads, so they share run slots as a worker process's do
        self._slots = process_slots(app) if autostart else None

    def enqueue(self, func: str, *args: Any, priority: str = "default", delay: float | None = None,
                job_id: str | None = None) -> None:
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        if self._executor is None:
            with self._lock:
                self._pending.append((PRIORITIES.index(priority), time.monotonic() + (delay or 0), func, args))
            return
        if delay:
            timer = threading.Timer(delay, self._executor.submit, args=(self._run, func, args))
            timer.daemon = True
            timer.start()
        else:
            self._executor.submit(self._run, func, args)

    def enqueue_many(self, func: str, calls: list[tuple[Any, ...]], *, priority: str = "default") -> None:
        for args in calls:
            self.enqueue(func, *args, priority=priority)

    def _run(self, func: str, args: tuple[Any, ...]) -> None:
        with self.app.app_context(), job_slot(self._slots):
            try:
                resolve(func)(*args)
            except Exception:  # a failed job is recorded by the job itself; keep the worker alive
                log.exception("job %s%r failed", func, args)

    def ping(self) -> bool:
        return True

    def drain(self) -> int:
        """Run every due job (and the due jobs they enqueue), highest priority first; delayed jobs wait
        for their time, as RQ's scheduled jobs do."""
        ran = 0
        while True:
            with self._lock:
                now = time.monotonic()
                due = [i for i, item in enumerate(self._pending) if item[1] <= now]
                if not due:
                    return ran
                best = min(due, key=lambda i: self._pending[i][0])
                _, _, func, args = self._pending[best]
                del self._pending[best]
            self._run(func, args)
            ran += 1

    def pending(self) -> list[tuple[str, tuple[Any, ...]]]:
        return [(f, a) for _, _, f, a in self._pending]


class RedisQueue:
    """RQ queues named after the plan priorities; a worker listens to high, default, low in that order."""

    backend = "rq"

    def __init__(self, redis_url: str, *, prefix: str = "") -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        self.queues = {p: Queue(prefix + p, connection=self.connection) for p in PRIORITIES}

    def enqueue(self, func: str, *args: Any, priority: str = "default", delay: float | None = None,
                job_id: str | None = None) -> None:
        from redis.exceptions import RedisError

        queue = self.queues[priority]
        try:
            if delay:
                queue.enqueue_in(timedelta(seconds=delay), func, *args, job_id=job_id, job_timeout=JOB_TIMEOUT)
            else:
                queue.enqueue(func, *args, job_id=job_id, job_timeout=JOB_TIMEOUT)
        except RedisError as exc:
            raise QueueUnavailable(str(exc)) from exc

    def enqueue_many(self, func: str, calls: list[tuple[Any, ...]], *, priority: str = "default") -> None:
        """One Redis round trip for a whole webhook batch."""
        from redis.exceptions import RedisError
        from rq import Queue

        if not calls:
            return
        try:
            with self.connection.pipeline() as pipe:
                self.queues[priority].enqueue_many(
                    [Queue.prepare_data(func, args, timeout=JOB_TIMEOUT) for args in calls], pipeline=pipe)
                pipe.execute()
        except RedisError as exc:
            raise QueueUnavailable(str(exc)) from exc

    def ping(self) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(self.connection.ping())
        except RedisError:
            return False

    def drain(self) -> int:
        """Run queued jobs in this process (tests, `flask jobs drain`)."""
        from rq import SimpleWorker

        queues = list(self.queues.values())

        def done() -> int:
            return sum(q.finished_job_registry.count + q.failed_job_registry.count for q in queues)


        before = done()
        worker = SimpleWorker(queues, connection=self.connection)
        liveness.set_owner(worker.name)
        try:
            worker.work(burst=True, logging_level="WARNING")
        finally:
            liveness.set_owner(None)
        return done() - before


def init_app(app: Any) -> None:
    liveness.configure(float(app.config.get("WORKER_DEAD_AFTER") or 20), float(app.config.get("SWEEP_INTERVAL") or 10))
    url = app.config.get("REDIS_URL")
    if url:
        app.extensions["job_queue"] = RedisQueue(url, prefix=app.config.get("QUEUE_PREFIX", ""))
    else:
        app.extensions["job_queue"] = EmbeddedQueue(app, autostart=not app.config.get("TESTING"))


def get_queue(app: Any = None) -> JobQueue:
    if app is None:
        from flask import current_app

        app = current_app
    return app.extensions["job_queue"]
