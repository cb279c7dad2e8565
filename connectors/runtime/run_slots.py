"""Run slots: a worker process runs the CPU and database work of at most N jobs at once.

A worker process runs many jobs in threads (worker.py) because a turn spends most of its life waiting on
a model or a channel API. But Python threads that are all ready to run share the process's CPU by
handing the GIL back and forth, and each round trip to PostgreSQL or Redis is a hand-over: when a burst
of messages arrives, 50 threads each doing a few milliseconds of work cost the process and PostgreSQL
(every thread's statements run on their own backend at once) far more than the same work done a few at a
time. So a job holds one of the process's N slots while it runs, and gives it up only while it waits on
something outside (`waiting()`). Those waits still overlap across all the threads; the work between them
runs N at a time, in about the order the jobs asked. Measured gain: docs/performance.md.

Safety: a thread gives its slot up only while it holds no database connection (`busy`, set by the
worker: no connection means no row lock or pool connection that a slot holder could be waiting for), and
a thread that waited SLOT_WAIT seconds for a slot goes on without one, so a slot can slow a job but
never deadlock it. The pipeline says where a job waits outside, at three call sites: the engine step (a
model, an integration), a channel send (its rate limit, retries and backoff included: delivery.py) and the
wait for the person's earlier turn (turns.py); the HTTP client, the rate limiter, the LLM provider and the
lock know nothing of slots.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, ParamSpec, TypeVar

from flask import has_app_context

from webapp.extensions import db

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
SLOT_WAIT = 10.0  # seconds; work between two waits takes milliseconds, so only a stalled database gets here
_local = threading.local()


class RunSlots:
    """N slots shared by the threads of one process. `busy()`: True when the calling thread holds
    something a slot holder could be waiting for (then `waiting()` keeps the slot)."""

    def __init__(self, size: int, *, busy: Callable[[], bool] = lambda: False) -> None:
        if size < 1:
            raise ValueError("run slots must be at least 1")
        self.size = size
        self.busy = busy
        self._free = threading.Semaphore(size)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Hold a slot for the body (a job). Re-entrant per thread."""
        if getattr(_local, "slots", None) is not None:
            yield
            return
        _local.slots = self
        try:
            self._take()
            yield
        finally:
            if _local.held:
                self._give()
            _local.slots = None

    def _take(self) -> None:
        # `held` is set before the wait: an exception raised into the thread meanwhile (a job timeout) can
        # then at worst return a slot that was never taken (one more slot), never lose one.
        _local.held = True
        if not self._free.acquire(timeout=SLOT_WAIT):
            _local.held = False
            log.warning("no run slot free for %.0f s (a stalled database?): going on without one", SLOT_WAIT)

    def _give(self) -> None:
        self._free.release()
        _local.held = False


@contextmanager
def waiting() -> Iterator[None]:
    """Around a wait on something outside the process: the calling thread's slot (if it has one and
    holds no database connection) goes to another job meanwhile and is taken back afterwards."""
    slots: RunSlots | None = getattr(_local, "slots", None)
    if slots is None or not _local.held or slots.busy():
        yield
        return
    slots._give()
    try:
        yield
    finally:
        slots._take()


def a_wait(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn` (a sleep, a blocking call), run inside `waiting()` on every call."""
    return waiting()(fn)


def job_slot(slots: RunSlots | None) -> AbstractContextManager[None]:
    """A slot of `slots` for one job; nothing when the process runs without slots (None)."""
    return slots.running() if slots is not None else nullcontext()


def process_slots(app: Any) -> RunSlots | None:
    """The run slots of a process running `app`'s jobs in threads (a worker, the embedded queue); None with
    WORKER_RUN_SLOTS = 0. A thread is busy while its session holds a database connection."""
    size = int(app.config.get("WORKER_RUN_SLOTS") or 0)
    return RunSlots(size, busy=lambda: has_app_context() and db.session().in_transaction()) if size else None
