"""Shared setup for bench/ingest.py and bench/pipeline.py (not a benchmark itself).

Everything a benchmark starts is its own and is removed at the end: a scratch PostgreSQL database
(`createdb`/`dropdb`, schema by `flask db upgrade`), RQ keys under a per-run queue prefix on a Redis db
number of its own, and child processes started in their own session (stopped by process-group id).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent

META_APP_SECRET = "bench-meta-app-secret"
IG_APP_SECRET = "bench-instagram-app-secret"
IG_ACCOUNT = "17841400000000001"
IG_TOKEN = "IGQV-bench-token"
DEFAULT_PG = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
DEFAULT_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")


def say(message: str) -> None:
    """Progress on stderr (results go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(port: int, timeout: float = 30.0, proc: subprocess.Popen[Any] | None = None) -> None:
    """Until something answers HTTP on 127.0.0.1:port (any status)."""
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server process exited with {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/__bench_ready__")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port} within {timeout}s")


class Child:
    """A child process in its own session; stop() ends exactly that process group."""

    def __init__(self, argv: list[str], *, env: dict[str, str] | None = None, log_path: Path | None = None,
                 stdout: Any = None) -> None:
        self.log_path = log_path
        out = open(log_path, "wb") if log_path else (stdout or subprocess.DEVNULL)  # noqa: SIM115
        self._log = out if log_path else None
        self.proc = subprocess.Popen(argv, env=env, cwd=str(ROOT), stdout=out,
                                     stderr=subprocess.STDOUT if log_path else None, start_new_session=True)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self._log:
            self._log.close()


# --- PostgreSQL ------------------------------------------------------------------------------------

def process_cpu() -> dict[int, tuple[int, str, float, float]]:
    """pid -> (parent pid, command name, CPU seconds so far, of which in the kernel) for every process
    (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[int, str, float, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / tick,
                             int(fields[12]) / tick)
    return found


def cpu_split(before: dict[int, tuple[int, str, float, float]],
              after: dict[int, tuple[int, str, float, float]], root: int) -> dict[str, float]:
    """CPU seconds spent between two process_cpu() snapshots by the process tree under `root`, and by the
    PostgreSQL and Redis servers (every process with that name: their work is done for the tree);
    "server kernel" is the part of the tree's that the kernel spent on its behalf (system calls)."""
    tree, grew = {root}, True
    while grew:
        kids = {pid for pid, (ppid, *_) in after.items() if ppid in tree} - tree
        tree |= kids
        grew = bool(kids)
    split = {"server": 0.0, "postgres": 0.0, "redis": 0.0}
    kernel = 0.0
    for pid, (_, name, cpu, sys_cpu) in after.items():
        used = cpu - (before[pid][2] if pid in before else 0.0)
        if pid in tree:
            split["server"] += used
            kernel += sys_cpu - (before[pid][3] if pid in before else 0.0)
        elif name == "postgres":
            split["postgres"] += used
        elif name.startswith("redis-server"):
            split["redis"] += used
    split["server kernel"] = kernel
    return split


def _pg_args(base_url: str) -> list[str]:
    parts = urlsplit(base_url)
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    if parts.username:
        args += ["-U", parts.username]
    return args


@contextmanager
def scratch_database(base_url: str, name: str, keep: bool = False) -> Iterator[str]:
    """createdb NAME, migrate it, yield its URL, dropdb NAME (also on errors) unless `keep`."""
    args = _pg_args(base_url)
    subprocess.run(["dropdb", "--if-exists", "--force", *args, name], check=False, capture_output=True)
    subprocess.run(["createdb", *args, name], check=True, capture_output=True)
    url = base_url.rstrip("/") + "/" + name
    try:
        say(f"scratch database {name}: running migrations")
        env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": url, "APP_ENV": "development"}
        env.pop("REDIS_URL", None)
        done = subprocess.run([str(VENV_BIN / "flask"), "db", "upgrade"], cwd=str(ROOT), env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError("flask db upgrade failed:\n" + done.stdout[-2000:] + done.stderr[-2000:])
        yield url
    finally:
        if not keep:
            subprocess.run(["dropdb", "--if-exists", "--force", *args, name], check=False, capture_output=True)
            say(f"scratch database {name} dropped")


# --- Redis -----------------------------------------------------------------------------------------

def queue_prefix(tag: str) -> str:
    return f"bench-{tag}-{os.getpid()}-"


def clean_redis(redis_url: str, prefix: str) -> int:
    """Delete every RQ key of our queues (jobs, results, registries, queues); returns how many."""
    from redis import Redis
    from rq import Queue
    from rq.registry import (
        DeferredJobRegistry,
        FailedJobRegistry,
        FinishedJobRegistry,
        ScheduledJobRegistry,
        StartedJobRegistry,
    )

    conn = Redis.from_url(redis_url)
    removed = 0
    try:
        for priority in ("high", "default", "low", "floor"):
            queue = Queue(prefix + priority, connection=conn)
            ids = set(queue.get_job_ids())
            for registry in (StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry, DeferredJobRegistry,
                             ScheduledJobRegistry):
                ids.update(registry(queue=queue).get_job_ids())
            keys = [k for job_id in ids for k in (f"rq:job:{job_id}", f"rq:results:{job_id}")]
            for start in range(0, len(keys), 1000):
                removed += int(conn.delete(*keys[start:start + 1000]) or 0)
        for key in list(conn.scan_iter(match=f"*{prefix}*", count=1000)):
            removed += int(conn.delete(key) or 0)
        ours = [m for m in conn.smembers("rq:queues") if prefix.encode() in m]  # RQ's registry of queues
        if ours:
            conn.srem("rq:queues", *ours)
    finally:
        conn.close()
    return removed


# --- the app and its data --------------------------------------------------------------------------

def app_env(database_url: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    """Environment for the real app (APP_ENV stays development)."""
    env = {k: v for k, v in os.environ.items() if k not in ("APP_ENV", "REDIS_URL", "START_SWEEPER")}
    env.update({"DATABASE_URL": database_url, "META_APP_SECRET": META_APP_SECRET,
                "INSTAGRAM_APP_SECRET": IG_APP_SECRET, "START_SWEEPER": "0"})
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def make_app(database_url: str, redis_url: str | None, prefix: str, **overrides: Any) -> Any:
    """The real application factory with the environment above plus config overrides."""
    os.environ.update(app_env(database_url, redis_url))
    if not redis_url:
        os.environ.pop("REDIS_URL", None)
    from webapp import create_app
    from webapp.config import Config

    cfg = Config()
    cfg.QUEUE_PREFIX = prefix  # type: ignore[attr-defined]
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return create_app(cfg)


def setup_tenant(app: Any, *, plan: str = "PRO", templates: tuple[str, ...] = (),
                 unlimited_messages: bool = True) -> dict[str, int]:
    """A tenant with one Instagram channel (and published templates) via the webapp's own code."""
    from webapp.extensions import db
    from webapp.services.channels import add_channel
    from webapp.services.tenants import create_tenant

    with app.app_context():
        tenant = create_tenant("Bench Shop", plan, "en")
        if unlimited_messages:  # scratch DB: long runs must not hit the plan's monthly cap
            limits = dict(tenant.plan.limits or {})
            limits["monthly_messages"] = None
            tenant.plan.limits = limits
            db.session.commit()
        channel = add_channel(tenant, "instagram", external_id=IG_ACCOUNT, token=IG_TOKEN)
        if templates:
            from webapp.services.flows import seed_templates_for

            seed_templates_for(tenant, list(templates), publish_now=True)
        ids = {"tenant_id": tenant.id, "channel_id": channel.id}
        db.session.remove()
        db.engine.dispose()
    return ids


def ig_dm_body(sender: str, mid: str, text: str) -> bytes:
    from tests.fakes.meta_payloads import ig_dm_body as build

    return build(IG_ACCOUNT, sender, mid, text)


def signature(raw: bytes, secret: str = IG_APP_SECRET) -> str:
    from tests.fakes.meta_payloads import sign

    return sign(raw, secret)


def noop(*_args: Any) -> None:
    """RQ's baseline job: does nothing."""
    return None


_floor_local = threading.local()


def floor_job(event_id: int) -> None:
    """The least any `handle_inbound` must do, hand-written: one UPDATE ... RETURNING in autocommit (raw
    psycopg, one round trip) and one HTTP POST of a reply to the fake (requests, keep-alive, trust_env off).

    Reads BENCH_FLOOR_DB and BENCH_FLOOR_URL from the environment (set by bench/pipeline.py)."""
    import psycopg
    import requests

    state = getattr(_floor_local, "state", None)
    if state is None:
        session = requests.Session()
        session.trust_env = False
        state = _floor_local.state = (psycopg.connect(os.environ["BENCH_FLOOR_DB"], autocommit=True), session)
    conn, session = state
    row = conn.execute("UPDATE inbound_events SET attempts = attempts + 1, locked_at = now() WHERE id = %s "
                       "RETURNING user_id, parsed", (event_id,)).fetchone()
    if row is None:
        raise RuntimeError(f"no event {event_id}")
    response = session.post(os.environ["BENCH_FLOOR_URL"] + "/v21.0/me/messages", timeout=5,
                            headers={"Authorization": f"Bearer {IG_TOKEN}"},
                            json={"recipient": {"id": row[0]}, "message": {"text": "Thanks, we got: "
                                                                          + str(row[1].get("text", ""))}})
    response.raise_for_status()


# --- measuring ---------------------------------------------------------------------------------------

class Counters:
    """SQL statements, commits and pool checkouts on an engine (a checkout pings only an idle connection)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statements = self.commits = self.checkouts = 0

        def on_execute(*_: Any, **__: Any) -> None:
            self.statements += 1

        def on_commit(*_: Any, **__: Any) -> None:
            self.commits += 1

        def on_checkout(*_: Any, **__: Any) -> None:
            self.checkouts += 1

        event.listen(engine, "before_cursor_execute", on_execute)
        event.listen(engine, "commit", on_commit)
        event.listen(engine.pool, "checkout", on_checkout)

    def snapshot(self) -> tuple[int, int, int]:
        return self.statements, self.commits, self.checkouts

    @staticmethod
    def describe(before: tuple[int, int, int], after: tuple[int, int, int], count: int, unit: str) -> str:
        statements, commits, checkouts = (b - a for a, b in zip(before, after, strict=True))
        return (f"SQL statements {statements / count:.1f}/{unit}, commits {commits / count:.1f}/{unit}, "
                f"pool checkouts {checkouts / count:.1f}/{unit}")


OUR_CODE = (str(ROOT / "connectors"), str(ROOT / "webapp"), str(ROOT / "flows"))


def profile_report(profile: Any, count: int, unit: str, top: int, wall: float, clock: str) -> str:
    """Top functions of our code by cumulative time and of everything by own time, in ms per `unit`."""
    import pstats

    raw: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())

    def name(key: tuple[str, int, str]) -> str:
        path, line, func = key
        if path.startswith(str(ROOT) + "/"):
            path = path[len(str(ROOT)) + 1:]
        return f"{path.split('site-packages/')[-1]}:{line}({func})"

    def rows(items: list[tuple[Any, Any]]) -> list[str]:
        return [f"    {ct / count * 1e3:8.2f} {tt / count * 1e3:8.2f} {nc / count:9.2f}  {name(key)}"
                for key, (_cc, nc, tt, ct, _callers) in items[:top]]

    ours = sorted(((k, v) for k, v in raw.items() if k[0].startswith(OUR_CODE)), key=lambda kv: -kv[1][3])
    everything = sorted(raw.items(), key=lambda kv: -kv[1][2])
    packages: dict[str, float] = {}
    for (path, _line, func), entry in raw.items():
        if path.startswith(OUR_CODE) or path.startswith(str(ROOT / "bench")):
            package = "ours:" + path[len(str(ROOT)) + 1:].split("/")[0]
        elif "site-packages/" in path:
            package = path.split("site-packages/")[1].split("/")[0]
        elif path == "~":
            package = "builtins (C calls: " + ("socket I/O" if "socket" in func else "other") + ")"
        else:
            package = "stdlib"
        packages[package] = packages.get(package, 0.0) + entry[2]
    split = ", ".join(f"{name} {seconds / total * 100:.0f}%" for name, seconds in
                      sorted(packages.items(), key=lambda kv: -kv[1]) if seconds / total >= 0.01)
    head = f"    {'cum ms':>8} {'own ms':>8} {'calls/' + unit:>9}  function"
    lines = [f"profile (cProfile, {clock} clock, {count} {unit}s, {wall:.2f} s wall incl. profiler overhead, "
             f"{total:.2f} s profiled), ms per {unit}:",
             f"  own time by package: {split}",
             f"  our code by cumulative time (top {top}):", head, *rows(ours),
             f"  everything by own time (top {top}):", head, *rows(everything)]
    return "\n".join(lines) + "\n"


class StatementSites:
    """While active: which function of ours issued each SQL statement / commit (for the hotspot report)."""

    def __init__(self, engine: Any) -> None:
        from collections import Counter

        self.engine = engine
        self.sites: Counter[tuple[str, str]] = Counter()

    def _site(self) -> str:
        frame = sys._getframe(2)
        while frame is not None:
            path = frame.f_code.co_filename
            if path.startswith(OUR_CODE):
                return f"{path[len(str(ROOT)) + 1:]}:{frame.f_code.co_name}"
            frame = frame.f_back  # type: ignore[assignment]
        return "(outside our code)"

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.sites[(self._site(), statement.split(None, 1)[0].upper())] += 1

    def _on_commit(self, *_: Any) -> None:
        self.sites[(self._site(), "COMMIT")] += 1

    def __enter__(self) -> StatementSites:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        event.listen(self.engine, "commit", self._on_commit)
        return self

    def __exit__(self, *_: Any) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._on_execute)
        event.remove(self.engine, "commit", self._on_commit)

    def report(self, count: int, unit: str) -> str:
        lines = [f"SQL statements and commits by the function of ours that issued them, per {unit}:"]
        for (site, kind), n in sorted(self.sites.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {n / count:6.2f}  {kind:<9} {site}")
        return "\n".join(lines) + "\n"
