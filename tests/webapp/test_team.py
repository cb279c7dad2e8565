"""A tenant's team through the real pages: the owner invites by email (the mail on the loopback SMTP server,
sent by a queued job), the one-time link creates an operator's account and signs them in; expired, used and
revoked links and addresses that have an account are refused; operators get 403 on everything that is the
owner's (settings discovered from the URL map, so a new settings page is covered), work only conversations
that are theirs or unassigned, and see "Assigned to me"; removing a member ends their session on their next
request; the last owner stays; each team action is in the audit log; another tenant's ids are 404s."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers.web import csrf_token, login

PASSWORD = "operator-password-1"
OP = "olga@team.example.com"


def _mails(queue: Any, smtp_server: Any, jobs: int = 1) -> list[Any]:
    """Runs the queued mail jobs (the test queue never runs them by itself) and answers what arrived."""
    before = len(smtp_server.messages)
    assert queue.drain() == jobs
    return smtp_server.wait_for(before + jobs)


def _invite(client: Any, email: str = OP, role: str = "operator") -> Any:
    return client.post("/settings/team", data={"email": email, "role": role,
                                               "csrf_token": csrf_token(client, "/settings/team")})


def _audit(db: Any, tenant: Any) -> list[tuple[str, str, str]]:
    from webapp.models.team import AuditEntry

    db.session.expire_all()
    return [(e.action, e.actor, e.target) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.tenant_id == tenant.id).order_by(AuditEntry.id))]


def _user(db: Any, email: str) -> Any:
    from webapp.models import User

    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def _accept(client: Any, link: str, password: str = PASSWORD) -> Any:
    page = client.get(link)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(link, data={"password": password, "confirm": password, "csrf_token": token})


def _operator(make_tenant: Any, tenant: Any, email: str = OP) -> Any:
    """An operator of `tenant` made directly (the invitation path has its own tests)."""
    from webapp.services.tenants import create_user

    return create_user(email, PASSWORD, tenant.id, False, role="operator")


@pytest.fixture()
def operator_client(app: Flask, db: Any, tenant: Any, make_tenant: Any) -> Any:
    _operator(make_tenant, tenant)
    other = app.test_client()
    assert login(other, OP, PASSWORD).status_code == 302
    return other


# -- invitations ----------------------------------------------------------------------------------------

def test_invite_mail_accept_signs_in_as_operator(app, member_client, db, tenant, queue, smtp_server):
    resp = _invite(member_client)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    assert smtp_server.messages == []  # the request only queued the mail
    page = member_client.get("/settings/team").get_data(as_text=True)
    assert OP in page and "Pending invitations" in page

    [mail] = _mails(queue, smtp_server)
    assert mail["To"] == OP and "Acme Salon" in mail["Subject"]
    assert mail.get_body(preferencelist=("html",)) is not None
    link = smtp_server.link(mail, "/invite/")
    from webapp.models.team import Invitation
    from webapp.services.team import token_hash

    stored = db.session.scalar(select(Invitation))
    assert stored.token_hash == token_hash(link.rsplit("/", 1)[1])  # only the digest is stored

    newcomer = app.test_client()
    form = newcomer.get(link).get_data(as_text=True)
    assert OP in form and "Acme Salon" in form and "operator" in form
    done = _accept(newcomer, link)
    assert done.status_code == 302 and done.headers["Location"] == "/"
    user = _user(db, OP)
    assert user.role == "operator" and user.tenant_id == tenant.id and user.email_confirmed_at is not None
    home = newcomer.get("/")
    assert home.status_code == 200 and OP in home.get_data(as_text=True)
    nav = home.get_data(as_text=True).split("</nav>")[0]  # the navigation bar (the home page's own links aside)
    assert 'href="/settings/"' not in nav and 'href="/channels"' not in nav and 'href="/flows"' not in nav
    assert 'data-testid="nav-team"' not in nav and 'href="/inbox"' in nav and 'href="/leads"' in nav
    assert 'href="/contacts"' in nav
    owner_nav = member_client.get("/").get_data(as_text=True).split("</nav>")[0]
    assert 'data-testid="nav-team"' in owner_nav and 'href="/settings/"' in owner_nav and 'href="/flows"' in owner_nav
    # the new member signs in with the chosen password later too
    assert login(app.test_client(), OP, PASSWORD).status_code == 302
    team = [a for a, _actor, _t in _audit(db, tenant) if a.startswith(("member_", "role_", "invitation_"))]
    assert team == ["member_invited", "member_joined"]


def test_a_used_link_is_refused(app, member_client, db, tenant, queue, smtp_server):
    _invite(member_client)
    link = smtp_server.link(_mails(queue, smtp_server)[-1], "/invite/")
    assert _accept(app.test_client(), link).status_code == 302
    again = app.test_client().get(link)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)


def test_an_expired_link_is_refused(app, member_client, db, tenant, queue, smtp_server):
    from webapp.models.base import utcnow
    from webapp.models.team import Invitation

    _invite(member_client)
    link = smtp_server.link(_mails(queue, smtp_server)[-1], "/invite/")
    invitation = db.session.scalar(select(Invitation))
    hours = app.config["INVITE_LINK_HOURS"]
    assert abs((invitation.expires_at - invitation.created_at) - timedelta(hours=hours)) < timedelta(seconds=5)
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    resp = app.test_client().get(link)
    assert resp.status_code == 410 and "expired" in resp.get_data(as_text=True)
    assert _user(db, OP) is None
    # "send again" issues a fresh link for a full period; the old one stays dead
    from webapp.extensions import limiter

    limiter.reset()  # a minute later: one link mail per recipient and minute (MAIL_RECIPIENT_LIMIT)
    token = csrf_token(member_client, "/settings/team")
    assert member_client.post(f"/settings/team/invitations/{invitation.id}/resend",
                              data={"csrf_token": token}).status_code == 303
    fresh = smtp_server.link(_mails(queue, smtp_server)[-1], "/invite/")
    assert fresh != link and app.test_client().get(link).status_code == 400
    assert _accept(app.test_client(), fresh).status_code == 302


def test_a_revoked_link_is_refused(app, member_client, db, tenant, queue, smtp_server):
    from webapp.models.team import Invitation

    _invite(member_client)
    link = smtp_server.link(_mails(queue, smtp_server)[-1], "/invite/")
    invitation = db.session.scalar(select(Invitation))
    token = csrf_token(member_client, "/settings/team")
    resp = member_client.post(f"/settings/team/invitations/{invitation.id}/revoke", data={"csrf_token": token})
    assert resp.status_code == 303
    refused = app.test_client().get(link)
    assert refused.status_code == 410 and "withdrawn" in refused.get_data(as_text=True)
    assert "No pending invitations" in member_client.get("/settings/team").get_data(as_text=True)
    assert ("invitation_revoked", tenant.owner_email, OP) in _audit(db, tenant)


def test_a_mangled_link_is_a_400(app, client, db):
    assert client.get("/invite/not-a-token").status_code == 400
    assert client.post("/invite/" + "x" * 300).status_code == 400


def test_an_address_with_an_account_is_refused(app, member_client, db, tenant, make_tenant, queue, smtp_server):
    other = make_tenant("Other Shop")
    resp = _invite(member_client, other.owner_email)
    assert resp.status_code == 409 and "already has a TemoWeb Bots account" in resp.get_data(as_text=True)
    assert _invite(member_client, "not an email").status_code == 400
    assert _invite(member_client, OP, "staff").status_code == 400  # not a member role

    # an address that got an account after the invitation was sent: refused on the accept page
    _invite(member_client)
    link = smtp_server.link(_mails(queue, smtp_server)[-1], "/invite/")
    from webapp.services.tenants import create_user

    create_user(OP, "someone-elses-1", other.id, False)
    resp = _accept(app.test_client(), link)
    assert resp.status_code == 409 and "already has a TemoWeb Bots account" in resp.get_data(as_text=True)
    assert _user(db, OP).tenant_id == other.id


def test_without_mail_the_owner_gets_the_link(app, member_client, db, tenant, queue):
    resp = _invite(member_client)
    assert resp.status_code == 303 and queue.drain() == 0
    page = member_client.get("/settings/team").get_data(as_text=True)
    link = re.search(r"https?://[^\s<]+(/invite/[A-Za-z0-9_-]+)", page).group(1)
    assert _accept(app.test_client(), link).status_code == 302
    assert _user(db, OP).role == "operator"


# -- what an operator may open --------------------------------------------------------------------------

def _url(app: Flask, rule: Any) -> str:
    values = {name: 1 if isinstance(rule._converters[name].to_python("1"), int) else "x"
              for name in rule.arguments}
    return app.url_map.bind("localhost").build(rule.endpoint, values)


OWNER_BLUEPRINTS = ("settings.", "editor.", "api.", "connect.")
OWNER_DASHBOARD = ("dashboard.channels", "dashboard.channel_detail", "dashboard.flows", "dashboard.events",
                   "dashboard.retry_event", "dashboard.connect_telegram", "dashboard.new_webchat",
                   "dashboard.update_webchat_settings", "dashboard.set_channel_groups",
                   "dashboard.set_test_recipient", "dashboard.remove_channel_page",
                   "dashboard.check_channel_health", "dashboard.leads_csv", "dashboard.leads_json")


def test_an_operator_gets_403_on_everything_of_the_owner(app, operator_client, db, tenant):
    token = csrf_token(operator_client, "/")
    rules = [r for r in app.url_map.iter_rules()
             if r.endpoint.startswith(OWNER_BLUEPRINTS) or r.endpoint in OWNER_DASHBOARD]
    settings = {r.endpoint for r in rules if r.endpoint.startswith("settings.")}
    assert {"settings.team", "settings.team_role", "settings.team_remove", "settings.team_revoke",
            "settings.team_resend", "settings.profile"} <= settings
    checked = 0
    for rule in rules:
        url = _url(app, rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            resp = operator_client.open(url, method=method, data={"csrf_token": token},
                                        headers={"X-CSRFToken": token})
            assert resp.status_code == 403, (method, url, resp.status_code)
            if rule.endpoint.startswith("api."):
                assert "owner" in resp.get_json()["error"]
            elif method == "GET":
                assert "Only the owner" in resp.get_data(as_text=True)
            checked += 1
    assert checked > 40


def test_an_operator_works_inbox_conversations_leads(app, operator_client, db, tenant):
    from webapp.models import Lead
    from webapp.services.channels import add_channel

    web = add_channel(tenant, "webchat", name="Site chat")
    conv = _conversation(db, tenant, web, "Ann")
    lead = Lead(tenant_id=tenant.id, fields={"name": "Anna Berg"}, conversation_id=conv.id)
    db.session.add(lead)
    db.session.commit()
    for url in ("/", "/inbox", "/inbox.json", "/conversations", f"/conversations/{conv.id}", "/leads",
                f"/leads/{lead.id}", "/notifications", "/contacts"):
        resp = operator_client.get(url, follow_redirects=True)
        assert resp.status_code == 200, (url, resp.status_code)


def _conversation(db: Any, tenant: Any, channel: Any, who: str, owner: str | None = None) -> Any:
    from webapp.models import Contact, Conversation

    contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id=f"ext-{who}", name=who)
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id, state={},
                        bot_paused=owner is not None, human_owner=owner)
    db.session.add(conv)
    db.session.commit()
    return conv


def _reply(client: Any, conv: Any, text: str, token: str) -> Any:
    page = client.get(f"/conversations/{conv.id}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(f"/conversations/{conv.id}/reply",
                       data={"csrf_token": csrf, "reply_token": token, "text": text})


def _outbound(db: Any, conv: Any) -> list[str]:
    from webapp.models import Message

    db.session.expire_all()
    return [m.text for m in db.session.scalars(select(Message).where(
        Message.conversation_id == conv.id, Message.direction == "out"))]


def test_an_operator_works_only_unassigned_or_own_conversations(app, operator_client, member_client, db,
                                                                  tenant):
    from webapp.models import Conversation
    from webapp.services.channels import add_channel

    web = add_channel(tenant, "webchat")
    others = _conversation(db, tenant, web, "Ann", owner="someone@team.example.com")
    free = _conversation(db, tenant, web, "Ben")
    own = _conversation(db, tenant, web, "Cat", owner=OP)

    refused = _reply(operator_client, others, "Hello from Olga", "a" * 32)
    assert refused.status_code == 303
    page = operator_client.get(f"/conversations/{others.id}").get_data(as_text=True)
    assert "someone@team.example.com is working on this conversation" in page
    assert _outbound(db, others) == []
    csrf = csrf_token(operator_client, f"/conversations/{others.id}")
    for action in ("hand-back", "take-over", "close"):
        assert operator_client.post(f"/conversations/{others.id}/{action}",
                                    data={"csrf_token": csrf}).status_code == 303
    assert operator_client.post(f"/conversations/{others.id}/bot",
                                data={"csrf_token": csrf, "paused": "0"}).status_code == 303
    db.session.expire_all()
    still = db.session.get(Conversation, others.id)
    assert still.human_owner == "someone@team.example.com" and still.bot_paused and still.status == "open"

    assert _reply(operator_client, free, "Hello Ben", "b" * 32).status_code == 303
    assert _outbound(db, free) == ["Hello Ben"]
    assert db.session.get(Conversation, free.id).human_owner == OP  # the reply took it over
    assert _reply(operator_client, own, "Hello Cat", "c" * 32).status_code == 303
    assert _outbound(db, own) == ["Hello Cat"]
    assert operator_client.post(f"/conversations/{own.id}/hand-back",
                                data={"csrf_token": csrf}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Conversation, own.id).human_owner is None

    # the owner may act in any conversation
    assert _reply(member_client, others, "Owner here", "d" * 32).status_code == 303
    assert _outbound(db, others) == ["Owner here"]


def test_assigned_to_me_shows_only_own_conversations(app, operator_client, db, tenant):
    from webapp.services.channels import add_channel

    web = add_channel(tenant, "webchat")
    _conversation(db, tenant, web, "Ann", owner="someone@team.example.com")
    _conversation(db, tenant, web, "Ben")
    own = _conversation(db, tenant, web, "Cat", owner=OP)
    rows = operator_client.get("/inbox.json?filter=mine").get_json()["rows"]
    assert [r["id"] for r in rows] == [own.id]
    page = operator_client.get("/inbox?filter=mine").get_data(as_text=True)
    assert "Assigned to me" in page and "Cat" in page and "Ann" not in page and "Ben" not in page


# -- changing the team ----------------------------------------------------------------------------------

def _member_id(db: Any, email: str) -> int:
    return int(_user(db, email).id)


def test_removing_a_member_ends_their_session_at_once(app, operator_client, member_client, db, tenant):
    from webapp.models import Conversation
    from webapp.services.channels import add_channel

    web = add_channel(tenant, "webchat")
    held = _conversation(db, tenant, web, "Ann", owner=OP)
    assert operator_client.get("/inbox").status_code == 200
    token = csrf_token(member_client, "/settings/team")
    resp = member_client.post(f"/settings/team/members/{_member_id(db, OP)}/remove", data={"csrf_token": token})
    assert resp.status_code == 303
    after = operator_client.get("/inbox")  # the same cookie as before
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    assert login(app.test_client(), OP, PASSWORD).status_code == 401
    db.session.expire_all()
    conv = db.session.get(Conversation, held.id)
    assert conv.human_owner is None and conv.bot_paused  # waits for another member
    assert OP not in member_client.get("/settings/team").get_data(as_text=True).split("Pending invitations")[0]
    assert ("member_removed", tenant.owner_email, OP) in _audit(db, tenant)


def test_a_removed_member_can_be_invited_again(app, operator_client, member_client, db, tenant, queue,
                                                smtp_server):
    token = csrf_token(member_client, "/settings/team")
    member_client.post(f"/settings/team/members/{_member_id(db, OP)}/remove", data={"csrf_token": token})
    assert _invite(member_client, OP, "owner").status_code == 303
    link = smtp_server.link(_mails(queue, smtp_server)[-1], "/invite/")
    assert _accept(app.test_client(), link, "a-new-password-2").status_code == 302
    user = _user(db, OP)
    assert user.active and user.role == "owner"
    assert login(app.test_client(), OP, "a-new-password-2").status_code == 302


def test_roles_change_and_the_last_owner_stays(app, operator_client, member_client, db, tenant):
    owner_id, op_id = _member_id(db, tenant.owner_email), _member_id(db, OP)
    token = csrf_token(member_client, "/settings/team")

    def post(path: str, **data: str) -> Any:
        return member_client.post(path, data={"csrf_token": token, **data})

    assert post(f"/settings/team/members/{owner_id}/remove").status_code == 303
    assert "the only owner and cannot be removed" in member_client.get("/settings/team").get_data(as_text=True)
    assert post(f"/settings/team/members/{owner_id}/role", role="operator").status_code == 303
    assert "the only owner: make another member an owner first" in member_client.get(
        "/settings/team").get_data(as_text=True)
    assert _user(db, tenant.owner_email).role == "owner" and _user(db, tenant.owner_email).active

    assert post(f"/settings/team/members/{op_id}/role", role="owner").status_code == 303
    assert _user(db, OP).role == "owner"
    assert operator_client.get("/settings/team").status_code == 200  # the new role applies at once
    assert post(f"/settings/team/members/{op_id}/role", role="nonsense").status_code == 303
    assert _user(db, OP).role == "owner"
    # with two owners, the first may step down
    assert post(f"/settings/team/members/{owner_id}/role", role="operator").status_code == 303
    assert _user(db, tenant.owner_email).role == "operator"
    assert member_client.get("/settings/team").status_code == 403
    entries = _audit(db, tenant)
    assert ("role_changed", tenant.owner_email, OP) in entries
    assert ("role_changed", tenant.owner_email, tenant.owner_email) in entries


def test_audit_entries_for_each_team_action(app, member_client, db, tenant, queue, smtp_server):
    from webapp.models.team import AuditEntry, Invitation

    _invite(member_client)
    link = smtp_server.link(_mails(queue, smtp_server)[-1], "/invite/")
    _accept(app.test_client(), link)
    _invite(member_client, "later@team.example.com")
    _mails(queue, smtp_server)
    later = db.session.scalar(select(Invitation).where(Invitation.email == "later@team.example.com"))
    token = csrf_token(member_client, "/settings/team")
    member_client.post(f"/settings/team/invitations/{later.id}/revoke", data={"csrf_token": token})
    op_id = _member_id(db, OP)
    member_client.post(f"/settings/team/members/{op_id}/role", data={"csrf_token": token, "role": "owner"})
    member_client.post(f"/settings/team/members/{op_id}/remove", data={"csrf_token": token})
    owner = tenant.owner_email
    assert [e for e in _audit(db, tenant) if e[0].startswith(("member_", "role_", "invitation_"))] == [
        ("member_invited", owner, OP), ("member_joined", OP, OP), ("member_invited", owner, "later@team.example.com"),
        ("invitation_revoked", owner, "later@team.example.com"), ("role_changed", owner, OP),
        ("member_removed", owner, OP)]
    changed = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "role_changed"))
    assert changed.details["from"] == "operator" and changed.details["to"] == "owner"


def test_another_tenants_members_and_invitations_are_404(app, member_client, db, tenant, make_tenant):
    from webapp.models.base import utcnow
    from webapp.models.team import Invitation
    from webapp.services.tenants import create_user

    other = make_tenant("Other Shop")
    theirs = create_user("op@other.example.com", PASSWORD, other.id, False, role="operator")
    invitation = Invitation(tenant_id=other.id, email="x@other.example.com", role="operator", token_hash="0" * 64,
                            expires_at=utcnow() + timedelta(hours=1))
    db.session.add(invitation)
    db.session.commit()
    token = csrf_token(member_client, "/settings/team")
    for path, data in ((f"/settings/team/members/{theirs.id}/role", {"role": "owner"}),
                       (f"/settings/team/members/{theirs.id}/remove", {}),
                       (f"/settings/team/invitations/{invitation.id}/revoke", {}),
                       (f"/settings/team/invitations/{invitation.id}/resend", {})):
        assert member_client.post(path, data={"csrf_token": token, **data}).status_code == 404, path
    other_owner = _user(db, other.owner_email)
    assert member_client.post(f"/settings/team/members/{other_owner.id}/remove",
                              data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).revoked_at is None
    assert _user(db, "op@other.example.com").role == "operator" and _user(db, "op@other.example.com").active
    page = member_client.get("/settings/team").get_data(as_text=True)
    assert "op@other.example.com" not in page and "x@other.example.com" not in page
