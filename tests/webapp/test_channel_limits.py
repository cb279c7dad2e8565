"""The plan's channel limit holds on every path that adds a channel (the tenant's pages, `flask channel add`,
the staff panel), because all of them go through webapp.services.channels; a refusal is a clear message
(a form error or flash, a CLI error with a non-zero exit), never a 500, and nothing is stored."""

from __future__ import annotations

import json

import pytest

from tests.helpers.web import csrf_token, login

LIMIT = "Your plan allows 1 channel(s); remove a channel or upgrade the plan."


@pytest.fixture()
def small(make_tenant):
    """A START tenant (one channel) that has its one channel already."""
    from webapp.services.channels import add_channel

    tenant = make_tenant("Tiny shop", plan="START")
    add_channel(tenant, "webchat")
    return tenant


@pytest.fixture()
def telegram(app, telegram_api, monkeypatch):
    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", telegram_api.url)
    monkeypatch.setitem(app.config, "CONNECTOR_BACKOFF_BASE", 0.01)
    return telegram_api


def _count(db, tenant) -> int:
    from webapp.models import Channel

    db.session.expire_all()
    return db.session.query(Channel).filter_by(tenant_id=tenant.id).count()


def test_the_service_refuses_a_channel_beyond_the_plan(db, small):
    from webapp.services.channels import ChannelSetupError, add_channel, channel_room
    from webapp.services.errors import Refused

    with pytest.raises(ChannelSetupError) as refused:
        add_channel(small, "whatsapp", external_id="1065", token="t")
    assert refused.value.message == LIMIT and isinstance(refused.value, Refused)
    assert _count(db, small) == 1 and channel_room(small) == (1, 1)


def test_an_unlimited_plan_has_room(db, make_tenant):
    from webapp.models import Plan
    from webapp.services.channels import add_channel, channel_room

    tenant = make_tenant("Big", plan="PRO")
    plan = db.session.query(Plan).filter_by(code="PRO").one()
    plan.limits = {**plan.limits, "channels": None}
    db.session.commit()
    for _ in range(3):
        add_channel(tenant, "webchat")
    assert channel_room(tenant) == (3, None)


def test_the_cli_exits_non_zero_before_calling_telegram(app, db, small, telegram):
    result = app.test_cli_runner().invoke(args=["channel", "add", "--tenant", str(small.id), "--type", "telegram",
                                                "--token", telegram.token])
    assert result.exit_code == 1 and LIMIT in result.output and "Traceback" not in result.output
    assert not telegram.requests and _count(db, small) == 1


def test_the_pages_refuse_with_a_message(client, db, small, telegram):
    login(client, small.owner_email, small.owner_password)
    listing = client.get("/channels").get_data(as_text=True)
    assert "1 of 1 channels on your plan." in listing
    token = csrf_token(client, "/channels/telegram")
    bot = client.post("/channels/telegram", data={"csrf_token": token, "token": telegram.token})
    assert bot.status_code == 400 and LIMIT in bot.get_data(as_text=True)
    assert not telegram.requests
    chat = client.post("/channels/webchat", data={"csrf_token": token, "name": "Site", "origins": "",
                                                  "color": "#112233", "greeting": "Hi"})
    assert chat.status_code == 400 and LIMIT in chat.get_data(as_text=True)
    assert _count(db, small) == 1


def _admin_create(client, tenant, **fields: str):
    token = csrf_token(client, "/admin/channel/new/")
    data = {"csrf_token": token, "tenant": str(tenant.id), "name": "", "external_id": "", "status": "active",
            "settings": "{}", "new_token": "", "new_secret": "", **fields}
    return client.post("/admin/channel/new/", data=data, follow_redirects=True)


def test_the_staff_panel_goes_through_the_service(client, db, staff_user, make_tenant, telegram):
    from webapp.models import Channel

    tenant = make_tenant("Bot shop", plan="START")
    login(client, staff_user.email, staff_user.raw_password)
    bad = _admin_create(client, tenant, type="telegram", new_token="42:AAunknownBotToken")
    assert bad.status_code == 200 and "Telegram did not accept this bot token" in bad.get_data(as_text=True)
    assert _count(db, tenant) == 0
    ok = _admin_create(client, tenant, type="telegram", new_token=telegram.token)
    assert ok.status_code == 200, ok.get_data(as_text=True)[:500]
    [channel] = db.session.query(Channel).filter_by(tenant_id=tenant.id).all()
    hook = telegram.webhooks[telegram.token]
    assert hook["url"] == f"https://bots.example.test/webhooks/telegram/{channel.id}"
    assert channel.credentials["webhook_secret"] == hook["secret_token"]
    assert channel.external_id == telegram.token.split(":", 1)[0] and channel.name == "@fake_shop_bot"
    over = _admin_create(client, tenant, type="webchat", name="Site chat",
                         settings=json.dumps({"greeting": "Hello"}))
    assert over.status_code == 200 and LIMIT in over.get_data(as_text=True)
    assert _count(db, tenant) == 1


def test_the_staff_panel_keeps_what_it_was_given(client, db, staff_user, make_tenant):
    from webapp.models import Channel

    tenant = make_tenant("Shop", plan="PRO")
    login(client, staff_user.email, staff_user.raw_password)
    resp = _admin_create(client, tenant, type="whatsapp", name="WA", external_id="106540352242922",
                         new_token="EAAG-token", status="disabled", settings=json.dumps({"note": "x"}))
    assert resp.status_code == 200
    channel = db.session.query(Channel).filter_by(tenant_id=tenant.id).one()
    assert (channel.name, channel.status, channel.settings) == ("WA", "disabled", {"note": "x"})
    assert channel.credentials == {"token": "EAAG-token"}
    missing = _admin_create(client, tenant, type="whatsapp")
    assert missing.status_code == 200 and "--external-id is required for whatsapp" in missing.get_data(as_text=True)
    assert _count(db, tenant) == 1
