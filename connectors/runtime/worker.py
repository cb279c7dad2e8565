"""The worker process: RQ on Redis, listening to the priority queues highest first, running up to N jobs at
once in threads.

Why threads: a conversation turn spends almost all its time waiting on the model (1-20 s) and the channel
APIs, and holds no database connection meanwhile (see connectors/pipeline/turns.py). RQ 3.0's workers
(`Worker`, `SimpleWorker`, `WorkerPool`) all run one job at a time per process, so 200 concurrent 1 s LLM
waits would need ~100 processes; threads overlap the waits at a few hundred KB each.

How it fits RQ: `perform_job(job, queue, execution)` receives its execution explicitly, so running it from
pool threads keeps RQ's registries, results, retries and callbacks correct. A thread slot is taken BEFORE
dequeuing (a busy worker leaves jobs for other workers), job timeouts are raised in the job's thread by one
watchdog thread (watchdog.py; the signal based penalty only works in the main thread), teardown waits for
in-flight jobs (warm shutdown), and the dequeuing thread's heartbeat and suspension check run at most once
a second. Sizing: docs/deploy.md.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rq import SimpleWorker
from rq.exceptions import StopRequested
from rq.utils import now
from rq.worker import WorkerStatus

from connectors.pipeline.sweeper import start_sweeper
from connectors.runtime import jobs, liveness
from connectors.runtime.queue import PRIORITIES, get_queue, resolve
from connectors.runtime.run_slots import RunSlots, job_slot, process_slots
from connectors.runtime.watchdog import WatchdogDeathPenalty

DEFAULT_THREADS = 50


def default_processes() -> int:
    """Two per CPU core this process may run on: a process uses at most one core at a time (the GIL), and
    a second one per core keeps the core busy while the first waits on PostgreSQL or Redis."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return 2 * max(1, cores)


