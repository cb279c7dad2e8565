"""Connect WhatsApp over real HTTP against the Graph fake: Embedded Signup's finish (the code exchanged at
once, the WABA subscribed, the number registered with the owner's PIN, the channel stored), the manual form
checked against the API, and the re-engagement template chosen from the account's approved templates. Every
way it can fail ends on a page that says what happened and what to do, nothing stored, no token shown or
logged."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.fakes.graph_api import WA_PHONE_NUMBER_ID, WA_WABA_ID, FakeGraphAPI
from tests.helpers.web import csrf_token
from webapp.models import Channel, ChannelChange

PIN = "246810"
LABEL = "Fake Salon (+1 555-010-0001)"


@pytest.fixture()
def wa_graph(app: Any, graph_api: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch) -> FakeGraphAPI:
    """The Graph fake, with the app's Graph URL pointing at it and fast retries."""
    for key, value in {"META_GRAPH_URL": graph_api.url, "CONNECTOR_BACKOFF_BASE": 0.01,
                       "CONNECTOR_BACKOFF_MAX": 0.02, "CONNECTOR_TIMEOUT": 2.0}.items():
        monkeypatch.setitem(app.config, key, value)
    return graph_api


def _channels(db: Any) -> list[Channel]:
    db.session.expire_all()
    return db.session.query(Channel).order_by(Channel.id).all()


def _signup_page(client: Any) -> tuple[str, str]:
    """(CSRF token, state) of the WhatsApp page, as the browser holds them."""
    resp = client.get("/connect/whatsapp")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    page = resp.get_data(as_text=True)
    state = re.search(r'name="state" value="([^"]+)"', page)
    assert state, "no state on the page"
    return csrf_token(client, "/connect/whatsapp"), state.group(1)


def _finish(client: Any, *, code: str = "es-code-1", state: str | None = None, **fields: str) -> Any:
    """What static/whatsapp_signup.js posts once Meta reported the FINISH event and the code."""
    csrf, fresh_state = _signup_page(client)
    data = {"csrf_token": csrf, "state": fresh_state if state is None else state, "outcome": "finish",
            "code": code, "waba_id": WA_WABA_ID, "phone_number_id": WA_PHONE_NUMBER_ID, "pin": PIN, **fields}
    return client.post("/connect/whatsapp/finish", data=data)


def _failed(resp: Any) -> str:
    page = resp.get_data(as_text=True)
    assert 'data-testid="connect-failed"' in page, page[:2000]
    assert "Traceback" not in page and "FAKE-TOKEN" not in page
    return page


# --- Embedded Signup -------------------------------------------------------------------------------------

def test_the_page_loads_the_sdk_under_a_policy_that_allows_exactly_facebook(member_client, wa_graph, app):
    resp = member_client.get("/connect/whatsapp")
    page = resp.get_data(as_text=True)
    assert 'data-app-id="test-app-id"' in page and 'data-config-id="test-signup-config"' in page
    assert 'data-sdk-url="https://connect.facebook.net/en_US/sdk.js"' in page
    assert "/static/whatsapp_signup.js" in page and "<script>" not in page  # no inline script
    csp = dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self' https://connect.facebook.net"
    assert csp["frame-src"] == "https://www.facebook.com"
    assert csp["connect-src"] == "'self' https://www.facebook.com"
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'"
    other = member_client.get("/channels").headers["Content-Security-Policy"]
    assert "facebook" not in other  # only this page widens the policy


