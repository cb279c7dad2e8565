"""Notifications that reach people, against loopback fakes: the platform's Telegram bot (the Bot API fake), a
real SMTP server and a webhook receiver that checks the signature. One event → one notification, linked to
its lead or conversation, written in the tenant's language; deliveries retried with backoff and logged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from tests.fakes.webhook_receiver import FakeWebhookReceiver
from tests.helpers.pipeline import publish_templates
from tests.helpers.web import csrf_token, login
from tests.helpers.webhooks import webchat_send

NOTIFY_TOKEN = "555000111:AANotifyBotTokenForTests_abcdefghijk"
BOT = "temoweb_notify_bot"
HOOK_SECRET = "notify-hook-secret"
CHAT_ID = 424242


@pytest.fixture()
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver() as fake:
        yield fake


@pytest.fixture()
def env(app, db, queue, telegram_api, receiver, monkeypatch) -> SimpleNamespace:
    """The notification bot registered with the Telegram fake, fast connector retries, loopback webhooks."""
    telegram_api.add_bot(NOTIFY_TOKEN, BOT)
    for key, value in {"NOTIFY_TELEGRAM_TOKEN": NOTIFY_TOKEN, "NOTIFY_TELEGRAM_BOT": BOT,
                       "NOTIFY_TELEGRAM_SECRET": HOOK_SECRET, "TELEGRAM_API_URL": telegram_api.url,
                       "CONNECTOR_BACKOFF_BASE": 0.01, "CONNECTOR_BACKOFF_MAX": 0.02, "CONNECTOR_MAX_ATTEMPTS": 2,
                       "HTTP_REQUEST_ALLOW_PRIVATE": True, "OUTBOUND_TIMEOUT": 5.0}.items():
        monkeypatch.setitem(app.config, key, value)
    return SimpleNamespace(app=app, db=db, queue=queue, telegram=telegram_api, receiver=receiver)


def _configure(db: Any, tenant: Any, receiver: FakeWebhookReceiver, *, events: dict[str, list[str]],
               chat: bool = True) -> None:
    from webapp.services.notify_settings import new_webhook_secret, save_choices

    save_choices(tenant, events, "", receiver.url + "/hook")
    receiver.secret = new_webhook_secret(tenant)
    if chat:
        tenant.settings = {**tenant.settings, "notifications": {**tenant.settings["notifications"],
                                                                "telegram_chat_id": CHAT_ID}}
    db.session.commit()


def _deliveries(db: Any, tenant_id: int | None = None) -> list[Any]:
    from webapp.models import NotificationDelivery

    query = select(NotificationDelivery).order_by(NotificationDelivery.id)
    if tenant_id is not None:
        query = query.where(NotificationDelivery.tenant_id == tenant_id)
    db.session.expire_all()
    return list(db.session.scalars(query))


def _notes(db: Any, tenant_id: int) -> list[Any]:
    from webapp.models import Notification

    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.tenant_id == tenant_id)
                                   .order_by(Notification.id)))


def _event(tenant_id: int, key: str = "lead:1", kind: str = "lead", **params: Any) -> int | None:
    from webapp.extensions import db
    from webapp.services.notifications import notify_event

    note = notify_event(tenant_id, kind, key=key, params={"channel": "webchat", "who": "Anna", **params},
                        detail="phone: +4915112345678")
    db.session.commit()
    return note


def _run_retries(db: Any) -> None:
    """Every waiting retry, now (instead of after its backoff), run as its job would."""
    from connectors.runtime.jobs import deliver_notification
    from webapp.models import NotificationDelivery
    from webapp.models.base import utcnow

    due = [d.id for d in _deliveries(db) if d.status == "retrying"]
    db.session.query(NotificationDelivery).filter(NotificationDelivery.id.in_(due)).update(
        {"next_attempt_at": utcnow()})
    db.session.commit()
    for delivery_id in due:
        deliver_notification(delivery_id)


def _capture_lead(client: Any, key: str, queue: Any, yes: str = "Yes") -> None:
    for n, text in enumerate(["hello", "Anna", "+4915112345678", yes]):
        assert webchat_send(client, key, text, f"c{n}").status_code == 202
        queue.drain()


# --- one event, one notification ----------------------------------------------------------------------------

def test_a_lead_makes_one_notification_linked_and_in_the_tenants_language(env, client, make_tenant, db):
    from webapp.models import Lead
    from webapp.services.channels import add_channel

    tenant = make_tenant("Салон", language="ru")
    web = add_channel(tenant, "webchat")
    publish_templates(tenant, "lead_capture")  # seeded in the tenant's language: lead_capture_ru asks "Да"/"Нет"
    _capture_lead(client, web.public_key, env.queue, yes="Да")
    [lead] = db.session.scalars(select(Lead).where(Lead.tenant_id == tenant.id)).all()
    [note] = _notes(db, tenant.id)  # the flow's `notify_team` step went into the lead's notification
    assert (note.kind, note.lead_id, note.conversation_id, note.event_key) == (
        "lead", lead.id, lead.conversation_id, f"lead:{lead.id}")
    assert note.title == "Новый лид из webchat: Anna"
    assert note.title != note.body
    assert note.body.startswith("Новая заявка: Anna, +4915112345678 (webchat)") and "phone: +4915112345678" in note.body


def test_titles_are_written_in_the_tenants_language_outside_a_request(env, make_tenant, db):
    from webapp.services.notifications import notify_event

    tenant = make_tenant("Салон", language="ru")
    notify_event(tenant.id, "token_invalid", params={"name": "Shop bot"}, detail="token rejected")
    db.session.commit()
    [note] = _notes(db, tenant.id)
    assert (note.title, note.body) == ("Переподключить Shop bot", "token rejected")


def test_the_same_event_reported_twice_is_one_notification_and_one_delivery_each(env, tenant, db):
    _configure(db, tenant, env.receiver, events={"lead": ["webhook"]})
    assert _event(tenant.id) is not None
    assert _event(tenant.id) is None
    assert len(_notes(db, tenant.id)) == 1 and len(_deliveries(db)) == 1
    env.queue.drain()
    assert len(env.receiver.accepted) == 1


def test_a_notify_step_before_the_lead_step_joins_the_leads_notification(env, tenant, db):
    from connectors.pipeline import effects
    from flows.turn import Effect
    from webapp.models import Contact, Conversation
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "webchat")
    contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id="v1")
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id)
    db.session.add(conv)
    db.session.commit()
    rows = (SimpleNamespace(id=tenant.id, language="en", plan=tenant.plan),
            SimpleNamespace(id=channel.id, type="webchat", name=""),
            SimpleNamespace(id=conv.id, contact_id=contact.id))
    effects.apply(*rows, [Effect("notify", {"text": "Call Anna back"}),  # type: ignore[arg-type]
                          Effect("lead", {"fields": {"name": "Anna"}})], None)
    db.session.commit()
    [note] = _notes(db, tenant.id)
    assert note.kind == "lead" and note.title == "New lead from webchat: Anna"
    assert note.body == "Call Anna back\n\nname: Anna"


def test_a_notify_step_alone_has_a_title_of_its_own(env, tenant, db):
    from webapp.services.notifications import notify_event

    notify_event(tenant.id, "notify", conversation_id=None, params={"channel": "telegram"}, detail="Call me")
    db.session.commit()
    [note] = _notes(db, tenant.id)
    assert (note.title, note.body) == ("Team notification from telegram", "Call me")


# --- each destination ---------------------------------------------------------------------------------------

def test_each_destination_delivers(env, tenant, db, smtp_server):
    from webapp.models import NotificationDelivery

    _configure(db, tenant, env.receiver, events={"lead": ["telegram", "email", "webhook"]})
    note_id = _event(tenant.id)
    assert env.queue.drain() == 3
    [tg] = env.telegram.requests_to(f"/bot{NOTIFY_TOKEN}/sendMessage")
    assert tg.json["chat_id"] == CHAT_ID and tg.json["text"].startswith("New lead from webchat: Anna")
    assert "phone: +4915112345678" in tg.json["text"] and "https://bots.example.test/leads/" not in tg.json["text"]
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "New lead from webchat: Anna" and mail["To"] == tenant.owner_email
    [hook] = env.receiver.accepted
    assert hook["notification_id"] == note_id and hook["event"] == "lead" and hook["event_type"] == "lead"
    assert hook["title"] == "New lead from webchat: Anna" and hook["tenant_id"] == tenant.id
    assert env.receiver.rejected == []
    assert {(d.destination, d.status, d.attempts) for d in _deliveries(db)} == {
        ("telegram", "sent", 1), ("email", "sent", 1), ("webhook", "sent", 1)}
    assert all(isinstance(d, NotificationDelivery) and d.sent_at for d in _deliveries(db))


def test_links_point_at_the_lead_in_every_destination(env, tenant, db):
    _configure(db, tenant, env.receiver, events={"lead": ["telegram", "webhook"]})
    from webapp.services.notifications import notify_event

    notify_event(tenant.id, "lead", key="lead:77", lead_id=77, conversation_id=5, params={"channel": "x"})
    db.session.commit()
    env.queue.drain()
    assert "https://bots.example.test/leads/77" in env.telegram.sent[-1].json["text"]
    assert env.receiver.accepted[0]["url"] == "https://bots.example.test/leads/77"
    assert env.receiver.accepted[0]["lead_id"] == 77 and env.receiver.accepted[0]["conversation_id"] == 5


def test_nothing_is_sent_where_the_tenant_did_not_choose(env, tenant, db):
    _configure(db, tenant, env.receiver, events={"lead": ["webhook"], "quota": ["telegram"]})
    _event(tenant.id)
    env.queue.drain()
    assert env.telegram.sent == [] and len(env.receiver.accepted) == 1


# --- the webhook's signature --------------------------------------------------------------------------------

def test_the_webhook_is_signed_and_a_replay_is_refused(env, tenant, db):
    _configure(db, tenant, env.receiver, events={"lead": ["webhook"]})
    _event(tenant.id)
    env.queue.drain()
    [sent] = env.receiver.requests
    assert sent.header("X-TemoWeb-Signature").startswith("sha256=") and sent.header("X-TemoWeb-Event") == "lead"
    replay = requests.post(env.receiver.url + "/hook", data=sent.body, timeout=5, headers={
        k: sent.header(k) for k in ("Content-Type", "X-TemoWeb-Timestamp", "X-TemoWeb-Signature")})
    assert replay.status_code == 401 and replay.json()["error"] == "replayed"
    tampered = requests.post(env.receiver.url + "/hook", data=sent.body.replace(b"Anna", b"Bob!"), timeout=5,
                             headers={k: sent.header(k) for k in ("Content-Type", "X-TemoWeb-Timestamp",
                                                                 "X-TemoWeb-Signature")})
    assert tampered.status_code == 401 and tampered.json()["error"] == "bad signature"


def test_a_receiver_refusing_the_timestamp_or_secret_gets_retries_then_failed(env, tenant, db):
    _configure(db, tenant, env.receiver, events={"lead": ["webhook"]})
    env.receiver.clock = lambda: time.time() + 3600  # the receiver's clock says our timestamp is an hour old
    _event(tenant.id)
    env.queue.drain()
    [delivery] = _deliveries(db)
    assert delivery.status == "retrying" and "HTTP 401" in delivery.last_error
    assert "timestamp outside" in env.receiver.rejected[0][0]
    env.receiver.clock = time.time
    env.receiver.secret = "not-the-tenants-secret"
    _run_retries(db)
    assert env.receiver.rejected[-1][0] == "bad signature"


# --- retries ------------------------------------------------------------------------------------------------

def test_failures_are_retried_with_backoff_then_failed_with_the_error_in_the_log(env, tenant, db, member_client):
    from connectors.pipeline.notifications import MAX_ATTEMPTS

    _configure(db, tenant, env.receiver, events={"lead": ["webhook"]})
    env.receiver.fail(status=503, times=None)
    _event(tenant.id)
    env.queue.drain()
    waits = []
    for _ in range(MAX_ATTEMPTS - 1):
        [delivery] = _deliveries(db)
        assert delivery.status == "retrying"
        waits.append((delivery.next_attempt_at - delivery.created_at).total_seconds())
        _run_retries(db)
    [delivery] = _deliveries(db)
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert "HTTP 503" in delivery.last_error and delivery.next_attempt_at is None
    assert waits[0] >= 15 and waits[-1] > waits[0]  # backoff: the waits grow
    page = member_client.get("/settings/notifications/log").get_data(as_text=True)
    assert "failed" in page and "HTTP 503" in page and "New lead from webchat: Anna" in page


def test_a_failure_that_clears_is_sent_on_the_next_attempt(env, tenant, db, smtp_server):
    _configure(db, tenant, env.receiver, events={"lead": ["webhook", "telegram"]})
    env.receiver.fail(status=500, times=1)
    env.telegram.fail(status=500, times=None, path=NOTIFY_TOKEN)
    _event(tenant.id)
    env.queue.drain()
    assert {d.destination: d.status for d in _deliveries(db)} == {"webhook": "retrying", "telegram": "retrying"}
    env.telegram.reset()
    _run_retries(db)
    assert {(d.destination, d.status, d.attempts) for d in _deliveries(db)} == {("webhook", "sent", 2),
                                                                               ("telegram", "sent", 2)}
    assert len(env.receiver.accepted) == 1


def test_a_missing_setting_fails_at_once_without_retries(env, tenant, db):
    from webapp.services.notify_settings import save_choices

    save_choices(tenant, {"lead": ["email"]}, "", "")
    db.session.commit()
    _event(tenant.id)
    env.queue.drain()
    [delivery] = _deliveries(db)
    assert (delivery.status, delivery.attempts) == ("failed", 1) and "no SMTP configured" in delivery.last_error


def test_the_sweeper_sends_what_the_queue_lost(env, tenant, db, monkeypatch):
    from connectors.pipeline.sweeper import sweep
    from webapp.models import NotificationDelivery
    from webapp.models.base import utcnow

    _configure(db, tenant, env.receiver, events={"lead": ["webhook"]})
    _event(tenant.id)
    from tests.conftest import _clean_queue

    _clean_queue(env.app)  # the job is lost
    db.session.query(NotificationDelivery).update({"next_attempt_at": utcnow().replace(year=2020)})
    db.session.commit()
    assert sweep()["notification_deliveries"] == 1
    env.queue.drain()
    assert [d.status for d in _deliveries(db)] == ["sent"]


# --- linking Telegram ---------------------------------------------------------------------------------------

def _start(client: Any, text: str, secret: str = HOOK_SECRET, chat_id: int = CHAT_ID) -> Any:
    update = {"update_id": 1, "message": {"message_id": 5, "date": 0, "text": text,
                                          "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
                                          "from": {"id": chat_id, "is_bot": False, "first_name": "Ann",
                                                   "language_code": "en"}}}
    return client.post("/webhooks/notify-bot", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})


def test_start_with_the_one_time_code_links_the_chat(env, tenant, member_client, db):
    import re

    from webapp.models import Tenant

    token = csrf_token(member_client, "/settings/notifications")
    page = member_client.post("/settings/notifications/telegram", data={"csrf_token": token}).get_data(as_text=True)
    code = re.search(rf"https://t\.me/{BOT}\?start=([A-Za-z0-9_-]+)", page).group(1)
    assert len(code) <= 64
    assert _start(member_client, f"/start {code}", secret="wrong").status_code == 401
    answer = _start(member_client, f"/start {code}").get_json()
    assert answer["method"] == "sendMessage" and answer["chat_id"] == CHAT_ID and "Acme Salon" in answer["text"]
    db.session.expire_all()
    stored = db.session.get(Tenant, tenant.id).settings["notifications"]
    assert stored["telegram_chat_id"] == CHAT_ID and "telegram_code" not in stored
    again = _start(member_client, f"/start {code}", chat_id=999).get_json()  # one time only
    assert "not valid" in again["text"]
    assert db.session.get(Tenant, tenant.id).settings["notifications"]["telegram_chat_id"] == CHAT_ID
    assert "Linked to the chat Ann" in member_client.get("/settings/notifications").get_data(as_text=True)


def test_an_expired_or_foreign_code_links_nothing(env, tenant, db, client):
    from webapp.models import Tenant
    from webapp.models.base import utcnow
    from webapp.services.notify_settings import new_link_code

    code = new_link_code(tenant)
    expired = utcnow().replace(year=2020).isoformat()
    tenant.settings = {**tenant.settings, "notifications": {**tenant.settings["notifications"],
                                                            "telegram_code_until": expired}}
    db.session.commit()
    assert "not valid" in _start(client, f"/start {code}").get_json()["text"]
    assert "not valid" in _start(client, f"/start {tenant.id}_guess").get_json()["text"]
    assert _start(client, "hello").get_json() == {"ok": True}
    db.session.expire_all()
    assert "telegram_chat_id" not in db.session.get(Tenant, tenant.id).settings["notifications"]


def test_without_a_configured_bot_the_route_is_404(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_TELEGRAM_TOKEN", "")
    assert _start(client, "/start x").status_code == 404


# --- settings page and the log ------------------------------------------------------------------------------

def test_settings_page_validates_and_saves(env, tenant, member_client, db):
    from webapp.models import Tenant

    token = csrf_token(member_client, "/settings/notifications")
    bad = member_client.post("/settings/notifications", data={"csrf_token": token, "webhook_url": "ftp://x.test/h",
                                                              "email": "not an email"})
    assert bad.status_code == 400 and "http:// or https://" in bad.get_data(as_text=True)
    page = member_client.post("/settings/notifications", data={
        "csrf_token": token, "webhook_url": "https://hooks.example.test/in", "email": "Team@Example.com",
        "lead__telegram": "y", "lead__webhook": "y", "quota__email": "y"})
    assert page.status_code == 200
    secret = page.get_data(as_text=True).split("<code>")[1].split("</code>")[0]
    assert secret.startswith("whsec_")  # made with the first URL, shown once
    db.session.expire_all()
    stored_tenant = db.session.get(Tenant, tenant.id)
    stored = stored_tenant.settings["notifications"]
    assert stored["events"]["lead"] == ["telegram", "webhook"] and stored["events"]["quota"] == ["email"]
    assert stored["events"]["handoff"] == [] and stored["email"] == "team@example.com"
    assert stored_tenant.notify_secrets == {"webhook": secret} and secret not in str(stored_tenant.settings)
    assert secret not in member_client.get("/settings/notifications").get_data(as_text=True)
    fresh = member_client.post("/settings/notifications/secret", data={"csrf_token": token}).get_data(as_text=True)
    assert "whsec_" in fresh and secret not in fresh


def test_another_tenants_log_is_not_visible(env, tenant, make_tenant, db, client):
    other = make_tenant("Other Shop")
    _configure(db, other, env.receiver, events={"lead": ["webhook"]})
    env.receiver.fail(status=500, times=None)
    _event(other.id, key="lead:9")
    env.queue.drain()
    login(client, tenant.owner_email, tenant.owner_password)
    page = client.get("/settings/notifications/log").get_data(as_text=True)
    assert "HTTP 500" not in page and "Nothing sent yet" in page


def test_the_back_office_list_links_to_the_lead_and_conversation(env, tenant, member_client, db):
    from webapp.services.notifications import notify_event

    notify_event(tenant.id, "lead", key="lead:41", lead_id=41, conversation_id=42, params={"channel": "x"})
    notify_event(tenant.id, "handoff", conversation_id=43, detail="please call")
    db.session.commit()
    page = member_client.get("/notifications").get_data(as_text=True)
    assert 'href="/leads/41"' in page and 'href="/conversations/42"' in page and 'href="/conversations/43"' in page


# --- quota --------------------------------------------------------------------------------------------------

def test_quota_80_and_100_are_told_once_a_month(env, tenant, db):
    from connectors.pipeline import usage
    from connectors.pipeline.effects import warn_limit_once
    from webapp.models import Notification, month_key

    tenant.plan.limits = {**tenant.plan.limits, "monthly_messages": 10}
    db.session.commit()
    for _ in range(12):
        usage.has_room_for_reply(tenant)  # notes the plan's limit, as a turn does
        usage.add(tenant.id, messages_in=1)
        db.session.commit()
    warn_limit_once(tenant)  # a refused reply reports the same event
    db.session.commit()
    kinds = [(n.kind, n.event_key) for n in _notes(db, tenant.id)]
    month = month_key()
    assert kinds == [("quota_80", f"quota80:{month}"), ("limit", f"quota100:{month}")]
    [eighty] = [n for n in _notes(db, tenant.id) if n.kind == "quota_80"]
    assert eighty.body == "8 of 10 messages used this month."
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 2


def test_a_count_written_outside_a_turn_reads_the_plan_itself(env, tenant, db):
    from connectors.pipeline import usage

    tenant.plan.limits = {**tenant.plan.limits, "monthly_messages": 5}
    db.session.commit()
    usage.add(tenant.id, messages_out=4)  # an operator's replies: no turn noted the cap
    db.session.commit()
    assert [n.kind for n in _notes(db, tenant.id)] == ["quota_80"]


# --- the other events at their source -----------------------------------------------------------------------

def test_a_channel_flagged_for_reconnection_is_one_notification_sent_on(env, tenant, db):
    from connectors.pipeline.delivery import flag_reconnect, tell_owners
    from webapp.services.channels import add_channel

    _configure(db, tenant, env.receiver, events={"reconnect": ["webhook"], "reply_problem": ["webhook"]})
    channel = add_channel(tenant, "webchat")
    assert flag_reconnect(channel.id, tenant.id, "Shop chat", "token rejected") is True
    assert flag_reconnect(channel.id, tenant.id, "Shop chat", "token rejected") is False
    tell_owners([(tenant.id, "delivery_failed", "message 5: refused"), (tenant.id, "delivery_failed", "message 6")])
    env.queue.drain()
    assert [(h["event"], h["title"]) for h in env.receiver.accepted] == [
        ("token_invalid", "Reconnect Shop chat"), ("delivery_failed", "Replies that could not be delivered")]
    assert env.receiver.accepted[1]["text"] == "message 5: refused\nmessage 6"
