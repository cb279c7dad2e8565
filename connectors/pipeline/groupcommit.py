"""Group commit: concurrent callers in one process share one flush (one INSERT, one COMMIT, one Redis
round trip) instead of paying for one each.

Why not a background writer thread: a caller would wait for a thread switch both ways, the thread would
need its own app context, and a thread started before gunicorn forks does not exist in the workers. Here a
caller arriving while fewer than `concurrency` flushes run becomes a leader and flushes everything pending
in its own thread; callers arriving meanwhile wait, and when a flush ends the oldest waiter is made the next
leader for everything that piled up. Nobody waits for a timer: at low load every batch is one item, under
load batches grow by themselves. Every caller still gets its own result (or its own exception) before it
returns, so a webhook answers 200 only once its events are committed. One caller's bad item never fails the
others: when a flush of several items fails, each is flushed alone and only the failing ones get the error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("item", "wake", "finished", "lead", "result", "error")

    def __init__(self, item: T) -> None:
        self.item = item
        self.wake = threading.Event()
        self.finished = False
        self.lead = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """`submit(item)` returns `flush([... item ...])[i]` for its own item; `flush` gets at most `max_batch`
    items and must return one result per item, in order, or raise (then every item is flushed again alone,
    and a caller whose own flush raises re-raises that).

    Up to `concurrency` flushes may run at once. For the webhook one is best (measured with
    bench/ingest.py: two lanes halve the batches, and the per-batch costs come back), but a flush that
    mostly waits on a slow server could use more."""

    def __init__(self, flush: Callable[[Sequence[T]], Sequence[R]], *, max_batch: int = 256,
                 concurrency: int = 1) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._concurrency = concurrency
        self._lock = threading.Lock()
        self._pending: list[_Slot[T, R]] = []
        self._leaders = 0
        self.batches = 0
        self.items = 0

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self._pending.append(slot)
            if self._leaders < self._concurrency:
                self._leaders += 1
                slot.lead = True
        while True:
            with self._lock:  # read both flags at once: a leadership handed over must not be dropped
                lead, slot.lead = slot.lead, False
                if not lead and slot.finished:
                    break
            if lead:
                self._lead()
                continue
            slot.wake.wait()
            slot.wake.clear()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _flush_into(self, batch: list[_Slot[T, R]]) -> None:
        try:
            results = self._flush([s.item for s in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"flush returned {len(results)} results for {len(batch)} items")
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            for slot in batch:  # whose item was it? each alone: the others still succeed
                self._flush_into([slot])
        except BaseException as exc:  # noqa: BLE001 - every waiter must wake up, whatever happened
            for slot in batch:
                slot.error = exc

    def _lead(self) -> None:
        """Flush what is pending, then pass the leadership to a waiter, or give it up if none waits."""
        with self._lock:
            batch, self._pending = self._pending[:self._max_batch], self._pending[self._max_batch:]
        try:
            if batch:
                self._flush_into(batch)
        finally:
            with self._lock:
                self.batches += bool(batch)
                self.items += len(batch)
                for slot in batch:
                    slot.finished = True
                nxt = next((s for s in self._pending if not s.lead), None)
                if nxt is None:
                    self._leaders -= 1
                else:
                    nxt.lead = True
            for slot in batch:
                slot.wake.set()
            if nxt is not None:
                nxt.wake.set()
