"""Chaos: 1,000+ webhooks for 4 tenants and 120 conversations while worker processes are SIGKILLed and Redis
restarts, then the sweeper. Every message must be answered exactly once (counted at the fake APIs), none
lost, no delivered reply reported failed, and the usage counters exact.

Real parts only, all on loopback: PostgreSQL (the test database), a Redis server of the test's own (so it can
be restarted without disturbing anything else), real worker processes (`connectors.runtime.worker.run_worker`, what
`flask worker` runs in each process) and the fake channel APIs. Run it alone with `pytest -m chaos`; it needs
PostgreSQL (`TEST_DATABASE_URL`/`DATABASE_URL`) and a `redis-server` binary, and is skipped otherwise.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.fakes import meta_payloads as mp
from tests.fakes.documents import document
from tests.helpers.web import TEST_QUEUE_PREFIX, make_config

pytestmark = pytest.mark.chaos

ROOT = Path(__file__).resolve().parents[2]
WEBHOOKS = 1040
PEOPLE = 30  # per tenant: 4 tenants, 120 conversations
WORKERS = 3
DEAD_AFTER = 6.0  # seconds without a heartbeat (the default is 20: a test should not wait that long)
ECHO = document("Echo", [("start", "trigger", {"channels": ["any"]}),
                         ("reply", "message", {"text": "re: {{last_message}}"})],
                [("start", "out", "reply")])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own that can be stopped and started again on the same port (it keeps
    nothing on disk, like the CI's: a restart loses every queued job, lock and worker entry)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL)
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class Workers:
    """Worker processes kept at WORKERS, as a process supervisor would: a killed one is replaced."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []
        self.kills = 0

    def start_one(self) -> None:
        code = ("from webapp import create_app; from connectors.runtime.worker import run_worker; "
                "run_worker(create_app(), ['high', 'default', 'low'], threads=8)")
        self.procs.append(subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=self.env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def keep_up(self) -> None:
        self.procs = [p for p in self.procs if p.poll() is None]
        while len(self.procs) < WORKERS:
            self.start_one()

    def kill_one(self) -> None:
        victim = random.choice([p for p in self.procs if p.poll() is None])
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        self.kills += 1

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait(10)


@pytest.fixture()
def chaos(app, db, make_tenant, graph_api, telegram_api, monkeypatch):
    if db.engine.dialect.name != "postgresql" or shutil.which("redis-server") is None:
        pytest.skip("the chaos test needs PostgreSQL and a redis-server binary")
    from webapp import create_app
    from webapp.services.channels import add_channel
    from webapp.services.flows import create_flow, publish

    redis = RedisServer()
    redis.start()
    urls = {"META_GRAPH_URL": graph_api.url, "INSTAGRAM_GRAPH_URL": graph_api.url,
            "TELEGRAM_API_URL": telegram_api.url}
    settings = {**urls, "CONNECTOR_BACKOFF_BASE": "0.01", "CONNECTOR_BACKOFF_MAX": "0.05",
                "CONNECTOR_TIMEOUT": "5", "CONNECTOR_RATELIMIT_STORAGE": "none://",
                "WORKER_DEAD_AFTER": str(DEAD_AFTER), "SWEEP_INTERVAL": "1", "QUEUE_PREFIX": TEST_QUEUE_PREFIX}
    database_url = db.engine.url.render_as_string(hide_password=False)
    web = create_app(make_config(database_url, REDIS_URL=redis.url, **settings))
    for key, value in urls.items():  # the test app (channel set-up) calls the fakes too
        monkeypatch.setitem(app.config, key, value)
    tenants = []
    second_bot = "7000000001:AAchaos-second-bot-token"
    telegram_api.add_bot(second_bot, "chaos_second_bot")
    for n, (kind, extra) in enumerate([("telegram", {"token": telegram_api.token}),
                                       ("telegram", {"token": second_bot}),
                                       ("instagram", {"external_id": "17841400000000777", "token": "IG-chaos"}),
                                       ("whatsapp", {"external_id": "106540352240777", "token": "WA-chaos"})]):
        tenant = make_tenant(f"Chaos {n}", plan="PRO")
        channel = add_channel(tenant, kind, **extra)
        publish(create_flow(tenant, "Echo", ECHO))
        db.session.commit()
        tenants.append((tenant.id, channel))
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    env.update(settings, DATABASE_URL=database_url, REDIS_URL=redis.url, SECRET_KEY=app.config["SECRET_KEY"],
               APP_ENV="development", WORKER_LOG_LEVEL="ERROR")
    if app.config.get("TOKEN_ENCRYPTION_KEY"):
        env["TOKEN_ENCRYPTION_KEY"] = app.config["TOKEN_ENCRYPTION_KEY"]
    workers = Workers(env)
    workers.keep_up()
    try:
        yield web, redis, workers, tenants, db
    finally:
        workers.stop()
        redis.stop()


def _webhook(web: Any, channel: Any, person: int, n: int) -> int:
    client = web.test_client()
    text = f"m{n}"
    if channel.type == "telegram":
        secret = (channel.credentials or {})["webhook_secret"]
        # Telegram numbers a chat's messages in one sequence, the customer's and the bot's: ids far from
        # the fake's own numbering of the bot's replies
        return client.post(f"/webhooks/telegram/{channel.id}", data=mp.tg_update(
            n, text, chat_id=900000 + person, message_id=1_000_000 + n),
                           headers={"X-Telegram-Bot-Api-Secret-Token": secret,
                                    "Content-Type": "application/json"}).status_code
    if channel.type == "instagram":
        raw = mp.ig_dm_body(channel.external_id, f"IGSID-{person}", f"mid.chaos.{n}", text)
        secret = "test-ig-app-secret"
    else:
        raw = mp.wa_text_body(channel.external_id, f"wamid.chaos.{n}", text, wa_id=f"1650555{person:04d}")
        secret = "test-app-secret"
    return client.post("/webhooks/meta", data=raw, headers={"Content-Type": "application/json",
                                                            **mp.signed_headers(raw, secret)}).status_code


def _delivered(graph_api: Any, telegram_api: Any) -> Counter[str]:
    """How many times each reply reached a channel ("re: m17" → 1)."""
    texts: list[str] = []
    for request in telegram_api.requests_to("/sendMessage"):
        texts.append(str((request.json or request.params or {}).get("text", "")))
    for request in graph_api.messages:
        body = request.json or {}
        texts.append(str((body.get("message") or {}).get("text") or (body.get("text") or {}).get("body") or ""))
    return Counter(texts)


def _settled(db: Any) -> bool:
    from webapp.models import InboundEvent, Message

    db.session.expire_all()
    open_events = db.session.scalar(select(func.count()).select_from(InboundEvent).where(
        InboundEvent.status.in_(("received", "queued", "processing"))))
    open_replies = db.session.scalar(select(func.count()).select_from(Message).where(
        Message.delivery_status.in_(("pending", "claimed", "sending", "retrying"))))
    db.session.commit()
    return open_events == 0 and open_replies == 0


def test_chaos(chaos, graph_api, telegram_api):
    from connectors.pipeline.delivery import deliver_message
    from connectors.pipeline.sweeper import sweep
    from webapp.models import InboundEvent, Message, Notification, UsageCounter

    web, redis, workers, tenants, db = chaos
    rng = random.Random(14)
    kill_at, restart_redis_at = {150, 450, 800}, 600
    codes: Counter[int] = Counter()
    for n in range(1, WEBHOOKS + 1):
        tenant_id, channel = tenants[n % len(tenants)]
        codes[_webhook(web, channel, rng.randrange(PEOPLE), n)] += 1
        if n % 40 == 0:
            time.sleep(0.4)  # the webhooks arrive over ~10 s while the workers answer
            workers.keep_up()
        if n in kill_at:
            workers.kill_one()
        if n == restart_redis_at:
            redis.stop()
            time.sleep(1.0)
            redis.start()
    assert workers.kills == 3 and set(codes) == {200}, codes
    deadline = time.monotonic() + 240
    with web.app_context():
        while not _settled(db):
            assert time.monotonic() < deadline, "the pipeline did not settle within 4 minutes"
            workers.keep_up()
            sweep(grace_seconds=0)  # "then the sweeper": what Redis lost is enqueued again at once
            time.sleep(1.0)

        workers.stop()  # settled: what follows (the owner's "send again") must not race the workers' sweepers
        events = db.session.scalars(select(InboundEvent)).all()
        assert len(events) == WEBHOOKS
        assert Counter(e.status for e in events) == Counter({"done": WEBHOOKS}), [
            (e.id, e.status, e.error) for e in events if e.status != "done"][:5]
        replies = {m.text: m for m in db.session.scalars(select(Message).where(Message.direction == "out"))}
        assert len(replies) == WEBHOOKS  # one reply stored per message, none lost
        delivered = _delivered(graph_api, telegram_api)
        assert max(delivered.values()) == 1, [t for t, c in delivered.items() if c > 1]  # never twice
        states = Counter(m.delivery_status for m in replies.values())
        unknown = [m for m in replies.values() if m.delivery_status == "unknown"]
        resent = 0
        # A worker killed while a channel was answering leaves its reply `unknown` (the channels have no
        # idempotency keys, so it is never sent again on its own) and tells the owner. Replies that did reach
        # the channel are answered once; for one that did not, the owner's "send again" completes it.
        for message in unknown:
            assert db.session.scalar(select(func.count()).select_from(Notification).where(
                Notification.tenant_id == message.tenant_id, Notification.kind == "delivery_unknown",
                Notification.body.contains(f"message {message.id}"))) == 1
            if delivered[message.text] == 0:  # what the conversation page's "send again" does
                message.delivery_status = "pending"
                db.session.commit()
                deliver_message(message.id)
                resent += 1
        delivered = _delivered(graph_api, telegram_api)
        missing = [text for text in replies if delivered[text] != 1]
        assert missing == [], (missing, states)
        db.session.expire_all()  # what deliver_message wrote, not the session's copies from before it
        assert {m.delivery_status for m in replies.values()} <= {"sent", "unknown"}
        for tenant_id, _channel in tenants:
            counter = db.session.scalar(select(UsageCounter).where(UsageCounter.tenant_id == tenant_id))
            stored = Counter(db.session.scalars(select(Message.direction).where(Message.tenant_id == tenant_id)))
            assert (counter.messages_in, counter.messages_out) == (stored["in"], stored["out"])
    print(json.dumps({"webhooks": WEBHOOKS, "worker_kills": workers.kills, "redis_restarts": 1,
                      "reply_states": states, "sent_again_by_the_owner": resent}))
