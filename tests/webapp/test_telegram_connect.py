"""Connecting a Telegram bot says what went wrong in words a tenant can act on: a token Telegram refused
(401/404) is the token's fault; no answer, a timeout or a 5xx is Telegram's (or the network's) and nothing is
saved. Never a raw exception on the page, never the token in the logs."""

from __future__ import annotations

import logging
import socket

import pytest

from tests.helpers.web import csrf_token, login

REJECTED = "Telegram did not accept this bot token; copy it again from @BotFather."
UNREACHABLE = "Could not reach Telegram right now; nothing was saved, try again in a minute."
BAD_TOKEN = "42:AAthisTokenIsNotKnownToTelegram"


@pytest.fixture()
def fast(app, monkeypatch):
    """Fast retries, so a failing API costs milliseconds."""
    for key, value in {"CONNECTOR_BACKOFF_BASE": 0.01, "CONNECTOR_BACKOFF_MAX": 0.02,
                       "CONNECTOR_TIMEOUT": 2.0}.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture()
def closed_port_url() -> str:
    """A loopback address nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _channels(db) -> int:
    from webapp.models import Channel

    db.session.expire_all()
    return db.session.query(Channel).count()


def _connect(client, token: str):
    csrf = csrf_token(client, "/channels/telegram")
    return client.post("/channels/telegram", data={"csrf_token": csrf, "token": token})


def test_a_rejected_token_is_blamed_on_the_token(member_client, db, app, telegram_api, monkeypatch, fast, caplog):
    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", telegram_api.url)
    caplog.set_level(logging.INFO)  # urllib3 logs request lines at DEBUG
    resp = _connect(member_client, BAD_TOKEN)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert REJECTED in page and "Unauthorized" not in page
    assert BAD_TOKEN not in page and _channels(db) == 0
    assert telegram_api.requests_to("/getMe") and not telegram_api.requests_to("/setWebhook")
    assert BAD_TOKEN.split(":", 1)[1] not in caplog.text


def test_an_unreachable_api_is_not_blamed_on_the_token(member_client, db, app, monkeypatch, fast, closed_port_url,
                                                       caplog):
    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", closed_port_url)
    caplog.set_level(logging.INFO)  # urllib3 logs request lines at DEBUG
    token = "123456789:AAvalidLookingTokenForTheClosedPort"
    resp = _connect(member_client, token)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert UNREACHABLE in page
    for raw in ("ConnectionError", "NameResolution", "Max retries", "rejected", "did not accept"):
        assert raw not in page
    assert token not in page and _channels(db) == 0
    assert token.split(":", 1)[1] not in caplog.text


def test_a_telegram_server_error_is_not_blamed_on_the_token(member_client, db, app, telegram_api, monkeypatch,
                                                            fast):
    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", telegram_api.url)
    telegram_api.fail(status=502, times=None, path="/getMe")
    page = _connect(member_client, telegram_api.token).get_data(as_text=True)
    assert UNREACHABLE in page and "Bad Gateway" not in page and _channels(db) == 0


def test_the_cli_says_the_same(app, db, make_tenant, monkeypatch, fast, closed_port_url, telegram_api):
    tenant = make_tenant("Bot shop")
    runner = app.test_cli_runner()
    args = ["channel", "add", "--tenant", str(tenant.id), "--type", "telegram", "--token"]
    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", closed_port_url)
    down = runner.invoke(args=[*args, telegram_api.token])
    assert down.exit_code == 1 and UNREACHABLE in down.output and "ConnectionError" not in down.output
    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", telegram_api.url)
    rejected = runner.invoke(args=[*args, BAD_TOKEN])
    assert rejected.exit_code == 1 and REJECTED in rejected.output and BAD_TOKEN not in rejected.output
    assert _channels(db) == 0


def test_a_bot_connected_elsewhere_is_refused_before_its_webhook_is_moved(client, db, app, make_tenant,
                                                                          telegram_api, monkeypatch, fast):
    from webapp.services.channels import add_channel

    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", telegram_api.url)
    first = add_channel(make_tenant("First"), "telegram", token=telegram_api.token)
    secret = telegram_api.webhooks[telegram_api.token]["secret_token"]
    other = make_tenant("Second")
    login(client, other.owner_email, other.owner_password)
    resp = _connect(client, telegram_api.token)
    assert resp.status_code == 400 and "The bot @fake_shop_bot is already connected." in resp.get_data(as_text=True)
    assert len(telegram_api.requests_to("/setWebhook")) == 1  # the first tenant's bot still calls its channel
    assert telegram_api.webhooks[telegram_api.token]["secret_token"] == secret
    assert _channels(db) == 1 and first.id


def test_groups_switch_when_telegram_is_unreachable(member_client, db, app, tenant, telegram_api, monkeypatch,
                                                    fast, closed_port_url):
    from webapp.models import Channel
    from webapp.services.channels import add_channel

    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", telegram_api.url)
    channel = add_channel(tenant, "telegram", token=telegram_api.token)
    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", closed_port_url)
    csrf = csrf_token(member_client, f"/channels/{channel.id}")
    resp = member_client.post(f"/channels/{channel.id}/groups", data={"csrf_token": csrf, "allow_groups": "1"})
    assert resp.status_code == 303
    page = member_client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert "Could not reach Telegram right now; nothing was changed, try again in a minute." in page
    db.session.expire_all()
    assert not (db.session.get(Channel, channel.id).settings or {}).get("allow_groups")


def test_reconnect_gives_the_same_bot_a_new_token(app, db, member_client, tenant, telegram_api, monkeypatch):
    """The banner's Reconnect for a bot whose token was revoked: the new token of the same bot keeps the
    channel (and sets the webhook again); another bot's token is refused."""
    from webapp.models import Channel, ChannelChange
    from webapp.services.channels import add_channel

    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", telegram_api.url)
    channel = add_channel(tenant, "telegram", token=telegram_api.token)
    channel.status, channel.status_reason = "needs_reconnect", "token revoked"
    db.session.commit()
    bot_number = telegram_api.token.split(":")[0]
    new_token = f"{bot_number}:AANewTokenAfterRevoke_abcdefghijklmn"
    telegram_api.bots[new_token] = telegram_api.bots[telegram_api.token]
    other = telegram_api.add_bot("987654321:AAOtherBotToken_abcdefghijklmnopqrs")

    page = f"/channels/telegram?channel={channel.id}"
    assert "Reconnect" in member_client.get(page).get_data(as_text=True)
    refused = member_client.post(page, data={"csrf_token": csrf_token(member_client, page),
                                             "token": "987654321:AAOtherBotToken_abcdefghijklmnopqrs"})
    assert refused.status_code == 400 and "another bot" in refused.get_data(as_text=True) and other
    done = member_client.post(page, data={"csrf_token": csrf_token(member_client, page), "token": new_token})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/channels/{channel.id}")
    db.session.expire_all()
    again = db.session.get(Channel, channel.id)
    assert again.status == "active" and again.credentials["token"] == new_token
    assert again.credentials["webhook_secret"] != "" and db.session.query(Channel).count() == 1
    assert [c.action for c in db.session.query(ChannelChange).order_by(ChannelChange.id)] == ["connected",
                                                                                              "reconnected"]
