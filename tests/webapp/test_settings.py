"""Settings pages: business profile, FAQ (add/edit/delete, CSV import/export), prompt layers with
versions, prompt preview."""

from __future__ import annotations

import io

import pytest

from tests.helpers.web import csrf_token, login


def _tenant(db, tenant):
    from webapp.models import Tenant

    db.session.expire_all()
    return db.session.get(Tenant, tenant.id)


def _post(client, path, data, **kw):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/settings/")}, **kw)


def test_pages_need_a_member(client, db):
    for path in ("/settings/", "/settings/faq", "/settings/prompts", "/settings/preview", "/settings/faq.csv"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_staff_are_sent_to_admin(client, staff_user):
    login(client, staff_user.email, staff_user.raw_password)
    assert client.get("/settings/").status_code == 302


def test_profile_saves_and_validates(member_client, tenant, db):
    page = member_client.get("/settings/")
    assert page.status_code == 200 and 'name="timezone"' in page.get_data(as_text=True)
    resp = _post(member_client, "/settings/", {
        "niche": "Beauty", "offer": "Nails and brows", "prices": "Manicure 20 EUR", "address": "1 Rose St",
        "hours": "10-20", "tone": "warm", "language": "ru", "timezone": "Europe/Moscow"})
    assert resp.status_code == 302
    t = _tenant(db, tenant)
    assert t.language == "ru" and t.timezone == "Europe/Moscow"
    assert t.profile["niche"] == "Beauty" and t.profile["prices"] == "Manicure 20 EUR"
    assert t.profile["faq"] == []  # other profile keys are kept
    bad = _post(member_client, "/settings/", {"language": "de", "timezone": "Mars/Base"})
    assert bad.status_code == 400
    assert _tenant(db, tenant).timezone == "Europe/Moscow"


def test_profile_needs_csrf(member_client, tenant, db):
    resp = member_client.post("/settings/", data={"language": "en", "timezone": "UTC", "niche": "x"})
    assert resp.status_code == 400
    assert _tenant(db, tenant).profile.get("niche") == ""


def test_faq_add_edit_delete(member_client, tenant, db):
    assert _post(member_client, "/settings/faq", {"question": "Parking?", "answer": "Yes, free."}).status_code == 302
    assert _post(member_client, "/settings/faq", {"question": "Cards?", "answer": "Visa, MC."}).status_code == 302
    assert _post(member_client, "/settings/faq", {"question": "", "answer": "x"}).status_code == 400
    assert _tenant(db, tenant).profile["faq"] == [{"q": "Parking?", "a": "Yes, free."},
                                                  {"q": "Cards?", "a": "Visa, MC."}]
    page = member_client.get("/settings/faq/1/edit").get_data(as_text=True)
    assert "Cards?" in page
    _post(member_client, "/settings/faq/1/edit", {"question": "Cards?", "answer": "Visa, MC, Mir."})
    _post(member_client, "/settings/faq/0/delete", {})
    assert _tenant(db, tenant).profile["faq"] == [{"q": "Cards?", "a": "Visa, MC, Mir."}]
    assert member_client.get("/settings/faq/5/edit").status_code == 404
    assert _post(member_client, "/settings/faq/5/delete", {}).status_code == 404


def _upload(client, content: bytes, mode: str = "append"):
    return _post(client, "/settings/faq/import",
                 {"file": (io.BytesIO(content), "faq.csv"), "mode": mode}, content_type="multipart/form-data")


def test_faq_csv_import_and_export_round_trip(member_client, tenant, db):
    _post(member_client, "/settings/faq", {"question": "Old?", "answer": "Kept."})
    csv_text = 'question,answer\nDo you work Sundays?,"Yes, 10-18."\nЕсть парковка?,Да\n'
    resp = _upload(member_client, ("\ufeff" + csv_text).encode("utf-8"))
    assert resp.status_code == 302
    faq = _tenant(db, tenant).profile["faq"]
    assert faq == [{"q": "Old?", "a": "Kept."}, {"q": "Do you work Sundays?", "a": "Yes, 10-18."},
                   {"q": "Есть парковка?", "a": "Да"}]
    exported = member_client.get("/settings/faq.csv")
    assert exported.mimetype == "text/csv"
    assert _upload(member_client, exported.data, mode="replace").status_code == 302
    assert _tenant(db, tenant).profile["faq"] == faq
    assert _upload(member_client, b"question;answer\nA?;B\n", mode="replace").status_code == 302
    assert _tenant(db, tenant).profile["faq"] == [{"q": "A?", "a": "B"}]


@pytest.mark.parametrize("content, message", [
    (b"q,a\nx,y\n", "header"),
    (b"question,answer\nOnly a question,\n", "Line 2"),
    (b"\xff\xfe\x00b\x00a\x00d", "UTF-8"),
    (b"question,answer\n", "no entries"),
    (b"", "header"),
])
def test_bad_csv_is_a_form_error_and_nothing_is_lost(member_client, tenant, db, content, message):
    _post(member_client, "/settings/faq", {"question": "Keep me?", "answer": "Yes."})
    resp = _upload(member_client, content, mode="replace")
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _tenant(db, tenant).profile["faq"] == [{"q": "Keep me?", "a": "Yes."}]


def test_csv_import_without_file_is_a_form_error(member_client):
    assert _post(member_client, "/settings/faq/import", {"mode": "append"}).status_code == 400


def test_prompt_layers_versions_and_platform_layers_read_only(member_client, tenant, make_tenant, db):
    from webapp.models import PromptLayer

    other = make_tenant("Other")
    db.session.add_all([PromptLayer(tenant_id=None, kind="platform", key="base", text="Be polite."),
                        PromptLayer(tenant_id=other.id, kind="tenant", key="x", text="OTHER SECRET")])
    db.session.commit()
    assert _post(member_client, "/settings/prompts", {"key": "voice", "name": "Voice",
                                                      "text": "Speak warmly."}).status_code == 302
    assert _post(member_client, "/settings/prompts", {"key": "voice", "text": "dup"}).status_code == 400
    assert _post(member_client, "/settings/prompts", {"key": "Bad Key!", "text": "x"}).status_code == 400
    page = member_client.get("/settings/prompts").get_data(as_text=True)
    assert "Speak warmly." in page and "Be polite." in page and "OTHER SECRET" not in page
    layer = db.session.query(PromptLayer).filter_by(tenant_id=tenant.id, key="voice").one()
    assert _post(member_client, f"/settings/prompts/{layer.id}",
                 {"key": "ignored", "name": "Voice", "text": "Speak warmly, use emoji."}).status_code == 302
    db.session.expire_all()
    rows = db.session.query(PromptLayer).filter_by(tenant_id=tenant.id).order_by(PromptLayer.version).all()
    assert [(r.key, r.version, r.active, r.text) for r in rows] == [
        ("voice", 1, False, "Speak warmly."), ("voice", 2, True, "Speak warmly, use emoji.")]
    page = member_client.get("/settings/prompts").get_data(as_text=True)
    assert "use emoji" in page
    platform = db.session.query(PromptLayer).filter_by(key="base").one()
    secret = db.session.query(PromptLayer).filter_by(key="x").one()
    assert member_client.get(f"/settings/prompts/{platform.id}").status_code == 404
    assert member_client.get(f"/settings/prompts/{secret.id}").status_code == 404
    assert _post(member_client, f"/settings/prompts/{secret.id}", {"key": "x", "text": "mine"}).status_code == 404


def test_prompt_preview_shows_the_assembled_messages(member_client, tenant, db):
    from webapp.models import PromptLayer, Tenant

    t = db.session.get(Tenant, tenant.id)
    t.profile = {**t.profile, "address": "1 Rose Street",
                 "faq": [{"q": "Is there parking?", "a": "Free parking behind the salon."}]}
    db.session.add(PromptLayer(tenant_id=tenant.id, kind="tenant", key="voice", text="MY-VOICE"))
    db.session.commit()
    resp = _post(member_client, "/settings/preview", {"message": "is there parking", "channel": "instagram",
                                                      "node_prompt": "Answer questions."})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'id="prompt-messages"' in html
    for expected in ("MY-VOICE", "1 Rose Street", "Free parking behind the salon.", "Answer questions.",
                     "Instagram", "is there parking"):
        assert expected in html, expected
    assert html.index(">system<") < html.index(">user<")


def test_profile_suggests_library_niches(member_client, db):
    from webapp.models import PromptLayer

    db.session.add(PromptLayer(tenant_id=None, kind="niche", key="dentistry", text="Teeth."))
    db.session.commit()
    html = member_client.get("/settings/").get_data(as_text=True)
    assert '<option value="dentistry">' in html and '<option value="beauty">' in html
    assert 'list="niche-list"' in html
