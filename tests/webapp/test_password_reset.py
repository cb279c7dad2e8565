"""Password reset through the real pages and a real (loopback) SMTP server: the same answer and the same
work for every address, a link that works once and expires, and a new password that ends every other session.

The mail is sent by a queued job, not by the request: tests run the queue (`_mails`) before reading it."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from tests.helpers.web import csrf_token, login

NEW_PASSWORD = "brand-new-password-7"


def _ask(client: Any, email: str) -> Any:
    return client.post("/reset", data={"email": email, "csrf_token": csrf_token(client, "/reset")})


def _choose(client: Any, path: str, password: str = NEW_PASSWORD, form_page: str | None = None) -> Any:
    """Posts the new-password form; `form_page` gives the CSRF token when the link's own page is refused."""
    return client.post(path, data={"password": password, "confirm": password,
                                   "csrf_token": csrf_token(client, form_page or path)})


def _mails(queue: Any, smtp_server: Any, jobs: int = 1) -> list[Any]:
    """Runs the queued mail jobs (the test queue never runs them by itself) and answers what arrived."""
    assert queue.drain() == jobs
    return smtp_server.wait_for(1)


def _user(db: Any, email: str) -> Any:
    from webapp.models import User

    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def _page_text(resp: Any) -> str:
    """The page without its CSRF token, which differs per session."""
    import re

    return re.sub(r'value="[^"]*"', "", resp.get_data(as_text=True))


def test_known_and_unknown_addresses_get_the_same_page(app, client, db, queue, tenant, smtp_server):
    assert "/reset" in client.get("/login").get_data(as_text=True)
    unknown = _ask(app.test_client(), "nobody@nowhere.example.com")
    known = _ask(app.test_client(), tenant.owner_email)
    assert unknown.status_code == known.status_code == 200
    assert _page_text(unknown) == _page_text(known)
    assert "If an account exists" in known.get_data(as_text=True)
    # the same work in both requests: neither sent mail, each queued one job (which looks the address up)
    assert smtp_server.messages == []
    [mail] = _mails(queue, smtp_server, jobs=2)
    assert mail["To"] == tenant.owner_email
    assert len(smtp_server.messages) == 1  # nothing went to the unknown address


def test_reset_works_once_and_signs_in(app, client, db, queue, tenant, smtp_server):
    _ask(client, tenant.owner_email)
    path = smtp_server.link(_mails(queue, smtp_server)[0], "/reset/")
    assert client.get(path).status_code == 200
    resp = _choose(client, path)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/").status_code == 200  # signed in

    user = _user(db, tenant.owner_email)
    assert user.check_password(NEW_PASSWORD) and not user.check_password(tenant.owner_password)
    assert login(app.test_client(), tenant.owner_email, NEW_PASSWORD).status_code == 302

    again = app.test_client().get(path)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert _choose(app.test_client(), path, "yet-another-password", form_page="/reset").status_code == 410
    assert _user(db, tenant.owner_email).check_password(NEW_PASSWORD)


def test_an_expired_link_is_refused(app, client, db, tenant):
    from webapp.auth.tokens import RESET, make_token

    user = _user(db, tenant.owner_email)
    minutes = app.config["RESET_LINK_MINUTES"]
    old = make_token(RESET, user, issued_at=time.time() - minutes * 60 - 5)
    resp = client.get(f"/reset/{old}")
    assert resp.status_code == 410 and "expired" in resp.get_data(as_text=True)
    assert _choose(client, f"/reset/{old}", form_page="/reset").status_code == 410
    assert _user(db, tenant.owner_email).check_password(tenant.owner_password)


def test_a_confirmation_token_is_not_a_reset_token(app, client, db, tenant):
    from webapp.auth.tokens import CONFIRM, make_token

    user = _user(db, tenant.owner_email)
    assert client.get(f"/reset/{make_token(CONFIRM, user)}").status_code == 400
    assert client.get("/reset/garbage").status_code == 400


def test_a_new_password_ends_the_other_sessions(app, db, queue, tenant, smtp_server):
    elsewhere = app.test_client()
    assert login(elsewhere, tenant.owner_email, tenant.owner_password).status_code == 302
    assert elsewhere.get("/").status_code == 200

    resetting = app.test_client()
    _ask(resetting, tenant.owner_email)
    path = smtp_server.link(_mails(queue, smtp_server)[0], "/reset/")
    assert _choose(resetting, path).status_code == 302

    assert elsewhere.get("/").status_code == 302  # that session signs no one in any more
    assert resetting.get("/").status_code == 200  # the one that reset stays signed in


def test_requests_for_one_address_are_throttled_with_the_same_answer(app, client, db, queue, tenant,
                                                                    smtp_server):
    first, second = _ask(client, tenant.owner_email), _ask(client, tenant.owner_email)
    assert first.status_code == second.status_code == 200
    assert _page_text(first) == _page_text(second)
    _mails(queue, smtp_server)  # MAIL_RECIPIENT_LIMIT: one per minute, so the second was not queued
    assert len(smtp_server.messages) == 1


def test_a_deactivated_account_gets_no_mail(app, client, db, queue, tenant, smtp_server):
    user = _user(db, tenant.owner_email)
    user.active = False
    db.session.commit()
    assert _ask(client, tenant.owner_email).status_code == 200
    assert queue.drain() == 1 and smtp_server.messages == []


def test_without_smtp_the_page_says_no_mail_can_be_sent(app, client, db, queue, tenant):
    resp = _ask(client, tenant.owner_email)
    assert resp.status_code == 200 and "cannot send email yet" in resp.get_data(as_text=True)
    assert queue.drain() == 0


def test_reset_confirms_an_unconfirmed_address(app, client, db, queue, tenant, smtp_server):
    user = _user(db, tenant.owner_email)
    user.email_confirmed_at = None
    db.session.commit()
    _ask(client, tenant.owner_email)
    path = smtp_server.link(_mails(queue, smtp_server)[0], "/reset/")
    _choose(client, path)
    assert _user(db, tenant.owner_email).email_confirmed_at is not None


def test_mismatched_passwords_and_nul_are_form_errors(app, client, db, queue, tenant, smtp_server):
    _ask(client, tenant.owner_email)
    path = smtp_server.link(_mails(queue, smtp_server)[0], "/reset/")
    token = csrf_token(client, path)
    differ = client.post(path, data={"password": NEW_PASSWORD, "confirm": "other-password-9", "csrf_token": token})
    assert differ.status_code == 400 and "differ" in differ.get_data(as_text=True)
    nul = client.post(path, data={"password": NEW_PASSWORD + "\x00", "confirm": NEW_PASSWORD + "\x00",
                                  "csrf_token": token})
    assert nul.status_code == 400 and "cannot be stored" in nul.get_data(as_text=True)
    assert _ask(client, "a\x00b@example.com").status_code == 400
    assert _user(db, tenant.owner_email).check_password(tenant.owner_password)
