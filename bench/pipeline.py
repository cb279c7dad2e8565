"""Benchmark: messages/second through `handle_inbound` in one worker process vs. RQ's no-op jobs (same run).

    .venv/bin/python bench/pipeline.py                        # defaults: 60 contacts x 4 turns = 240 msgs
    .venv/bin/python bench/pipeline.py --contacts 250 --rounds 3
    .venv/bin/python bench/pipeline.py --profile              # + cProfile of the pipeline pass (hotspots)
    .venv/bin/python bench/pipeline.py --flow llm --no-floor  # every message through the `llm` node instead

Both passes use the same worker class over the three priority queues, built as connectors/worker.py does,
in burst mode, in this one process, logging at WARNING: `rq.SimpleWorker` (default, one job at a time) or
`--worker threadpool`: `connectors.runtime.worker.ThreadPoolWorker` (what `flask worker` runs) with `--threads`.
A pass is timed from its first dequeue to its last finished job (the worker's start-up and shutdown, fixed
per burst, are left out).

* noop:     N pre-enqueued jobs `bench._common.noop(i)` — RQ's own per-job cost (dequeue, job hash, registries,
            result) with nothing inside.
* pipeline: N pre-stored and pre-enqueued Instagram DMs (stored and enqueued by the real
            `connectors.pipeline.ingest.ingest()`, exactly as the webhook does), each run by
            `connectors.runtime.jobs.handle_inbound(event_id)`: claim, per-contact lock, conversation, engine step
            on the published `lead_capture` template (no LLM), messages/usage/lead in one transaction, then
            every reply sent over HTTP to a loopback `FakeGraphAPI` running in a child process (with TCP_NODELAY
            on its handler: as shipped, the fake's two-write responses stall ~40 ms per send on Nagle +
            delayed ACK; `--fake-nagle` keeps that to compare).

Each contact sends the lead_capture conversation ("hello" → greeting + name question, name → phone
question, phone → confirmation, "Yes" → lead + notification + thanks): `--turns` (1..4) messages each,
queued turn by turn so one person's messages are in order. A warm-up (a few contacts and no-ops, not
measured) runs first, so imports, connection pools and the compiled-flow cache are warm.

Config for the measured app: PostgreSQL (scratch database, created and dropped), Redis db 5 (`--redis-url`)
with a per-run queue prefix (keys deleted at the end), `CONNECTOR_RATELIMIT_STORAGE=none://` (our outbound
rate limiter does not cap the run), connector URLs at the fake. The plan's monthly message cap is lifted
in the scratch database.

A third pass, `floor` (skip with --no-floor), runs `bench._common.floor_job` on the same events with the same
worker: one UPDATE ... RETURNING in autocommit (raw psycopg) and one POST to the fake — the least any
implementation of "load the event, answer it over HTTP" does, so floor/noop is the ceiling of the ratio here.

`--flow llm` replaces lead_capture with a flow whose every turn is an `llm` node (the real `openai` client
against tests/fakes/openai_server.py in a child process, answering at once): the worker CPU per message is
then the CPU of an AI turn, which is what bench/llm_concurrency.py's burst is made of.

Prints msgs/s for both, the ratio pipeline/noop (target >= 0.7), SQL statements, commits and HTTP sends
per message, and with --profile the top functions of our code per message (the profiled pass always runs
on SimpleWorker: cProfile only sees the thread that enables it).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    DEFAULT_PG,
    DEFAULT_REDIS,
    IG_ACCOUNT,
    ROOT,
    Child,
    Counters,
    StatementSites,
    clean_redis,
    cpu_split,
    ig_dm_body,
    make_app,
    process_cpu,
    profile_report,
    queue_prefix,
    say,
    scratch_database,
    setup_tenant,
    signature,
)

TARGET = 0.7
TURNS = ("hello", "Anna", "+1 202 555 0143", "Yes")
NOOP = "bench._common.noop"
FLOOR = "bench._common.floor_job"

FAKE_SERVER = r"""
import signal, sys, threading
sys.path.insert(0, sys.argv[1])
from tests.fakes.graph_api import FakeGraphAPI

