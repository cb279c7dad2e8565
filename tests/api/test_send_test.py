""""Send test" to the tenant's own account on a connected channel (real HTTP to the fake Telegram API)."""

from __future__ import annotations

import json

from tests.helpers.web import csrf_token


def _telegram_channel(app, tenant, telegram_api, monkeypatch):
    from webapp.services.channels import add_channel

    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", telegram_api.url)
    return add_channel(tenant, "telegram", token=telegram_api.token)


def _flow(tenant):
    from webapp.extensions import db
    from webapp.services.flows import create_flow, template_document

    flow = create_flow(tenant, "Lead capture", template_document("lead_capture"))
    db.session.commit()
    return flow


def _post(client, path, body):
    token = csrf_token(client)
    return client.post(path, data=json.dumps(body), headers={"Content-Type": "application/json",
                                                             "X-CSRFToken": token})


def test_replies_of_the_draft_reach_the_test_account(member_client, app, tenant, telegram_api, monkeypatch, db):
    channel = _telegram_channel(app, tenant, telegram_api, monkeypatch)
    flow = _flow(tenant)
    assert _post(member_client, f"/api/flows/{flow.id}/send-test",
                 {"channel_id": channel.id, "messages": ["hi"]}).status_code == 400  # no test account yet
    token = csrf_token(member_client, f"/channels/{channel.id}")
    member_client.post(f"/channels/{channel.id}/test-recipient", data={"csrf_token": token, "recipient": "777000"})
    listed = member_client.get("/api/test-channels").get_json()["channels"]
    assert [(c["id"], c["recipient"]) for c in listed] == [(channel.id, "777000")]
    resp = _post(member_client, f"/api/flows/{flow.id}/send-test", {"channel_id": channel.id, "messages": ["hi"]})
    assert resp.status_code == 200 and resp.get_json()["sent"] == 2
    sent = telegram_api.requests_to("/sendMessage")
    assert [str(r.params["chat_id"]) for r in sent] == ["777000", "777000"]
    assert "What's your name?" in sent[-1].params["text"]
    from webapp.models import Conversation

    assert db.session.query(Conversation).count() == 0  # a test run stores nothing in the CRM


def test_another_tenants_channel_is_not_found(member_client, app, make_tenant, tenant, telegram_api, monkeypatch):
    other = make_tenant("Other")
    channel = _telegram_channel(app, other, telegram_api, monkeypatch)
    flow = _flow(tenant)
    resp = _post(member_client, f"/api/flows/{flow.id}/send-test", {"channel_id": channel.id, "messages": ["hi"]})
    assert resp.status_code == 404
    assert telegram_api.requests_to("/sendMessage") == []


def test_bad_test_recipient_is_refused(member_client, app, tenant, telegram_api, monkeypatch):
    channel = _telegram_channel(app, tenant, telegram_api, monkeypatch)
    token = csrf_token(member_client, f"/channels/{channel.id}")
    resp = member_client.post(f"/channels/{channel.id}/test-recipient",
                              data={"csrf_token": token, "recipient": "<script>"}, follow_redirects=True)
    assert "letters, digits" in resp.get_data(as_text=True)
    assert member_client.get("/api/test-channels").get_json()["channels"] == []


def test_an_ended_session_is_a_401_not_a_csrf_puzzle(client, tenant):
    from webapp.extensions import db
    from webapp.services.flows import create_flow

    flow = create_flow(tenant, "F")
    db.session.commit()
    resp = client.put(f"/api/flows/{flow.id}/draft", data=json.dumps({"document": {}}),
                      headers={"Content-Type": "application/json", "X-CSRFToken": "stale"})
    assert resp.status_code == 401 and "sign in again" in resp.get_json()["error"]
