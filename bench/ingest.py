"""Benchmark: signed Meta webhook throughput of the real app vs. a bare Flask endpoint (same run).

    .venv/bin/python bench/ingest.py                      # defaults: gunicorn -w 2 -k gthread --threads 32,
                                                          #   wrk -t 2 -c 64, 2 s warm-up + 10 s per server
    .venv/bin/python bench/ingest.py --duration 30 --rounds 3 --connections 64

Both servers run under gunicorn with the same settings (`--workers`, `--worker-class`, `--threads`), by
default the ones docs/deploy.md gives for web processes: 2 workers (one per core) of 32 threads. A webhook
request mostly waits on PostgreSQL and Redis, and concurrent requests in a process share one INSERT, COMMIT
and enqueue (connectors/pipeline/groupcommit.py), so threads are what let a process batch:

* app:  the real application (`webapp.create_app()` with the environment below; `bench.ingest:make_real_app()`
        only adds a per-run QUEUE_PREFIX), POST /webhooks/meta: verify X-Hub-Signature-256 over the raw
        body, parse, route the account, INSERT the event and enqueue `handle_inbound` on RQ (Redis), both
        shared with the requests in flight in the same process, 200 once committed. No worker runs: the
        queue only fills up.
* bare: a tiny Flask app defined in this file whose POST /webhooks/meta reads the body and answers 200.
* floor (skip with --no-floor): the least a webhook that stores and enqueues each request on its own does,
        hand-written in this file: HMAC check, JSON parse, one INSERT ... ON CONFLICT DO NOTHING RETURNING in
        autocommit (raw psycopg), one RQ enqueue. The app batches across requests, so it can beat this.

The load generator is a separate process: `wrk` (apt package `wrk`) with a Lua script that sends
pre-generated bodies, each a single Instagram DM with a unique `mid` and its own signature, so every request
to the app stores a new event. Without wrk, `--client python` (threads with keep-alive http.client in a
child process) is used. Both servers get the same bodies; the client shares the 2 CPUs with the servers, so
the numbers are for this machine as a whole, not an upper bound of either server.

Setup and cleanup: a scratch PostgreSQL database (`createdb`, `flask db upgrade`, `dropdb`), a tenant with an
Instagram channel made by `webapp.cli.create_tenant` + `webapp.services.channels.add_channel`, Redis db 5
(`--redis-url`) with a per-run queue prefix whose keys are deleted at the end.

Prints requests/s, p50/p99 latency for both and the ratio app/bare. Target: ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    DEFAULT_PG,
    DEFAULT_REDIS,
    ROOT,
    VENV_BIN,
    Child,
    app_env,
    clean_redis,
    cpu_split,
    free_port,
    ig_dm_body,
    percentile,
    process_cpu,
    queue_prefix,
    say,
    scratch_database,
    setup_tenant,
    signature,
    wait_http,
)

TARGET = 0.5

WRK_SCRIPT = r"""
-- Sends pre-generated signed bodies: line = "<signature>\t<body>"; thread k takes lines k, k+T, k+2T, ...
local threads, counter = {}, 0
local reqs, n, i = {}, 0, 0
wraps = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  local k = 0
  for line in io.lines(path) do
    if k % nthreads == id then
      local tab = line:find("\t", 1, true)
      n = n + 1
      reqs[n] = wrk.format("POST", nil, {["Content-Type"] = "application/json",
                                         ["X-Hub-Signature-256"] = line:sub(1, tab - 1)}, line:sub(tab + 1))
    end
    k = k + 1
  end
end

