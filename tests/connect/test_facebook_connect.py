"""Connect Messenger and Instagram through a Facebook Page, end to end over real HTTP (fake consent page,
Authlib's code exchange at the Graph fake, long-lived user token, /me/accounts, the pick, the Page
subscribed with its own token), and the ways it ends without a channel."""

from __future__ import annotations

import re

from tests.connect.conftest import follow_consent
from webapp.models import Channel


def _channels(db) -> list[Channel]:
    db.session.expire_all()
    return db.session.query(Channel).order_by(Channel.id).all()


def _pick(client, page: str, choices: list[str]):
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/connect/facebook/pick", data={"csrf_token": token, "connect": choices})


def test_connect_messenger_and_instagram_through_a_page(db, member_client, meta_login, graph_api, tenant):
    callback, authorize = follow_consent(member_client, "/connect/facebook")
    assert authorize["config_id"] == "test-login-config" and "scope" not in authorize
    assert authorize["redirect_uri"] == "https://bots.example.test/connect/facebook/callback"
    page = member_client.get(callback)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Fake Page" in body and "@fake_shop" in body
    [code_exchange] = [r for r in graph_api.requests_to("/oauth/access_token") if r.params.get("code")]
    assert code_exchange.method == "POST" and code_exchange.params["client_secret"] == "test-app-secret"
    [long_lived] = [r for r in graph_api.requests_to("/oauth/access_token") if r.params.get("fb_exchange_token")]
    assert long_lived.params["grant_type"] == "fb_exchange_token"
    assert "FAKE-PAGE-TOKEN" not in body

    done = _pick(member_client, body, ["messenger:100000000000001", "instagram:100000000000001"])
    assert done.status_code == 302 and done.headers["Location"].endswith("/channels")
    messenger, instagram = _channels(db)
    assert (messenger.type, messenger.external_id, messenger.name) == ("messenger", "100000000000001", "Fake Page")
    assert (instagram.type, instagram.external_id, instagram.name) == ("instagram", graph_api.ig_user_id,
                                                                       "@fake_shop")
    assert messenger.credentials["token"] == instagram.credentials["token"] == "FAKE-PAGE-TOKEN"
    assert instagram.credentials["login"] == "facebook" and messenger.token_expires_at is None
    [subscribe] = graph_api.requests_to("/100000000000001/subscribed_apps", "POST")
    assert subscribe.header("Authorization") == "Bearer FAKE-PAGE-TOKEN"
    assert "messages" in graph_api.subscriptions["100000000000001"]


def test_denied(db, member_client, meta_login, connect_round_trip):
    resp = connect_round_trip("/connect/facebook", decision="deny")
    assert resp.status_code == 400 and "You did not allow TemoWeb" in resp.get_data(as_text=True)
    assert _channels(db) == []


def test_bad_state(db, member_client, meta_login):
    callback, _ = follow_consent(member_client, "/connect/facebook")
    resp = member_client.get(re.sub(r"state=[^&]+", "state=nope", callback))
    assert resp.status_code == 400 and "expired or was already used" in resp.get_data(as_text=True)


def test_expired_and_reused_codes(db, member_client, meta_login):
    callback, _ = follow_consent(member_client, "/connect/facebook")
    expired = member_client.get(re.sub(r"code=[^&]+", "code=expired", callback))
    assert expired.status_code == 400
    assert "The sign-in took too long or its link was opened twice" in expired.get_data(as_text=True)

    callback, _ = follow_consent(member_client, "/connect/facebook")
    code = re.search(r"code=([^&]+)", callback).group(1)
    meta_login_graph_used = member_client.get(callback)
    assert meta_login_graph_used.status_code == 200
    callback2, _ = follow_consent(member_client, "/connect/facebook")
    reused = member_client.get(re.sub(r"code=[^&]+", f"code={code}", callback2))
    assert reused.status_code == 400 and "opened twice" in reused.get_data(as_text=True)


def test_token_exchange_error(db, member_client, meta_login, graph_api):
    callback, _ = follow_consent(member_client, "/connect/facebook")
    graph_api.fail(status=500, times=None, path="/oauth/access_token")
    resp = member_client.get(callback)
    assert resp.status_code == 503 and "Could not reach Meta right now" in resp.get_data(as_text=True)


def test_no_linked_instagram_account(db, member_client, meta_login, graph_api, connect_round_trip):
    graph_api.pages = [{"id": "100000000000002", "name": "Bakery", "access_token": "PAGE-2"}]
    resp = connect_round_trip("/connect/facebook?for=instagram")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "None of your Facebook Pages has an Instagram professional account linked." in body
    assert "switch the account to Business or Creator" in body and _channels(db) == []

    plain = connect_round_trip("/connect/facebook")  # Messenger is still offered, the missing link explained
    assert plain.status_code == 200 and 'data-testid="no-instagram"' in plain.get_data(as_text=True)


def test_no_pages_granted(db, member_client, meta_login, graph_api, connect_round_trip):
    graph_api.pages = []
    resp = connect_round_trip("/connect/facebook")
    assert resp.status_code == 400 and "no Pages to connect" in resp.get_data(as_text=True)


def test_page_subscription_error_is_reported_and_nothing_stored(db, member_client, meta_login, graph_api,
                                                                  connect_round_trip):
    page = connect_round_trip("/connect/facebook").get_data(as_text=True)
    graph_api.fail(status=403, times=None, path="/subscribed_apps", code=200, message="needs pages_manage_metadata")
    done = _pick(member_client, page, ["messenger:100000000000001"])
    assert done.status_code == 302
    listing = member_client.get(done.headers["Location"]).get_data(as_text=True)
    assert "a permission is missing" in listing and _channels(db) == []


def test_reconnect_messenger_finds_its_page(db, member_client, meta_login, graph_api, connect_round_trip):
    page = connect_round_trip("/connect/facebook").get_data(as_text=True)
    _pick(member_client, page, ["messenger:100000000000001"])
    [channel] = _channels(db)
    channel.status = "needs_reconnect"
    db.session.commit()
    graph_api.pages[0]["access_token"] = "NEW-PAGE-TOKEN"
    resp = connect_round_trip(f"/connect/facebook?channel={channel.id}")
    assert resp.status_code == 302
    [again] = _channels(db)
    assert again.id == channel.id and again.status == "active" and again.credentials["token"] == "NEW-PAGE-TOKEN"