def test_embedded_signup_happy_path(app, db, member_client, wa_graph, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    resp = _finish(member_client)
    assert resp.status_code == 302, resp.get_data(as_text=True)

    [exchange] = wa_graph.requests_to("/oauth/access_token", "GET")
    assert exchange.path == "/v21.0/oauth/access_token"
    assert exchange.params["client_id"] == "test-app-id" and exchange.params["client_secret"] == "test-app-secret"
    assert exchange.params["code"] == "es-code-1" and "redirect_uri" not in exchange.params
    [channel] = _channels(db)
    token = channel.credentials["token"]
    assert token.startswith("FAKE-TOKEN-")
    assert (channel.tenant_id, channel.type, channel.external_id) == (tenant.id, "whatsapp", WA_PHONE_NUMBER_ID)
    assert channel.name == LABEL and channel.settings["waba_id"] == WA_WABA_ID
    assert channel.credentials["waba_id"] == WA_WABA_ID
    # the WABA subscribed and the number registered with the chosen PIN, with the new token
    [subscribe] = wa_graph.requests_to(f"/{WA_WABA_ID}/subscribed_apps", "POST")
    assert subscribe.header("Authorization") == f"Bearer {token}"
    assert WA_WABA_ID in wa_graph.subscriptions
    assert wa_graph.registered == {WA_PHONE_NUMBER_ID: PIN}
    [register] = wa_graph.requests_to("/register", "POST")
    assert register.json == {"messaging_product": "whatsapp", "pin": PIN}
    [change] = db.session.query(ChannelChange).all()
    assert (change.action, change.actor) == ("connected", tenant.owner_email)
    assert resp.headers["Location"].endswith(f"/channels/{channel.id}")

    page = member_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"{LABEL} is connected." in page
    assert token not in page and token not in caplog.text and "test-app-secret" not in caplog.text
    assert PIN not in caplog.text
    assert token not in str(db.session.execute(db.text("SELECT credentials FROM channels")).scalar())


def test_a_second_signup_of_the_same_number_reconnects_it(db, member_client, wa_graph):
    assert _finish(member_client, code="first").status_code == 302
    assert _finish(member_client, code="second").status_code == 302
    [channel] = _channels(db)
    assert "reconnected" in [c.action for c in db.session.query(ChannelChange).all()]
    assert channel.credentials["token"].startswith("FAKE-TOKEN-")


@pytest.mark.parametrize("state", ["", "forged-state"])
def test_a_bad_or_missing_state_is_refused_before_the_code_is_used(db, member_client, wa_graph, state):
    resp = _finish(member_client, state=state)
    assert resp.status_code == 400
    assert "out of date or was already used" in _failed(resp)
    assert not wa_graph.requests_to("/oauth/access_token") and _channels(db) == []


def test_a_state_works_once(db, member_client, wa_graph):
    csrf, state = _signup_page(member_client)
    data = {"csrf_token": csrf, "state": state, "outcome": "finish", "code": "once", "waba_id": WA_WABA_ID,
            "phone_number_id": WA_PHONE_NUMBER_ID, "pin": PIN}
    assert member_client.post("/connect/whatsapp/finish", data=data).status_code == 302
    again = member_client.post("/connect/whatsapp/finish", data={**data, "code": "other"})
    assert again.status_code == 400 and "out of date or was already used" in _failed(again)
    assert len(wa_graph.requests_to("/oauth/access_token")) == 1


def test_an_expired_code(db, member_client, wa_graph):
    resp = _finish(member_client, code="expired")
    assert resp.status_code == 400
    page = _failed(resp)
    assert "expired before it could be used" in page and "Start the WhatsApp sign-up again." in page
    assert _channels(db) == [] and not wa_graph.requests_to("/subscribed_apps")


def test_a_reused_code(db, member_client, wa_graph):
    assert _finish(member_client, code="twice").status_code == 302
    resp = _finish(member_client, code="twice")
    assert resp.status_code == 400
    assert "already finished once" in _failed(resp)
    assert len(_channels(db)) == 1


def test_a_token_exchange_server_error(db, member_client, wa_graph, caplog):
    caplog.set_level(logging.DEBUG)
    wa_graph.fail(status=500, times=None, path="/oauth/access_token")
    resp = _finish(member_client)
    assert resp.status_code == 503
    page = _failed(resp)
    assert "Meta did not answer when we tried to finish the sign-up" in page and "unexpected error" not in page
    assert _channels(db) == [] and "test-app-secret" not in caplog.text


def test_a_refused_code_quotes_meta(db, member_client, wa_graph):
    resp = _finish(member_client, code="bad")
    assert resp.status_code == 502
    assert "Meta refused to finish the WhatsApp sign-up: Invalid verification code format." in _failed(resp)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"outcome": "cancelled", "step": "PHONE_NUMBER_SETUP"}, "before it finished (at: phone number setup)"),
    ({"outcome": "denied", "code": ""}, "not allowed or not finished"),
    ({"outcome": "error", "error_message": "<b>Business verification failed</b>"},
     "with an error: &lt;b&gt;Business verification failed&lt;/b&gt;"),
])
def test_a_cancelled_denied_or_failed_signup(db, member_client, wa_graph, fields, expected):
    resp = _finish(member_client, **fields)
    assert resp.status_code in (400, 502)
    assert expected in _failed(resp)
    assert not wa_graph.requests and _channels(db) == []


