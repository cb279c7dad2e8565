"""Version history through the API: list (with pinning), one version, diff, rollback."""

from __future__ import annotations

import copy


def _edit_greeting(api, flow, text):
    doc = copy.deepcopy(api.get(f"/flows/{flow['id']}").get_json()["draft"])
    doc["nodes"][1]["data"]["text"] = text
    assert api.put(f"/flows/{flow['id']}/draft", {"document": doc}).status_code == 200
    return doc


def test_versions_list_and_version_document(api, lead_flow, tenant):
    fid = lead_flow["id"]
    api.post(f"/flows/{fid}/publish")
    v2_doc = _edit_greeting(api, lead_flow, "Version two")
    assert api.post(f"/flows/{fid}/publish", {"note": 7}).status_code == 400
    api.post(f"/flows/{fid}/publish", {"note": "new greeting"})
    versions = api.get(f"/flows/{fid}/versions").get_json()["versions"]
    assert [v["number"] for v in versions] == [2, 1]
    assert [v["is_current"] for v in versions] == [True, False]
    assert versions[0]["author"] == tenant.owner_email and versions[0]["note"] == "new greeting"
    assert api.get(f"/flows/{fid}/versions/2").get_json()["document"] == v2_doc
    assert api.get(f"/flows/{fid}/versions/1").get_json()["document"] == lead_flow["draft"]
    assert api.get(f"/flows/{fid}/versions/7").status_code == 404


def test_version_pinning_is_visible(api, lead_flow, tenant, db):
    """A conversation started on v1 stays on v1 after v2 is published; the list shows who is where."""
    from webapp.models import Contact, Conversation, FlowVersion
    from webapp.services.channels import add_channel

    fid = lead_flow["id"]
    api.post(f"/flows/{fid}/publish")
    v1 = db.session.query(FlowVersion).filter_by(flow_id=fid, number=1).one()
    channel = add_channel(tenant, "webchat")
    contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id="v")
    db.session.add(contact)
    db.session.flush()
    db.session.add(Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id,
                                flow_id=fid, flow_version_id=v1.id))
    db.session.commit()
    _edit_greeting(api, lead_flow, "New greeting")
    api.post(f"/flows/{fid}/publish")
    versions = {v["number"]: v for v in api.get(f"/flows/{fid}/versions").get_json()["versions"]}
    assert versions[1]["conversations"] == 1 and versions[1]["is_current"] is False
    assert versions[2]["conversations"] == 0 and versions[2]["is_current"] is True
    assert api.get(f"/flows/{fid}/versions/1").get_json()["document"]["nodes"][1]["data"]["text"] != "New greeting"


def test_diff(api, lead_flow):
    fid = lead_flow["id"]
    api.post(f"/flows/{fid}/publish")
    doc = copy.deepcopy(lead_flow["draft"])
    doc["nodes"][1]["data"]["text"] = "Changed"
    doc["nodes"].append({"id": "extra", "type": "end", "position": {"x": 0, "y": 0}, "data": {}})
    api.put(f"/flows/{fid}/draft", {"document": doc})
    d = api.get(f"/flows/{fid}/diff?from=1&to=draft").get_json()
    greet = doc["nodes"][1]["id"]
    assert d["added"] == ["extra"] and d["removed"] == []
    assert {"id": greet, "fields": ["text"]} in d["changed"]
    assert api.get(f"/flows/{fid}/diff").get_json() == d  # defaults: published → draft
    assert api.get(f"/flows/{fid}/diff?from=draft&to=1").get_json()["removed"] == ["extra"]
    assert api.get(f"/flows/{fid}/diff?from=1&to=1").get_json() == {"added": [], "removed": [], "changed": []}
    assert api.get(f"/flows/{fid}/diff?from=9&to=draft").status_code == 400
    assert api.get(f"/flows/{fid}/diff?from=abc").status_code == 400


def test_diff_without_published_version_needs_from(api, lead_flow):
    resp = api.get(f"/flows/{lead_flow['id']}/diff")
    assert resp.status_code == 400 and "from" in resp.get_json()["error"]


def test_rollback_copies_the_version_into_the_draft_only(api, lead_flow):
    fid = lead_flow["id"]
    api.post(f"/flows/{fid}/publish")
    _edit_greeting(api, lead_flow, "Second")
    api.post(f"/flows/{fid}/publish")
    _edit_greeting(api, lead_flow, "Work in progress")
    resp = api.post(f"/flows/{fid}/rollback", {"version": 1})
    assert resp.status_code == 200
    assert resp.get_json()["draft"] == lead_flow["draft"]
    got = api.get(f"/flows/{fid}").get_json()
    assert got["draft"] == lead_flow["draft"] and got["published_version"] == 2  # publish is separate
    for body in ({"version": 5}, {"version": "one"}, {"version": True}, {}, {"version": None}):
        assert api.post(f"/flows/{fid}/rollback", body).status_code == 400, body
    assert api.post(f"/flows/{fid}/rollback", raw="[]").status_code == 400
