"""The JSON API refuses text PostgreSQL cannot store (NUL, unpaired surrogates; in keys and values, at any
depth) and integers beyond the database's range with 400 `{"error"}`, never 500; ids beyond that range in
URLs are 404 app-wide; the CLI's flow import applies the API's document limits (issue 14, defects 2, 7)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from webapp.models import Flow, FlowVersion, TestConversation

NUL = "bad\x00text"
SURROGATE = "bad\ud800text"
REFUSED = "cannot be stored"
HUGE = 2**70


def _doc(lead_flow: dict[str, Any], spoil: Any) -> dict[str, Any]:
    document = copy.deepcopy(lead_flow["draft"])
    spoil(document)
    return document


def _node_text(bad: str) -> Any:
    return lambda d: d["nodes"][1]["data"].__setitem__("text", bad)


def _node_key(bad: str) -> Any:
    return lambda d: d["nodes"][1]["data"].__setitem__(bad, "x")


def _deep(bad: str) -> Any:
    return lambda d: d.__setitem__("meta", {"a": [{"b": [bad]}]})


# (name, method, path, body builder(lead_flow, bad, channel_id))
CALLS: list[tuple[str, str, str, Any]] = [
    ("create-name", "POST", "/flows", lambda f, bad, ch: {"name": bad}),
    ("create-template", "POST", "/flows", lambda f, bad, ch: {"name": "x", "template": bad}),
    ("rename", "PATCH", "/flows/{id}", lambda f, bad, ch: {"name": bad}),
    ("draft-text", "PUT", "/flows/{id}/draft", lambda f, bad, ch: {"document": _doc(f, _node_text(bad))}),
    ("draft-key", "PUT", "/flows/{id}/draft", lambda f, bad, ch: {"document": _doc(f, _node_key(bad))}),
    ("draft-deep", "PUT", "/flows/{id}/draft", lambda f, bad, ch: {"document": _doc(f, _deep(bad))}),
    ("validate", "POST", "/flows/{id}/validate", lambda f, bad, ch: {"document": _doc(f, _node_text(bad))}),
    ("publish-note", "POST", "/flows/{id}/publish", lambda f, bad, ch: {"note": bad}),
    ("rollback", "POST", "/flows/{id}/rollback", lambda f, bad, ch: {"version": 1, bad: 1}),
    ("save-test-name", "POST", "/flows/{id}/tests", lambda f, bad, ch: {"name": bad, "messages": ["hi"]}),
    ("save-test-message", "POST", "/flows/{id}/tests", lambda f, bad, ch: {"name": "t", "messages": [bad]}),
    ("simulate", "POST", "/flows/{id}/simulate", lambda f, bad, ch: {"messages": [bad]}),
    ("simulate-comment", "POST", "/flows/{id}/simulate",
     lambda f, bad, ch: {"kind": "comment", "comment": {"text": bad, "post_id": "1"}}),
    ("send-test", "POST", "/flows/{id}/send-test", lambda f, bad, ch: {"channel_id": ch, "messages": [bad]}),
    ("check-replies", "POST", "/flows/{id}/check-replies", lambda f, bad, ch: {"x": bad}),
]


@pytest.fixture()
def test_channel(db, tenant):
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "instagram", external_id="17841400000000007", token="t")
    channel.settings = {"test_recipient": "12345"}
    db.session.commit()
    return channel.id


def _state(db) -> tuple[Any, ...]:
    db.session.expire_all()
    flows = [(f.name, json.dumps(f.draft, sort_keys=True)) for f in db.session.scalars(select(Flow).order_by(Flow.id))]
    return (flows, db.session.scalar(select(func.count()).select_from(FlowVersion)),
            db.session.scalar(select(func.count()).select_from(TestConversation)))


@pytest.mark.parametrize("name, method, path, body", CALLS, ids=[c[0] for c in CALLS])
def test_api_refuses_text_the_database_cannot_store(api, db, lead_flow, test_channel, name, method, path, body):
    before = _state(db)
    for bad in (NUL, SURROGATE):
        resp = api.call(method, path.format(id=lead_flow["id"]), body(lead_flow, bad, test_channel))
        assert resp.status_code == 400, (repr(bad), resp.get_data(as_text=True)[:300])
        assert REFUSED in resp.get_json()["error"]
        assert _state(db) == before


def test_api_refuses_escaped_bad_text_in_a_raw_body(api, db, lead_flow):
    for raw in (b'{"name": "a\\u0000b"}', b'{"name": "a\\ud800b"}', b'{"name": "a\\udfffb"}',
                b'{"name": "a\xed\xa0\x80b"}'):
        resp = api.call("PATCH", f"/flows/{lead_flow['id']}", raw=raw)
        assert resp.status_code == 400 and REFUSED in resp.get_json()["error"], raw


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_api_refuses_numbers_the_database_cannot_store(api, db, lead_flow, literal):
    """Python's JSON decoder takes NaN and Infinity (and makes 1e999 infinite); jsonb has neither."""
    draft = lead_flow["draft"]
    before = _state(db)
    for document in ({**draft, "meta": "MARK"}, {**draft, "edges": [{**draft["edges"][0], "w": "MARK"}]},
                     {**draft, "nodes": [{**draft["nodes"][0], "extra": ["MARK"]}, *draft["nodes"][1:]]}):
        raw = json.dumps({"document": document}).replace('"MARK"', literal)
        resp = api.call("PUT", f"/flows/{lead_flow['id']}/draft", raw=raw)
        assert resp.status_code == 400 and REFUSED in resp.get_json()["error"], resp.get_data(as_text=True)[:300]
    raw = '{"name": "t", "messages": ["hi"], "x": LITERAL}'.replace("LITERAL", literal)
    resp = api.call("POST", f"/flows/{lead_flow['id']}/tests", raw=raw)
    assert resp.status_code == 400 and REFUSED in resp.get_json()["error"]
    assert _state(db) == before


