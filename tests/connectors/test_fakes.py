"""The fakes are shared by every integration test, so their programmable behaviour is tested too."""

import requests

from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.telegram_api import FakeTelegramAPI

AUTH = {"Authorization": "Bearer tok"}


def test_fail_times_then_normal_answers_and_path_filter(graph_api):
    graph_api.fail(status=429, times=2, path="/messages")
    url = f"{graph_api.url}/v21.0/me/messages"
    body = {"recipient": {"id": "1"}, "message": {"text": "x"}}
    assert requests.get(f"{graph_api.url}/v21.0/me", headers=AUTH).status_code == 200  # not filtered
    codes = [requests.post(url, json=body, headers=AUTH).status_code for _ in range(3)]
    assert codes == [429, 429, 200]
    assert requests.post(url, json=body, headers=AUTH).json()["message_id"].startswith("mid.")
    assert len(graph_api.requests) == 5
    graph_api.reset()
    assert graph_api.requests == []


def test_graph_fake_auth_oauth_and_subscriptions(graph_api):
    assert requests.get(f"{graph_api.url}/v21.0/me").json()["error"]["code"] == 2500
    token = requests.get(f"{graph_api.url}/v21.0/oauth/access_token", params={"code": "abc"}).json()
    assert token["access_token"].startswith("FAKE-TOKEN") and token["expires_in"] > 0
    sub = requests.post(f"{graph_api.url}/v21.0/me/subscribed_apps",
                        params={"subscribed_fields": "messages,comments", "access_token": "tok"})
    assert sub.json() == {"success": True}
    assert graph_api.subscriptions["me"] == ["messages", "comments"]
    assert graph_api.last.query["access_token"] == "tok"


def test_graph_fake_recorded_request_shape():
    with FakeGraphAPI() as fake:
        requests.post(f"{fake.url}/v21.0/123/messages?x=1", headers=AUTH,
                      json={"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "é"}})
        req = fake.last
        assert (req.method, req.path, req.query) == ("POST", "/v21.0/123/messages", {"x": "1"})
        assert req.json["text"] == {"body": "é"} and req.header("authorization") == "Bearer tok"


def test_telegram_fake_errors(telegram_api):
    bad = requests.post(f"{telegram_api.url}/bot1:nope/getMe")
    assert bad.status_code == 401 and bad.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    telegram_api.fail(status=429, retry_after=3)
    limited = requests.post(f"{telegram_api.url}/bot{telegram_api.token}/sendMessage", json={"chat_id": 1})
    assert limited.json() == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                              "parameters": {"retry_after": 3}}
    empty = requests.post(f"{telegram_api.url}/bot{telegram_api.token}/sendMessage", json={"chat_id": 1})
    assert empty.status_code == 400 and "text is empty" in empty.json()["description"]


def test_telegram_fake_accepts_form_params_and_more_bots():
    with FakeTelegramAPI() as fake:
        fake.add_bot("77:OtherBotToken", "other_bot")
        sent = requests.post(f"{fake.url}/bot77:OtherBotToken/sendMessage", data={"chat_id": "5", "text": "hi"})
        assert sent.json()["result"]["text"] == "hi"
        assert requests.post(f"{fake.url}/bot77:OtherBotToken/getMe").json()["result"]["id"] == 77
