from __future__ import annotations

from tests.helpers.web import login


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/admin/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_tenant_member_gets_403_on_every_admin_view(member_client, app):
    admin_rules = [r.rule for r in app.url_map.iter_rules()
                   if r.rule.startswith("/admin") and "GET" in r.methods and not r.arguments
                   and "static" not in r.endpoint]
    assert len(admin_rules) >= 8
    for rule in admin_rules:
        assert member_client.get(rule).status_code == 403, rule


def test_staff_sees_tenants_and_masked_credentials(client, db, staff_user, tenant):
    from webapp.services.channels import add_channel

    add_channel(tenant, "whatsapp", external_id="1234567", token="EAAG-super-secret-token-xyz")
    login(client, staff_user.email, staff_user.raw_password)
    assert tenant.name in client.get("/admin/tenant/").get_data(as_text=True)
    page = client.get("/admin/channel/").get_data(as_text=True)
    assert "1234567" in page
    assert "super-secret" not in page and "EAAG" not in page
    assert "••••" in page


def test_staff_login_lands_on_admin(client, staff_user):
    resp = login(client, staff_user.email, staff_user.raw_password)
    assert resp.headers["Location"].startswith("/admin")
    assert client.get("/admin/plan/").status_code == 200


def test_staff_has_no_tenant_pages(client, staff_user):
    login(client, staff_user.email, staff_user.raw_password)
    assert client.get("/leads").status_code == 302


def test_staff_can_edit_through_the_admin_forms(client, db, staff_user, tenant):
    from tests.helpers.web import csrf_token
    from webapp.models import Channel, Plan
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "whatsapp", external_id="999", token="old-token-value")
    login(client, staff_user.email, staff_user.raw_password)
    plan = db.session.query(Plan).filter_by(code="START").one()
    token = csrf_token(client, f"/admin/plan/edit/?id={plan.id}")
    resp = client.post(f"/admin/plan/edit/?id={plan.id}", data={
        "csrf_token": token, "code": "START", "name": "Starter", "priority": "low",
        "features": '["llm"]', "limits": '{"channels": 2}', "llm_model": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).name == "Starter"
    token = csrf_token(client, f"/admin/channel/edit/?id={channel.id}")
    resp = client.post(f"/admin/channel/edit/?id={channel.id}", data={
        "csrf_token": token, "tenant": str(tenant.id), "type": "whatsapp", "name": "WA", "external_id": "999",
        "status": "active", "settings": "{}", "new_token": "new-token-value", "new_secret": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert db.session.get(Channel, channel.id).credentials["token"] == "new-token-value"


def test_staff_creates_a_user_with_a_hashed_password(client, db, staff_user, tenant):
    from tests.helpers.web import csrf_token
    from webapp.models import User

    login(client, staff_user.email, staff_user.raw_password)
    token = csrf_token(client, "/admin/user/new/")
    resp = client.post("/admin/user/new/", data={"csrf_token": token, "email": "new@acme.example.com",
                                                 "tenant": str(tenant.id), "role": "member", "active": "y",
                                                 "language": "", "new_password": "a-good-password"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    user = db.session.query(User).filter_by(email="new@acme.example.com").one()
    assert user.check_password("a-good-password") and "a-good-password" not in user.password_hash
