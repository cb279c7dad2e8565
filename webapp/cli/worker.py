"""`flask worker`: the job runtime's worker processes for this app."""

from __future__ import annotations

import click
from flask import current_app


def register(cli: click.Group) -> None:
    @cli.command("worker")
    @click.option("--queues", default="high,default,low", help="comma-separated, highest priority first")
    @click.option("--burst", is_flag=True, help="exit when the queues are empty")
    @click.option("--threads", type=click.IntRange(1, 500), default=None, envvar="WORKER_THREADS",
                  help="jobs in progress at once in each process (default 50)")
    @click.option("--processes", type=click.IntRange(1, 64), default=None, envvar="WORKER_PROCESSES",
                  help="worker processes to start, each with --threads threads (default: 2 per CPU core)")
    @click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
                  default="WARNING", envvar="WORKER_LOG_LEVEL", show_default=True,
                  help="RQ's own log lines; INFO logs every job (three lines each), WARNING only problems")
    def worker(queues: str, burst: bool, threads: int | None, processes: int | None, log_level: str) -> None:
        """Run RQ worker process(es) for this app (needs REDIS_URL). The defaults are the sizing
        docs/deploy.md gives: 2 processes per core (the GIL lets a process use one core), 50 threads each."""
        # here, not at the top: every app start registers the command; only a worker loads RQ's worker code
        from connectors.runtime.worker import DEFAULT_THREADS, default_processes, run_worker, run_worker_processes

        if not current_app.config.get("REDIS_URL"):
            raise click.ClickException("REDIS_URL is not set: the embedded queue runs jobs inside `flask run`")
        names = [q.strip() for q in queues.split(",") if q.strip()]
        level = log_level.upper()
        processes = processes or default_processes()
        threads = threads or DEFAULT_THREADS
        click.echo(f"worker: {processes} process(es) x {threads} threads on queues {','.join(names)}, "
                   f"log level {level}", err=True)
        try:
            if processes > 1:
                run_worker_processes(processes, names, burst=burst, threads=threads, log_level=level)
            else:
                run_worker(current_app._get_current_object(), names, burst=burst, threads=threads, log_level=level)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
