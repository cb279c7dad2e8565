"""Flows through the JSON API: palette, templates, create/list/read/rename/delete/default, draft,
validate, publish — with the 4xx answers the editor relies on."""

from __future__ import annotations

import copy

from tests.helpers.web import login


def test_anonymous_gets_json_401_not_a_redirect(client, db):
    resp = client.get("/api/flows")
    assert resp.status_code == 401
    assert resp.get_json() == {"error": "Sign in required."}


def test_staff_gets_json_403(client, staff_user):
    login(client, staff_user.email, staff_user.raw_password)
    resp = client.get("/api/node-types")
    assert resp.status_code == 403 and "error" in resp.get_json()


def test_node_types_palette(api):
    types = api.get("/node-types").get_json()["node_types"]
    names = {t["type"] for t in types}
    assert {"trigger", "message", "ask", "condition", "llm", "faq", "lead", "end"} <= names
    ask = next(t for t in types if t["type"] == "ask")
    assert ask["fields"] and ask["ports"]


def test_templates_include_builtins_and_active_staff_rows(api, db):
    from webapp.models import FlowTemplate
    from webapp.services.flows import template_document

    doc = template_document("faq_bot")
    db.session.add_all([
        FlowTemplate(key="staff_yoga", name="Yoga studio", niche="fitness", description="d", document=doc),
        FlowTemplate(key="staff_off", name="Hidden", active=False, document=doc)])
    db.session.commit()
    templates = api.get("/templates").get_json()["templates"]
    keys = {t["key"] for t in templates}
    assert {"lead_capture", "instagram_comment_to_dm", "faq_bot", "booking_request", "staff_yoga"} <= keys
    assert "staff_off" not in keys
    yoga = next(t for t in templates if t["key"] == "staff_yoga")
    assert yoga == {"key": "staff_yoga", "name": "Yoga studio", "description": "d", "niche": "fitness",
                    "language": "en", "kind": "scenario"}
    created = api.post("/flows", {"template": "staff_yoga"})
    assert created.status_code == 201 and created.get_json()["name"] == "Yoga studio"


def test_create_from_template_is_the_tenants_own_copy(api, lead_flow, tenant, db):
    from flows.templates import load_template
    from webapp.models import Flow

    assert lead_flow["name"] == "Leads" and lead_flow["published_version"] is None
    assert lead_flow["draft"]["nodes"] == load_template("lead_capture")["nodes"]
    assert [p for p in lead_flow["problems"] if p["severity"] == "error"] == []
    assert db.session.get(Flow, lead_flow["id"]).tenant_id == tenant.id
    empty = api.post("/flows", {"name": "Blank"}).get_json()
    assert empty["draft"]["nodes"] == [] and empty["name"] == "Blank"


def test_create_bad_input(api):
    assert api.post("/flows", {"template": "nope"}).status_code == 400
    assert "Unknown template" in api.post("/flows", {"template": "nope"}).get_json()["error"]
    assert api.post("/flows", {"name": ""}).status_code == 400
    assert api.post("/flows", {"name": 5}).status_code == 400
    assert api.post("/flows", {"template": 3}).status_code == 400
    assert api.post("/flows", [1, 2]).status_code == 400
    assert api.post("/flows", raw="{not json").status_code == 400


def test_create_respects_the_plan_flow_limit(client, make_tenant):
    from tests.api.conftest import Api
    from tests.helpers.web import csrf_token

    small = make_tenant("Small", plan="START")
    login(client, small.owner_email, small.owner_password)
    api = Api(client, csrf_token(client))
    for i in range(3):
        assert api.post("/flows", {"name": f"f{i}"}).status_code == 201
    resp = api.post("/flows", {"name": "one too many"})
    assert resp.status_code == 403
    assert "3 flows" in resp.get_json()["error"]
    assert len(api.get("/flows").get_json()["flows"]) == 3


def test_list_and_get(api, lead_flow):
    flows = api.get("/flows").get_json()["flows"]
    assert flows == [{"id": lead_flow["id"], "name": "Leads", "is_default": False, "published_version": None,
                      "updated_at": flows[0]["updated_at"]}]
    got = api.get(f"/flows/{lead_flow['id']}").get_json()
    assert set(got) == {"id", "name", "is_default", "draft", "draft_updated_at", "published_version", "problems"}
    assert api.get("/flows/999999").status_code == 404


def test_save_draft_validate_and_publish(api, lead_flow):
    fid = lead_flow["id"]
    doc = copy.deepcopy(lead_flow["draft"])
    doc["nodes"][1]["data"]["text"] = "Hello there!"
    resp = api.put(f"/flows/{fid}/draft", {"document": doc})
    assert resp.status_code == 200 and {"saved_at", "problems"} <= set(resp.get_json())
    assert api.get(f"/flows/{fid}").get_json()["draft"]["nodes"][1]["data"]["text"] == "Hello there!"
    assert api.post(f"/flows/{fid}/validate", {"document": doc}).get_json()["problems"] == resp.get_json()["problems"]
    assert api.post(f"/flows/{fid}/publish").get_json() == {"version": 1}
    assert api.post(f"/flows/{fid}/publish", raw="").get_json() == {"version": 2}
    got = api.get(f"/flows/{fid}").get_json()
    assert got["published_version"] == 2 and got["is_default"] is True  # first published flow


