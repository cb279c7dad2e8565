"""Text PostgreSQL cannot store (NUL, an unpaired surrogate) is refused at the edge with a message: every
back-office form field, query argument, uploaded FAQ CSV and CLI text option answers 400 / exits 1, never
500 or a traceback; the same form with ordinary text still saves (issue 14, defect 2)."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.helpers.web import csrf_token, login

NUL = "bad\x00text"
SURROGATE = "bad\ud800text"
REFUSED = "cannot be stored"


def _setup(db: Any, tenant: Any) -> SimpleNamespace:
    from webapp.models import Lead, PromptLayer, Tenant
    from webapp.services.channels import add_channel

    t = db.session.get(Tenant, tenant.id)
    t.profile = {**(t.profile or {}), "faq": [{"q": "Parking?", "a": "Yes."}]}
    layer = PromptLayer(tenant_id=tenant.id, kind="tenant", key="voice", name="Voice", text="Be warm.",
                        version=1, position=0, active=True)
    lead = Lead(tenant_id=tenant.id, source_channel="webchat", fields={"name": "Ann"}, status="new", note="")
    db.session.add_all([layer, lead])
    db.session.commit()
    channel = add_channel(tenant, "instagram", external_id="17841400000000009", token="t")
    webchat = add_channel(tenant, "webchat")
    return SimpleNamespace(layer=layer.id, lead=lead.id, channel=channel.id, webchat=webchat.id)


# (form, path, valid data, status of the valid post, text fields to spoil one at a time)
FORMS: list[tuple[str, str, dict[str, str], int, tuple[str, ...]]] = [
    ("profile", "/settings/", {"niche": "Beauty", "offer": "Nails", "prices": "20 EUR", "address": "1 Rose St",
                               "hours": "10-20", "tone": "warm", "language": "en", "timezone": "UTC"}, 302,
     ("niche", "offer", "prices", "address", "hours", "tone", "timezone", "language")),
    ("faq_add", "/settings/faq", {"question": "Cards?", "answer": "Visa."}, 302, ("question", "answer")),
    ("faq_edit", "/settings/faq/0/edit", {"question": "Parking?", "answer": "Free."}, 302, ("question", "answer")),
    ("layer_add", "/settings/prompts", {"key": "style", "name": "Style", "text": "Short answers."}, 302,
     ("key", "name", "text")),
    ("layer_edit", "/settings/prompts/{layer}", {"key": "voice", "name": "Voice", "text": "Be brief."}, 302,
     ("name", "text")),
    ("preview", "/settings/preview", {"message": "hours?", "channel": "instagram", "node_prompt": "Help."}, 200,
     ("message", "node_prompt", "channel")),
    ("lead_note", "/leads/{lead}", {"status": "won", "note": "Called back."}, 302, ("note", "status")),
    ("new_flow", "/flows/new", {"name": "Spring promo", "template": "lead_capture"}, 302, ("name", "template")),
    ("test_recipient", "/channels/{channel}/test-recipient", {"recipient": "12345"}, 302, ("recipient",)),
    ("telegram_connect", "/channels/telegram", {"token": "nonsense", "name": "Bot"}, 400, ("token", "name")),
    ("webchat_new", "/channels/webchat", {"name": "Site", "origins": "https://shop.example.com", "color": "#112233",
                                          "greeting": "Hi"}, 302, ("name", "origins", "color", "greeting")),
    ("webchat_edit", "/channels/{webchat}/webchat", {"name": "Site", "origins": "https://shop.example.com",
                                                     "color": "#112233", "greeting": "Hi"}, 303,
     ("name", "origins", "color", "greeting")),
]


def _form(name: str) -> tuple[str, dict[str, str], int, tuple[str, ...]]:
    form = next(f for f in FORMS if f[0] == name)
    return form[1], dict(form[2]), form[3], form[4]


def _snapshot(db: Any, tenant: Any) -> dict[str, Any]:
    """Everything these forms may write, to check a refused post changed nothing."""
    from webapp.models import Channel, Flow, Lead, PromptLayer, Tenant

    db.session.expire_all()
    t = db.session.get(Tenant, tenant.id)
    return {"profile": t.profile, "language": t.language, "timezone": t.timezone,
            "layers": db.session.scalar(select(func.count()).select_from(PromptLayer)),
            "flows": db.session.scalar(select(func.count()).select_from(Flow)),
            "leads": [(lead.status, lead.note) for lead in db.session.scalars(select(Lead))],
            "channels": [dict(c.settings or {}) for c in db.session.scalars(select(Channel).order_by(Channel.id))]}


@pytest.mark.parametrize("form", [f[0] for f in FORMS])
def test_form_refuses_text_the_database_cannot_store(member_client, db, tenant, form):
    """Each text field in turn gets a NUL (a form cannot carry a lone surrogate: Werkzeug keeps undecodable
    percent-escapes as they are and replaces bad multipart bytes); then the same form with ordinary text
    gets its usual answer, so only the bad character makes the difference."""
    ids = _setup(db, tenant)
    path, data, status, fields = _form(form)
    path = path.format(**vars(ids))
    token = csrf_token(member_client, "/settings/")
    before = _snapshot(db, tenant)
    for field in fields:
        resp = member_client.post(path, data={**data, field: NUL, "csrf_token": token})
        assert resp.status_code == 400, (field, resp.get_data(as_text=True)[:500])
        assert REFUSED in resp.get_data(as_text=True), field
        assert _snapshot(db, tenant) == before, field
    resp = member_client.post(path, data={**data, "csrf_token": token})
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]


def test_query_arguments_are_checked_too(member_client, db, tenant):
    for path in ("/leads?status={bad}", "/events?status={bad}", "/inbox?x={bad}", "/settings/faq?{bad}=1"):
        resp = member_client.get(path.format(bad="a%00b"))
        assert resp.status_code == 400 and REFUSED in resp.get_data(as_text=True), path
        assert member_client.get(path.format(bad="new")).status_code == 200, path


def test_login_form_refuses_nul(client, db, tenant):
    resp = login(client, tenant.owner_email + "\x00", tenant.owner_password)
    assert resp.status_code == 400 and REFUSED in resp.get_data(as_text=True)
    assert login(client, tenant.owner_email, tenant.owner_password).status_code == 302


def test_staff_admin_form_refuses_nul(client, db, staff_user):
    from webapp.models import Tenant

    login(client, staff_user.email, staff_user.raw_password)
    token = csrf_token(client, "/admin/tenant/new/")
    resp = client.post("/admin/tenant/new/", data={"csrf_token": token, "name": NUL, "slug": "x", "plan": "1",
                                                   "language": "en", "timezone": "UTC", "status": "active"})
    assert resp.status_code == 400 and REFUSED in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0


def _upload(client: Any, content: bytes) -> Any:
    token = csrf_token(client, "/settings/faq")
    return client.post("/settings/faq/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "mode": "replace", "file": (io.BytesIO(content), "faq.csv")})


def test_faq_csv_with_nul_is_a_form_error(member_client, db, tenant):
    from webapp.models import Tenant

    _setup(db, tenant)
    for content, line in ((b"question,answer\nHours?,9\x00-5\n", 2), (b"question,answer\nA?,B\nHo\x00urs?,9-5\n", 3),
                          (b"question,ans\x00wer\nHours?,9-5\n", 1)):
        resp = _upload(member_client, content)
        assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
        assert REFUSED in resp.get_data(as_text=True) and f"Line {line} " in resp.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(Tenant, tenant.id).profile["faq"] == [{"q": "Parking?", "a": "Yes."}]
    assert _upload(member_client, b"question,answer\nHours?,9-5\n").status_code == 302


# ---- web chat (public) ----

@pytest.fixture()
def webchat(db, make_tenant):
    from webapp.services.channels import add_channel

    return add_channel(make_tenant("Chat"), "webchat")


def _chat(client: Any, key: str, body: Any, raw: bytes | None = None) -> Any:
    data = raw if raw is not None else json.dumps(body)
    return client.post(f"/webchat/{key}/messages", data=data, headers={"Content-Type": "application/json"})


def test_webchat_post_refuses_text_the_database_cannot_store(client, webchat, db):
    from webapp.models import InboundEvent

    ok = {"visitor_id": "v1", "client_message_id": "c1", "text": "hi"}
    for body in ({**ok, "text": NUL}, {**ok, "text": SURROGATE}, {**ok, "name": NUL}, {**ok, "page_url": SURROGATE},
                 {**ok, "extra": {"deep": [SURROGATE]}}, {**ok, NUL: "key"}):
        resp = _chat(client, webchat.public_key, body)
        assert resp.status_code == 400 and REFUSED in resp.get_json()["error"], body
    assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == 0
    assert _chat(client, webchat.public_key, ok).status_code == 202


def test_webchat_raw_utf8_surrogate_bytes_are_refused(client, webchat):
    raw = b'{"visitor_id": "v1", "client_message_id": "c1", "text": "a\xed\xa0\x80b"}'
    resp = _chat(client, webchat.public_key, None, raw=raw)
    assert resp.status_code == 400


def test_webchat_get_with_nul_visitor_is_a_400(client, webchat):
    resp = client.get(f"/webchat/{webchat.public_key}/messages?visitor_id=v%00")
    assert resp.status_code == 400 and REFUSED in resp.get_json()["error"]
    assert client.get(f"/webchat/{webchat.public_key}/messages?visitor_id=v1").get_json() == {"messages": []}


WRONG_SHAPES = {
    "number": b"5", "string": b'"hello"', "list": b"[1, 2]", "null": b"null", "true": b"true",
    "int-visitor": b'{"visitor_id": 5, "client_message_id": "c1", "text": "hi"}',
    "huge-int-visitor": b'{"visitor_id": 123456789012345678901234567890, "client_message_id": "c1", "text": "hi"}',
    "list-visitor": b'{"visitor_id": ["v1"], "client_message_id": "c1", "text": "hi"}',
    "object-visitor": b'{"visitor_id": {"a": 1}, "client_message_id": "c1", "text": "hi"}',
    "int-text": b'{"visitor_id": "v1", "client_message_id": 7, "text": 7}',
    "deep-list": b"[" * 50_000 + b"]" * 50_000,
    "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
}


@pytest.mark.parametrize("raw", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_webchat_body_of_the_wrong_shape_is_a_400_and_still_rate_limited(client, webchat, db, app, monkeypatch,
                                                                         raw):
    """The rate-limit key is computed before the view reads the body, so it must cope with any JSON: a
    key function that raises fails the request (500) or, with errors swallowed, skips every limit of the
    request (issue 14, defect 7)."""
    from webapp.models import InboundEvent

    monkeypatch.setitem(app.config, "WEBCHAT_RATE_LIMIT", "3 per minute")
    codes = [_chat(client, webchat.public_key, None, raw=raw).status_code for _ in range(4)]
    deep = raw.startswith((b"[[", b'{"a":{'))
    assert codes == ([400] * 4 if deep else [400, 400, 400, 429])  # too deep to parse: refused at the edge
    assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == 0


def test_webchat_get_with_an_out_of_range_after_is_a_400(client, webchat):
    for after in (str(2**31), str(2**63), "9" * 5000, "²"):
        resp = client.get(f"/webchat/{webchat.public_key}/messages?visitor_id=v1&after={after}")
        assert resp.status_code == 400 and "after" in resp.get_json()["error"], after
    assert client.get(f"/webchat/{webchat.public_key}/messages?visitor_id=v1&after={2**31 - 1}").status_code == 200


# ---- CLI ----

@pytest.fixture()
def run(app, db):
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Any:
        return runner.invoke(args=[str(a) for a in args])

    return invoke


def _cli_tenant(run: Any) -> int:
    result = run("tenant", "create", "--name", "Cli", "--plan", "PRO")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["id"]


CLI_CASES = {
    "tenant-create-name": ("tenant", "create", "--name", "{bad}", "--plan", "PRO"),
    "tenant-create-slug": ("tenant", "create", "--name", "Ok", "--plan", "PRO", "--slug", "{bad}"),
    "tenant-create-plan": ("tenant", "create", "--name", "Ok", "--plan", "{bad}"),
    "user-create-email": ("user", "create", "--email", "a{bad}@example.com", "--password", "password-1", "--staff"),
    "user-create-password": ("user", "create", "--email", "a@example.com", "--password", "pass{bad}word-1",
                             "--staff"),
    "channel-add-name": ("channel", "add", "--tenant", "{tenant}", "--type", "webchat", "--name", "{bad}"),
    "channel-add-external-id": ("channel", "add", "--tenant", "{tenant}", "--type", "instagram", "--external-id",
                                "{bad}", "--token", "t"),
    "channel-add-token": ("channel", "add", "--tenant", "{tenant}", "--type", "instagram", "--external-id", "1",
                          "--token", "{bad}"),
    "flow-import-name": ("flow", "import", "--tenant", "{tenant}", "--name", "{bad}", "{file}"),
    "flow-simulate-message": ("flow", "simulate", "--flow", "{flow}", "--message", "{bad}"),
}


@pytest.fixture()
def flow_file(tmp_path):
    from flows.templates import load_template

    path = tmp_path / "flow.json"
    path.write_text(json.dumps(load_template("lead_capture")), encoding="utf-8")
    return path


@pytest.mark.parametrize("args", CLI_CASES.values(), ids=CLI_CASES.keys())
def test_cli_refuses_text_the_database_cannot_store(run, db, flow_file, args):
    """A usage error (exit 2) naming the option. `bad\\udcfftext` is what Python makes of an undecodable
    byte in argv (surrogateescape)."""
    from webapp.models import Channel, Flow, Tenant, User

    tenant = _cli_tenant(run)
    imported = run("flow", "import", "--tenant", tenant, flow_file)
    assert imported.exit_code == 0, imported.output
    flow = json.loads(imported.output)["id"]
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (Tenant, User, Channel, Flow)]
    for bad in (NUL, SURROGATE, "bad\udcfftext"):
        result = run(*[a.format(bad=bad, tenant=tenant, flow=flow, file=flow_file) for a in args])
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (result.output, result.exception)
        assert REFUSED in result.output and "Invalid value for" in result.output
        db.session.expire_all()
        assert [db.session.scalar(select(func.count()).select_from(m)) for m in (Tenant, User, Channel, Flow)] == \
            counts


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
def test_cli_flow_import_refuses_a_file_with_bad_text(run, db, tmp_path, flow_file, escape):
    from webapp.models import Flow

    tenant = _cli_tenant(run)
    for where in ("node text", "key", "name"):
        document = json.loads(flow_file.read_text(encoding="utf-8"))
        if where == "node text":
            document["nodes"][1]["data"]["text"] = "MARK"
        elif where == "key":
            document["nodes"][1]["data"]["MARK"] = "x"
        else:
            document["name"] = "MARK"
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(document).replace("MARK", f"bad{escape}text"), encoding="utf-8")
        result = run("flow", "import", "--tenant", tenant, path)
        assert result.exit_code == 1 and REFUSED in result.output, (where, result.output, result.exception)
        assert db.session.scalar(select(func.count()).select_from(Flow)) == 0


def test_cli_integers_beyond_the_database_range_are_refused(run, db, flow_file):
    """Ids beyond the database's integer range overflowed the query (a traceback); now a usage error."""
    tenant = _cli_tenant(run)
    flow = json.loads(run("flow", "import", "--tenant", tenant, flow_file).output)["id"]
    for args in (("flow", "list", "--tenant", 2**31), ("leads", "export", "--tenant", 10**30),
                 ("flow", "export", "--flow", 2**63), ("channel", "add", "--tenant", 2**31, "--type", "webchat"),
                 ("flow", "publish", "--flow", "9" * 5000)):
        result = run(*args)
        assert result.exit_code == 2 and "Invalid value for" in result.output, (args[:2], result.output)
    for version in (str(2**31), "9" * 5000, "²", "0"):
        result = run("flow", "export", "--flow", flow, "--version", version)
        assert result.exit_code == 1 and "--version must be a version number" in result.output, \
            (version, result.output, result.exception)
    assert run("flow", "export", "--flow", flow, "--version", "draft").exit_code == 0