class ThreadPoolWorker(SimpleWorker):
    """`SimpleWorker` that executes up to `pool_size` jobs concurrently in threads of one process."""

    death_penalty_class = WatchdogDeathPenalty
    # Each is a Redis round trip of the one thread that dequeues, before every job in RQ; with 50 jobs in
    # flight they cost the burst a quarter of its p95 (docs/performance.md).
    HEARTBEAT_EVERY = 1.0
    SUSPENSION_CHECK_EVERY = 1.0

    def __init__(self, *args: Any, pool_size: int | None = None, run_slots: RunSlots | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool_size = int(pool_size or os.environ.get("WORKER_THREADS") or DEFAULT_THREADS)
        self.run_slots = run_slots  # None: every thread runs whenever it can
        self._free_threads = threading.BoundedSemaphore(self.pool_size)
        self._executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix=f"rq-{self.name[:8]}")
        self._running = 0
        self._running_lock = threading.Lock()
        self._suspension_checked = -self.SUSPENSION_CHECK_EVERY
        self._dequeuing = False

    def register_birth(self) -> None:
        """Once registered, the worker's heartbeat comes from the process's heartbeat thread as well (this
        main thread may wait minutes for a job or a free thread), and what its jobs claim names it: the
        sweeper recovers a killed worker's events and sends within seconds (pipeline/liveness.py)."""
        super().register_birth()
        liveness.set_owner(self.name)
        liveness.on_beat("worker", lambda: self.heartbeat(timeout=int(liveness.DEAD_AFTER * 3)))

    def register_death(self) -> None:
        liveness.off_beat("worker")
        liveness.set_owner(None)
        super().register_death()

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """At most once per HEARTBEAT_EVERY seconds from the dequeuing thread (RQ beats before every job;
        the liveness thread beats on its own, register_birth)."""
        recent = self.last_heartbeat is not None and (
            (now() - self.last_heartbeat).total_seconds() < self.HEARTBEAT_EVERY
        )
        if pipeline is None and timeout is None and recent:
            return
        super().heartbeat(timeout, pipeline)

    def check_for_suspension(self, burst: bool) -> None:
        """`rq suspend` is honoured within SUSPENSION_CHECK_EVERY seconds instead of before every job."""
        at = time.monotonic()
        if at - self._suspension_checked < self.SUSPENSION_CHECK_EVERY:
            return
        self._suspension_checked = at
        super().check_for_suspension(burst)

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is None and state == getattr(self, "_state", None):
            return
        if state == WorkerStatus.IDLE and self._running:  # dequeuing the next job while others run: still busy
            return
        super().set_state(state, pipeline)

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        self._dequeuing = True
        try:
            # Wait for a free thread first, heart-beating so the worker doesn't look dead while saturated.
            while not self._free_threads.acquire(timeout=max(1, self.worker_ttl // 3)):
                self.heartbeat()
            try:
                result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except BaseException:
                self._free_threads.release()
                raise
        finally:
            self._dequeuing = False
        if result is None:
            self._free_threads.release()
        return result

    def _shutdown(self) -> None:
        """Warm shutdown (SIGTERM, Ctrl-C). RQ stops at once only when the worker is not busy; this one
        stays busy while jobs run in its threads, so it also stops at once while its main thread is only
        waiting for a thread or a job: running jobs finish in `teardown`, no new one is taken."""
        if self._dequeuing:
            self._stop_requested = True
            raise StopRequested()
        super()._shutdown()

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
            with job_slot(self.run_slots):
                self.perform_job(job, queue, execution)  # records success/failure itself, never raises
        finally:
            self._release()

    def _release(self) -> None:
        with self._running_lock:
            self._running -= 1
            idle = self._running == 0
        self._free_threads.release()
        if idle:
            self.set_state(WorkerStatus.IDLE)

    def teardown(self) -> None:
        """Let in-flight jobs finish (burst end, warm shutdown) before deregistering the worker."""
        self._executor.shutdown(wait=True)
        super().teardown()


def run_worker(app: Any, queues: list[str], *, burst: bool = False, threads: int | None = None,
               log_level: str = "WARNING") -> None:
    """`log_level` is RQ's: INFO writes three lines per job (which a busy worker pays for in CPU), WARNING
    only failures; the turns' own warnings and errors are logged either way."""
    from rq import Queue


    unknown = [q for q in queues if q not in PRIORITIES]
    if unknown:
        raise ValueError(f"unknown queue(s) {unknown}; use {', '.join(PRIORITIES)}")
    jobs.bind_app(app)
    if not burst:
        start_sweeper(app)
    connection = get_queue(app).connection  # type: ignore[attr-defined]
    prefix = app.config.get("QUEUE_PREFIX", "")
    worker = ThreadPoolWorker([Queue(prefix + q, connection=connection, ) for q in queues],
                              connection=connection, pool_size=threads, run_slots=process_slots(app))
    worker.work(burst=burst, with_scheduler=not burst, logging_level=log_level)


def _child(app_factory: str, queues: list[str], burst: bool, threads: int | None, log_level: str) -> None:
    os.setpgid(0, 0)  # a terminal's Ctrl-C reaches the parent only, which passes on one SIGTERM (below)
    run_worker(resolve(app_factory)(), queues, burst=burst, threads=threads, log_level=log_level)


def run_worker_processes(processes: int, queues: list[str], *, burst: bool = False,
                         threads: int | None = None, log_level: str = "WARNING",
                         app_factory: str = "webapp.create_app") -> None:
    """N independent worker processes (each builds its own app, named by `app_factory`'s dotted path, and
    its own DB pool). SIGTERM or Ctrl-C stops them
    all the way RQ stops one: the first passes one SIGTERM to every child (warm shutdown: running jobs
    finish), a second one another (cold shutdown)."""
    import multiprocessing
    import signal

    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=_child, args=(app_factory, queues, burst, threads, log_level), name=f"worker-{n}")
                for n in range(processes)]

    def stop(_signum: int, _frame: Any) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            child.start()
        for child in children:
            child.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
