"""Run slots: at most N jobs of a process work at once between waits; waits overlap without a slot."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from connectors.runtime import run_slots
from connectors.runtime.run_slots import RunSlots, waiting
from tests.helpers.threads import GUARD, another_thread_gets_a_slot, held_in_a_thread


class Meter:
    """How many threads are inside a measured section at once (the most seen)."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()

    def section(self, hold: Callable[[], object]) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            hold()
        finally:
            with self._lock:
                self.now -= 1


def _meet(parties: int) -> Callable[[], object]:
    """Returns when `parties` threads are there together (a deadlock guard breaks it: the test fails)."""
    barrier = threading.Barrier(parties)
    return lambda: barrier.wait(GUARD)


def _run_all(target: Callable[[], None], count: int) -> None:
    """`count` threads running `target`; re-raises the first error one of them had."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(GUARD)
    assert not any(t.is_alive() for t in threads), "deadlock: threads still running"
    if errors:
        raise errors[0]


def test_work_runs_n_at_a_time_while_the_waits_overlap() -> None:
    slots, work, waits = RunSlots(2), Meter(), Meter()
    two_at_work, all_waiting = _meet(2), _meet(8)

    def job() -> None:
        with slots.running():
            work.section(two_at_work)  # goes on only with a second job working beside it (2 slots)
            with waiting():  # a model call: the slot goes to another job
                waits.section(all_waiting)  # goes on only once every job waits at the same time
            work.section(two_at_work)

    _run_all(job, 8)
    assert work.most == 2  # never more jobs working than slots (and the slots were both used)...
    assert waits.most == 8  # ...while the waits of every job overlapped


def test_a_thread_holding_resources_keeps_its_slot_through_a_wait() -> None:
    holding = threading.local()
    slots = RunSlots(1, busy=lambda: getattr(holding, "connection", False))
    inside_wait, second_in = threading.Event(), threading.Event()
    handed_over: list[bool] = []

    def first() -> None:
        holding.connection = True  # e.g. a database connection some slot holder might wait for
        with slots.running(), waiting():
            inside_wait.set()
            handed_over.append(second_in.wait(0.3))  # a chance for the second job to get in: it must not

    def second() -> None:
        with slots.running():
            second_in.set()

    a = threading.Thread(target=first)
    a.start()
    assert inside_wait.wait(GUARD)
    b = threading.Thread(target=second)
    b.start()
    a.join(GUARD)
    assert handed_over == [False]  # the slot was not handed over during the wait
    assert second_in.wait(GUARD)  # but as soon as the first job ended
    b.join(GUARD)


def test_waiting_without_a_slot_and_nested_running_change_nothing() -> None:
    slots = RunSlots(1)
    with waiting():  # not in a job: a no-op
        pass
    with slots.running(), slots.running(), waiting():  # re-entrant: no deadlock on the thread's own slot
        pass
    assert another_thread_gets_a_slot(slots)  # the slot was given back exactly once and is free


class _RecordingSemaphore:
    """A run-slot semaphore that records each acquire's timeout and outcome."""

    def __init__(self, inner: threading.Semaphore) -> None:
        self.inner = inner
        self.acquired: list[tuple[float | None, bool]] = []

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        got = self.inner.acquire(blocking, timeout)
        self.acquired.append((timeout, got))
        return got

    def release(self) -> None:
        self.inner.release()


def test_a_job_that_waited_too_long_for_a_slot_goes_on_without_one(monkeypatch) -> None:
    warned: list[str] = []
    monkeypatch.setattr(run_slots, "SLOT_WAIT", 0.2)
    monkeypatch.setattr(run_slots.log, "warning", lambda message, *args: warned.append(message % args))
    slots = RunSlots(1)
    t, leave = held_in_a_thread(slots.running)
    semaphore = _RecordingSemaphore(slots._free)
    monkeypatch.setattr(slots, "_free", semaphore)
    with slots.running():  # the only slot stays taken: runs without it after the wait
        assert t.is_alive() and not leave.is_set()  # the holder is still inside: this job has no slot
        with waiting():  # holds no slot: nothing to give back or take again
            pass
    assert semaphore.acquired == [(0.2, False)]  # waited SLOT_WAIT for the slot, once, and went on without
    assert any("going on without one" in w for w in warned)
    leave.set()
    t.join(GUARD)
    assert another_thread_gets_a_slot(slots)  # the slot count is intact
    assert semaphore.acquired[-1] == (0.2, True)


def test_a_slot_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        RunSlots(0)
