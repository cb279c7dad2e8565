"""Who is working on what, and is that worker still alive: recovery from killed workers in seconds, not minutes.

A claimed event (`inbound_events.locked_by`) and a message being sent (`messages.claimed_by`) name the worker
process holding them: the RQ worker's name in a `flask worker` process (RQ keeps a heartbeat in that
worker's registry entry, `rq:worker:<name>`, field `last_heartbeat`), or this process's embedded-queue name.
The sweeper asks `alive()` about the owners of what is in flight: a worker whose heartbeat is older than
`DEAD_AFTER` seconds (or whose entry is gone) is dead, and its work is recovered (sweeper.py).

One daemon thread per process (`beat`) sends the heartbeats every `BEAT_EVERY` seconds: the RQ worker's
(its own main loop may be blocked waiting for a free thread or a job for much longer) and the contact locks'
(locks.py): a Redis lock lives only `LOCK_TTL` seconds unless the process holding it is alive to renew it, so
a lock belongs to a live job or expires soon after its job dies.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

DEAD_AFTER = 20.0  # WORKER_DEAD_AFTER; `configure` sets these three from it and SWEEP_INTERVAL
BEAT_EVERY = DEAD_AFTER / 4
LOCK_TTL = 45

_EMBEDDED = f"embedded:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
_owner: str | None = None  # this process's RQ worker name, once it runs one
_beats: dict[str, Callable[[], None]] = {}
_beats_lock = threading.Lock()
_thread: threading.Thread | None = None


def configure(dead_after: float, sweep_interval: float) -> None:
    """A worker that missed about four heartbeats is dead. Its locks outlive its last renewal until the
    sweeper has surely seen it dead (DEAD_AFTER, and up to two sweep intervals): its events are queued again
    by then, so the person's next turn, which waits for the lock, answers them first."""
    global DEAD_AFTER, BEAT_EVERY, LOCK_TTL
    DEAD_AFTER, BEAT_EVERY = float(dead_after), float(dead_after) / 4
    LOCK_TTL = math.ceil(DEAD_AFTER + BEAT_EVERY + 2 * float(sweep_interval))


def set_owner(name: str | None) -> None:
    """The RQ worker this process runs (None: back to the embedded name)."""
    global _owner
    _owner = name


def owner() -> str:
    """What `locked_by` / `claimed_by` record for work done in this process."""
    return _owner or _EMBEDDED


def on_beat(key: str, fn: Callable[[], None]) -> None:
    """Run `fn` every BEAT_EVERY seconds from the process's heartbeat thread (until `off_beat(key)`)."""
    global _thread
    with _beats_lock:
        _beats[key] = fn
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="heartbeat", daemon=True)
            _thread.start()


def off_beat(key: str) -> None:
    with _beats_lock:
        _beats.pop(key, None)


def _run() -> None:
    while True:
        time.sleep(BEAT_EVERY)
        with _beats_lock:
            beats = list(_beats.values())
        for fn in beats:
            try:
                fn()
            except Exception:  # Redis away for a moment: the next beat tries again
                log.warning("heartbeat failed", exc_info=True)


def alive(owners: Iterable[str], redis: Any | None, *, now: float | None = None) -> dict[str, bool]:
    """Which of these owners are alive. Embedded names: only this process's own (the embedded queue runs in
    one process; a name from an earlier run of it is dead). RQ worker names: a heartbeat within DEAD_AFTER
    seconds in RQ's worker registry. Nobody is declared dead while Redis cannot be read, nor for a missing
    entry while Redis has been up for less than DEAD_AFTER seconds (a restarted Redis has lost every entry;
    live workers write theirs again at their next beat)."""
    result: dict[str, bool] = {}
    workers = sorted({o for o in owners if o})
    rq_names = [o for o in workers if not o.startswith("embedded:")]
    for name in workers:
        if name.startswith("embedded:"):
            result[name] = name == _EMBEDDED
    if not rq_names:
        return result
    if redis is None:
        return {**result, **dict.fromkeys(rq_names, False)}
    try:
        with redis.pipeline(transaction=False) as pipe:
            pipe.info("server")
            for name in rq_names:
                pipe.hget(f"rq:worker:{name}", "last_heartbeat")
            server, *beats = pipe.execute()
    except Exception:
        log.warning("cannot read worker heartbeats: nobody declared dead this time", exc_info=True)
        return {**result, **dict.fromkeys(rq_names, True)}
    current = time.time() if now is None else now
    young = float(server.get("uptime_in_seconds", DEAD_AFTER)) < DEAD_AFTER
    for name, beat in zip(rq_names, beats, strict=True):
        result[name] = young if beat is None else current - _parse(beat) <= DEAD_AFTER
    return result


def _parse(value: bytes | str) -> float:
    from rq.utils import as_text, utcparse

    try:
        return utcparse(as_text(value)).timestamp()
    except ValueError:
        return 0.0