def test_draft_with_errors_is_saved_but_publish_is_refused_409(api, lead_flow):
    fid = lead_flow["id"]
    doc = copy.deepcopy(lead_flow["draft"])
    doc["edges"].append({"id": "dangling", "source": "greet", "sourceHandle": "out", "target": "ghost"})
    saved = api.put(f"/flows/{fid}/draft", {"document": doc})
    assert saved.status_code == 200
    assert any(p["severity"] == "error" for p in saved.get_json()["problems"])
    refused = api.post(f"/flows/{fid}/publish")
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"] and any(p["severity"] == "error" for p in body["problems"])
    assert api.get(f"/flows/{fid}/versions").get_json()["versions"] == []


def test_unusable_draft_is_refused_and_not_stored(api, lead_flow):
    fid = lead_flow["id"]
    for body in ({"document": {"nodes": "nope"}}, {"document": {"schema_version": 99, "nodes": [], "edges": []}}):
        resp = api.put(f"/flows/{fid}/draft", body)
        assert resp.status_code == 400
        assert resp.get_json()["problems"][0]["code"] == "bad_document"
    for body in ({}, {"document": []}, {"document": "x"}):
        assert api.put(f"/flows/{fid}/draft", body).status_code == 400
        assert api.post(f"/flows/{fid}/validate", body).status_code == 400
    assert api.put(f"/flows/{fid}/draft", raw="not json").status_code == 400
    assert api.get(f"/flows/{fid}").get_json()["draft"] == lead_flow["draft"]


def test_writes_without_csrf_header_are_refused(api, lead_flow):
    fid = lead_flow["id"]
    resp = api.put(f"/flows/{fid}/draft", {"document": lead_flow["draft"]}, csrf=False)
    assert resp.status_code == 400 and "CSRF" in resp.get_json()["error"]
    assert api.post(f"/flows/{fid}/publish", csrf=False).status_code == 400
    assert api.post("/flows", {"name": "x"}, csrf=False).status_code == 400
    assert api.delete(f"/flows/{fid}", csrf=False).status_code == 400
    assert api.get(f"/flows/{fid}").get_json()["published_version"] is None


def test_rename(api, lead_flow):
    fid = lead_flow["id"]
    resp = api.patch(f"/flows/{fid}", {"name": "Renamed"})
    assert resp.status_code == 200 and resp.get_json()["name"] == "Renamed"
    assert api.get(f"/flows/{fid}").get_json()["draft"]["name"] == "Renamed"
    assert api.patch(f"/flows/{fid}", {"name": "  "}).status_code == 400
    assert api.patch(f"/flows/{fid}", {"name": "x" * 201}).status_code == 400


def test_default_and_delete_rules(api, lead_flow, tenant, db):
    from webapp.models import Flow, FlowVersion, Tenant

    a = lead_flow["id"]
    b = api.post("/flows", {"name": "Second", "template": "faq_bot"}).get_json()["id"]
    assert api.post(f"/flows/{b}/default").status_code == 409  # not published yet
    api.post(f"/flows/{a}/publish")
    assert api.get(f"/flows/{a}").get_json()["is_default"] is True
    refused = api.delete(f"/flows/{a}")
    assert refused.status_code == 409 and "default" in refused.get_json()["error"]
    api.post(f"/flows/{b}/publish")
    made = api.post(f"/flows/{b}/default")
    assert made.status_code == 200 and made.get_json()["is_default"] is True
    assert api.delete(f"/flows/{a}").get_json() == {"deleted": a}
    db.session.expire_all()
    assert db.session.get(Flow, a) is None
    assert db.session.query(FlowVersion).filter_by(flow_id=a).count() == 0
    # deleting the default hands over to another published flow, or to none
    c = api.post("/flows", {"name": "Third", "template": "lead_capture"}).get_json()["id"]
    api.post(f"/flows/{c}/publish")
    assert api.delete(f"/flows/{b}").status_code == 200
    db.session.expire_all()
    assert db.session.get(Tenant, tenant.id).default_flow_id == c
    assert api.delete("/flows/999999").status_code == 404


def test_absurdly_nested_json_is_400_not_500(api, lead_flow):
    fid = lead_flow["id"]
    deep = '{"document":' + "[" * 200000 + "]" * 200000 + "}"
    assert api.put(f"/flows/{fid}/draft", raw=deep).status_code == 400
    nested = '{"document": {"nodes": ' + "[" * 500 + "]" * 500 + ', "edges": []}}'
    resp = api.put(f"/flows/{fid}/draft", raw=nested)
    assert resp.status_code == 400 and "nested" in resp.get_json()["error"]
    assert api.get(f"/flows/{fid}").get_json()["draft"] == lead_flow["draft"]
