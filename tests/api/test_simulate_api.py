"""The simulator API ("Send test", "Simulate comment") and "Check replies" with saved conversations."""

from __future__ import annotations

import copy


def test_simulate_lead_capture_with_trace_and_wrong_phone_reasked(api, lead_flow):
    resp = api.post(f"/flows/{lead_flow['id']}/simulate",
                    {"channel": "test", "kind": "dm", "version": "draft",
                     "messages": ["hi", "Anna", "123", "+14155552671", "yes"]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["version"] == "draft"
    turns = body["turns"]
    assert [t["input"] for t in turns] == ["hi", "Anna", "123", "+14155552671", "yes"]
    assert "name" in turns[0]["replies"][-1]["text"].lower()
    step = turns[1]["trace"][0]
    assert {"node_id", "type", "port", "vars_changed", "warnings"} <= set(step)
    assert step["type"] == "ask" and step["port"] == "ok" and step["vars_changed"] == {"name": "Anna"}
    reask = turns[2]
    assert "valid phone" in reask["replies"][0]["text"]
    assert reask["trace"][0]["port"] is None and reask["trace"][0]["warnings"]
    assert turns[3]["trace"][0]["vars_changed"] == {"phone": "+14155552671"}
    assert body["variables"]["phone"] == "+14155552671"
    assert [e["type"] for e in body["effects"]] == ["lead", "notify"]
    assert "state" not in body


def test_simulate_follows_the_tenant_language(api, lead_flow, tenant, db):
    from webapp.models import Tenant

    db.session.get(Tenant, tenant.id).language = "ru"
    db.session.commit()
    turns = api.post(f"/flows/{lead_flow['id']}/simulate",
                     {"messages": ["hi", "Anna", "123"]}).get_json()["turns"]
    reask = turns[2]["replies"][0]["text"]
    assert any("а" <= ch <= "я" for ch in reask.lower()), reask


def test_simulate_a_published_version(api, lead_flow):
    fid = lead_flow["id"]
    api.post(f"/flows/{fid}/publish")
    doc = copy.deepcopy(lead_flow["draft"])
    doc["nodes"][1]["data"]["text"] = "Draft greeting"
    api.put(f"/flows/{fid}/draft", {"document": doc})
    v1 = api.post(f"/flows/{fid}/simulate", {"messages": ["hi"], "version": 1}).get_json()
    draft = api.post(f"/flows/{fid}/simulate", {"messages": ["hi"]}).get_json()
    assert v1["version"] == 1
    assert v1["turns"][0]["replies"][0]["text"] != "Draft greeting"
    assert draft["turns"][0]["replies"][0]["text"] == "Draft greeting"


def test_simulate_comment(api):
    flow = api.post("/flows", {"template": "instagram_comment_to_dm"}).get_json()
    resp = api.post(f"/flows/{flow['id']}/simulate",
                    {"channel": "instagram", "kind": "comment", "messages": [],
                     "comment": {"text": "price please", "post_id": "post-1"}})
    assert resp.status_code == 200, resp.get_json()
    turn = resp.get_json()["turns"][0]
    assert turn["input"] == "price please"
    assert {"comment_reply", "private_reply"} <= {r["kind"] for r in turn["replies"]}


def test_simulate_bad_input(api, lead_flow):
    path = f"/flows/{lead_flow['id']}/simulate"
    cases = [
        {"messages": "hi"}, {"messages": [1]}, {"messages": ["x"] * 51}, {"messages": []},
        {"messages": ["hi"], "version": 3}, {"messages": ["hi"], "version": "latest"},
        {"messages": ["hi"], "channel": "fax"}, {"messages": ["hi"], "kind": "email"},
        {"messages": [], "comment": "text"}, {"messages": ["x" * 5000]},
    ]
    for body in cases:
        resp = api.post(path, body)
        assert resp.status_code == 400, (body, resp.get_json())
        assert resp.get_json()["error"]
    assert api.post(path, raw="nope").status_code == 400


def test_simulate_draft_with_errors_is_400_with_problems(api, lead_flow):
    doc = copy.deepcopy(lead_flow["draft"])
    doc["nodes"] = [n for n in doc["nodes"] if n["type"] != "trigger"]
    api.put(f"/flows/{lead_flow['id']}/draft", {"document": doc})
    resp = api.post(f"/flows/{lead_flow['id']}/simulate", {"messages": ["hi"]})
    assert resp.status_code == 400 and resp.get_json()["problems"]


def test_saved_tests_crud(api, lead_flow):
    fid = lead_flow["id"]
    resp = api.post(f"/flows/{fid}/tests", {"name": "Happy path", "messages": ["hi", "Anna"],
                                              "channel": "instagram", "kind": "dm"})
    assert resp.status_code == 201
    saved = resp.get_json()
    assert saved["name"] == "Happy path" and saved["messages"] == ["hi", "Anna"] and saved["channel"] == "instagram"
    assert api.get(f"/flows/{fid}/tests").get_json()["tests"] == [saved]
    for body in ({"messages": ["hi"]}, {"name": "x", "messages": []}, {"name": "x", "messages": [1]},
                 {"name": "x", "messages": ["a"], "channel": "fax"}):
        assert api.post(f"/flows/{fid}/tests", body).status_code == 400, body
    assert api.delete(f"/flows/{fid}/tests/{saved['id']}").get_json() == {"deleted": saved["id"]}
    assert api.get(f"/flows/{fid}/tests").get_json()["tests"] == []
    assert api.delete(f"/flows/{fid}/tests/{saved['id']}").status_code == 404


def test_saved_test_of_another_flow_is_not_reachable_through_this_flow(api, lead_flow):
    other = api.post("/flows", {"name": "Other"}).get_json()["id"]
    saved = api.post(f"/flows/{lead_flow['id']}/tests", {"name": "t", "messages": ["hi"]}).get_json()
    assert api.delete(f"/flows/{other}/tests/{saved['id']}").status_code == 404


def test_check_replies_marks_changed_replies(api, lead_flow):
    fid = lead_flow["id"]
    api.post(f"/flows/{fid}/tests", {"name": "Happy path", "messages": ["hi", "Anna", "123"]})
    # before any publish: the draft runs, nothing to compare with
    first = api.post(f"/flows/{fid}/check-replies").get_json()
    assert first["published_version"] is None
    assert first["cases"][0]["turns"][0]["published"] is None
    assert not first["cases"][0]["changed"]
    api.post(f"/flows/{fid}/publish")
    doc = copy.deepcopy(lead_flow["draft"])
    ask_name = next(n for n in doc["nodes"] if n["id"] == "ask_name")
    ask_name["data"]["text"] = "How should we call you?"
    api.put(f"/flows/{fid}/draft", {"document": doc})
    resp = api.post(f"/flows/{fid}/check-replies", raw="")
    assert resp.status_code == 200
    case = resp.get_json()["cases"][0]
    assert case["name"] == "Happy path" and case["changed"] is True
    assert [t["changed"] for t in case["turns"]] == [True, False, False]
    assert case["turns"][0]["draft"][-1]["text"] == "How should we call you?"
    assert case["turns"][0]["published"][-1]["text"] != "How should we call you?"
    assert case["turns"][2]["draft"] == case["turns"][2]["published"]


def test_check_replies_with_no_saved_tests(api, lead_flow):
    assert api.post(f"/flows/{lead_flow['id']}/check-replies").get_json()["cases"] == []
    assert api.post(f"/flows/{lead_flow['id']}/check-replies", raw="[1]").status_code == 400


def test_simulator_runs_are_rate_limited_per_user(api, lead_flow, app, monkeypatch):
    monkeypatch.setitem(app.config, "SIMULATE_RATE_LIMIT", "2 per minute")
    path = f"/flows/{lead_flow['id']}/simulate"
    assert api.post(path, {"messages": ["hi"]}).status_code == 200
    assert api.post(f"/flows/{lead_flow['id']}/check-replies").status_code == 200
    limited = api.post(path, {"messages": ["hi"]})
    assert limited.status_code == 429 and limited.get_json()["error"]


def test_a_version_the_engine_can_no_longer_run_is_400_not_500(api, lead_flow, db):
    from webapp.models import FlowVersion

    fid = lead_flow["id"]
    api.post(f"/flows/{fid}/publish")
    row = db.session.query(FlowVersion).filter_by(flow_id=fid).one()
    row.document = {"schema_version": 1, "name": "broken", "nodes": [], "edges": []}  # simulate a stale version
    db.session.commit()
    resp = api.post(f"/flows/{fid}/simulate", {"messages": ["hi"], "version": 1})
    assert resp.status_code == 400 and resp.get_json()["problems"]
    assert api.post(f"/flows/{fid}/check-replies").status_code == 400