fake = FakeGraphAPI()
# The fake's handler writes headers and body in two send()s; with Nagle on, each response then waits for the
# client's delayed ACK (~40 ms on Linux). Real Graph API responses do not stall like that, so turn it off.
fake._httpd.RequestHandlerClass.disable_nagle_algorithm = sys.argv[3] == "nodelay"
fake.start()
print(fake.url, flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait(float(sys.argv[2]))
fake.stop()
"""


FAKE_LLM = r"""
import sys, threading
sys.path.insert(0, sys.argv[1])
from tests.fakes.openai_server import FakeOpenAI

fake = FakeOpenAI().start()  # answers at once: the pass measures our CPU per LLM turn, not a model's delay
print(fake.url, flush=True)
threading.Event().wait(float(sys.argv[2]))
"""


def start_fake_llm(lifetime: float) -> tuple[Child, str]:
    """The OpenAI-compatible fake in a child process (--flow llm), like the Graph API fake."""
    import subprocess

    child = Child([sys.executable, "-c", FAKE_LLM, str(ROOT), str(lifetime)], stdout=subprocess.PIPE)
    url = child.proc.stdout.readline().decode().strip() if child.proc.stdout else ""
    if not url.startswith("http"):
        child.stop()
        raise RuntimeError("the fake OpenAI server did not start")
    return child, url


def publish_llm_flow(app: Any, tenant_id: int) -> None:
    """--flow llm: the tenant answers every message with the engine's `llm` node (tests' llm_answer_flow)."""
    from tests.fakes.documents import llm_answer_flow
    from webapp.extensions import db
    from webapp.models import Flow, Tenant
    from webapp.services.flows import create_flow, publish

    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        tenant.profile = {"niche": "beauty salon", "faq": [{"q": "How much is a haircut?", "a": "From 30 EUR."}]}
        for flow in db.session.query(Flow).filter_by(tenant_id=tenant_id):
            flow.published_version_id = None
        publish(create_flow(tenant, "LLM answers", llm_answer_flow("LLM answers")))
        db.session.commit()
        db.session.remove()


def start_fake(lifetime: float, nagle: bool) -> tuple[Child, str]:
    """FakeGraphAPI in a child process (its threads do not share this worker's GIL); ends by itself."""
    import subprocess

    argv = [sys.executable, "-c", FAKE_SERVER, str(ROOT), str(lifetime), "nagle" if nagle else "nodelay"]
    child = Child(argv, stdout=subprocess.PIPE)
    url = child.proc.stdout.readline().decode().strip() if child.proc.stdout else ""
    if not url.startswith("http"):
        child.stop()
        raise RuntimeError("the fake Graph API did not start")
    return child, url


def store_events(app: Any, contacts: range, turns: int, tag: str) -> list[int]:
    """Sign, parse, route, store and enqueue one DM per contact per turn with the webhook's own code."""
    from connectors.channels.meta import parse_meta_payload
    from connectors.pipeline.ingest import ingest, route_meta_accounts
    from webapp.extensions import db

    ids: list[int] = []
    with app.app_context():
        for turn in range(turns):
            for c in contacts:
                raw = ig_dm_body(f"7{c:08d}", f"m_{tag}_{c}_{turn}", TURNS[turn])
                headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature(raw)}
                events = parse_meta_payload(raw)
                route = route_meta_accounts("instagram", {IG_ACCOUNT})
                result = ingest([(route[e.account_id], e) for e in events], raw, headers)
                if result["queued"] != 1:
                    raise RuntimeError(f"event not stored+queued: {result}")
        from sqlalchemy import select

        from webapp.models import InboundEvent

        ids = list(db.session.scalars(select(InboundEvent.id).where(InboundEvent.external_id.like(f"m_{tag}_%"))))
        db.session.remove()
    return ids


def enqueue_noops(app: Any, count: int) -> None:
    from connectors.runtime.queue import get_queue

    queue = get_queue(app)
    for i in range(count):
        queue.enqueue(NOOP, i, priority="high")


def enqueue_floor(app: Any, event_ids: list[int]) -> None:
    from connectors.runtime.queue import get_queue

    queue = get_queue(app)
    for event_id in event_ids:
        queue.enqueue(FLOOR, event_id, priority="high")


