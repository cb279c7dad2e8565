"""Prototype: an RQ worker that runs up to N jobs at once in threads (for I/O-bound jobs such as LLM calls).

Why: a conversation turn spends ~99% of its time waiting on the model (1–20 s) and the channel API. RQ 3.0
ships `Worker` (fork per job), `SpawnWorker`, `SimpleWorker` (in-process) and `WorkerPool` (N worker
*processes*), all running ONE job at a time per process, so 200 concurrent 1 s LLM waits would need ~100
processes (~100 MB each) on a 2-core box. Threads overlap the waits at a few hundred KB each; the GIL is
released while waiting on sockets.

How it fits RQ 3.0: RQ already tracks several `Execution`s per worker (`worker.executions`), and
`perform_job(job, queue, execution)` receives its execution explicitly, so running it from pool threads
keeps the registries (started/finished/failed), results, retries and callbacks correct. Three changes:

* a slot (semaphore) is taken BEFORE dequeuing, so a busy worker leaves jobs in Redis for other workers
  instead of hoarding them;
* job timeouts use `TimerDeathPenalty` (SIGALRM-based `UnixSignalDeathPenalty` only works in the main
  thread);
* `teardown` waits for in-flight jobs, so burst mode and a warm shutdown (SIGTERM) finish running turns.

And two cuts to RQ's per-job Redis round-trips, which dominate the CPU cost of a short job (measured:
~14 round-trips, ~8 ms CPU per no-op job; 200 jobs ≈ 1.6 s of one core before any real work): the
worker-level heartbeat (3 un-pipelined commands, sent 3× per job by the work loop) is throttled to once
per `HEARTBEAT_EVERY` seconds — its TTL is minutes — and an unchanged worker state isn't re-written.
Per-job heartbeats of the job/execution themselves are untouched.

Production home: `connectors/worker.py` (owned by the pipeline); this copy lives in tests/llm so the LLM
layer can prove and benchmark the mechanism (`bench/llm_concurrency.py`).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty
from rq.utils import now
from rq.worker import WorkerStatus

DEFAULT_THREADS = 32


class ThreadPoolWorker(SimpleWorker):
    """`SimpleWorker` that executes up to `pool_size` jobs concurrently in threads of one process."""

    death_penalty_class = TimerDeathPenalty
    HEARTBEAT_EVERY = 1.0

    def __init__(self, *args: Any, pool_size: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool_size = int(pool_size or os.environ.get("WORKER_THREADS") or DEFAULT_THREADS)
        self._slots = threading.BoundedSemaphore(self.pool_size)
        self._executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix=f"rq-{self.name[:8]}")
        self._running = 0
        self._running_lock = threading.Lock()

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        recent = self.last_heartbeat is not None and (
            (now() - self.last_heartbeat).total_seconds() < self.HEARTBEAT_EVERY
        )
        if pipeline is None and timeout is None and recent:
            return
        super().heartbeat(timeout, pipeline)

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is None and state == getattr(self, "_state", None):
            return
        super().set_state(state, pipeline)

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        # Wait for a free thread first, heart-beating so the worker doesn't look dead while saturated.
        while not self._slots.acquire(timeout=max(1, self.worker_ttl // 3)):
            self.heartbeat()
        try:
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        except BaseException:
            self._slots.release()
            raise
        if result is None:
            self._slots.release()
        return result

    def execute_job(self, job: Any, queue: Any) -> None:
        execution = self.prepare_execution(job)  # registers the execution in Redis (worker is BUSY)
        with self._running_lock:
            self._running += 1
        try:
            self._executor.submit(self._perform, job, queue, execution)
        except BaseException:
            self._release()
            raise

    def _perform(self, job: Any, queue: Any, execution: Any) -> None:
        try:
            self.perform_job(job, queue, execution)  # records success/failure itself, never raises
        finally:
            self._release()

    def _release(self) -> None:
        with self._running_lock:
            self._running -= 1
            idle = self._running == 0
        self._slots.release()
        if idle:
            self.set_state(WorkerStatus.IDLE)

    def teardown(self) -> None:
        """Let in-flight jobs finish (burst end, warm shutdown) before deregistering the worker."""
        self._executor.shutdown(wait=True)
        super().teardown()
