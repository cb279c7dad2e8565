"""Benchmark: 200 conversations send one message at the same moment; the LLM answers each after 1.0 s.

Prints p50/p95/max time-to-reply and the total wall time for the worker setup under test. Strictly serial
processing would take 200 s; the target is p95 ≤ 3 s on a 2-core machine.

Each job is one customer turn through the engine's `llm` node with the real `OpenAIProvider` over HTTP to
the loopback fake (`tests/fakes/openai_server.py`, delay 1.0 s) — the LLM-bound part of `handle_inbound`
without the database (see docs/llm.md "Concurrency" for how the pipeline's job slots in).

Backends:
  pipeline  (default when `psql` and `redis-server` are installed) — the whole turn: stored events,
            `flask worker` with its default settings (2 processes per core x 50 threads, 2 run slots per
            process) unless --processes / --threads are given, PostgreSQL, the reply sent to a fake
            Graph API (bench/_llm_pipeline.py).
  rq        (default when only `redis-server` is installed or REDIS_URL is set) — PROCESSES worker
            processes, each a thread-pool RQ worker with THREADS threads, all started before the burst.
  embedded  — one in-process ThreadPoolExecutor with PROCESSES × THREADS threads (the embedded queue).

    .venv/bin/python bench/llm_concurrency.py                     # 200 msgs, `flask worker` as it starts
    .venv/bin/python bench/llm_concurrency.py --processes 2 --threads 100
    .venv/bin/python bench/llm_concurrency.py --backend embedded --threads 8 --processes 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

JOB = "tests.runtime.concurrency_job.llm_turn"


def _worker_class():
    from connectors.runtime.worker import ThreadPoolWorker

    return ThreadPoolWorker


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def report(label: str, sent_at: float, results: list[dict], errors: int, total: float) -> float:
    done = [r["done_at"] for r in results]
    latencies = [d - sent_at for d in done]
    waits = [r["started_at"] - sent_at for r in results]
    runs = [r["done_at"] - r["started_at"] for r in results]
    p50, p95 = statistics.median(latencies), percentile(latencies, 95)
    print(f"{label}")
    print(f"  replies: {len(done)} ok, {errors} failed/fallback")
    print(f"  time-to-reply p50 {p50:.2f}s  p95 {p95:.2f}s  max {max(latencies):.2f}s")
    print(f"    of which waiting for a worker: p50 {statistics.median(waits):.2f}s  p95 {percentile(waits, 95):.2f}s;"
          f" running the turn: p50 {statistics.median(runs):.2f}s  p95 {percentile(runs, 95):.2f}s")
    print(f"  total wall time {total:.2f}s  (strictly serial: {len(done) + errors:.0f} s; target p95 <= 3 s)")
    print(f"  speed-up over serial: {(len(done) + errors) / total:.0f}x")
    return p95


def run_embedded(url: str, messages: int, threads: int) -> float:
    from tests.runtime.concurrency_job import llm_turn

    llm_turn(url, -1)  # warm-up: compile the flow, open the client (a running worker has done this)
    with ThreadPoolExecutor(threads) as pool:
        sent_at = time.time()
        futures = [pool.submit(llm_turn, url, n) for n in range(messages)]
        results = [f.result() for f in futures]
    total = time.time() - sent_at
    ok = [r for r in results if not r["llm_errors"]]
    return report(f"embedded: 1 process x {threads} threads", sent_at, ok, messages - len(ok), total)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_rq(url: str, messages: int, processes: int, threads: int, redis_url: str | None) -> float:
    from redis import Redis
    from rq import Queue, Worker
    from rq.job import Job

    started: list[subprocess.Popen] = []
    if redis_url is None:
        port = _free_port()
        started.append(subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        redis_url = f"redis://127.0.0.1:{port}/0"
    conn = Redis.from_url(redis_url)
    for _ in range(100):
        try:
            conn.ping()
            break
        except Exception:
            time.sleep(0.05)
    queue_name = f"bench-{os.getpid()}"
    queue = Queue(queue_name, connection=conn)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen([sys.executable, __file__, "--worker", "--redis-url", redis_url, "--queue", queue_name,
                          "--threads", str(threads), "--fake-url", url], cwd=ROOT, env=env)
        for _ in range(processes)
    ]
    try:
        deadline = time.time() + 30
        while Worker.count(queue=queue) < processes and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # workers warm up (flow compiled, client opened) before the burst

        sent_at = time.time()
        with conn.pipeline() as pipe:
            jobs = [queue.enqueue(JOB, url, n, pipeline=pipe) for n in range(messages)]
            pipe.execute()
        while queue.finished_job_registry.count + queue.failed_job_registry.count < messages:
            if time.time() - sent_at > 300:
                raise TimeoutError("jobs did not finish in 300 s")
            time.sleep(0.02)
        total = time.time() - sent_at
        fetched = Job.fetch_many([job.id for job in jobs], connection=conn)
        results = [job.return_value() if job is not None else None for job in fetched]
        ok = [r for r in results if r and not r["llm_errors"]]
        total = max((r["done_at"] for r in ok), default=sent_at + total) - sent_at
        return report(f"rq: {processes} processes x {threads} threads (thread-pool worker)", sent_at, ok,
                      messages - len(ok), total)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for proc in started:
            proc.terminate()
            proc.wait(timeout=10)


def worker_main(args: argparse.Namespace) -> None:
    from redis import Redis
    from rq import Queue

    from tests.runtime.concurrency_job import llm_turn

    llm_turn(args.fake_url, -1)  # warm-up, like a long-running worker
    conn = Redis.from_url(args.redis_url)
    worker = _worker_class()([Queue(args.queue, connection=conn)], connection=conn, pool_size=args.threads)
    worker.work(logging_level="WARNING")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds the fake LLM takes per reply")
    parser.add_argument("--processes", type=int, default=None,
                        help="worker processes (default: flask worker's, 2 per CPU core)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker process (default: 50)")
    default_backend = "pipeline" if shutil.which("psql") and shutil.which("redis-server") else (
        "rq" if (os.environ.get("REDIS_URL") or shutil.which("redis-server")) else "embedded")
    parser.add_argument("--backend", choices=("pipeline", "rq", "embedded"), default=default_backend,
                        help="pipeline: the real handle_inbound through `flask worker` on PostgreSQL + Redis; "
                             "rq/embedded: the LLM part of a turn only")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"), help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    parser.add_argument("--fake-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend != "pipeline" or args.worker:  # the pipeline backend leaves unset sizes to `flask worker`
        from connectors.runtime.worker import DEFAULT_THREADS, default_processes

        args.processes = args.processes or default_processes()
        args.threads = args.threads or DEFAULT_THREADS
    if args.worker:
        worker_main(args)
        return

    from tests.fakes.openai_server import FakeOpenAI

    with FakeOpenAI() as fake:
        fake.delay = args.delay
        print(f"{args.messages} conversations, one message each at the same moment; LLM delay {args.delay}s; "
              f"{os.cpu_count()} CPU cores")
        if args.backend == "pipeline":
            from bench._llm_pipeline import run_pipeline

            p95 = run_pipeline(fake.url, args.messages, args.processes, args.threads)
        elif args.backend == "rq":
            p95 = run_rq(fake.url, args.messages, args.processes, args.threads, args.redis_url)
        else:
            p95 = run_embedded(fake.url, args.messages, args.processes * args.threads)
        print(f"  fake LLM max concurrent requests: {fake.max_in_flight}")
    print("PASS" if p95 <= 3.0 else "FAIL", f"(p95 {p95:.2f}s vs target 3.00s)")


if __name__ == "__main__":
    main()
