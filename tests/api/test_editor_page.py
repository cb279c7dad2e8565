"""The editor page mounts the bundle for the tenant's own flow; the flows page creates from templates."""

from __future__ import annotations

import re

from tests.helpers.web import csrf_token


def _flow(api):
    return api.post("/flows", {"template": "lead_capture"}).get_json()


def test_editor_page_mounts_the_bundle(api, member_client):
    flow = _flow(api)
    html = member_client.get(f"/flows/{flow['id']}/edit").get_data(as_text=True)
    mount = re.search(r'<div id="flow-editor"([^>]*)>', html).group(1)
    assert f'data-flow-id="{flow["id"]}"' in mount and 'data-api-base="/api"' in mount
    assert 'data-language="en"' in mount
    token = re.search(r'data-csrf-token="([^"]+)"', mount).group(1)
    assert api.client.put(f"/api/flows/{flow['id']}/draft", json={"document": flow["draft"]},
                          headers={"X-CSRFToken": token}).status_code == 200
    assert 'type="module" src="/static/editor/editor.js' in html
    assert 'href="/static/editor/editor.css' in html
    assert "container-fluid" in html


def test_editor_page_says_how_to_build_a_missing_bundle(api, member_client, monkeypatch):
    from webapp.editor import routes

    monkeypatch.setattr(routes, "BUNDLE", "editor/not-built.js")
    flow = _flow(api)
    html = member_client.get(f"/flows/{flow['id']}/edit").get_data(as_text=True)
    assert "make editor" in html and 'id="flow-editor"' not in html


def test_editor_page_needs_a_member_and_own_flow(client, api, other_flow):
    assert api.client.get(f"/flows/{other_flow.id}/edit").status_code == 404
    assert api.client.get("/flows/999999/edit").status_code == 404


def test_anonymous_editor_redirects_to_login(client, db):
    resp = client.get("/flows/1/edit")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_flows_page_new_flow_from_template_in_two_clicks(member_client, tenant, db):
    from webapp.models import Flow

    page = member_client.get("/flows").get_data(as_text=True)
    assert 'value="lead_capture"' in page and 'value="instagram_comment_to_dm"' in page
    resp = member_client.post("/flows/new", data={"template": "lead_capture",
                                                  "csrf_token": csrf_token(member_client, "/flows")})
    flow = db.session.query(Flow).filter_by(tenant_id=tenant.id).one()
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/flows/{flow.id}/edit")
    assert flow.draft["nodes"] and flow.published_version_id is None
    page = member_client.get("/flows").get_data(as_text=True)
    assert f"/flows/{flow.id}/edit" in page


def test_flows_page_new_flow_refusals(member_client, db):
    token = csrf_token(member_client, "/flows")
    resp = member_client.post("/flows/new", data={"template": "nope", "csrf_token": token},
                              follow_redirects=True)
    assert "Unknown template" in resp.get_data(as_text=True)
    assert member_client.post("/flows/new", data={"template": "lead_capture"}).status_code == 400  # no CSRF


def test_flows_page_default_and_delete(member_client, api, tenant, db):
    from webapp.models import Flow, Tenant

    a, b = _flow(api)["id"], _flow(api)["id"]
    api.post(f"/flows/{a}/publish")
    api.post(f"/flows/{b}/publish")
    token = csrf_token(member_client, "/flows")
    member_client.post(f"/flows/{b}/default", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Tenant, tenant.id).default_flow_id == b
    member_client.post(f"/flows/{a}/delete", data={"csrf_token": token})
    refused = member_client.post(f"/flows/{b}/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "only published" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert [f.id for f in db.session.query(Flow).filter_by(tenant_id=tenant.id)] == [b]
