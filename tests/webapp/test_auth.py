from __future__ import annotations

from tests.helpers.web import csrf_token, login


def test_login_page_renders_with_csrf(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.get_data(as_text=True)


def test_login_without_csrf_is_refused(client, tenant):
    resp = client.post("/login", data={"email": tenant.owner_email, "password": tenant.owner_password})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302  # still anonymous


def test_member_logs_in_and_sees_dashboard(client, tenant):
    resp = login(client, tenant.owner_email, tenant.owner_password)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert tenant.name in page


def test_wrong_password_is_rejected(client, tenant):
    resp = login(client, tenant.owner_email, "not-the-password")
    assert resp.status_code == 401
    assert "Wrong email or password" in resp.get_data(as_text=True)


def test_password_is_hashed(db, tenant):
    from sqlalchemy import select

    from webapp.models import User

    user = db.session.scalar(select(User).where(User.email == tenant.owner_email))
    assert tenant.owner_password not in user.password_hash
    assert user.check_password(tenant.owner_password)


def test_inactive_user_cannot_log_in(client, db, tenant):
    from sqlalchemy import select

    from webapp.models import User

    user = db.session.scalar(select(User).where(User.email == tenant.owner_email))
    user.active = False
    db.session.commit()
    assert login(client, tenant.owner_email, tenant.owner_password).status_code == 401


def test_login_is_throttled(client, tenant, app):
    free = app.config["LOGIN_FREE_FAILURES"]
    statuses = [login(client, tenant.owner_email, "wrong-password").status_code for _ in range(free + 1)]
    assert statuses[-1] == 429
    assert 429 not in statuses[:-1]


def test_open_redirect_is_ignored(client, tenant):
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post("/login?next=//evil.example/x", data={
        "email": tenant.owner_email, "password": tenant.owner_password, "csrf_token": token})
    assert resp.headers["Location"] == "/"


def test_session_cookie_flags(client, tenant):
    resp = login(client, tenant.owner_email, tenant.owner_password)
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_requests_without_a_session_cookie_get_none_and_a_logged_in_session_still_works(client, tenant):
    anonymous = client.get("/healthz")
    assert "Set-Cookie" not in anonymous.headers
    assert login(client, tenant.owner_email, tenant.owner_password).status_code == 302
    assert client.get("/").status_code == 200  # the signed cookie is read back


def test_production_cookies_are_secure(monkeypatch):
    from webapp.config import Config

    monkeypatch.setenv("APP_ENV", "production")
    for key, value in {"SECRET_KEY": "x" * 32, "DATABASE_URL": "postgresql://u@h/db",
                       "REDIS_URL": "redis://h:6379/0", "TOKEN_ENCRYPTION_KEY": "k"}.items():
        monkeypatch.setenv(key, value)
    cfg = Config()
    assert cfg.SESSION_COOKIE_SECURE and cfg.REMEMBER_COOKIE_SECURE


def test_production_refuses_to_start_without_encryption_key(monkeypatch):
    import pytest

    from webapp.config import Config

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("REDIS_URL", "redis://h:6379/0")
    monkeypatch.delenv("TOKEN_ENCRYPTION_KEY", raising=False)
    with pytest.raises(RuntimeError, match="TOKEN_ENCRYPTION_KEY"):
        Config()


def test_logout_requires_post_with_csrf(member_client):
    assert member_client.get("/logout").status_code == 405
    token = csrf_token(member_client)
    assert member_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert member_client.get("/").status_code == 302


def test_language_choice_switches_ui_to_russian(member_client):
    token = csrf_token(member_client)
    member_client.post("/language", data={"language": "ru", "csrf_token": token, "next": "/leads"})
    page = member_client.get("/leads").get_data(as_text=True)
    assert "Лиды" in page


def test_a_numeric_setting_that_is_not_a_number_stops_the_start_with_its_name(monkeypatch):
    import pytest

    from webapp.config import Config

    for name, value in (("WORKER_RUN_SLOTS", "two"), ("WORKER_RUN_SLOTS", "-1"), ("OUTBOUND_TIMEOUT", "inf"),
                        ("OUTBOUND_TIMEOUT", "0")):
        monkeypatch.setenv(name, value)
        with pytest.raises(RuntimeError, match=f"{name} must be a .*number of at least .*, not '{value}'"):
            Config()
        monkeypatch.delenv(name)
    monkeypatch.setenv("WORKER_RUN_SLOTS", "3")
    monkeypatch.setenv("OUTBOUND_TIMEOUT", "2.5")
    config = Config()
    assert config.WORKER_RUN_SLOTS == 3 and config.OUTBOUND_TIMEOUT == 2.5