def test_no_account_in_the_finish_event(db, member_client, wa_graph):
    resp = _finish(member_client, waba_id="", phone_number_id="")
    assert "which WhatsApp account and phone number" in _failed(resp)
    assert not wa_graph.requests


def test_a_pin_that_is_not_six_digits(db, member_client, wa_graph):
    resp = _finish(member_client, pin="12ab")
    assert "exactly 6 digits" in _failed(resp) and not wa_graph.requests


def test_a_missing_permission_while_subscribing(db, member_client, wa_graph):
    wa_graph.fail(status=403, code=200, message="(#200) Permissions error", path="/subscribed_apps")
    resp = _finish(member_client)
    assert resp.status_code == 403
    assert "a permission is missing" in _failed(resp) and _channels(db) == []


def test_registration_refused(db, member_client, wa_graph):
    wa_graph.fail(status=400, code=133005, message="Two step verification PIN Mismatch", path="/register")
    resp = _finish(member_client)
    assert resp.status_code == 502
    page = _failed(resp)
    assert "did not register the number" in page and "Two step verification PIN Mismatch" in page
    assert "enter that PIN" in page and _channels(db) == []


def test_the_plan_limit(db, make_tenant, client, wa_graph):
    from tests.helpers.web import login
    from webapp.services.channels import add_channel

    tenant = make_tenant("Small", plan="START")  # one channel
    login(client, tenant.owner_email, tenant.owner_password)
    csrf, state = _signup_page(client)
    add_channel(tenant, "webchat")  # the plan fills up meanwhile (another tab)
    resp = client.post("/connect/whatsapp/finish", data={
        "csrf_token": csrf, "state": state, "outcome": "finish", "code": "c", "waba_id": WA_WABA_ID,
        "phone_number_id": WA_PHONE_NUMBER_ID, "pin": PIN})
    assert resp.status_code == 403
    assert "Your plan allows 1 channel(s)" in _failed(resp)
    assert not wa_graph.requests_to("/oauth/access_token")  # said before the code is spent
    assert client.get("/connect/whatsapp").status_code == 403


def test_a_number_connected_to_another_tenant(db, make_tenant, member_client, wa_graph):
    from webapp.services.channels import add_channel

    add_channel(make_tenant("Other"), "whatsapp", external_id=WA_PHONE_NUMBER_ID, token="OTHER-TOKEN")
    resp = _finish(member_client)
    assert resp.status_code == 409
    assert "already connected to another TemoWeb account" in _failed(resp)
    assert len(_channels(db)) == 1


def test_not_configured(db, member_client, wa_graph, app, monkeypatch):
    monkeypatch.setitem(app.config, "WHATSAPP_SIGNUP_CONFIG_ID", "")
    resp = member_client.get("/connect/whatsapp")
    page = resp.get_data(as_text=True)
    assert 'data-testid="wa-signup-unavailable"' in page and "whatsapp_signup.js" not in page
    assert "facebook" not in resp.headers["Content-Security-Policy"]


# --- the manual form -------------------------------------------------------------------------------------

def _manual(client: Any, **fields: str) -> Any:
    data = {"csrf_token": csrf_token(client, "/connect/whatsapp"), "waba_id": WA_WABA_ID,
            "phone_number_id": WA_PHONE_NUMBER_ID, "token": "SYSTEM-USER-TOKEN", **fields}
    return client.post("/connect/whatsapp/manual", data=data)


