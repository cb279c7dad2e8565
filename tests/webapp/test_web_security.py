"""Web security basics (issue 14, defect 12): sessions that end on sign-out, security headers, sign-in
throttling per (account, address) pair and per address, the client address behind trusted proxies, and
sign-in and web chat with Redis down."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from limits import parse_many
from sqlalchemy import select

from tests.helpers.web import csrf_token, make_config
from webapp import create_app
from webapp.extensions import limiter
from webapp.models import InboundEvent, User

ATTACKER = "198.51.100.7"
OWNER_HOME = "203.0.113.5"
DEAD_REDIS = "redis://127.0.0.1:1/0"
TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "templates"


def attempt(client: FlaskClient, email: str, password: str, address: str = "127.0.0.1",
            remember: bool = False, headers: dict[str, str] | None = None) -> Any:
    """One sign-in through the real form from `address` (the socket's peer)."""
    env = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=env, headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"email": email, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data, environ_base=env, headers=headers)


def let_the_wait_pass(email: str, address: str) -> None:
    """What the pair's wait expiring does (tests never sleep)."""
    from webapp.auth.throttle import _pair

    limiter.storage.clear(f"{_pair(email, address)}:wait")


def other_app(db: Any, **settings: Any) -> Flask:
    return create_app(make_config(db.engine.url.render_as_string(hide_password=False), **settings))


@pytest.fixture()
def restore_limiter(app: Flask) -> Iterator[None]:
    """Flask-Limiter's `limiter` is one per process and takes the storage of the last app it was bound to:
    a test that builds another app binds it back to the session app's (fresh) storage afterwards."""
    yield
    limiter.init_app(app)
    limiter._storage_dead = False


# -- 1. sessions end on sign-out ---------------------------------------------------------------------------

def test_a_session_cookie_replayed_after_sign_out_signs_no_one_in(app, client, tenant):
    assert attempt(client, tenant.owner_email, tenant.owner_password).status_code == 302
    copied = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/").status_code == 200  # the copy works while the owner is signed in

    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
    page = thief.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    api = thief.get("/api/flows")
    assert api.status_code == 401 and api.get_json()["error"]


def test_keep_me_signed_in_is_a_lasting_session_that_sign_out_ends(app, client, tenant):
    resp = attempt(client, tenant.owner_email, tenant.owner_password, remember=True)
    cookies = resp.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "Expires=" in session_cookie  # survives closing the browser
    assert not [c for c in cookies if re.match(r"remember_token=[^;]", c)]  # no second, unversioned cookie
    kept = {name: cookie.value for name in ("session", "remember_token")
            if (cookie := client.get_cookie(name)) is not None}
    assert client.get("/").status_code == 200

    client.post("/logout", data={"csrf_token": csrf_token(client)})
    thief = app.test_client()
    for name, value in kept.items():
        thief.set_cookie(name, value)
    assert thief.get("/").status_code == 302


def test_a_new_password_or_deactivation_ends_the_users_sessions(app, client, db, staff_user, tenant):
    assert attempt(client, tenant.owner_email, tenant.owner_password).status_code == 302
    owner = db.session.scalar(select(User).where(User.email == tenant.owner_email))
    staff = app.test_client()
    assert attempt(staff, staff_user.email, staff_user.raw_password).status_code == 302

    def edit(**changes: str) -> None:
        form = {"csrf_token": csrf_token(staff, f"/admin/user/edit/?id={owner.id}"), "email": owner.email,
                "tenant": str(tenant.id), "role": "owner", "active": "y", "language": "", "new_password": ""}
        resp = staff.post(f"/admin/user/edit/?id={owner.id}", data={**form, **changes})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]

    edit(language="ru")  # an edit that leaves the password alone keeps the owner signed in
    assert client.get("/").status_code == 200
    edit(new_password="a-brand-new-password")
    assert client.get("/").status_code == 302
    assert attempt(client, tenant.owner_email, "a-brand-new-password").status_code == 302

    owner = db.session.get(User, owner.id)
    db.session.refresh(owner)
    owner.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


# -- 2. security headers -----------------------------------------------------------------------------------

def csp_of(resp: Any) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))


def assert_security_headers(resp: Any, inline_scripts: bool = False) -> None:
    csp = csp_of(resp)
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and resp.headers["X-Frame-Options"] == "DENY"
    assert ("'unsafe-inline'" in csp["script-src"]) is inline_scripts
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in resp.headers  # not production


