"""The worker process: RQ on Redis, listening to the priority queues highest first."""

from __future__ import annotations

from typing import Any

from .queue import PRIORITIES


def run_worker(app: Any, queues: list[str], *, burst: bool = False) -> None:
    from rq import Queue, SimpleWorker

    from . import jobs
    from .queue import get_queue

    unknown = [q for q in queues if q not in PRIORITIES]
    if unknown:
        raise ValueError(f"unknown queue(s) {unknown}; use {', '.join(PRIORITIES)}")
    from .pipeline.sweeper import start_sweeper

    jobs.bind_app(app)
    if not burst:
        start_sweeper(app)
    rq_queue = get_queue(app)
    connection = rq_queue.connection  # type: ignore[attr-defined]
    prefix = app.config.get("QUEUE_PREFIX", "")
    worker = SimpleWorker([Queue(prefix + q, connection=connection) for q in queues], connection=connection)
    worker.work(burst=burst, with_scheduler=True)
