"""The pipeline's one cache: a few seconds of what every turn reads and rarely changes (a tenant's prompt
layers, its published flows).

Measured with bench/instructions.py --flow llm: without it an AI turn costs 9 % more instructions (26.9 M
against 24.4 M per message; docs/performance.md). A write through the ORM in this process (the back-office,
the API, the admin) clears the cache at once; other processes see the change within `ttl` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import event

V = TypeVar("V")


class TTLCache(Generic[V]):
    """`get(key, load)`: the value loaded for `key` less than `ttl` seconds ago, else `load()`'s."""

    _all: ClassVar[list[TTLCache[Any]]] = []

    def __init__(self, ttl: float, *, cleared_by: tuple[tuple[type, tuple[str, ...]], ...] = ()) -> None:
        self.ttl = ttl
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        for model, events in cleared_by:
            for name in events:
                event.listen(model, name, self.clear)
        TTLCache._all.append(self)

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self, *_: Any) -> None:
        with self._lock:
            self._entries.clear()

    @classmethod
    def clear_all(cls) -> None:
        """Every cache (tests: ids restart with the tables)."""
        for cache in cls._all:
            cache.clear()
