"""A member's reply from the conversation page, through each channel's connector against the loopback fakes:
the window rules shown before sending and applied when it leaves (Instagram/Messenger: 24 h, then 7 days
with HUMAN_AGENT where the tenant allowed it; WhatsApp: 24 h, then only an approved template from the
picker; Telegram and web chat: any time), the same idempotency as the bot's replies (a form sent twice
sends once), take over / hand back / close, the waiting customer's notice and the automatic "we'll get back
to you" (the clock moved by moving the stored times, no sleeps)."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from tests.fakes.graph_api import WA_WABA_ID
from tests.helpers.pipeline import IG_ACCOUNT, IG_TOKEN, WA_PHONE_ID, WA_TOKEN, aim_connectors
from tests.helpers.web import login
from tests.helpers.webhooks import webchat_send

PAGE_ID = "100000000000001"
OWNER = "owner@acme-salon.example.com"


@pytest.fixture()
def desk(app, db, queue, graph_api, telegram_api, monkeypatch, tenant, client):
    """The tenant's member signed in, the connectors pointed at the fakes; `.conversation(type, hours)`
    makes a conversation on a channel of that type whose customer last wrote `hours` ago."""
    from webapp.services.channels import add_channel

    aim_connectors(app, monkeypatch, graph_api, telegram_api)
    assert login(client, tenant.owner_email, tenant.owner_password).status_code == 302
    made = {
        "instagram": lambda: add_channel(tenant, "instagram", external_id=IG_ACCOUNT, token=IG_TOKEN),
        "messenger": lambda: add_channel(tenant, "messenger", external_id=PAGE_ID, token="PAGE-TOKEN"),
        "whatsapp": lambda: add_channel(tenant, "whatsapp", external_id=WA_PHONE_ID, token=WA_TOKEN,
                                        settings={"waba_id": WA_WABA_ID}),
        "telegram": lambda: add_channel(tenant, "telegram", token=telegram_api.token),
        "webchat": lambda: add_channel(tenant, "webchat"),
    }
    channels: dict[str, object] = {}

    def conversation(channel_type: str, hours: float, user: str = "") -> object:
        from webapp.models import Contact, Conversation
        from webapp.models.base import utcnow

        if channel_type not in channels:
            channels[channel_type] = made[channel_type]()
        channel = channels[channel_type]
        contact = Contact(tenant_id=tenant.id, channel_id=channel.id,
                          external_user_id=user or {"telegram": "5551", "whatsapp": "16505550000"}.get(
                              channel_type, "PSID-1"))
        db.session.add(contact)
        db.session.flush()
        conv = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id, state={},
                            last_inbound_at=utcnow() - timedelta(hours=hours))
        db.session.add(conv)
        db.session.commit()
        return conv

    def human_agent(enabled: bool) -> None:
        tenant.settings = {**(tenant.settings or {}), "human_agent_tag": enabled}
        db.session.commit()

    return SimpleNamespace(tenant=tenant, client=client, queue=queue, graph=graph_api, telegram=telegram_api,
                           conversation=conversation, channels=channels, human_agent=human_agent, db=db)


def _page(client, conv_id: int) -> str:
    resp = client.get(f"/conversations/{conv_id}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _form(page: str) -> dict[str, str]:
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            "reply_token": re.search(r'name="reply_token" value="([^"]+)"', page).group(1)}


def _mode(page: str) -> str:
    return re.search(r'id="window-rules" data-mode="(\w+)"', page).group(1)


def _reply(desk, conv_id: int, **fields: str):
    page = _page(desk.client, conv_id)
    resp = desk.client.post(f"/conversations/{conv_id}/reply", data={**_form(page), **fields},
                            follow_redirects=True)
    desk.queue.drain()
    return resp


def _outbound(db, conv_id: int) -> list:
    from webapp.models import Message

    db.session.expire_all()
    return db.session.query(Message).filter_by(conversation_id=conv_id, direction="out").order_by(Message.id).all()


@pytest.mark.parametrize("channel_type", ["instagram", "messenger"])
def test_inside_24_hours_a_reply_goes_out_as_a_response(desk, channel_type):
    conv = desk.conversation(channel_type, hours=2)
    assert _mode(_page(desk.client, conv.id)) == "free"
    resp = _reply(desk, conv.id, text="Hello, this is Anna")
    assert "Reply sent to the channel." in resp.get_data(as_text=True)
    [sent] = desk.graph.messages
    assert sent.json["message"]["text"] == "Hello, this is Anna" and sent.json.get("tag") is None
    [row] = _outbound(desk.db, conv.id)
    assert row.delivery_status == "sent" and row.payload["meta"]["by"] == OWNER and row.payload["meta"]["human"]
    desk.db.session.refresh(conv)
    assert conv.bot_paused and conv.human_owner == OWNER  # a reply takes the conversation over
    assert "sent" in _page(desk.client, conv.id)  # its status on the page


@pytest.mark.parametrize("channel_type", ["instagram", "messenger"])
def test_after_24_hours_within_7_days_the_human_agent_tag_where_enabled(desk, channel_type):
    desk.human_agent(True)
    conv = desk.conversation(channel_type, hours=30)
    assert _mode(_page(desk.client, conv.id)) == "tag"
    _reply(desk, conv.id, text="Sorry for the wait")
    [sent] = desk.graph.messages
    assert sent.json["messaging_type"] == "MESSAGE_TAG" and sent.json["tag"] == "HUMAN_AGENT"
    assert _outbound(desk.db, conv.id)[0].delivery_status == "sent"


@pytest.mark.parametrize("channel_type", ["instagram", "messenger"])
def test_after_24_hours_without_the_permission_the_reply_is_refused(desk, channel_type):
    conv = desk.conversation(channel_type, hours=30)
    page = _page(desk.client, conv.id)
    assert _mode(page) == "closed" and 'id="reply-form"' not in page and "Human Agent" in page
    form = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            "reply_token": "a" * 32, "text": "Hello?"}
    resp = desk.client.post(f"/conversations/{conv.id}/reply", data=form, follow_redirects=True)
    assert "Human Agent" in resp.get_data(as_text=True)
    desk.queue.drain()
    assert desk.graph.messages == [] and _outbound(desk.db, conv.id) == []


def test_beyond_7_days_nothing_can_be_sent(desk):
    desk.human_agent(True)
    conv = desk.conversation("instagram", hours=8 * 24)
    page = _page(desk.client, conv.id)
    assert _mode(page) == "closed" and "7 days" in page
    form = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            "reply_token": "b" * 32, "text": "Hello?"}
    desk.client.post(f"/conversations/{conv.id}/reply", data=form)
    desk.queue.drain()
    assert desk.graph.messages == [] and _outbound(desk.db, conv.id) == []


def test_a_tagged_reply_the_window_closed_on_is_skipped_when_it_leaves(desk):
    """Delivery applies the same rules when the message leaves: a reply stored with the tag allowed, sent
    after the 7 days, is skipped with the reason (never sent untagged)."""
    from webapp.services.handoff import operator_reply

    desk.human_agent(True)
    conv = desk.conversation("instagram", hours=30)
    assert operator_reply(conv, OWNER, "c" * 32, text="Late answer")
    conv.last_inbound_at = conv.last_inbound_at - timedelta(days=7)
    desk.db.session.commit()
    desk.queue.drain()
    [row] = _outbound(desk.db, conv.id)
    assert desk.graph.messages == [] and row.delivery_status == "skipped" and "7 days" in row.error


def test_whatsapp_after_24_hours_only_a_template_from_the_picker(desk):
    conv = desk.conversation("whatsapp", hours=30)
    page = _page(desk.client, conv.id)
    assert _mode(page) == "template" and 'id="reply-form"' not in page
    assert "welcome_back" in page and "order_update" in page and "draft_offer" not in page  # approved only
    form = _form(page)
    desk.client.post(f"/conversations/{conv.id}/reply", data={**form, "text": "free text"})
    resp = desk.client.post(f"/conversations/{conv.id}/reply", data={**form, "template": "draft_offer:en_US"},
                            follow_redirects=True)
    assert "approved templates" in resp.get_data(as_text=True)
    desk.queue.drain()
    assert desk.graph.messages == []
    desk.client.post(f"/conversations/{conv.id}/reply", data={**form, "template": "order_update:ru"})
    desk.queue.drain()
    [sent] = desk.graph.messages
    assert sent.json["type"] == "template"
    assert sent.json["template"] == {"name": "order_update", "language": {"code": "ru"}}
    [row] = _outbound(desk.db, conv.id)
    assert row.kind == "template" and row.delivery_status == "sent"


def test_whatsapp_inside_24_hours_free_text(desk):
    conv = desk.conversation("whatsapp", hours=1)
    assert _mode(_page(desk.client, conv.id)) == "free"
    _reply(desk, conv.id, text="Your order is ready")
    [sent] = desk.graph.messages
    assert sent.json["type"] == "text" and sent.json["text"]["body"] == "Your order is ready"


def test_telegram_any_time(desk):
    conv = desk.conversation("telegram", hours=24 * 30)
    assert _mode(_page(desk.client, conv.id)) == "any"
    _reply(desk, conv.id, text="We are open again")
    [sent] = desk.telegram.sent
    assert sent.json["chat_id"] == 5551 and sent.json["text"] == "We are open again"
    assert _outbound(desk.db, conv.id)[0].delivery_status == "sent"


def test_web_chat_any_time_and_the_visitor_fetches_it(desk):
    from webapp.models import Contact

    conv = desk.conversation("webchat", hours=24 * 30, user="visitor7")
    assert _mode(_page(desk.client, conv.id)) == "any"
    _reply(desk, conv.id, text="Hi, Anna here")
    key = desk.channels["webchat"].public_key
    assert desk.db.session.get(Contact, conv.contact_id).external_user_id == "visitor7"
    shown = desk.client.get(f"/webchat/{key}/messages?visitor_id=visitor7").get_json()["messages"]
    assert [m["text"] for m in shown] == ["Hi, Anna here"]


def test_a_double_submitted_form_sends_once(desk):
    conv = desk.conversation("instagram", hours=1)
    form = {**_form(_page(desk.client, conv.id)), "text": "Only once"}
    first = desk.client.post(f"/conversations/{conv.id}/reply", data=form, follow_redirects=True)
    second = desk.client.post(f"/conversations/{conv.id}/reply", data=form, follow_redirects=True)
    desk.queue.drain()
    assert "Reply sent to the channel." in first.get_data(as_text=True)
    assert "This reply was sent already." in second.get_data(as_text=True)
    assert len(desk.graph.messages) == 1 and len(_outbound(desk.db, conv.id)) == 1


def test_take_over_hand_back_and_close_from_the_page(desk):
    conv = desk.conversation("webchat", hours=1, user="visitor8")
    csrf = _form(_page(desk.client, conv.id))["csrf_token"]
    assert desk.client.post(f"/conversations/{conv.id}/take-over", data={"csrf_token": csrf}).status_code == 303
    desk.db.session.refresh(conv)
    assert conv.bot_paused and conv.human_owner == OWNER and conv.handed_off_at is not None
    assert "Taken over by" in _page(desk.client, conv.id)
    assert desk.client.post(f"/conversations/{conv.id}/hand-back", data={"csrf_token": csrf}).status_code == 303
    desk.db.session.refresh(conv)
    assert not conv.bot_paused and conv.human_owner is None
    assert desk.client.post(f"/conversations/{conv.id}/close", data={"csrf_token": csrf}).status_code == 303
    desk.db.session.refresh(conv)
    assert conv.status == "closed"
    page = _page(desk.client, conv.id)
    assert 'id="reply-form"' not in page and "Closed" in page


def test_another_tenants_conversation_is_404_on_every_action(desk, make_tenant):
    from webapp.models import Contact, Conversation
    from webapp.services.channels import add_channel

    other = make_tenant("Other shop")
    channel = add_channel(other, "webchat")
    contact = Contact(tenant_id=other.id, channel_id=channel.id, external_user_id="v")
    desk.db.session.add(contact)
    desk.db.session.flush()
    theirs = Conversation(tenant_id=other.id, contact_id=contact.id, channel_id=channel.id, state={})
    desk.db.session.add(theirs)
    desk.db.session.commit()
    mine = desk.conversation("webchat", hours=1)
    csrf = _form(_page(desk.client, mine.id))["csrf_token"]
    for action in ("take-over", "hand-back", "close", "reply", "bot"):
        resp = desk.client.post(f"/conversations/{theirs.id}/{action}", data={"csrf_token": csrf, "text": "x",
                                                                            "reply_token": "d" * 32})
        assert resp.status_code == 404, action
    assert desk.client.get(f"/conversations/{theirs.id}").status_code == 404
    desk.db.session.refresh(theirs)
    assert not theirs.bot_paused and theirs.status == "open"


def test_the_waiting_customer_is_notified_and_gets_the_notice_once_per_wait(desk):
    from connectors.pipeline.sweeper import sweep
    from webapp.models import Conversation, Notification
    from webapp.services.handoff import take_over

    desk.tenant.settings = {**(desk.tenant.settings or {}), "handoff_wait_minutes": 5,
                            "handoff_wait_text": "We'll get back to you shortly."}
    desk.db.session.commit()
    conv = desk.conversation("webchat", hours=1, user="visitor9")
    key = desk.channels["webchat"].public_key
    take_over(conv, OWNER)
    webchat_send(desk.client, key, "hello? anyone?", "w1", visitor="visitor9")
    desk.queue.drain()
    desk.db.session.expire_all()
    conv = desk.db.session.get(Conversation, conv.id)
    assert conv.waiting_since is not None and conv.auto_reply_sent_at is None
    notes = desk.db.session.query(Notification).filter_by(kind="customer_waiting").all()
    assert [(n.payload["conversation_id"], n.payload["human_owner"]) for n in notes] == [(conv.id, OWNER)]
    assert "Customer waiting since" in _page(desk.client, conv.id)

    assert sweep(grace_seconds=0)["waiting_notices"] == 0  # 5 minutes have not passed
    _move_wait(desk.db, conv.id, minutes=6)
    assert sweep(grace_seconds=0)["waiting_notices"] == 1
    desk.queue.drain()
    [notice] = _outbound(desk.db, conv.id)
    assert notice.text == "We'll get back to you shortly." and notice.delivery_status == "sent"
    webchat_send(desk.client, key, "still waiting", "w2", visitor="visitor9")
    desk.queue.drain()
    _move_wait(desk.db, conv.id, minutes=60)
    assert sweep(grace_seconds=0)["waiting_notices"] == 0  # once per wait
    assert len(desk.db.session.query(Notification).filter_by(kind="customer_waiting").all()) == 2

    _reply(desk, conv.id, text="Sorry, here now")  # a person answers: the wait is over
    desk.db.session.expire_all()
    conv = desk.db.session.get(Conversation, conv.id)
    assert conv.waiting_since is None and conv.auto_reply_sent_at is None
    webchat_send(desk.client, key, "one more question", "w3", visitor="visitor9")
    desk.queue.drain()
    _move_wait(desk.db, conv.id, minutes=6)
    assert sweep(grace_seconds=0)["waiting_notices"] == 1  # a new wait, a new notice
    desk.queue.drain()
    assert [m.text for m in _outbound(desk.db, conv.id)] == [
        "We'll get back to you shortly.", "Sorry, here now", "We'll get back to you shortly."]


def test_no_notice_when_the_tenant_turned_it_off(desk):
    from connectors.pipeline.sweeper import sweep
    from webapp.services.handoff import take_over

    desk.tenant.settings = {**(desk.tenant.settings or {}), "handoff_wait_minutes": 0}
    desk.db.session.commit()
    conv = desk.conversation("webchat", hours=1, user="visitor10")
    take_over(conv, OWNER)
    webchat_send(desk.client, desk.channels["webchat"].public_key, "hi", "x1", visitor="visitor10")
    desk.queue.drain()
    _move_wait(desk.db, conv.id, minutes=600)
    assert sweep(grace_seconds=0)["waiting_notices"] == 0


def _move_wait(db, conversation_id: int, *, minutes: int) -> None:
    """The clock moved on: the wait started `minutes` earlier."""
    from webapp.models import Conversation
    from webapp.models.base import utcnow

    db.session.expire_all()
    conv = db.session.get(Conversation, conversation_id)
    conv.waiting_since = utcnow() - timedelta(minutes=minutes)
    db.session.commit()


def test_the_settings_page_saves_the_handoff_settings(desk):
    from webapp.services.handoff_settings import of_tenant

    page = desk.client.get("/settings/handoff").get_data(as_text=True)
    assert "operator" in page and "Handoff" in page
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = desk.client.post("/settings/handoff", data={
        "csrf_token": csrf, "keywords": "Call the boss\nmanager, human", "wait_minutes": "10",
        "wait_text": "Back soon!", "human_agent": "y"})
    assert resp.status_code == 302
    desk.db.session.refresh(desk.tenant)
    saved = of_tenant(desk.tenant)
    assert saved.keywords == ("call the boss", "manager", "human") and saved.wait_minutes == 10
    assert saved.wait_text == "Back soon!" and saved.human_agent_tag
    bad = desk.client.post("/settings/handoff", data={"csrf_token": csrf, "keywords": "", "wait_minutes": "-1"})
    assert bad.status_code == 400



def test_waits_that_are_not_due_do_not_hide_a_due_one(desk, make_tenant):
    """Older waits of a tenant that turned the notice off fill whole batches; the due wait behind them still
    gets its notice (the sweeper reads the waits in keyset batches until none is left)."""
    from connectors.pipeline.waiting import send_waiting_notices
    from webapp.models import Contact, Conversation
    from webapp.models.base import utcnow
    from webapp.services.channels import add_channel

    now = utcnow()
    quiet = make_tenant("Quiet shop")
    quiet.settings = {"handoff_wait_minutes": 0}
    chat = add_channel(quiet, "webchat")
    for n in range(3):
        contact = Contact(tenant_id=quiet.id, channel_id=chat.id, external_user_id=f"quiet-{n}")
        desk.db.session.add(contact)
        desk.db.session.flush()
        desk.db.session.add(Conversation(tenant_id=quiet.id, contact_id=contact.id, channel_id=chat.id, state={},
                                         bot_paused=True, waiting_since=now - timedelta(hours=1, minutes=n)))
    desk.tenant.settings = {**(desk.tenant.settings or {}), "handoff_wait_minutes": 5,
                            "handoff_wait_text": "Soon."}
    conv = desk.conversation("webchat", hours=1, user="visitor-due")
    due = desk.db.session.get(Conversation, conv.id)
    due.bot_paused, due.human_owner, due.waiting_since = True, OWNER, now - timedelta(minutes=10)
    desk.db.session.commit()

    assert send_waiting_notices(now, batch=2) == 1
    desk.db.session.expire_all()
    assert desk.db.session.get(Conversation, conv.id).auto_reply_sent_at is not None