def test_manual_form_happy_path(db, member_client, wa_graph, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    resp = _manual(member_client)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    [channel] = _channels(db)
    assert channel.credentials["token"] == "SYSTEM-USER-TOKEN" and channel.name == LABEL
    assert channel.settings["waba_id"] == WA_WABA_ID and channel.external_id == WA_PHONE_NUMBER_ID
    assert [r.path for r in wa_graph.requests] == [
        f"/v21.0/{WA_PHONE_NUMBER_ID}", f"/v21.0/{WA_WABA_ID}/phone_numbers", f"/v21.0/{WA_WABA_ID}/subscribed_apps"]
    page = member_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"{LABEL} is connected." in page and "SYSTEM-USER-TOKEN" not in page
    assert "SYSTEM-USER-TOKEN" not in caplog.text


def test_manual_form_with_a_bad_token(db, member_client, wa_graph, caplog):
    caplog.set_level(logging.DEBUG)
    wa_graph.expire_token("BAD-TOKEN-123")
    resp = _manual(member_client, token="BAD-TOKEN-123")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Meta refused this token" in page and 'data-testid="wa-error-token"' in page
    assert "BAD-TOKEN-123" not in page and "BAD-TOKEN-123" not in caplog.text
    assert _channels(db) == [] and not wa_graph.requests_to("/subscribed_apps")


def test_manual_form_with_a_number_of_another_account(db, member_client, wa_graph):
    wa_graph.wa_numbers["999000111"] = {"waba_id": "555000", "display_phone_number": "+1 555-020-0002",
                                        "verified_name": "Elsewhere"}
    resp = _manual(member_client, phone_number_id="999000111")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'data-testid="wa-error-phone_number_id"' in page
    assert f"Phone number 999000111 is not in WhatsApp Business Account {WA_WABA_ID}" in page
    assert WA_PHONE_NUMBER_ID in page  # the numbers it does have
    assert _channels(db) == [] and not wa_graph.requests_to("/subscribed_apps")


def test_manual_form_with_an_account_the_token_cannot_see(db, member_client, wa_graph):
    resp = _manual(member_client, waba_id="424242")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "This token cannot see WhatsApp Business Account 424242" in page
    assert _channels(db) == []


def test_manual_form_when_meta_is_down(db, member_client, wa_graph):
    wa_graph.fail(status=503, times=None)
    resp = _manual(member_client)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Meta did not answer" in page and _channels(db) == []


def test_manual_form_rejects_ids_that_are_not_digits(db, member_client, wa_graph):
    resp = _manual(member_client, waba_id="abc")
    assert resp.status_code == 400 and "digits only" in resp.get_data(as_text=True)
    assert not wa_graph.requests


# --- the re-engagement template --------------------------------------------------------------------------

@pytest.fixture()
def wa_channel(db: Any, tenant: Any, wa_graph: FakeGraphAPI) -> Channel:
    from webapp.services.channels import add_channel

    return add_channel(tenant, "whatsapp", external_id=WA_PHONE_NUMBER_ID, token="WA-CHANNEL-TOKEN",
                       settings={"waba_id": WA_WABA_ID}, credentials={"waba_id": WA_WABA_ID})


def test_the_channel_page_links_to_the_picker(member_client, wa_channel):
    page = member_client.get(f"/channels/{wa_channel.id}").get_data(as_text=True)
    assert 'data-testid="wa-template"' in page and "None chosen" in page
    assert f"/connect/whatsapp/{wa_channel.id}/template" in page


def test_the_picker_lists_approved_templates_and_stores_the_choice(db, member_client, wa_channel, wa_graph):
    path = f"/connect/whatsapp/{wa_channel.id}/template"
    page = member_client.get(path).get_data(as_text=True)
    assert "welcome_back — en_US" in page and "order_update — ru" in page
    assert "draft_offer" not in page  # pending, not approved
    [listing] = wa_graph.requests_to("/message_templates", "GET")
    assert listing.params["status"] == "APPROVED" and listing.header("Authorization") == "Bearer WA-CHANNEL-TOKEN"
    assert "WA-CHANNEL-TOKEN" not in page

    resp = member_client.post(path, data={"csrf_token": csrf_token(member_client, path),
                                          "template": "order_update:ru"})
    assert resp.status_code == 303
    db.session.expire_all()
    channel = db.session.get(Channel, wa_channel.id)
    assert channel.settings["reengagement_template"] == {"name": "order_update", "language": {"code": "ru"}}
    assert channel.settings["waba_id"] == WA_WABA_ID
    shown = member_client.get(f"/channels/{wa_channel.id}").get_data(as_text=True)
    assert "order_update — ru" in shown
    assert 'selected value="order_update:ru"' in member_client.get(path).get_data(as_text=True)

    cleared = member_client.post(path, data={"csrf_token": csrf_token(member_client, path), "template": ""})
    assert cleared.status_code == 303
    db.session.expire_all()
    assert "reengagement_template" not in db.session.get(Channel, wa_channel.id).settings


def test_the_picker_refuses_a_template_that_is_not_approved(db, member_client, wa_channel):
    path = f"/connect/whatsapp/{wa_channel.id}/template"
    resp = member_client.post(path, data={"csrf_token": csrf_token(member_client, path),
                                          "template": "draft_offer:en_US"})
    assert resp.status_code == 400
    db.session.expire_all()
    assert "reengagement_template" not in db.session.get(Channel, wa_channel.id).settings


def test_the_picker_follows_paging(member_client, wa_channel, wa_graph):
    wa_graph.templates = [{"name": f"t_{i:03d}", "language": "en", "status": "APPROVED", "category": "UTILITY"}
                          for i in range(230)]
    page = member_client.get(f"/connect/whatsapp/{wa_channel.id}/template").get_data(as_text=True)
    assert "t_000 — en" in page and "t_229 — en" in page
    assert len(wa_graph.requests_to("/message_templates")) == 3


@pytest.mark.parametrize(("program", "status", "expected"), [
    ({"status": 500, "times": None}, 503, "Meta did not answer"),
    ({"status": 400, "code": 190, "message": "Error validating access token"}, 502, "no longer accepts"),
    ({"status": 403, "code": 200, "message": "(#200) Permissions error"}, 403, "a permission is missing"),
])
def test_the_picker_when_meta_fails(member_client, wa_channel, wa_graph, program, status, expected):
    wa_graph.fail(path="/message_templates", **program)
    resp = member_client.get(f"/connect/whatsapp/{wa_channel.id}/template")
    page = resp.get_data(as_text=True)
    assert resp.status_code == status and expected in page and 'data-testid="wa-template-failed"' in page
    assert "Traceback" not in page and "WA-CHANNEL-TOKEN" not in page


def test_the_picker_without_a_waba(db, member_client, tenant, wa_graph):
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "whatsapp", external_id="777", token="T0KEN")
    resp = member_client.get(f"/connect/whatsapp/{channel.id}/template")
    assert resp.status_code == 409 and "does not know its WhatsApp Business Account" in resp.get_data(as_text=True)