def test_security_headers_on_the_login_page_the_back_office_and_the_staff_panel(app, client, tenant, staff_user):
    assert_security_headers(client.get("/login"))
    assert_security_headers(attempt(client, tenant.owner_email, "wrong-password"))
    attempt(client, tenant.owner_email, tenant.owner_password)
    for path in ("/", "/flows", "/settings/"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert_security_headers(page)
    assert client.get("/api/flows").headers["X-Content-Type-Options"] == "nosniff"

    staff = app.test_client()
    attempt(staff, staff_user.email, staff_user.raw_password)
    admin = staff.get("/admin/user/")
    assert admin.status_code == 200
    assert_security_headers(admin, inline_scripts=True)  # Flask-Admin's own onclick handlers


def test_hsts_is_sent_in_production_only(db, restore_limiter):
    from cryptography.fernet import Fernet

    production = other_app(db, ENV_NAME="production", TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode())
    assert production.test_client().get("/login").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_templates_need_no_inline_scripts():
    """The pages' policy runs scripts from files only: an inline handler or script would be refused by the
    browser (and is the injection the policy stops). Behaviour goes in webapp/static/app.js."""
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {m}" for m in re.findall(r"\son[a-z]+\s*=", text)]
        found += [f"{path.name}: {m}" for m in re.findall(r"<script\b[^>]*>", text) if "src=" not in m]
        found += [f"{path.name}: javascript: URL" for _ in re.findall(r"javascript:", text)]
    assert found == []


def test_web_chat_stays_usable_from_other_sites(client, make_tenant, db):
    from webapp.services.channels import add_channel

    key = add_channel(make_tenant("Widget Shop"), "webchat").public_key
    db.session.commit()
    site = {"Origin": "https://customer.example"}
    script = client.get("/webchat/widget.js", headers=site)
    assert script.status_code == 200 and script.mimetype == "text/javascript"  # right type under nosniff
    preflight = client.options(f"/webchat/{key}/messages",
                               headers={**site, "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "Content-Type"})
    assert preflight.status_code == 204
    posted = client.post(f"/webchat/{key}/messages", headers=site,
                         json={"visitor_id": "v1", "text": "hello", "client_message_id": "c1"})
    assert posted.status_code == 202
    polled = client.get(f"/webchat/{key}/messages?visitor_id=v1", headers=site)
    assert polled.status_code == 200 and "messages" in polled.get_json()
    for resp in (script, preflight, posted, polled):
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "Cross-Origin-Resource-Policy" not in resp.headers
        assert "Cross-Origin-Embedder-Policy" not in resp.headers


# -- 3. sign-in throttling ---------------------------------------------------------------------------------

def test_failed_sign_ins_of_one_pair_wait_longer_each_time(app, client, tenant):
    email, free = tenant.owner_email, app.config["LOGIN_FREE_FAILURES"]
    assert [attempt(client, email, "wrong", ATTACKER).status_code for _ in range(free)] == [401] * free
    waits = []
    for k in range(1, 6):
        refused = attempt(client, email, "wrong", ATTACKER)
        assert refused.status_code == 429
        wait = int(refused.headers["Retry-After"])
        assert 2 ** (k - 1) - 1 < wait <= 2 ** k
        assert f"Try again in {wait} s." in refused.get_data(as_text=True)
        waits.append(wait)
        let_the_wait_pass(email, ATTACKER)
        assert attempt(client, email, "wrong", ATTACKER).status_code == 401  # one try, then a longer wait
    assert waits == sorted(set(waits))


def test_the_wait_is_capped_and_a_success_clears_the_pair(app, client, tenant):
    from webapp.auth.throttle import throttle

    guard = throttle()
    assert guard.delay_after(10_000) == app.config["LOGIN_MAX_DELAY"]
    email, free = tenant.owner_email, app.config["LOGIN_FREE_FAILURES"]
    for _ in range(free):
        attempt(client, email, "wrong", OWNER_HOME)
    let_the_wait_pass(email, OWNER_HOME)
    assert attempt(client, email, tenant.owner_password, OWNER_HOME).status_code == 302
    fresh = app.test_client()
    assert [attempt(fresh, email, "wrong", OWNER_HOME).status_code for _ in range(free)] == [401] * free


def test_parallel_guesses_of_a_waiting_pair_get_one_try(app, db):
    from webapp.auth.throttle import throttle

    guard, email = throttle(), "someone@example.com"
    for _ in range(app.config["LOGIN_FREE_FAILURES"]):
        guard.failed(email, ATTACKER)
    assert guard.wait(email, ATTACKER) > 0
    let_the_wait_pass(email, ATTACKER)
    assert guard.wait(email, ATTACKER) == 0  # this request may try...
    assert guard.wait(email, ATTACKER) > 0   # ...one sent at the same moment may not


def test_a_stranger_cannot_lock_the_owner_out(app, tenant):
    attacker, owner = app.test_client(), app.test_client()
    free = app.config["LOGIN_FREE_FAILURES"]
    codes = [attempt(attacker, tenant.owner_email, f"guess-{i}", ATTACKER).status_code for i in range(12)]
    assert codes == [401] * free + [429] * (12 - free)
    assert attempt(owner, tenant.owner_email, tenant.owner_password, OWNER_HOME).status_code == 302
    assert owner.get("/", environ_base={"REMOTE_ADDR": OWNER_HOME}).status_code == 200


def test_one_address_cannot_spray_many_accounts(app, client):
    cap = min(limit.amount for limit in parse_many(app.config["LOGIN_ADDRESS_LIMIT"]))
    codes = [attempt(client, f"user{i}@spray.example", "Winter2024!", ATTACKER).status_code
             for i in range(cap + 2)]
    assert codes == [401] * cap + [429, 429]
    elsewhere = app.test_client()
    assert attempt(elsewhere, "user0@spray.example", "Winter2024!", OWNER_HOME).status_code == 401


def test_successful_sign_ins_from_one_address_are_not_capped(app, tenant):
    """An office behind one NAT: only failed sign-ins count against an address."""
    cap = min(limit.amount for limit in parse_many(app.config["LOGIN_ADDRESS_LIMIT"]))
    codes = {attempt(app.test_client(), tenant.owner_email, tenant.owner_password, OWNER_HOME).status_code
             for _ in range(cap + 1)}
    assert codes == {302}


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app, client, tenant):
    free = app.config["LOGIN_FREE_FAILURES"]
    codes = [attempt(client, tenant.owner_email, "wrong", ATTACKER,
                     headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code for i in range(free + 1)]
    assert codes[-1] == 429


def test_ipv6_clients_are_counted_by_their_64_prefix(app):
    from webapp.security import client_address

    for peer, counted in (("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"), ("2001:db8:1:2:bbbb::9",
                          "2001:db8:1:2::/64"), ("::ffff:192.0.2.1", "192.0.2.1"), ("192.0.2.1", "192.0.2.1")):
        with app.test_request_context(environ_base={"REMOTE_ADDR": peer}):
            assert client_address() == counted


# -- 4. the client address behind proxies -----------------------------------------------------------------

@pytest.fixture()
def proxied(db: Any, restore_limiter: None) -> Flask:
    proxied = other_app(db, TRUSTED_PROXIES=1)

    @proxied.get("/_whoami")
    def whoami() -> dict[str, Any]:
        return {"address": request.remote_addr, "secure": request.is_secure}

    return proxied


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(proxied):
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    seen = proxied.test_client().get("/_whoami", environ_base=via_proxy, headers={
        "X-Forwarded-For": "6.6.6.6, 203.0.113.5", "X-Forwarded-Proto": "https"}).get_json()
    assert seen == {"address": "203.0.113.5", "secure": True}  # the proxy's entry, not the client's claim


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(proxied, tenant):
    proxy = "10.0.0.2"
    free = proxied.config["LOGIN_FREE_FAILURES"]
    attacker, owner = proxied.test_client(), proxied.test_client()
    codes = [attempt(attacker, tenant.owner_email, "wrong", proxy, headers={"X-Forwarded-For": ATTACKER})
             .status_code for _ in range(12)]
    assert codes[free:] == [429] * (12 - free)
    signed_in = attempt(owner, tenant.owner_email, tenant.owner_password, proxy,
                        headers={"X-Forwarded-For": OWNER_HOME})
    assert signed_in.status_code == 302


def test_trusted_proxies_is_a_setting(monkeypatch):
    from webapp.config import Config

    assert Config().TRUSTED_PROXIES == 0
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    assert Config().TRUSTED_PROXIES == 2
    monkeypatch.setenv("TRUSTED_PROXIES", "one")
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        Config()
    monkeypatch.delenv("TRUSTED_PROXIES")
    monkeypatch.setenv("LOGIN_ADDRESS_LIMIT", "lots")
    with pytest.raises(RuntimeError, match="LOGIN_ADDRESS_LIMIT"):
        Config()


# -- 5. Redis down -----------------------------------------------------------------------------------------

@pytest.fixture()
def redis_down(db: Any, restore_limiter: None) -> Flask:
    return other_app(db, REDIS_URL=DEAD_REDIS, RATELIMIT_STORAGE_URI=DEAD_REDIS)


def test_sign_in_works_and_is_still_throttled_with_redis_down(redis_down, tenant):
    client = redis_down.test_client()
    assert attempt(client, tenant.owner_email, "wrong", ATTACKER).status_code == 401
    assert attempt(client, tenant.owner_email, tenant.owner_password).status_code == 302
    assert client.get("/").status_code == 200
    free = redis_down.config["LOGIN_FREE_FAILURES"]
    codes = [attempt(redis_down.test_client(), tenant.owner_email, "wrong", ATTACKER).status_code
             for _ in range(free)]
    assert codes == [401] * (free - 1) + [429]  # counted in memory meanwhile


def test_web_chat_posts_are_stored_for_the_sweeper_with_redis_down(redis_down, make_tenant, db):
    from webapp.services.channels import add_channel

    channel = add_channel(make_tenant("Down Shop"), "webchat")
    db.session.commit()
    client = redis_down.test_client()
    limit = int(redis_down.config["WEBCHAT_RATE_LIMIT"].split()[0])
    codes = [client.post(f"/webchat/{channel.public_key}/messages", headers={"Origin": "https://shop.example"},
                         json={"visitor_id": "v1", "text": f"hello {i}", "client_message_id": f"c{i}"}).status_code
             for i in range(limit + 1)]
    assert codes == [202] * limit + [429]  # the limit holds, counted in memory
    db.session.expire_all()
    events = db.session.scalars(select(InboundEvent).where(InboundEvent.channel_id == channel.id)).all()
    assert len(events) == limit and {e.status for e in events} == {"received"}
