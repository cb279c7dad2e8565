"""One turn at a time per contact, without holding a database connection while a model thinks.

With Redis the lock is a Redis lock (it works across worker processes and machines); it lives
`liveness.LOCK_TTL` seconds and the holding process's heartbeat thread renews it while the job runs (and sets
it again if a Redis restart lost it), so a lock left by a killed worker expires within seconds instead of
blocking the person's next messages. LOCK_TTL outlasts the sweeper's recovery of the killed worker's events,
so those are queued again before the lock frees and the next turn answers them first, in order. With the
embedded queue (one process) it is a thread lock. Re-entrant per thread, so a turn that first processes the
same person's earlier pending events keeps the lock it has.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any
from weakref import WeakValueDictionary

from flask import current_app

from connectors.runtime import liveness

log = logging.getLogger(__name__)
_local = threading.local()
_thread_locks: WeakValueDictionary[str, threading.Lock] = WeakValueDictionary()
_registry_lock = threading.Lock()
_renewing: dict[int, Any] = {}  # Redis locks this process holds, renewed by its heartbeat
_renewing_lock = threading.Lock()


def _release(lock: Any) -> None:
    from redis.exceptions import LockError, RedisError

    try:
        lock.release()
    except (LockError, RedisError):  # expired (the process stalled past its TTL) or Redis restarted
        log.warning("contact lock %s was gone when released", lock.name)


def _renew_held() -> None:
    """From the heartbeat thread (the locks are not thread-local, so another thread may renew them)."""
    from redis.exceptions import LockError, LockNotOwnedError, RedisError

    with _renewing_lock:
        held = list(_renewing.values())
    for lock in held:
        try:
            lock.reacquire()
        except LockNotOwnedError:  # gone with a Redis restart: ours again unless someone took it meanwhile
            with contextlib.suppress(RedisError):
                lock.redis.set(lock.name, lock.local.token, nx=True, px=int(lock.timeout * 1000))
        except (LockError, RedisError):  # released meanwhile, or Redis is away for a moment
            pass


class LockTimeout(RuntimeError):
    """Another turn for the same person held the lock too long; the event is retried later."""


def _held() -> set[str]:
    if not hasattr(_local, "held"):
        _local.held = set()
    return _local.held


@contextmanager
def contact_lock(key: str, *, wait: float = 120.0,
                 while_blocked: Callable[[], AbstractContextManager[Any]] = nullcontext) -> Iterator[None]:
    """`while_blocked()` is entered only when another turn holds the lock, around this one's wait for it
    (the pipeline ends its transaction there, so a queued message holds no database connection, and gives
    its worker's run slot to another job)."""
    held = _held()
    if key in held:
        yield
        return
    queue = current_app.extensions["job_queue"]
    lock: Any
    if getattr(queue, "backend", "") == "rq":
        lock = queue.connection.lock(f"temoweb:lock:{key}", timeout=liveness.LOCK_TTL, blocking_timeout=wait,
                                     thread_local=False)
        block: Callable[[], bool] = lock.acquire
    else:
        with _registry_lock:
            lock = _thread_locks.get(key)
            if lock is None:
                lock = _thread_locks[key] = threading.Lock()

        def block() -> bool:
            return lock.acquire(timeout=wait)

    acquired = lock.acquire(blocking=False)
    if not acquired:
        with while_blocked():
            acquired = block()
    if not acquired:
        raise LockTimeout(f"another turn for {key} is still running")
    held.add(key)
    renewed = getattr(queue, "backend", "") == "rq"
    if renewed:
        with _renewing_lock:
            _renewing[id(lock)] = lock
        liveness.on_beat("locks", _renew_held)
    try:
        yield
    finally:
        held.discard(key)
        if renewed:
            with _renewing_lock:
                _renewing.pop(id(lock), None)
            _release(lock)
        else:
            lock.release()
