"""Job timeouts for the thread-pool worker: one watchdog thread per process instead of a timer thread per job.

RQ's `TimerDeathPenalty` (the timeout that works outside the main thread) starts a `threading.Timer` for
every job: a new OS thread, and `Thread.start()` waits until that thread has run. With 50 jobs starting at
once in a burst, each job waited for its timer thread to get the interpreter lock before it could begin,
and paid ~0.1 ms of CPU for the thread. `WatchdogDeathPenalty` is the same penalty (the job's thread gets
`JobTimeoutException` raised in it) with the deadline kept in a table that one daemon thread checks every
`RESOLUTION` seconds: a job that exceeds a 600 s timeout is stopped at most that much later.
"""

from __future__ import annotations

import logging
import threading
import time

from rq.timeouts import TimerDeathPenalty

log = logging.getLogger(__name__)
RESOLUTION = 0.25


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, WatchdogDeathPenalty]] = {}
        self._thread: threading.Thread | None = None

    def watch(self, penalty: WatchdogDeathPenalty, timeout: float) -> None:
        with self._lock:
            self._deadlines[id(penalty)] = (time.monotonic() + timeout, penalty)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="rq-job-watchdog", daemon=True)
                self._thread.start()

    def unwatch(self, penalty: WatchdogDeathPenalty) -> None:
        with self._lock:
            self._deadlines.pop(id(penalty), None)

    def _run(self) -> None:
        while True:
            time.sleep(RESOLUTION)
            now = time.monotonic()
            with self._lock:  # delivered under the lock: a job that unwatches first is never hit
                due = [penalty for deadline, penalty in self._deadlines.values() if deadline <= now]
                for penalty in due:
                    del self._deadlines[id(penalty)]
                    try:
                        penalty.handle_death_penalty()
                    except Exception:  # the job's thread is gone already: nothing left to stop
                        log.warning("job timeout not delivered", exc_info=True)


_watchdog = _Watchdog()


class WatchdogDeathPenalty(TimerDeathPenalty):
    """`TimerDeathPenalty` on the shared watchdog (same exception, raised in the job's thread)."""

    def setup_death_penalty(self) -> None:
        if self._timeout > 0:
            _watchdog.watch(self, self._timeout)

    def cancel_death_penalty(self) -> None:
        if self._timeout > 0:
            _watchdog.unwatch(self)