function request()
  i = i + 1
  if i > n then
    i = 1
    wraps = wraps + 1
  end
  return reqs[i]
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + (t:get("wraps") or 0) end
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests": %d, "duration_s": %.6f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.3f, "bad_status": %d, "socket_errors": %d, "timeouts": %d, "wraps": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, e.status, e.connect + e.read + e.write, e.timeout, w))
end
"""


# --- the two WSGI apps (imported by gunicorn as bench.ingest:make_*_app()) ---------------------------

def make_bare_app() -> Any:
    from flask import Flask, jsonify, request

    app = Flask("bare")

    @app.post("/webhooks/meta")
    def meta() -> Any:
        request.get_data()
        return jsonify(ok=True)

    return app


FLOOR_INSERT = (
    "WITH d AS (INSERT INTO webhook_deliveries (raw_body, headers, created_at) VALUES (%s, '{}'::jsonb, now()) "
    "RETURNING id) INSERT INTO inbound_events (tenant_id, channel_id, external_id, kind, user_id, parsed, status, "
    "attempts, created_at, delivery_id) SELECT %s, %s, %s, 'dm', %s, %s::jsonb, 'queued', 0, now(), d.id FROM d "
    "ON CONFLICT (channel_id, external_id) DO NOTHING RETURNING id")


def make_floor_app() -> Any:
    """The least the webhook must do, hand-written: HMAC check, JSON parse, one INSERT in autocommit (raw
    psycopg, a connection per thread, no pool ping), one RQ enqueue. Same table, same unique key."""
    import hashlib
    import hmac

    import psycopg
    from flask import Flask, jsonify, request
    from redis import Redis
    from rq import Queue

    url, secret = os.environ["DATABASE_URL"], os.environ["INSTAGRAM_APP_SECRET"].encode()
    tenant_id, channel_id = int(os.environ["BENCH_TENANT_ID"]), int(os.environ["BENCH_CHANNEL_ID"])
    queue = Queue(os.environ["BENCH_QUEUE_PREFIX"] + "floor", connection=Redis.from_url(os.environ["REDIS_URL"]))
    local = threading.local()
    app = Flask("floor")

    @app.post("/webhooks/meta")
    def meta() -> Any:
        raw = request.get_data()
        expected = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
            return jsonify(error="bad signature"), 401
        item = json.loads(raw)["entry"][0]["messaging"][0]
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(url, autocommit=True)
        row = conn.execute(FLOOR_INSERT, (raw.decode(), tenant_id, channel_id, item["message"]["mid"],
                                          item["sender"]["id"], json.dumps(item))).fetchone()
        if row is not None:
            queue.enqueue("bench._common.noop", row[0])
        return jsonify(ok=True, stored=int(row is not None))

    return app


def make_real_app() -> Any:
    """webapp.create_app() exactly as wsgi.py builds it, plus this run's QUEUE_PREFIX."""
    from webapp import create_app
    from webapp.config import Config

    cfg = Config()
    cfg.QUEUE_PREFIX = os.environ.get("BENCH_QUEUE_PREFIX", "")  # type: ignore[attr-defined]
    return create_app(cfg)


# --- load generation ---------------------------------------------------------------------------------

def write_bodies(path: Path, count: int, tag: str) -> None:
    """`count` unique signed single-DM bodies, one "<signature>\\t<body>" per line."""
    with open(path, "wb") as out:
        for k in range(count):
            raw = ig_dm_body(f"9{k % 5000:07d}", f"m_{tag}_{k}", f"Hello, how much is item {k}?")
            out.write(signature(raw).encode() + b"\t" + raw + b"\n")


def run_wrk(port: int, bodies: Path, args: argparse.Namespace, duration: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        argv = ["wrk", "-t", str(args.client_threads), "-c", str(args.connections), "-d", f"{duration:g}s",
                "--timeout", "10s", "-s", script.name, f"http://127.0.0.1:{port}/webhooks/meta", "--",
                str(bodies), str(args.client_threads)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(script.name)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-1500:]}{done.stderr[-1500:]}")


def python_loadgen(port: int, bodies_path: str, connections: int, duration: float) -> None:
    """Child-process mode of --client python: keep-alive http.client threads; prints BENCH_JSON."""
    import http.client

    lines = Path(bodies_path).read_bytes().splitlines()
    stop_at = time.monotonic() + duration
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    bad = [0] * connections
    wraps = [0] * connections

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = lines[slot::connections] or lines
        i = 0
        while time.monotonic() < stop_at:
            if i >= len(mine):
                i, wraps[slot] = 0, wraps[slot] + 1
            sig, _, body = mine[i].partition(b"\t")
            i += 1
            started = time.perf_counter()
            try:
                conn.request("POST", "/webhooks/meta", body=body, headers={
                    "Content-Type": "application/json", "X-Hub-Signature-256": sig.decode()})
                resp = conn.getresponse()
                resp.read()
            except OSError:
                errors[slot] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            latencies[slot].append(time.perf_counter() - started)
            if resp.status >= 300:
                bad[slot] += 1
        conn.close()

    began = time.monotonic()
    workers = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=duration + 30)
    elapsed = time.monotonic() - began
    flat = [x for per in latencies for x in per]
    print("BENCH_JSON " + json.dumps({
        "requests": len(flat), "duration_s": elapsed, "p50_ms": percentile(flat, 50) * 1e3,
        "p99_ms": percentile(flat, 99) * 1e3, "max_ms": max(flat, default=0) * 1e3, "bad_status": sum(bad),
        "socket_errors": sum(errors), "timeouts": 0, "wraps": sum(wraps)}), flush=True)


