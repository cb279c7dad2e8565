"""The `pipeline` backend of bench/llm_concurrency.py: the real thing end to end.

200 customers each send one message at the same moment; every message is stored and enqueued the way the
webhook does it, `flask worker` (as it starts by default, or with --processes P --threads T) runs
`handle_inbound` (PostgreSQL, Redis, the engine's `llm` node, the real `openai` client against a fake
answering after 1 s), and the reply is sent to a fake Instagram Graph API. Time-to-reply = the moment the
fake Graph API receives the reply − the moment the message was stored.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import cpu_split, process_cpu  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DB = f"bench_llm_pipeline_{os.getpid()}"  # per run: two runs at once must not drop each other's database
IG_ACCOUNT = "17841400000000777"


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _count(sql: str) -> int:
    done = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", sql],
                          capture_output=True, text=True, check=True)
    return int(done.stdout.strip() or 0)


def _sessions() -> int:
    """Connections PostgreSQL has accepted so far into the bench database (pg_stat_database)."""
    return _count(f"SELECT sessions FROM pg_stat_database WHERE datname = '{DB}'")


class _TimedGraph:
    """A FakeGraphAPI that also notes when each reply arrived."""

    def __new__(cls) -> Any:
        from tests.fakes.graph_api import FakeGraphAPI

        class Timed(FakeGraphAPI):
            def route(self, request: Any) -> Any:
                if request.path.endswith("/messages"):
                    self.arrivals.append((time.time(), (request.json or {}).get("recipient", {}).get("id")))
                return super().route(request)

        fake = Timed()
        fake.arrivals = []
        return fake


def _setup(env: dict[str, str], conversations: int) -> None:
    os.environ.update(env)
    from flask_migrate import upgrade

    from tests.fakes.documents import llm_answer_flow
    from webapp import create_app
    from webapp.services.channels import add_channel
    from webapp.services.flows import create_flow, publish
    from webapp.services.tenants import create_tenant

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        tenant = create_tenant("LLM bench", "PRO")
        add_channel(tenant, "instagram", external_id=IG_ACCOUNT, token="bench-token")
        publish(create_flow(tenant, "LLM bench", llm_answer_flow("LLM bench")))
        from webapp.extensions import db

        db.session.commit()


def _burst(env: dict[str, str], users: list[str]) -> float:
    from connectors.channels.events import InboundEvent
    from connectors.pipeline.ingest import ingest, route_meta_accounts
    from webapp import create_app

    app = create_app()
    with app.app_context():
        channel = route_meta_accounts("instagram", [IG_ACCOUNT])[IG_ACCOUNT]
        pairs = [(channel, InboundEvent("instagram", IG_ACCOUNT, "dm", f"mid.{u}", u, "How much is a haircut?"))
                 for u in users]
        sent_at = time.time()
        ingest(pairs, b"{}", {})  # stored and enqueued as the webhook does
    return sent_at


def _phases(env: dict[str, str], sent_at: float) -> None:
    """Where the time went, from the rows the turns wrote: claimed (locked_at), inbound stored, reply stored."""
    from sqlalchemy import text

    from webapp import create_app
    from webapp.extensions import db

    app = create_app()
    with app.app_context():
        rows = db.session.execute(text(
            "SELECT e.locked_at, i.created_at, o.created_at FROM inbound_events e "
            "JOIN messages i ON i.event_id = e.id AND i.direction = 'in' "
            "JOIN messages o ON o.event_id = e.id AND o.direction = 'out' WHERE e.user_id LIKE 'user%'")).all()
    if not rows:
        return
    claimed = sorted(r[0].timestamp() - sent_at for r in rows)
    stored = sorted(r[2].timestamp() - r[0].timestamp() for r in rows)
    mid = len(rows) // 2
    print(f"  phases: claimed by a worker after p50 {claimed[mid]:.2f}s / max {claimed[-1]:.2f}s; "
          f"claim → reply stored p50 {stored[mid]:.2f}s / max {stored[-1]:.2f}s")


def run_pipeline(fake_llm_url: str, messages: int, processes: int | None, threads: int | None) -> float:
    """`processes` / `threads`: None leaves them to `flask worker`'s defaults (its database pool too)."""
    from redis import Redis

    graph = _TimedGraph().start()
    prefix = f"benchllm{os.getpid()}-"
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
    env = {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{DB}", "REDIS_URL": redis_url,
           "QUEUE_PREFIX": prefix, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake_llm_url,
           "OPENAI_MODEL": "fake-gpt", "INSTAGRAM_GRAPH_URL": graph.url, "META_GRAPH_URL": graph.url,
           "CONNECTOR_RATELIMIT_STORAGE": "none://", "FLASK_APP": "wsgi", "APP_ENV": "development"}
    from connectors.runtime.worker import DEFAULT_THREADS, default_processes

    sizing: list[str] = []
    for flag, value in (("--processes", processes), ("--threads", threads)):
        if value:
            sizing += [flag, str(value)]
    described = " ".join(sizing) or f"(defaults: {default_processes()} processes x {DEFAULT_THREADS} threads)"
    processes, threads = processes or default_processes(), threads or DEFAULT_THREADS
    _psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    _psql(f"CREATE DATABASE {DB}")
    worker = None
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-llm-worker-", suffix=".log")  # noqa: SIM115
    try:
        _setup(env, messages)
        worker = subprocess.Popen([str(ROOT / ".venv/bin/flask"), "worker", *sizing], cwd=ROOT,
                                  env={**os.environ, **env},
                                  stdout=log, stderr=subprocess.STDOUT)
        # Warm every worker thread once (its DB connection, HTTP pools, compiled flow): the burst hits a
        # running system, not one that opens 200 connections while the customers wait.
        warm = [f"warm{n}" for n in range(processes * threads)]
        _burst(env, warm)
        deadline = time.time() + 60
        while len(graph.arrivals) < len(warm) and time.time() < deadline:
            time.sleep(0.1)
        graph.arrivals.clear()
        users = [f"user{n}" for n in range(messages)]
        print(f"  burst of {messages} messages at {time.strftime('%H:%M:%S')}", flush=True)
        sessions_before = _sessions()
        cpu_before = process_cpu()
        sent_at = _burst(env, users)
        deadline = sent_at + 120
        while len(graph.arrivals) < messages and time.time() < deadline:
            time.sleep(0.05)
        cpu = cpu_split(cpu_before, process_cpu(), worker.pid)
        opened = _sessions() - sessions_before
        held = _count(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{DB}'") - 1  # minus this query's
        kernel = cpu.pop("server kernel")
        cpu["bench (fake LLM, fake Graph API, the burst)"] = cpu_split(cpu_before, process_cpu(), os.getpid())[
            "server"] - cpu["server"]
        got = {user: at for at, user in graph.arrivals}
        latencies = sorted(got[u] - sent_at for u in users if u in got)
        missing = messages - len(latencies)
        if not latencies:
            print("  no replies arrived")
            return float("inf")
        p50 = statistics.median(latencies)
        p95 = latencies[min(len(latencies) - 1, int(round(0.95 * len(latencies))) - 1)]
        print(f"pipeline: flask worker {described} "
              f"(PostgreSQL + Redis + handle_inbound + llm node + Graph API send)")
        print(f"  replies: {len(latencies)} received by the fake Graph API, {missing} missing")
        print(f"  time-to-reply p50 {p50:.2f}s  p95 {p95:.2f}s  max {latencies[-1]:.2f}s")
        print(f"  total wall time {latencies[-1]:.2f}s  (strictly serial: {messages} s; target p95 <= 3 s)")
        _phases(env, sent_at)
        print(f"  CPU during the burst ({os.cpu_count()} cores): " + ", ".join(
            f"{'workers' if k == 'server' else k} {v:.2f}s" for k, v in cpu.items())
              + f"; workers {cpu['server'] / messages * 1e3:.1f} ms per turn "
              f"({kernel / messages * 1e3:.1f} of it in the kernel)")
        print(f"  PostgreSQL connections opened during the burst: {opened} (each costs the server a process start); "
              f"open after it: {held} (the workers' pools and the bench's own)")
        if missing:
            _explain_missing(env, users, got, log.name)
        return p95 if not missing else float("inf")
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        graph.stop()
        conn = Redis.from_url(redis_url)
        for key in conn.scan_iter(match=f"*{prefix}*"):
            conn.delete(key)
        _psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        log.close()


def _explain_missing(env: dict[str, str], users: list[str], got: dict[str, float], log_path: str) -> None:
    """What became of the events whose reply never arrived, and the worker log's warnings and errors."""
    from sqlalchemy import text

    from webapp import create_app
    from webapp.extensions import db

    lost = [u for u in users if u not in got]
    with create_app().app_context():
        rows = db.session.execute(text(
            "SELECT user_id, status, attempts, reason, error FROM inbound_events WHERE user_id = ANY(:u)"),
            {"u": lost}).all()
        outbound = db.session.execute(text(
            "SELECT c.external_user_id, m.delivery_status, m.error FROM messages m JOIN conversations v ON v.id = "
            "m.conversation_id JOIN contacts c ON c.id = v.contact_id WHERE m.direction = 'out' "
            "AND c.external_user_id = ANY(:u)"), {"u": lost}).all()
    for row in rows:
        print(f"  missing {row.user_id}: event {row.status}, attempts {row.attempts}, reason {row.reason!r}, "
              f"error {(row.error or '')[:300]!r}")
    for row in outbound:
        print(f"    reply to {row[0]}: {row[1]} {(row[2] or '')[:200]!r}")
    with open(log_path, errors="replace") as f:
        lines = [ln.rstrip() for ln in f if "WARNING" in ln or "ERROR" in ln or "Error" in ln]
    if lines:
        print("  worker log (warnings/errors, last 15):")
        for ln in lines[-15:]:
            print("    " + ln[:300])


if __name__ == "__main__":  # pragma: no cover - use bench/llm_concurrency.py
    sys.exit("run bench/llm_concurrency.py --backend pipeline")