def test_the_picker_is_the_tenants_own(db, make_tenant, client, wa_channel):
    from tests.helpers.web import login

    other = make_tenant("Other")
    login(client, other.owner_email, other.owner_password)
    assert client.get(f"/connect/whatsapp/{wa_channel.id}/template").status_code == 404


def test_reconnect_from_the_channel_keeps_it_and_refuses_another_number(db, member_client, wa_channel, wa_graph):
    page = member_client.get(f"/connect/whatsapp?channel={wa_channel.id}").get_data(as_text=True)
    assert f'name="channel" value="{wa_channel.id}"' in page
    state = re.search(r'name="state" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(member_client, "/connect/whatsapp"), "state": state, "outcome": "finish",
            "code": "again", "waba_id": WA_WABA_ID, "phone_number_id": WA_PHONE_NUMBER_ID, "pin": PIN,
            "channel": str(wa_channel.id)}
    assert member_client.post("/connect/whatsapp/finish", data=data).status_code == 302
    [channel] = _channels(db)
    assert channel.id == wa_channel.id and channel.credentials["token"].startswith("FAKE-TOKEN-")

    wa_graph.wa_numbers["888"] = {"waba_id": WA_WABA_ID, "display_phone_number": "+1 555-030-0003",
                                  "verified_name": "Second"}
    _csrf, state = _signup_page(member_client)
    other = member_client.post("/connect/whatsapp/finish", data={**data, "state": state, "code": "third",
                                                                 "phone_number_id": "888"})
    assert other.status_code == 409 and "another phone number than this channel" in _failed(other)
    assert len(_channels(db)) == 1 and "888" not in wa_graph.registered  # refused before Meta was asked
    assert len(wa_graph.requests_to("/oauth/access_token")) == 1


def test_a_full_plan_still_lets_the_same_number_sign_up_again(db, make_tenant, client, wa_graph):
    from tests.helpers.web import login

    tenant = make_tenant("Small", plan="START")
    login(client, tenant.owner_email, tenant.owner_password)
    assert _finish(client, code="one").status_code == 302  # the plan's one channel
    assert client.get("/connect/whatsapp").status_code == 403  # full: no new sign-up page
    with client.session_transaction() as sess:
        sess["whatsapp_signup_states"] = ["kept-from-an-open-tab"]
    resp = client.post("/connect/whatsapp/finish", data={
        "csrf_token": csrf_token(client, "/channels"), "state": "kept-from-an-open-tab", "outcome": "finish",
        "code": "two", "waba_id": WA_WABA_ID, "phone_number_id": WA_PHONE_NUMBER_ID, "pin": PIN})
    assert resp.status_code == 302 and len(_channels(db)) == 1