def run_python_client(port: int, bodies: Path, args: argparse.Namespace, duration: float) -> dict[str, Any]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--_loadgen", str(port), str(bodies),
            str(args.connections), str(duration)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 90, cwd=str(ROOT))
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise RuntimeError(f"python load generator failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")


def load(port: int, bodies: Path, args: argparse.Namespace, duration: float, server: Child | None = None
         ) -> dict[str, Any]:
    before = process_cpu()
    result = (run_wrk if args.client == "wrk" else run_python_client)(port, bodies, args, duration)
    result["rps"] = result["requests"] / result["duration_s"] if result["duration_s"] else 0.0
    if server is not None and result["requests"]:
        split = cpu_split(before, process_cpu(), server.proc.pid)
        split.pop("server kernel")
        result["cpu_us"] = {k: v / result["requests"] * 1e6 for k, v in split.items()}
    return result


# --- servers -------------------------------------------------------------------------------------------

def gunicorn(target: str, port: int, env: dict[str, str], args: argparse.Namespace, log: Path) -> Child:
    argv = [str(VENV_BIN / "gunicorn"), "--workers", str(args.workers), "--worker-class", args.worker_class,
            "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT),
            "--log-level", "warning", "--backlog", "2048", target]
    child = Child(argv, env=env, log_path=log)
    try:
        wait_http(port, timeout=60, proc=child.proc)
    except Exception:
        child.stop()
        raise RuntimeError(f"gunicorn {target} did not start; log:\n{log.read_text()[-3000:]}") from None
    return child


def app_counts(database_url: str, redis_url: str, prefix: str) -> tuple[int, int, int]:
    """(events stored by the app's rounds, jobs waiting on the app's RQ queues, events stored by the floor)."""
    from redis import Redis
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            stored = int(conn.execute(text("SELECT count(*) FROM inbound_events WHERE external_id LIKE 'm_r%'"))
                         .scalar() or 0)
            floor = int(conn.execute(text("SELECT count(*) FROM inbound_events WHERE external_id LIKE 'm_f%'"))
                        .scalar() or 0)
    finally:
        engine.dispose()
    redis = Redis.from_url(redis_url)
    try:
        queued = sum(int(redis.llen(f"rq:queue:{prefix}{p}")) for p in ("high", "default", "low"))
    finally:
        redis.close()
    return stored, queued, floor


def profile_in_process(database_url: str, prefix: str, args: argparse.Namespace) -> str:
    """cProfile of the real app's webhook route in this process (Flask test client, same DB and Redis)."""
    import cProfile

    from bench._common import Counters, StatementSites, make_app, profile_report
    from webapp.extensions import db

    app = make_app(database_url, args.redis_url, prefix)
    client = app.test_client()
    n = args.profile_requests
    total = 50 + 2 * n
    requests_ = []
    for k in range(total):
        raw = ig_dm_body(f"8{k % 5000:07d}", f"m_prof_{k}", f"Hello, how much is item {k}?")
        requests_.append((raw, {"Content-Type": "application/json", "X-Hub-Signature-256": signature(raw)}))
    with app.app_context():
        counters = Counters(db.engine)
    for raw, headers in requests_[:50]:  # warm-up
        client.post("/webhooks/meta", data=raw, headers=headers)
    before = counters.snapshot()
    started, cpu = time.perf_counter(), time.process_time()
    for raw, headers in requests_[50:50 + n]:  # unprofiled: the real per-request cost in one thread
        client.post("/webhooks/meta", data=raw, headers=headers)
    plain_wall, plain_cpu = time.perf_counter() - started, time.process_time() - cpu
    after = counters.snapshot()
    profile = cProfile.Profile(time.process_time) if args.profile_clock == "cpu" else cProfile.Profile()
    with app.app_context():
        sites = StatementSites(db.engine)
    started = time.perf_counter()
    with sites:
        profile.enable()
        for raw, headers in requests_[50 + n:]:
            response = client.post("/webhooks/meta", data=raw, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"webhook answered {response.status_code}: {response.get_data(as_text=True)}")
        profile.disable()
    wall = time.perf_counter() - started
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if args.profile_out:
        profile.dump_stats(args.profile_out)
    return (f"in-process webhook, one thread, no profiler: {plain_wall / n * 1e3:.2f} ms wall, "
            f"{plain_cpu / n * 1e3:.2f} ms CPU per request; {Counters.describe(before, after, n, 'req')}\n"
            + sites.report(n, "req") + profile_report(profile, n, "req", args.top, wall, args.profile_clock))


