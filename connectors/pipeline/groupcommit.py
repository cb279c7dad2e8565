"""Group commit: concurrent callers in one process share one flush (one INSERT, one COMMIT, one Redis
round trip) instead of paying for one each.

Why not a background writer thread: a caller would wait for a thread switch both ways, the thread would
need its own app context, and a thread started before gunicorn forks does not exist in the workers. Here the
first caller to arrive while nothing is flushing becomes the leader and flushes everything pending in its
own thread; callers arriving meanwhile wait, and when the flush ends the oldest waiter is made the next
leader for everything that piled up. Nobody waits for a timer: at low load every batch is one item, under
load batches grow by themselves. Every caller still gets its own result (or the flush's exception) before it
returns, so a webhook answers 200 only once its events are committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("item", "done", "lead", "result", "error")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = threading.Event()
        self.lead = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """`submit(item)` returns `flush([... item ...])[i]` for its own item; `flush` gets at most `max_batch`
    items and must return one result per item, in order (or raise: every caller in that batch re-raises)."""

    def __init__(self, flush: Callable[[Sequence[T]], Sequence[R]], *, max_batch: int = 256) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[_Slot[T, R]] = []
        self._flushing = False
        self.batches = 0
        self.items = 0

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self._pending.append(slot)
            lead = not self._flushing
            if lead:
                self._flushing = True
        if not lead:
            slot.done.wait()
            lead = slot.lead
        if lead:  # a leader's own slot is always the first of the batch it flushes
            self._lead()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _lead(self) -> None:
        with self._lock:
            batch, self._pending = self._pending[:self._max_batch], self._pending[self._max_batch:]
        try:
            results = self._flush([s.item for s in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"flush returned {len(results)} results for {len(batch)} items")
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except BaseException as exc:  # noqa: BLE001 - every waiter must wake up, whatever happened
            for slot in batch:
                slot.error = exc
        finally:
            with self._lock:
                self.batches += 1
                self.items += len(batch)
                nxt = self._pending[0] if self._pending else None
                if nxt is None:
                    self._flushing = False
                else:
                    nxt.lead = True
            for slot in batch:
                slot.done.set()
            if nxt is not None:
                nxt.done.set()
