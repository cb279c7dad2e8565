"""Run slots: at most N jobs of a process work at once between waits; waits overlap without a slot."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from connectors.runtime import run_slots
from connectors.runtime.run_slots import RunSlots, waiting


class Meter:
    """How many threads are inside a measured section at once (the most seen)."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()

    def section(self, seconds: float) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(seconds)
        with self._lock:
            self.now -= 1


def _run_all(target: Callable[[], None], count: int) -> float:
    threads = [threading.Thread(target=target) for _ in range(count)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    return time.monotonic() - started


def held_in_a_thread(enter: Callable[[], AbstractContextManager[Any]]) -> tuple[threading.Thread, threading.Event]:
    """A thread inside `enter()` until the returned event is set (it is inside when this returns)."""
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with enter():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(5)
    return thread, leave


def another_thread_gets_a_slot(slots: RunSlots, within: float = 5) -> bool:
    """Does a job in another thread get a slot within `within` seconds?"""
    entered = threading.Event()

    def other() -> None:
        with slots.running():
            entered.set()

    t = threading.Thread(target=other)
    t.start()
    got = entered.wait(within)
    t.join(5)
    return got


def test_work_runs_n_at_a_time_while_the_waits_overlap() -> None:
    slots, work, waits = RunSlots(2), Meter(), Meter()

    def job() -> None:
        with slots.running():
            work.section(0.05)
            with waiting():  # a model call: the slot goes to another job
                waits.section(0.4)
            work.section(0.05)

    elapsed = _run_all(job, 8)
    assert work.most == 2
    assert waits.most >= 6  # the waits of (nearly) every job overlapped
    assert elapsed < 1.6  # serial would be 8 x 0.5 = 4 s; the work alone is 16 x 0.05 / 2 = 0.4 s


def test_a_thread_holding_resources_keeps_its_slot_through_a_wait() -> None:
    holding = threading.local()
    slots = RunSlots(1, busy=lambda: getattr(holding, "connection", False))
    inside_wait, second_in = threading.Event(), threading.Event()

    def first() -> None:
        holding.connection = True  # e.g. a database connection some slot holder might wait for
        with slots.running(), waiting():
            inside_wait.set()
            time.sleep(0.3)
            assert not second_in.is_set()  # the slot was not handed over

    def second() -> None:
        with slots.running():
            second_in.set()

    a = threading.Thread(target=first)
    a.start()
    assert inside_wait.wait(5)
    b = threading.Thread(target=second)
    b.start()
    a.join(5)
    assert second_in.wait(5)
    b.join(5)


def test_waiting_without_a_slot_and_nested_running_change_nothing() -> None:
    slots = RunSlots(1)
    with waiting():  # not in a job: a no-op
        pass
    with slots.running(), slots.running(), waiting():  # re-entrant: no deadlock on the thread's own slot
        pass
    assert another_thread_gets_a_slot(slots)  # the slot was given back exactly once and is free


def test_a_job_that_waited_too_long_for_a_slot_goes_on_without_one(monkeypatch) -> None:
    monkeypatch.setattr(run_slots, "SLOT_WAIT", 0.2)
    slots = RunSlots(1)
    t, leave = held_in_a_thread(slots.running)
    started = time.monotonic()
    with slots.running():  # the only slot stays taken: runs without it after the wait
        waited = time.monotonic() - started
        with waiting():  # holds no slot: nothing to give back or take again
            pass
    leave.set()
    t.join(5)
    assert 0.15 <= waited < 2
    assert another_thread_gets_a_slot(slots, within=1)  # the slot count is intact


def test_a_slot_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        RunSlots(0)