def test_api_query_argument_with_nul_is_refused(api, lead_flow):
    resp = api.get(f"/flows/{lead_flow['id']}/diff?from=draft&to=dr%00aft")
    assert resp.status_code == 400 and REFUSED in resp.get_json()["error"]


def test_valid_text_still_saves(api, db, lead_flow):
    """Emoji (a surrogate pair in JSON escapes) and other non-ASCII text are fine: only unpaired halves and
    NUL are refused."""
    document = _doc(lead_flow, _node_text("Привет 👋 \\u0001"))
    resp = api.put(f"/flows/{lead_flow['id']}/draft", {"document": document})
    assert resp.status_code == 200, resp.get_json()
    raw = api.call("PATCH", f"/flows/{lead_flow['id']}", raw='{"name": "Hi \\ud83d\\udc4b"}')
    assert raw.status_code == 200 and raw.get_json()["name"] == "Hi 👋"
    db.session.expire_all()
    assert db.session.get(Flow, lead_flow["id"]).draft["nodes"][1]["data"]["text"] == "Привет 👋 \\u0001"


# ---- integers beyond the database's range ----

URL_IDS = ["/api/flows/{big}", "/api/flows/{id}/versions/{big}", "/flows/{big}/edit",
           "/leads/{big}", "/conversations/{big}", "/channels/{big}", "/settings/prompts/{big}",
           "/settings/faq/{big}/edit"]


def test_ids_beyond_the_database_range_in_urls_are_404(api, member_client, lead_flow):
    """One `int` URL converter for the whole app: no route takes an id its query would overflow on."""
    for path in URL_IDS:
        for big in (2**31, 2**63, HUGE, "9" * 5000):
            resp = member_client.get(path.format(big=big, id=lead_flow["id"]))
            assert resp.status_code == 404, (path, big, resp.status_code)
        assert member_client.get(path.format(big=2**31 - 1, id=lead_flow["id"])).status_code == 404, path


def test_webhook_ids_beyond_the_database_range_are_404(client, db):
    for big in (2**31, HUGE, -(2**31) - 1):
        assert client.post(f"/webhooks/telegram/{big}", data=b"{}").status_code == 404, big


def test_integers_beyond_the_database_range_in_bodies_are_400(api, lead_flow, test_channel):
    fid = lead_flow["id"]
    for big in (2**31, HUGE, str(2**31), "9" * 5000, "²"):
        for resp in (api.post(f"/flows/{fid}/send-test", {"channel_id": big, "messages": ["hi"]}),
                     api.post(f"/flows/{fid}/rollback", {"version": big}),
                     api.post(f"/flows/{fid}/simulate", {"messages": ["hi"], "version": big}),
                     api.get(f"/flows/{fid}/diff?from={big}")):
            assert resp.status_code == 400, (big, resp.request.path, resp.get_data(as_text=True)[:300])
            assert resp.get_json()["error"]


# ---- one document validation for the API and `flask flow import` ----

def _big_document(nodes: int, text_size: int = 10) -> dict[str, Any]:
    items = [{"id": "start", "type": "trigger", "position": {"x": 0, "y": 0}, "data": {"channels": ["any"]}}]
    items += [{"id": f"m{i}", "type": "message", "position": {"x": i, "y": 0}, "data": {"text": "x" * text_size}}
              for i in range(nodes - 1)]
    edges = [{"id": "e0", "source": "start", "sourceHandle": "out", "target": "m0"}]
    edges += [{"id": f"e{i + 1}", "source": f"m{i}", "sourceHandle": "out", "target": f"m{i + 1}"}
              for i in range(nodes - 2)]
    return {"schema_version": 1, "name": "Big", "nodes": items, "edges": edges}


@pytest.fixture()
def run(app, db):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=[str(a) for a in args])


@pytest.mark.parametrize("document, message", [
    (_big_document(20_000), "at most 2000 nodes"),
    (_big_document(1500, text_size=3500), "at most"),
    ({**_big_document(3), "meta": json.loads("[" * 60 + "]" * 60)}, "nested"),
    ({**_big_document(3), "meta": float("nan")}, "cannot be stored"),
], ids=["20k-nodes", "5MB", "deep", "nan"])
def test_flow_import_applies_the_api_document_limits(api, run, db, tmp_path, tenant, lead_flow, document, message):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run("flow", "import", "--tenant", tenant.id, path)
    assert result.exit_code == 1 and message in result.output, (result.output[:300], result.exception)
    assert db.session.scalar(select(func.count()).select_from(Flow).where(Flow.name == "Big")) == 0
    resp = api.put(f"/flows/{lead_flow['id']}/draft", {"document": document})
    assert resp.status_code in (400, 413)
    if resp.status_code == 400:
        assert message in resp.get_json()["error"]


def test_flow_import_within_the_limits_still_works(run, db, tmp_path, tenant):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(_big_document(2000)), encoding="utf-8")
    result = run("flow", "import", "--tenant", tenant.id, path)
    assert result.exit_code == 0, result.output[:300]
