"""Finishing slots: a worker process stores the results of at most N slow turns at once.

A slow turn (one that waited on a model or an HTTP integration) has CPU work on both sides of the wait:
starting it (dequeue, claim, store the message, build and send the prompt) and finishing it (store the
reply and the state). Python threads share a process's CPU evenly, so when many messages arrive together,
finishing the first turns slowed down starting the later ones: the last messages reached the model seconds
late and then waited for it with the CPU idle. With a few finishing slots per process, waiting messages
get to the model first, their waits overlap, and replies are stored first come, first served.

Sending a reply is outside the slot: a slow channel API never holds one. A turn of a flow that cannot wait
(no `llm` or `http_request` node) takes no slot. The slot only orders work: a turn that has waited
SLOT_WAIT seconds for one (a stalled database behind the holders) stores without it, so it never risks the
person's lock (locks.py) expiring. Measured with bench/llm_concurrency.py --backend pipeline (200 messages at
once, 1 s model): time to the 95th reply over the time the CPU was saturated went from 1.35-1.46 to
1.06-1.19 with 2 slots per process; docs/deploy.md has the numbers and how to size it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

from webapp.extensions import per_app

SLOT_WAIT = 10.0  # seconds; storing takes milliseconds, so only a stalled database makes a turn wait this long
_local = threading.local()


def _slots() -> threading.BoundedSemaphore | None:
    """The app's semaphore, None when unlimited (WORKER_FINISH_SLOTS = 0)."""

    def build() -> threading.BoundedSemaphore | None:
        size = int(current_app.config.get("WORKER_FINISH_SLOTS") or 0)
        return threading.BoundedSemaphore(size) if size > 0 else None

    return per_app("finishing_slots", build)


@contextmanager
def finishing_slot() -> Iterator[None]:
    """Hold one of the process's finishing slots (waiting up to SLOT_WAIT seconds when all are taken, then
    going on without one). Re-entrant per thread. Take it while holding no database connection, so waiting
    never keeps one busy."""
    slots = _slots()
    if slots is None or getattr(_local, "holding", False) or not slots.acquire(timeout=SLOT_WAIT):
        yield
        return
    _local.holding = True
    try:
        yield
    finally:
        _local.holding = False
        slots.release()
