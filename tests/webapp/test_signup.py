"""Self-service sign-up through the real pages and a real (loopback) SMTP server: the account, the
confirmation mail, its one-time link, the notice until it is followed, and the switch that turns it off.

The mail is sent by a queued job, not by the request: tests run the queue (`_mails`) before reading it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers.web import csrf_token, login

PASSWORD = "a-long-password-1"


def _signup(client: Any, email: str = "ann@nails.example.com", business: str = "Ann's Nails",
            password: str = PASSWORD, language: str = "en") -> Any:
    token = csrf_token(client, "/signup")
    return client.post("/signup", data={"business": business, "email": email, "password": password,
                                        "language": language, "csrf_token": token})


def _mails(queue: Any, smtp_server: Any, jobs: int = 1) -> list[Any]:
    """Runs the queued mail jobs (the test queue never runs them by itself) and answers what arrived."""
    before = len(smtp_server.messages)
    assert queue.drain() == jobs
    return smtp_server.wait_for(before + jobs)


def _user(db: Any, email: str) -> Any:
    from webapp.models import User

    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


@pytest.fixture
def signup_off(app: Flask) -> Iterator[None]:
    app.config["SIGNUP_ENABLED"] = False
    try:
        yield
    finally:
        app.config["SIGNUP_ENABLED"] = True


def test_sign_up_mail_confirm_and_sign_in(app, client, db, queue, smtp_server):
    assert "/signup" in client.get("/login").get_data(as_text=True)
    resp = _signup(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/confirm"
    assert smtp_server.messages == []  # the request only queued the mail

    user = _user(db, "ann@nails.example.com")
    assert user.email_confirmed_at is None and user.role == "owner" and user.language == "en"
    assert user.tenant.name == "Ann's Nails" and user.tenant.plan.code == app.config["SIGNUP_PLAN"] == "START"

    # signed in straight away, with the notice and "send the link again" on back-office pages
    notice = client.get("/confirm").get_data(as_text=True)
    assert "ann@nails.example.com" in notice and "Send the link again" in notice
    home = client.get("/")
    assert home.status_code == 200 and "Please confirm your email address" in home.get_data(as_text=True)
    assert 'href="/confirm"' in home.get_data(as_text=True)  # the notice's link is a link, not escaped text
    assert client.get("/").get_data(as_text=True).count("Please confirm your email address") == 1

    [mail] = _mails(queue, smtp_server)
    assert mail["To"] == "ann@nails.example.com" and "Confirm" in mail["Subject"]
    assert mail.get_body(preferencelist=("html",)) is not None
    link = smtp_server.link(mail, "/confirm/")

    other = app.test_client()  # the mail is often opened in another browser: no session needed
    confirmed = other.get(link)
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/login"
    assert _user(db, "ann@nails.example.com").email_confirmed_at is not None
    assert login(other, "ann@nails.example.com", PASSWORD).status_code == 302
    page = other.get("/").get_data(as_text=True)
    assert "Please confirm your email address" not in page and "Ann&#39;s Nails" in page


def test_a_used_link_is_refused(app, client, db, queue, smtp_server):
    _signup(client)
    link = smtp_server.link(_mails(queue, smtp_server)[0], "/confirm/")
    assert client.get(link).status_code == 302
    again = client.get(link)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)


def test_an_expired_link_is_refused(app, client, db):
    from webapp.auth.tokens import CONFIRM, make_token

    _signup(client)
    user = _user(db, "ann@nails.example.com")
    hours = app.config["CONFIRM_LINK_HOURS"]
    old = make_token(CONFIRM, user, issued_at=time.time() - hours * 3600 - 60)
    fresh = make_token(CONFIRM, user, issued_at=time.time() - hours * 3600 + 60)
    resp = client.get(f"/confirm/{old}")
    assert resp.status_code == 410 and "expired" in resp.get_data(as_text=True)
    assert _user(db, "ann@nails.example.com").email_confirmed_at is None
    assert client.get(f"/confirm/{fresh}").status_code == 302  # a minute inside the limit still works
    assert _user(db, "ann@nails.example.com").email_confirmed_at is not None


def test_a_forged_or_reset_token_is_refused(app, client, db):
    from webapp.auth.tokens import RESET, make_token

    _signup(client)
    user = _user(db, "ann@nails.example.com")
    assert client.get("/confirm/not-a-token").status_code == 400
    assert client.get(f"/confirm/{make_token(RESET, user)}").status_code == 400  # another purpose's salt
    assert _user(db, "ann@nails.example.com").email_confirmed_at is None


def test_send_again_is_throttled(app, client, db, queue, smtp_server):
    _signup(client)
    _mails(queue, smtp_server)
    token = csrf_token(client, "/confirm")
    resp = client.post("/confirm/resend", data={"csrf_token": token}, follow_redirects=True)
    assert "could not send the link just now" in resp.get_data(as_text=True)  # 1 per minute per recipient
    assert queue.drain() == 0  # refused in the request: nothing was queued
    assert len(smtp_server.messages) == 1


def test_send_again_queues_a_new_link(app, client, db, queue, smtp_server):
    from webapp.extensions import limiter

    _signup(client)
    first = smtp_server.link(_mails(queue, smtp_server)[0], "/confirm/")
    limiter.reset()  # as if the recipient's minute had passed
    token = csrf_token(client, "/confirm")
    resp = client.post("/confirm/resend", data={"csrf_token": token}, follow_redirects=True)
    assert "We sent a new link to ann@nails.example.com" in resp.get_data(as_text=True)
    second = smtp_server.link(_mails(queue, smtp_server)[-1], "/confirm/")
    assert client.get(second).status_code == 302
    assert client.get(first).status_code == 410  # either link confirms the address, once


def test_a_queued_confirmation_is_not_sent_once_the_address_is_confirmed(app, client, db, queue, smtp_server):
    from webapp.models.base import utcnow

    _signup(client)
    user = _user(db, "ann@nails.example.com")
    user.email_confirmed_at = utcnow()  # e.g. a reset link confirmed it while the mail waited
    db.session.commit()
    assert queue.drain() == 1 and smtp_server.messages == []


def test_without_smtp_the_account_is_made_and_the_page_says_no_mail_was_sent(app, client, db, queue):
    assert not app.config["SMTP_HOST"]
    resp = _signup(client)
    assert resp.status_code == 302
    assert queue.drain() == 0  # no mail job queued for nothing
    page = client.get("/confirm").get_data(as_text=True)
    assert "cannot send email yet" in page
    assert _user(db, "ann@nails.example.com") is not None


def test_sign_up_off_is_a_404_and_the_login_page_has_no_link(app, client, db, signup_off):
    assert client.get("/signup").status_code == 404
    assert client.post("/signup", data={"email": "x@example.com"}).status_code in (400, 404)
    page = client.get("/login").get_data(as_text=True)
    assert "/signup" not in page and "/reset" in page


def test_duplicate_email_is_a_form_error(app, client, db, tenant):
    from webapp.models import Tenant

    before = db.session.scalar(select(Tenant.id).order_by(Tenant.id.desc()))
    resp = _signup(client, email=tenant.owner_email.upper())
    assert resp.status_code == 400
    assert "already exists" in resp.get_data(as_text=True)
    assert db.session.scalar(select(Tenant.id).order_by(Tenant.id.desc())) == before  # no tenant left over


def test_short_password_and_bad_email_are_form_errors(app, client, db):
    assert _signup(client, password="short").status_code == 400
    assert _signup(client, email="not-an-email").status_code == 400
    assert _user(db, "ann@nails.example.com") is None


@pytest.mark.parametrize("field", ["business", "email", "password", "language"])
def test_nul_characters_are_refused_like_every_form(app, client, db, field):
    data = {"business": "Nails", "email": "ann@nails.example.com", "password": PASSWORD, "language": "en",
            "csrf_token": csrf_token(client, "/signup")}
    data[field] = data[field] + "\x00"
    resp = client.post("/signup", data=data)
    assert resp.status_code == 400 and "cannot be stored" in resp.get_data(as_text=True)
    assert _user(db, "ann@nails.example.com") is None


def test_russian_sign_up_gets_a_russian_mail(app, client, db, queue, smtp_server):
    _signup(client, email="olga@salon.example.com", business="Салон", language="ru")
    [mail] = _mails(queue, smtp_server)
    assert "Подтвердите" in mail["Subject"]
    assert _user(db, "olga@salon.example.com").tenant.language == "ru"


def test_staff_created_users_count_as_confirmed(db, tenant, staff_user):
    assert _user(db, tenant.owner_email).email_confirmed_at is not None
    assert _user(db, staff_user.email).email_confirmed_at is not None