def test_staff_admin_json_field_with_an_escaped_nul_is_a_form_error(client, db, staff_user, tenant):
    """`\\u0000` typed into a JSON text area passes the request check (it is six plain characters) and is a
    NUL once parsed: the admin refuses it as a form error and saves nothing."""
    from webapp.models import Tenant

    login(client, staff_user.email, staff_user.raw_password)
    edit = f"/admin/tenant/edit/?id={tenant.id}"
    token = csrf_token(client, edit)
    resp = client.post(edit, data={"csrf_token": token, "name": "Acme Salon", "slug": tenant.slug, "plan": "1",
                                   "language": "en", "timezone": "UTC", "status": "active",
                                   "profile": '{"about": "a\\u0000b"}', "settings": "{}"})
    assert resp.status_code < 500 and "cannot be stored" in client.get(edit).get_data(as_text=True) + \
        resp.get_data(as_text=True)
    db.session.expire_all()
    assert "about" not in (db.session.get(Tenant, tenant.id).profile or {})


def test_staff_admin_ids_beyond_the_database_range_are_no_record(client, db, staff_user):
    login(client, staff_user.email, staff_user.raw_password)
    for view in ("edit", "details"):
        resp = client.get(f"/admin/tenant/{view}/?id=99999999999")
        assert resp.status_code == 302  # Flask-Admin: "Record does not exist", back to the list
