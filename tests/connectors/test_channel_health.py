"""Each connector reads its own health back from its API (real HTTP against the loopback fakes): the token
works or was rejected, the webhook subscription is present (read back, not remembered), or the API did not
answer and nothing is concluded."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from connectors.channels.base import ChannelHealth
from connectors.channels.registry import get_connector

IG_ACCOUNT = "17841400000000001"
IG_TOKEN = "IGQVJ-health-token-0123456789"
PAGE_ID = "100000000000001"
PAGE_TOKEN = "EAAG-page-token-0123456789"
WA_NUMBER = "106540352242922"
WA_WABA = "102290129340398"
WA_TOKEN = "EAAG-wa-token-0123456789"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _no_secret(health: ChannelHealth, token: str) -> None:
    for text in (health.error, health.token_error, health.detail):
        assert token not in (text or "")


# --- Instagram ------------------------------------------------------------------------------------------

def test_instagram_reads_the_subscription_back(graph_api, connector_config):
    graph_api.subscriptions["me"] = ["messages", "comments"]  # where connecting subscribed it
    health = get_connector("instagram").health({"access_token": IG_TOKEN}, IG_ACCOUNT, {}, connector_config)
    assert health.checked and health.remote and health.error is None
    assert health.token_ok is True and health.account == "@fake_shop"
    assert health.subscribed is True and health.subscribed_fields == ("messages", "comments")
    me, subscribed = graph_api.requests
    assert (me.method, me.path, me.query["fields"]) == ("GET", "/v21.0/me", "user_id,username")
    assert (subscribed.method, subscribed.path) == ("GET", "/v21.0/me/subscribed_apps")
    assert all(r.header("Authorization") == f"Bearer {IG_TOKEN}" and IG_TOKEN not in r.path + str(r.query)
               for r in graph_api.requests)


def test_instagram_without_a_subscription_says_so(graph_api, connector_config):
    health = get_connector("instagram").health({"access_token": IG_TOKEN}, IG_ACCOUNT, {}, connector_config)
    assert health.token_ok is True and health.subscribed is False and health.subscribed_fields == ()


def test_an_expired_instagram_token_is_rejected_and_nothing_else_asked(graph_api, connector_config):
    graph_api.expire_token(IG_TOKEN)
    health = get_connector("instagram").health({"access_token": IG_TOKEN}, IG_ACCOUNT, {}, connector_config)
    assert health.checked and health.token_ok is False and "(190)" in (health.token_error or "")
    assert health.subscribed is None and len(graph_api.requests) == 1
    _no_secret(health, IG_TOKEN)


def test_instagram_with_a_page_token_reads_the_pages_subscription(graph_api, connector_config):
    graph_api.subscriptions[PAGE_ID] = ["messages"]
    creds = {"access_token": PAGE_TOKEN, "login": "facebook", "page_id": PAGE_ID}
    health = get_connector("instagram").health(creds, IG_ACCOUNT, {}, connector_config)
    assert health.token_ok is True and health.subscribed is True and health.subscribed_fields == ("messages",)
    me, subscribed = graph_api.requests
    assert me.query["fields"] == "id,name" and subscribed.path == f"/v21.0/{PAGE_ID}/subscribed_apps"


def test_no_token_stored_is_a_rejected_token_without_a_call(graph_api, connector_config):
    health = get_connector("instagram").health({}, IG_ACCOUNT, {}, connector_config)
    assert health.token_ok is False and not graph_api.requests


@pytest.mark.parametrize("status", [500, 429])
def test_a_graph_outage_concludes_nothing(graph_api, connector_config, status):
    graph_api.fail(status=status, times=None)
    health = get_connector("instagram").health({"access_token": IG_TOKEN}, IG_ACCOUNT, {},
                                               replace(connector_config, max_attempts=2))
    assert not health.checked and health.error and health.token_ok is None and health.subscribed is None
    assert len(graph_api.requests) == 2  # one retry at most, as the page asks


def test_an_unreachable_graph_concludes_nothing(connector_config):
    config = replace(connector_config, meta_graph_url=_closed_port_url(), instagram_graph_url=_closed_port_url(),
                     max_attempts=1)
    health = get_connector("instagram").health({"access_token": IG_TOKEN}, IG_ACCOUNT, {}, config)
    assert not health.checked and health.error and health.token_ok is None
    _no_secret(health, IG_TOKEN)


def test_a_subscription_that_cannot_be_read_leaves_it_unknown(graph_api, connector_config):
    graph_api.fail(status=403, times=None, path="/subscribed_apps")
    health = get_connector("instagram").health({"access_token": IG_TOKEN}, IG_ACCOUNT, {},
                                               replace(connector_config, max_attempts=1))
    assert health.token_ok is True and health.subscribed is None
    assert "could not be read" in (health.detail or "")


# --- Messenger and WhatsApp -----------------------------------------------------------------------------

def test_messenger_reads_the_pages_subscription(graph_api, connector_config):
    graph_api.subscriptions[PAGE_ID] = ["messages", "messaging_postbacks"]
    health = get_connector("messenger").health({"access_token": PAGE_TOKEN}, PAGE_ID, {}, connector_config)
    assert health.token_ok is True and health.account == "Fake Shop"
    assert health.subscribed is True and health.subscribed_fields == ("messages", "messaging_postbacks")
    assert graph_api.last.path == f"/v21.0/{PAGE_ID}/subscribed_apps"


def test_whatsapp_checks_the_number_and_the_business_accounts_subscription(graph_api, connector_config):
    graph_api.subscriptions[WA_WABA] = []  # a WABA lists the app without fields
    creds = {"access_token": WA_TOKEN, "phone_number_id": WA_NUMBER}
    health = get_connector("whatsapp").health(creds, WA_NUMBER, {"waba_id": WA_WABA}, connector_config)
    assert health.token_ok is True and health.subscribed is True and health.subscribed_fields == ()
    assert health.account == "+1 555-010-0001 Fake Salon"  # the fake's number: what the page shows
    number, subscribed = graph_api.requests
    assert number.path == f"/v21.0/{WA_NUMBER}" and number.query["fields"] == "display_phone_number,verified_name"
    assert subscribed.path == f"/v21.0/{WA_WABA}/subscribed_apps"


def test_whatsapp_without_a_business_account_id_reports_it_without_failing(graph_api, connector_config):
    creds = {"access_token": WA_TOKEN, "phone_number_id": WA_NUMBER}
    health = get_connector("whatsapp").health(creds, WA_NUMBER, {}, connector_config)
    assert health.checked and health.token_ok is True and health.subscribed is None
    assert "WABA id unknown" in (health.detail or "") and len(graph_api.requests) == 1


def test_whatsapp_finds_the_business_account_in_the_credentials_too(graph_api, connector_config):
    creds = {"access_token": WA_TOKEN, "phone_number_id": WA_NUMBER, "waba_id": WA_WABA}
    health = get_connector("whatsapp").health(creds, WA_NUMBER, {}, connector_config)
    assert health.subscribed is False and graph_api.last.path == f"/v21.0/{WA_WABA}/subscribed_apps"


# --- Telegram and the web chat --------------------------------------------------------------------------

def test_telegram_reads_the_webhook_back(telegram_api, connector_config):
    from connectors.channels import telegram

    url = "https://bots.example/webhooks/telegram/7"
    telegram.set_webhook(telegram_api.token, url, "s3cret", connector_config)
    telegram_api.webhooks[telegram_api.token].update(pending_update_count=3, last_error_date=1_700_000_000,
                                                     last_error_message="Wrong response from the webhook: 500")
    health = get_connector("telegram").health({"token": telegram_api.token}, "123456789", {}, connector_config)
    assert health.checked and health.token_ok is True and health.account == "@fake_shop_bot"
    assert health.subscribed is True and health.webhook_url == url and health.pending_updates == 3
    assert health.platform_error == "Wrong response from the webhook: 500"
    assert health.platform_error_at is not None and health.platform_error_at.timestamp() == 1_700_000_000


def test_telegram_without_a_webhook_is_not_subscribed(telegram_api, connector_config):
    health = get_connector("telegram").health({"token": telegram_api.token}, None, {}, connector_config)
    assert health.token_ok is True and health.subscribed is False and health.webhook_url == ""


def test_telegram_rejecting_the_token(telegram_api, connector_config):
    bad = "42:AAthisTokenIsNotKnownToTelegram"
    health = get_connector("telegram").health({"token": bad}, None, {}, connector_config)
    assert health.checked and health.token_ok is False and health.token_error == "Unauthorized"
    assert not telegram_api.requests_to("/getWebhookInfo")
    _no_secret(health, bad)


def test_telegram_outage_concludes_nothing(telegram_api, connector_config):
    telegram_api.fail(status=502, times=None)
    health = get_connector("telegram").health({"token": telegram_api.token}, None, {},
                                              replace(connector_config, max_attempts=1))
    assert not health.checked and health.error and health.token_ok is None
    _no_secret(health, telegram_api.token)


def test_telegram_webhook_info_failing_keeps_what_getme_said(telegram_api, connector_config):
    telegram_api.fail(status=502, times=None, path="/getWebhookInfo")
    health = get_connector("telegram").health({"token": telegram_api.token}, None, {},
                                              replace(connector_config, max_attempts=1))
    assert not health.checked and health.error  # an outage halfway still concludes nothing


def test_telegram_webhook_info_refused_keeps_the_token_valid(telegram_api, connector_config):
    telegram_api.fail(status=400, times=None, path="/getWebhookInfo", description="Bad Request: not allowed")
    health = get_connector("telegram").health({"token": telegram_api.token}, None, {}, connector_config)
    assert health.checked and health.token_ok is True and health.token_error is None
    assert health.subscribed is None and "Bad Request: not allowed" in (health.detail or "")


def test_the_web_chat_has_nothing_to_check_remotely(connector_config):
    health = get_connector("webchat").health({}, None, {}, connector_config)
    assert health == ChannelHealth(remote=False)
