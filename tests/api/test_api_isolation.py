"""Another tenant's flow is a 404 on every endpoint, even with a valid body, and nothing of it leaks
or changes (the URL-map sweep in tests/webapp/test_isolation.py covers routes added later)."""

from __future__ import annotations

import pytest


def _endpoints(fid, document):
    return [
        ("GET", f"/flows/{fid}", None),
        ("PATCH", f"/flows/{fid}", {"name": "stolen"}),
        ("DELETE", f"/flows/{fid}", None),
        ("POST", f"/flows/{fid}/default", {}),
        ("PUT", f"/flows/{fid}/draft", {"document": document}),
        ("POST", f"/flows/{fid}/validate", {"document": document}),
        ("POST", f"/flows/{fid}/publish", {}),
        ("GET", f"/flows/{fid}/versions", None),
        ("GET", f"/flows/{fid}/versions/1", None),
        ("GET", f"/flows/{fid}/diff?from=1&to=draft", None),
        ("POST", f"/flows/{fid}/rollback", {"version": 1}),
        ("POST", f"/flows/{fid}/simulate", {"messages": ["hi"]}),
        ("POST", f"/flows/{fid}/check-replies", {}),
        ("GET", f"/flows/{fid}/tests", None),
        ("POST", f"/flows/{fid}/tests", {"name": "t", "messages": ["hi"]}),
        ("DELETE", f"/flows/{fid}/tests/1", None),
    ]


def test_other_tenants_flow_is_404_everywhere(api, other_flow, db):
    from webapp.models import Flow, FlowVersion

    fid = other_flow.id
    document = dict(other_flow.draft)
    for method, path, body in _endpoints(fid, document):
        resp = api.call(method, path, body)
        assert resp.status_code == 404, (method, path, resp.status_code)
        assert "B flow" not in resp.get_data(as_text=True)
    db.session.expire_all()
    flow = db.session.get(Flow, fid)
    assert flow.name == "B flow"
    assert db.session.query(FlowVersion).filter_by(flow_id=fid).count() == 1
    assert all(f["id"] != fid for f in api.get("/flows").get_json()["flows"])


@pytest.mark.parametrize("body", [None, "[]", "garbage"])
def test_404_comes_before_body_validation(api, other_flow, body):
    resp = api.call("PUT", f"/flows/{other_flow.id}/draft", raw=body or "")
    assert resp.status_code == 404


def test_other_tenants_saved_test_is_404(api, lead_flow, other_flow, db):
    from webapp.models import TestConversation

    row = TestConversation(tenant_id=other_flow.tenant_id, flow_id=other_flow.id, name="B's", messages=["x"])
    db.session.add(row)
    db.session.commit()
    assert api.delete(f"/flows/{lead_flow['id']}/tests/{row.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(TestConversation, row.id) is not None


def test_simulator_uses_this_tenants_layers_profile_and_faq_only(api, tenant, make_tenant, db, monkeypatch):
    """The prompt sent to the model (visible in the trace) is assembled from platform layers, the
    niche layer matching the tenant's niche and the tenant's newest layer — never another tenant's."""
    from connectors.pipeline import context as tenant_services
    from flows.services import FakeLLM
    from webapp.models import PromptLayer, Tenant

    monkeypatch.setattr(tenant_services, "tenant_llm", lambda t: FakeLLM())
    other = make_tenant("Other")
    me = db.session.get(Tenant, tenant.id)
    me.profile = {**me.profile, "niche": "beauty", "address": "1 Rose Street",
                  "faq": [{"q": "Do you do manicure?", "a": "Yes, from 20 EUR."}]}
    db.session.add_all([
        PromptLayer(tenant_id=None, kind="platform", key="base", text="PLATFORM-RULE"),
        PromptLayer(tenant_id=None, kind="niche", key="beauty", text="BEAUTY-NICHE"),
        PromptLayer(tenant_id=None, kind="niche", key="realty", text="REALTY-NICHE"),
        PromptLayer(tenant_id=tenant.id, kind="tenant", key="voice", text="OLD-VOICE", version=1, active=False),
        PromptLayer(tenant_id=tenant.id, kind="tenant", key="voice", text="MY-VOICE", version=2),
        PromptLayer(tenant_id=other.id, kind="tenant", key="voice", text="OTHER-TENANT-SECRET"),
    ])
    db.session.commit()
    flow = api.post("/flows", {"template": "faq_bot"}).get_json()
    resp = api.post(f"/flows/{flow['id']}/simulate", {"messages": ["do you do manicure", "what about pizza?"]})
    assert resp.status_code == 200, resp.get_json()
    text = resp.get_data(as_text=True)
    assert "Yes, from 20 EUR." in text  # the tenant's FAQ answered
    prompts = [s["prompt"] for t in resp.get_json()["turns"] for s in t["trace"] if s.get("prompt")]
    assert prompts, "the LLM fallback should have run with a prompt in the trace"
    system = str(prompts[-1])
    for expected in ("PLATFORM-RULE", "BEAUTY-NICHE", "MY-VOICE", "1 Rose Street"):
        assert expected in system
    for hidden in ("REALTY-NICHE", "OLD-VOICE", "OTHER-TENANT-SECRET"):
        assert hidden not in system