def fmt(name: str, r: dict[str, Any]) -> str:
    extra = []
    if r["bad_status"]:
        extra.append(f"non-2xx {r['bad_status']}")
    if r["socket_errors"] or r["timeouts"]:
        extra.append(f"socket errors {r['socket_errors']}, timeouts {r['timeouts']}")
    if r["wraps"]:
        extra.append(f"bodies reused {r['wraps']}x (use --bodies)")
    cpu = r.get("cpu_us")
    if cpu:
        extra.append(f"CPU/req: gunicorn {cpu['server']:.0f} us, PostgreSQL {cpu['postgres']:.0f} us, "
                     f"Redis {cpu['redis']:.0f} us")
    return (f"  {name:<5} {r['rps']:9.1f} req/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms   "
            f"({r['requests']} requests in {r['duration_s']:.1f} s{'; ' + '; '.join(extra) if extra else ''})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per server per round")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per server first")
    parser.add_argument("--rounds", type=int, default=1, help="alternate bare/app this many times (median)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (both servers)")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (both servers)")
    parser.add_argument("--threads", type=int, default=32, help="gunicorn threads per worker (both servers)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent keep-alive client connections")
    parser.add_argument("--client-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--client", choices=("wrk", "python"), default=None,
                        help="load generator (default: wrk when installed, else python)")
    parser.add_argument("--bodies", type=int, default=0,
                        help="unique bodies per round (default: 6000 per measured second)")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server (a scratch DB is created)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="Redis URL incl. a db number of its own")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the third server (hand-written minimum: HMAC, 1 INSERT, 1 RQ enqueue)")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, cProfile the real app's webhook in-process (test client) and print hotspots")
    parser.add_argument("--profile-requests", type=int, default=300, help="requests in the profiled pass")
    parser.add_argument("--profile-clock", choices=("wall", "cpu"), default="wall",
                        help="profile wall time (includes waiting on PostgreSQL/Redis) or CPU time")
    parser.add_argument("--profile-out", metavar="PATH", help="also write the pstats file there")
    parser.add_argument("--top", type=int, default=25, help="rows per profile table")
    parser.add_argument("--keep-logs", action="store_true", help="keep the gunicorn logs (path printed)")
    parser.add_argument("--_loadgen", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._loadgen:
        port, path, conns, duration = args._loadgen
        python_loadgen(int(port), path, int(conns), float(duration))
        return 0
    if args.client is None:
        from shutil import which

        args.client = "wrk" if which("wrk") else "python"
    bodies_per_round = args.bodies or int(6000 * args.duration)

    prefix = queue_prefix("ingest")
    db_name = f"bench_ingest_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    children: list[Child] = []
    bare_runs: list[dict[str, Any]] = []
    app_runs: list[dict[str, Any]] = []
    floor_runs: list[dict[str, Any]] = []
    prof_text = ""
    try:
        with scratch_database(args.pg_url, db_name) as database_url:
            from bench._common import make_app

            ids = setup_tenant(make_app(database_url, None, prefix), plan="PRO")
            files = args.rounds * (1 if args.no_floor else 2)
            say(f"generating {bodies_per_round * files} signed bodies")
            write_bodies(workdir / "warmup.txt", max(1000, int(3000 * args.warmup)), "warm")
            for r in range(args.rounds):
                write_bodies(workdir / f"round{r}.txt", bodies_per_round, f"r{r}")
                if not args.no_floor:  # the floor stores events too: bodies of its own
                    write_bodies(workdir / f"floor{r}.txt", bodies_per_round, f"f{r}")
            env = app_env(database_url, args.redis_url, BENCH_QUEUE_PREFIX=prefix,
                          BENCH_TENANT_ID=str(ids["tenant_id"]), BENCH_CHANNEL_ID=str(ids["channel_id"]))
            ports = {"bare": free_port(), "app": free_port(), "floor": free_port()}
            servers = ["bare", "app"] + ([] if args.no_floor else ["floor"])
            say(f"starting gunicorn (-w {args.workers} -k {args.worker_class} --threads {args.threads}) "
                f"x{len(servers)}")
            by_name: dict[str, Child] = {}
            for name in servers:
                target = f"bench.ingest:make_{'real' if name == 'app' else name}_app()"
                by_name[name] = gunicorn(target, ports[name], env, args, workdir / f"{name}.log")
                children.append(by_name[name])
            if args.warmup > 0:
                say("warm-up")
                for name in servers:  # the floor's warm-up bodies hit the unique key: it stores nothing then
                    load(ports[name], workdir / "warmup.txt", args, args.warmup)
            stored_before, queued_before, _ = app_counts(database_url, args.redis_url, prefix)
            for r in range(args.rounds):
                say(f"round {r + 1}/{args.rounds}: bare")
                bare_runs.append(load(ports["bare"], workdir / f"round{r}.txt", args, args.duration,
                                      by_name["bare"]))
                say(f"round {r + 1}/{args.rounds}: app")
                app_runs.append(load(ports["app"], workdir / f"round{r}.txt", args, args.duration,
                                      by_name["app"]))
                if not args.no_floor:
                    say(f"round {r + 1}/{args.rounds}: floor")
                    floor_runs.append(load(ports["floor"], workdir / f"floor{r}.txt", args, args.duration,
                                           by_name["floor"]))
            time.sleep(0.5)
            stored, queued, floor_stored = app_counts(database_url, args.redis_url, prefix)
            for child in children:
                child.stop()
            children.clear()
            if args.profile:
                say(f"profiling {args.profile_requests} webhook requests in-process")
                prof_text = profile_in_process(database_url, prefix, args)
    finally:
        for child in children:
            child.stop()
        removed = clean_redis(args.redis_url, prefix)
        say(f"removed {removed} Redis keys of prefix {prefix}")
        if not args.keep_logs:
            for f in workdir.iterdir():
                f.unlink()
            workdir.rmdir()
        else:
            say(f"logs kept in {workdir}")

    app_2xx = sum(r["requests"] - r["bad_status"] for r in app_runs)
    client = f"{args.client_threads} threads" if args.client == "wrk" else "one process, a thread per connection"
    print(f"ingest benchmark: gunicorn --workers {args.workers} --worker-class {args.worker_class} "
          f"--threads {args.threads} for every server; client {args.client} ({client}, {args.connections} "
          f"keep-alive connections); {args.duration:g} s per server per round, {args.rounds} round(s); "
          f"{os.cpu_count()} CPUs")
    for r, (bare, app) in enumerate(zip(bare_runs, app_runs, strict=True)):
        print(f"round {r + 1}:")
        print(fmt("bare", bare))
        print(fmt("app", app))
        if floor_runs:
            print(fmt("floor", floor_runs[r]))
        print(f"  ratio app/bare {app['rps'] / bare['rps']:.2f}"
              + (f", floor/bare {floor_runs[r]['rps'] / bare['rps']:.2f}" if floor_runs else "")
              + (f"; by CPU per request (gunicorn + PostgreSQL + Redis, robust to other load on the machine): "
                 f"{sum(bare['cpu_us'].values()) / sum(app['cpu_us'].values()):.2f}"
                 if bare.get("cpu_us") and app.get("cpu_us") else ""))
    print(f"app side effects: {stored - stored_before} events stored, {queued - queued_before} jobs enqueued, "
          f"for {app_2xx} 2xx responses (should match, give or take requests in flight at the end)"
          + (f"; floor stored {floor_stored} for {sum(r['requests'] for r in floor_runs)} requests" if floor_runs
             else ""))
    bare_rps = statistics.median(r["rps"] for r in bare_runs)
    app_rps = statistics.median(r["rps"] for r in app_runs)
    ratio = app_rps / bare_rps if bare_rps else 0.0
    print(f"RESULT bare {bare_rps:.1f} req/s (p50 {statistics.median(r['p50_ms'] for r in bare_runs):.2f} ms, "
          f"p99 {statistics.median(r['p99_ms'] for r in bare_runs):.2f} ms) | app {app_rps:.1f} req/s "
          f"(p50 {statistics.median(r['p50_ms'] for r in app_runs):.2f} ms, "
          f"p99 {statistics.median(r['p99_ms'] for r in app_runs):.2f} ms) | ratio app/bare {ratio:.2f} "
          f"(target >= {TARGET}: {'met' if ratio >= TARGET else 'NOT met'})"
          + (f" | floor {statistics.median(r['rps'] for r in floor_runs):.1f} req/s, floor/bare "
             f"{statistics.median(r['rps'] for r in floor_runs) / bare_rps:.2f}" if floor_runs else ""))
    if prof_text:
        print(prof_text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
