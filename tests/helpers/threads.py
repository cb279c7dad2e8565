"""Threads holding or asking for a run slot (or any context manager), for the run-slot tests of the runtime
and the pipeline. Every wait has a generous timeout that only guards against a deadlock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from connectors.runtime.run_slots import RunSlots

GUARD = 30.0  # seconds: a deadlock guard, never a timing bound


def held_in_a_thread(enter: Callable[[], AbstractContextManager[Any]]) -> tuple[threading.Thread, threading.Event]:
    """A thread inside `enter()` until the returned event is set (it is inside when this returns)."""
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with enter():
            inside.set()
            leave.wait(GUARD)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert inside.wait(GUARD), "the thread never got inside"
    return thread, leave


def another_thread_gets_a_slot(slots: RunSlots, within: float = GUARD) -> bool:
    """Does a job in another thread get a slot within `within` seconds?"""
    entered = threading.Event()

    def other() -> None:
        with slots.running():
            entered.set()

    t = threading.Thread(target=other, daemon=True)
    t.start()
    got = entered.wait(within)
    t.join(GUARD)
    return got


def recorded_sleeps(monkeypatch) -> list[float]:
    """`time.sleep` in this thread is recorded, not slept (the connectors pass no `sleep=` to http.request;
    other threads, the fake servers', still sleep)."""
    slept: list[float] = []
    real_sleep, me = time.sleep, threading.get_ident()

    def sleep(seconds: float) -> None:
        if threading.get_ident() == me:
            slept.append(seconds)
        else:
            real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    return slept
