"""The audit log: every recorded action through its real path (the sign-in form, the reset link, the channel
service, the reconnect flag, the /admin forms), never a password in an entry, the owner's keyset-paged view
of their own tenant only, staff's view of everything, and /admin lists that run no COUNT(*)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.helpers.web import csrf_token, login

STAFF_PASSWORD = "staff-password-1"


def _entries(db: Any, action: str | None = None, tenant_id: Any = ...) -> list[Any]:
    from webapp.models import AuditEntry

    db.session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if tenant_id is not ...:
        query = query.where(AuditEntry.tenant_id.is_(None) if tenant_id is None
                            else AuditEntry.tenant_id == tenant_id)
    return list(db.session.scalars(query))


def _one(db: Any, action: str, **kwargs: Any) -> Any:
    found = _entries(db, action, **kwargs)
    assert len(found) == 1, [(e.action, e.tenant_id, e.details) for e in _entries(db)]
    return found[0]


def _all_text(db: Any) -> str:
    return " ".join(f"{e.actor} {e.target} {e.details} {e.ip}" for e in _entries(db))


def _staff(client: Any, staff_user: Any) -> Any:
    assert login(client, staff_user.email, staff_user.raw_password).status_code == 302
    return client


def _post_form(client: Any, path: str, data: dict[str, str]) -> Any:
    resp = client.post(path, data={"csrf_token": csrf_token(client, path), **data})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    return resp


# --- tenant security events ---------------------------------------------------------------------------------

def test_sign_in_sign_out_and_failed_sign_ins_are_recorded(app, client, db, tenant):
    wrong = "not-the-password-42"
    assert login(client, tenant.owner_email, wrong).status_code == 401
    failed = _one(db, "login_failed", tenant_id=tenant.id)
    assert failed.actor == "anonymous" and failed.details == {"email": tenant.owner_email}
    assert login(app.test_client(), "stranger@nowhere.example.com", wrong).status_code == 401
    assert _one(db, "login_failed", tenant_id=None).details == {"email": "stranger@nowhere.example.com"}

    assert login(client, tenant.owner_email, tenant.owner_password).status_code == 302
    signed_in = _one(db, "login")
    assert (signed_in.tenant_id, signed_in.actor, signed_in.staff) == (tenant.id, tenant.owner_email, False)
    assert signed_in.ip == "127.0.0.1"

    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    signed_out = _one(db, "logout")
    assert (signed_out.tenant_id, signed_out.actor) == (tenant.id, tenant.owner_email)
    text = _all_text(db)
    assert wrong not in text and tenant.owner_password not in text


def test_lead_exports_are_recorded_with_their_filters(app, member_client, db, tenant):
    assert member_client.get("/leads.csv?status=won").status_code == 200
    entry = _one(db, "export", tenant_id=tenant.id)
    assert (entry.actor, entry.target, entry.details) == (tenant.owner_email, "leads.csv", {"status": "won"})
    result = app.test_cli_runner().invoke(args=["leads", "export", "--tenant", str(tenant.id)])
    assert result.exit_code == 0, result.output
    assert [(e.actor, e.target) for e in _entries(db, "export")][-1] == ("cli", "leads.json")


def test_a_password_reset_is_recorded_without_the_password(client, db, tenant):
    from webapp.auth.tokens import RESET, make_token
    from webapp.models import User

    user = db.session.scalar(select(User).where(User.email == tenant.owner_email))
    path = f"/reset/{make_token(RESET, user)}"
    new_password = "brand-new-password-7"
    resp = client.post(path, data={"password": new_password, "confirm": new_password,
                                   "csrf_token": csrf_token(client, path)})
    assert resp.status_code == 302
    changed = _one(db, "password_changed")
    assert (changed.tenant_id, changed.actor, changed.details) == (tenant.id, tenant.owner_email,
                                                                   {"via": "reset link"})
    assert _one(db, "login").details == {"via": "reset link"}
    assert new_password not in _all_text(db)


def test_channel_connect_reconnect_and_remove_are_recorded_with_their_history(db, tenant):
    from webapp.models import ChannelChange
    from webapp.services.channels import connect_channel, remove_channel

    channel, again = connect_channel(tenant, "whatsapp", external_id="5550001", token="secret-token-1",
                                     name="Shop WA", actor="owner@example.com")
    assert again is False
    _channel, again = connect_channel(tenant, "whatsapp", external_id="5550001", token="secret-token-2",
                                      name="Shop WA", actor="owner@example.com")
    assert again is True
    remove_channel(channel, "owner@example.com")

    actions = [e.action for e in _entries(db, tenant_id=tenant.id)]
    assert actions == ["channel_connected", "channel_reconnected", "channel_removed"]
    removed = _one(db, "channel_removed")
    assert removed.actor == "owner@example.com" and removed.details["channel_id"] == channel.id
    assert removed.details["detail"] == "whatsapp:5550001"
    # beside the channel's own history, written in the same transactions
    assert db.session.query(ChannelChange).count() == 3
    assert "secret-token" not in _all_text(db)


def test_a_token_error_is_recorded_once_per_flagging(db, tenant):
    from connectors.pipeline.delivery import flag_reconnect
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "webchat")
    assert flag_reconnect(channel.id, tenant.id, "Shop chat", "token rejected") is True
    assert flag_reconnect(channel.id, tenant.id, "Shop chat", "token rejected") is False
    entry = _one(db, "token_error", tenant_id=tenant.id)
    assert entry.actor == "system" and entry.details == {"channel_id": channel.id, "reason": "token rejected"}


# --- staff actions in /admin ---------------------------------------------------------------------------------

def _tenant_form(tenant: Any, plan_id: int, **changes: str) -> dict[str, str]:
    """The edit form as stored, but for `changes` (JSON fields posted back unchanged are no change)."""
    return {"name": tenant.name, "slug": tenant.slug, "plan": str(plan_id), "language": "en",
            "timezone": "UTC", "status": "active", "profile": json.dumps(tenant.profile),
            "settings": json.dumps(tenant.settings), **changes}


def test_staff_tenant_changes_are_recorded(client, db, staff_user, tenant):
    from webapp.models import Plan, Tenant

    _staff(client, staff_user)
    plans = {p.code: p.id for p in db.session.query(Plan)}
    edit = f"/admin/tenant/edit/?id={tenant.id}"
    _post_form(client, edit, _tenant_form(tenant, plans["START"]))
    changed = _one(db, "plan_changed")
    assert (changed.tenant_id, changed.actor, changed.staff) == (tenant.id, staff_user.email, True)
    assert changed.details == {"from": "PRO", "to": "START"}
    assert [e.details for e in _entries(db, "tenant_edited")] == []  # nothing else changed

    _post_form(client, edit, _tenant_form(tenant, plans["START"], status="suspended"))
    assert _one(db, "tenant_suspended").details == {"from": "active", "to": "suspended"}
    _post_form(client, edit, _tenant_form(tenant, plans["START"], name="Acme Renamed"))
    assert _one(db, "tenant_edited").details == {"fields": ["name"]}
    assert _one(db, "tenant_reactivated").details == {"from": "suspended", "to": "active"}

    _post_form(client, "/admin/tenant/new/", {"name": "Brand New", "slug": "brand-new", "plan": str(plans["PRO"]),
                                              "language": "en", "timezone": "UTC", "status": "active",
                                              "profile": "{}", "settings": "{}"})
    new_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == "brand-new"))
    created = _one(db, "tenant_created")
    assert created.tenant_id == new_id and created.details == {"plan": "PRO", "slug": "brand-new"}

    _post_form(client, "/admin/tenant/delete/", {"id": str(new_id), "url": "/admin/tenant/"})
    assert db.session.get(Tenant, new_id) is None
    deleted = _one(db, "tenant_deleted")
    assert deleted.tenant_id is None and deleted.details == {"tenant_id": new_id, "slug": "brand-new"}


def test_staff_user_changes_are_recorded_without_passwords(client, db, staff_user, tenant):
    from webapp.models import User

    _staff(client, staff_user)
    first, second = "first-password-9", "second-password-9"
    _post_form(client, "/admin/user/new/", {"email": "new@acme.example.com", "tenant": str(tenant.id),
                                            "role": "member", "active": "y", "language": "",
                                            "new_password": first})
    user = db.session.scalar(select(User).where(User.email == "new@acme.example.com"))
    created = _one(db, "user_created")
    assert (created.tenant_id, created.staff, created.target) == (tenant.id, True, "new@acme.example.com")

    _post_form(client, f"/admin/user/edit/?id={user.id}", {
        "email": "new@acme.example.com", "tenant": str(tenant.id), "role": "owner", "active": "y",
        "language": "", "new_password": second})
    edited = _one(db, "user_edited")
    assert edited.tenant_id == tenant.id
    assert edited.details == {"fields": ["password", "role"], "role": {"from": "member", "to": "owner"}}

    _post_form(client, "/admin/user/delete/", {"id": str(user.id), "url": "/admin/user/"})
    assert _one(db, "user_deleted").tenant_id == tenant.id
    text = _all_text(db)
    assert first not in text and second not in text and "pbkdf2" not in text and "scrypt" not in text


def test_staff_channel_edit_is_recorded_without_credentials(client, db, staff_user, tenant):
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "whatsapp", external_id="999", token="old-token-value")
    _staff(client, staff_user)
    _post_form(client, f"/admin/channel/edit/?id={channel.id}", {
        "tenant": str(tenant.id), "type": "whatsapp", "name": "WA renamed", "external_id": "999",
        "status": "active", "settings": "{}", "new_token": "new-token-value", "new_secret": ""})
    edited = _one(db, "channel_edited")
    assert (edited.tenant_id, edited.staff, edited.actor) == (tenant.id, True, staff_user.email)
    assert edited.details == {"channel_id": channel.id, "fields": ["name", "token"]}
    reconnected = _one(db, "channel_reconnected")
    assert reconnected.staff and reconnected.actor == staff_user.email
    assert "token-value" not in _all_text(db)


# --- who sees what -----------------------------------------------------------------------------------------

def test_owner_sees_only_their_own_tenants_entries(app, client, db, make_tenant, staff_user):
    from webapp.services.audit import record

    mine, theirs = make_tenant("Mine"), make_tenant("Theirs")
    record("plan_changed", tenant_id=mine.id, actor=staff_user.email, staff=True, details={"from": "A", "to": "B"})
    record("token_error", tenant_id=theirs.id, actor="system", target="their-secret-channel")
    db.session.commit()
    assert login(app.test_client(), theirs.owner_email, "wrong-password-x").status_code == 401

    assert login(client, mine.owner_email, mine.owner_password).status_code == 302
    page = client.get("/settings/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Plan changed" in html and "TemoWeb staff" in html
    assert staff_user.email not in html  # staff are named as staff, not by address
    assert mine.owner_email in html  # this sign-in
    assert "their-secret-channel" not in html and theirs.owner_email not in html
    shown = {int(i) for i in re.findall(r'data-testid="audit-(\d+)"', html)}
    assert shown == {e.id for e in _entries(db, tenant_id=mine.id)}


def test_the_owners_log_pages_by_keyset(client, db, tenant):
    from webapp.services import audit

    for n in range(audit.PAGE_SIZE + 7):
        audit.record("token_error", tenant_id=tenant.id, actor="system", target=f"channel-{n}")
    db.session.commit()
    assert login(client, tenant.owner_email, tenant.owner_password).status_code == 302
    expected = [e.id for e in reversed(_entries(db, tenant_id=tenant.id))]

    first = client.get("/settings/audit").get_data(as_text=True)
    first_ids = [int(i) for i in re.findall(r'data-testid="audit-(\d+)"', first)]
    older = re.search(r'data-testid="audit-older" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    second_ids = [int(i) for i in re.findall(r'data-testid="audit-(\d+)"', second)]
    assert first_ids + second_ids == expected and len(first_ids) == audit.PAGE_SIZE
    assert 'data-testid="audit-older"' not in second and "Back to the newest" in second

    for bad in ("garbage", "!!!", "x" * 100, "MTIzLjk5OTk5OTk5OTk5OQ"):
        resp = client.get("/settings/audit", query_string={"after": bad})
        assert resp.status_code == 400, bad
        assert "not valid any more" in resp.get_data(as_text=True)


def test_staff_see_every_tenants_entries_in_admin(client, db, make_tenant, staff_user):
    from webapp.services.audit import record

    one, two = make_tenant("One"), make_tenant("Two")
    record("token_error", tenant_id=one.id, actor="system", target="target-of-one")
    record("token_error", tenant_id=two.id, actor="system", target="target-of-two")
    db.session.commit()
    _staff(client, staff_user)
    page = client.get("/admin/auditentry/").get_data(as_text=True)
    assert "target-of-one" in page and "target-of-two" in page
    assert page.index("target-of-two") < page.index("target-of-one")  # newest first
    filtered = client.get("/admin/auditentry/", query_string={"flt0_0": str(two.id)}).get_data(as_text=True)
    assert "target-of-two" in filtered and "target-of-one" not in filtered
    for bad in ("abc", "99999999999", "-"):
        assert client.get("/admin/auditentry/", query_string={"flt0_0": bad}).status_code == 200, bad
    by_action = client.get("/admin/auditentry/", query_string={"flt1_1": "login"}).get_data(as_text=True)
    assert "target-of-one" not in by_action
    assert client.get("/admin/auditentry/new/").status_code in (302, 403, 404)  # read-only
    assert client.get("/admin/").status_code == 200


# --- lists that stay fast ----------------------------------------------------------------------------------

@contextmanager
def _statements(engine: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize("path", ["/admin/tenant/", "/admin/user/", "/admin/channel/", "/admin/plan/",
                                  "/admin/inboundevent/", "/admin/lead/", "/admin/auditentry/",
                                  "/admin/flowtemplate/", "/admin/promptlayer/"])
def test_admin_lists_run_no_count_and_go_newest_first(client, db, staff_user, tenant, path):
    _staff(client, staff_user)
    with _statements(db.engine) as seen:
        assert client.get(path).status_code == 200
    assert seen and not [s for s in seen if re.search(r"\bcount\s*\(", s, re.IGNORECASE)], seen
    table = {"/admin/tenant/": "tenants", "/admin/user/": "users", "/admin/channel/": "channels",
             "/admin/plan/": "plans", "/admin/inboundevent/": "inbound_events", "/admin/lead/": "leads",
             "/admin/auditentry/": "audit_entries", "/admin/flowtemplate/": "flow_templates",
             "/admin/promptlayer/": "prompt_layers"}[path]
    lists = [s for s in seen if re.search(rf"FROM {table}\b", s) and "ORDER BY" in s]
    assert lists and re.search(rf"ORDER BY {table}\.id DESC", lists[0]), lists


def test_the_staff_panel_counts_cheaply(client, db, staff_user, tenant, monkeypatch):
    from webapp.admin import stats

    _staff(client, staff_user)
    page = client.get("/admin/").get_data(as_text=True)
    assert re.search(r'data-stat="tenants"[^>]*>1<', page)
    if db.engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    from webapp.models import Lead

    db.session.add_all(Lead(tenant_id=tenant.id, fields={}) for _ in range(3))
    db.session.commit()
    db.session.execute(text("ANALYZE leads"))
    db.session.commit()
    monkeypatch.setattr(stats, "EXACT_BELOW", 1)  # every analysed table counts as large
    page = client.get("/admin/").get_data(as_text=True)
    assert re.search(r'data-stat="leads"[^>]*>about 3<', page), page