def timed(cls: type) -> type:
    """`cls` recording when the first job was dequeued and when the last one finished (monotonic), so the
    measurement excludes the worker's own start-up and shutdown (registration, pub/sub thread, maintenance),
    which is fixed per burst and would otherwise dilute small passes."""

    class Timed(cls):  # type: ignore[misc, valid-type]
        first_dequeue: float | None = None
        last_done: float | None = None

        def dequeue_job_and_maintain_ttl(self, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = super().dequeue_job_and_maintain_ttl(*args, **kwargs)
            if result is not None and self.first_dequeue is None:
                self.first_dequeue = started
            return result

        def perform_job(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().perform_job(*args, **kwargs)
            finally:
                self.last_done = time.perf_counter()

    Timed.__name__ = cls.__name__
    return Timed


def make_worker(app: Any, kind: str, threads: int) -> Any:
    """The worker class under test over our three priority queues, built as connectors/worker.py does."""
    from rq import Queue, SimpleWorker

    from connectors.runtime.queue import PRIORITIES, get_queue

    connection = get_queue(app).connection  # type: ignore[attr-defined]
    queues = [Queue(app.config["QUEUE_PREFIX"] + p, connection=connection) for p in PRIORITIES]
    if kind == "threadpool":
        from connectors.runtime.worker import ThreadPoolWorker  # type: ignore[attr-defined]

        return timed(ThreadPoolWorker)(queues, connection=connection, pool_size=threads)
    return timed(SimpleWorker)(queues, connection=connection)


def run_worker(app: Any, args: argparse.Namespace, profile: cProfile.Profile | None = None
               ) -> tuple[float, float, float]:
    """One burst of a fresh worker (outside any app context, like the worker process).

    Returns (seconds from the first dequeue to the last finished job, CPU seconds of this process over the
    whole burst: user + system, all threads, CPU seconds of the PostgreSQL and Redis servers meanwhile)."""
    import resource

    worker = make_worker(app, args.worker, args.threads)
    servers0 = process_cpu()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    if profile is not None:
        profile.enable()
    worker.work(burst=True, logging_level="WARNING")
    if profile is not None:
        profile.disable()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    split = cpu_split(servers0, process_cpu(), os.getpid())
    if worker.first_dequeue is None or worker.last_done is None:
        raise RuntimeError("the worker ran no job")
    return (worker.last_done - worker.first_dequeue, usage.ru_utime + usage.ru_stime - cpu0,
            split["postgres"] + split["redis"])


def outcome(app: Any, event_ids: list[int]) -> dict[str, Any]:
    """Statuses of the processed events and of their outbound messages."""
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import InboundEvent, Message

    with app.app_context():
        events = dict(db.session.execute(select(InboundEvent.status, func.count()).where(
            InboundEvent.id.in_(event_ids)).group_by(InboundEvent.status)).all())
        sent = dict(db.session.execute(select(Message.delivery_status, func.count()).where(
            Message.event_id.in_(event_ids), Message.direction == "out").group_by(Message.delivery_status)).all())
        errors = list(db.session.scalars(select(InboundEvent.error).where(
            InboundEvent.id.in_(event_ids), InboundEvent.error.is_not(None)).limit(3)))
        db.session.remove()
    return {"events": events, "outbound": sent, "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=60, help="contacts per round (messages = contacts x turns)")
    parser.add_argument("--turns", type=int, default=4, choices=range(1, len(TURNS) + 1),
                        help="lead_capture turns per contact (1-4)")
    parser.add_argument("--rounds", type=int, default=1, help="noop/pipeline pairs (median reported)")
    parser.add_argument("--warmup-contacts", type=int, default=5, help="unmeasured contacts first")
    parser.add_argument("--flow", choices=("lead_capture", "llm"), default="lead_capture",
                        help="lead_capture (no LLM: the target's flow) or llm: every message through the `llm` "
                             "node and the real openai client against a fake answering at once (CPU per AI turn)")
    parser.add_argument("--worker", choices=("simple", "threadpool"), default="simple",
                        help="worker class for both passes: rq.SimpleWorker (one job at a time) or "
                             "connectors.runtime.worker.ThreadPoolWorker (the `flask worker` class, --threads jobs "
                             "at once)")
    parser.add_argument("--threads", type=int, default=8, help="ThreadPoolWorker pool size")
    parser.add_argument("--fake-nagle", action="store_true",
                        help="leave Nagle on in the fake's handler as tests/fakes/server.py has it (each send then "
                             "stalls ~40 ms on delayed ACK); by default the bench sets TCP_NODELAY on it")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the floor pass (a hand-written job doing one UPDATE..RETURNING and one POST)")
    parser.add_argument("--profile", action="store_true", help="cProfile one extra pipeline pass; print hotspots")
    parser.add_argument("--profile-clock", choices=("wall", "cpu"), default="wall",
                        help="profile wall time (includes waiting on the DB/HTTP) or this process's CPU time")
    parser.add_argument("--profile-out", metavar="PATH", help="also write the pstats file there (snakeviz, pstats)")
    parser.add_argument("--top", type=int, default=25, help="rows per profile table")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server (a scratch DB is created)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="Redis URL incl. a db number of its own")
    args = parser.parse_args()
    messages = args.contacts * args.turns

    prefix = queue_prefix("pipeline")
    db_name = f"bench_pipeline_{os.getpid()}"
    results: list[dict[str, Any]] = []
    fake: Child | None = None
    fake_llm: Child | None = None
    app: Any = None
    prof_lines = ""
    try:
        with scratch_database(args.pg_url, db_name) as database_url:
            fake, fake_url = start_fake(lifetime=600, nagle=args.fake_nagle)
            config = {"META_GRAPH_URL": fake_url, "INSTAGRAM_GRAPH_URL": fake_url, "CONNECTOR_TIMEOUT": 5.0,
                      "CONNECTOR_RATELIMIT_STORAGE": "none://", "RATELIMIT_STORAGE_URI": "memory://"}
            if args.flow == "llm":
                fake_llm, llm_url = start_fake_llm(lifetime=600)
                config.update(OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=llm_url, OPENAI_MODEL="fake-gpt")
            app = make_app(database_url, args.redis_url, prefix, **config)
            os.environ.update(BENCH_FLOOR_DB=database_url, BENCH_FLOOR_URL=fake_url)
            tenant_ids = setup_tenant(app, plan="PRO", templates=("lead_capture",))
            if args.flow == "llm":
                publish_llm_flow(app, tenant_ids["tenant_id"])
            from connectors.runtime import jobs
            from webapp.extensions import db

            jobs.bind_app(app)
            with app.app_context():
                counters = Counters(db.engine)

            say(f"warm-up: {args.warmup_contacts} contacts x {args.turns} turns + no-ops")
            warm = store_events(app, range(args.warmup_contacts), args.turns, "warm")
            enqueue_noops(app, len(warm))
            if not args.no_floor:
                enqueue_floor(app, warm)
            run_worker(app, args)
            warm_outcome = outcome(app, warm)
            if warm_outcome["events"].get("done") != len(warm):
                raise RuntimeError(f"warm-up events not all done: {warm_outcome}")

            next_contact = args.warmup_contacts
            for r in range(args.rounds):
                say(f"round {r + 1}/{args.rounds}: {messages} no-op jobs")
                enqueue_noops(app, messages)
                noop_s, noop_cpu, noop_srv = run_worker(app, args)
                say(f"round {r + 1}/{args.rounds}: {messages} inbound events")
                ids = store_events(app, range(next_contact, next_contact + args.contacts), args.turns, f"r{r}")
                next_contact += args.contacts
                before = counters.snapshot()
                pipe_s, pipe_cpu, pipe_srv = run_worker(app, args)
                after = counters.snapshot()
                results.append({"noop_s": noop_s, "pipe_s": pipe_s, "noop_cpu": noop_cpu, "pipe_cpu": pipe_cpu,
                                "noop_srv": noop_srv, "pipe_srv": pipe_srv,
                                "outcome": outcome(app, ids), "db": Counters.describe(before, after, messages, "msg")})
                if not args.no_floor:
                    say(f"round {r + 1}/{args.rounds}: {messages} floor jobs")
                    enqueue_floor(app, ids)
                    results[-1]["floor_s"], results[-1]["floor_cpu"], _ = run_worker(app, args)

            if args.profile:
                say(f"profiled pass: {messages} inbound events")
                ids = store_events(app, range(next_contact, next_contact + args.contacts), args.turns, "prof")
                profile = cProfile.Profile(time.process_time) if args.profile_clock == "cpu" else cProfile.Profile()
                with app.app_context():
                    sites = StatementSites(db.engine)
                with sites:
                    simple = argparse.Namespace(**{**vars(args), "worker": "simple"})
                    wall, _cpu, _srv = run_worker(app, simple, profile)
                if args.profile_out:
                    profile.dump_stats(args.profile_out)
                prof_lines = (sites.report(len(ids), "msg")
                              + profile_report(profile, len(ids), "msg", args.top, wall, args.profile_clock))
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        for child in (fake, fake_llm):
            if child is not None:
                child.stop()
        removed = clean_redis(args.redis_url, prefix)
        say(f"removed {removed} Redis keys of prefix {prefix}")

    worker = ("rq.SimpleWorker" if args.worker == "simple"
              else f"connectors.runtime.worker.ThreadPoolWorker(pool_size={args.threads})")
    print(f"pipeline benchmark: one process, {worker} burst over 3 priority queues; {args.contacts} "
          f"contacts x {args.turns} turns = {messages} messages per pass; {args.flow} flow, PostgreSQL, Redis, "
          f"FakeGraphAPI{' and FakeOpenAI' if args.flow == 'llm' else ''} child process; {os.cpu_count()} CPUs")
    for r, res in enumerate(results):
        noop_rate, pipe_rate = messages / res["noop_s"], messages / res["pipe_s"]
        out = res["outcome"]
        sends = sum(out["outbound"].values())
        print(f"round {r + 1}: noop {noop_rate:8.1f} jobs/s ({res['noop_s'] * 1e3 / messages:.2f} ms/job)   "
              f"pipeline {pipe_rate:8.1f} msgs/s ({res['pipe_s'] * 1e3 / messages:.2f} ms/msg)   "
              f"ratio {pipe_rate / noop_rate:.2f}")
        print(f"  worker-process CPU (whole burst, incl. worker start-up): noop "
              f"{res['noop_cpu'] * 1e3 / messages:.2f} ms/job, pipeline {res['pipe_cpu'] * 1e3 / messages:.2f} "
              "ms/msg (the rest of the time is waiting on PostgreSQL, Redis, the fake and the other processes)")
        print(f"  PostgreSQL + Redis CPU meanwhile: noop {res['noop_srv'] * 1e3 / messages:.2f} ms/job, pipeline "
              f"{res['pipe_srv'] * 1e3 / messages:.2f} ms/msg; worker + servers per message: noop "
              f"{(res['noop_cpu'] + res['noop_srv']) * 1e3 / messages:.2f} ms, pipeline "
              f"{(res['pipe_cpu'] + res['pipe_srv']) * 1e3 / messages:.2f} ms")
        print(f"  events {out['events']}; outbound messages {out['outbound']} ({sends / messages:.2f}/msg); "
              f"{res['db']}")
        for error in out["errors"]:
            print(f"  error: {error}")
        if "floor_s" in res:
            floor_rate = messages / res["floor_s"]
            print(f"  floor {floor_rate:8.1f} msgs/s ({res['floor_s'] * 1e3 / messages:.2f} ms/msg, CPU "
                  f"{res['floor_cpu'] * 1e3 / messages:.2f} ms/msg)   ratio floor/noop {floor_rate / noop_rate:.2f} "
                  "(hand-written minimum: 1 UPDATE..RETURNING + 1 POST; an upper bound for any handle_inbound)")
    noop_rate = statistics.median(messages / r["noop_s"] for r in results)
    pipe_rate = statistics.median(messages / r["pipe_s"] for r in results)
    ratio = pipe_rate / noop_rate if noop_rate else 0.0
    floor = ""
    if all("floor_s" in r for r in results):
        floor_rate = statistics.median(messages / r["floor_s"] for r in results)
        floor = f" | floor {floor_rate:.1f} msgs/s (floor/noop {floor_rate / noop_rate:.2f})"
    print(f"RESULT noop {noop_rate:.1f} jobs/s | handle_inbound {pipe_rate:.1f} msgs/s | ratio {ratio:.2f} "
          f"(target >= {TARGET}: {'met' if ratio >= TARGET else 'NOT met'}){floor}")
    if prof_lines:
        print(prof_lines, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
