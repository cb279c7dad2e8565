"""WhatsApp Embedded Signup in a real browser: /connect/whatsapp loads the "Facebook SDK" from FACEBOOK_SDK_URL
(tests/fakes/facebook_sdk.js, served by a loopback server), the owner types a PIN and presses the button; the
fake SDK's dialog, framed from the fake "Facebook" origin, posts the WA_EMBEDDED_SIGNUP event and hands back a
code; the page posts them, and the server exchanges the code, subscribes the account and registers the number
at the Graph fake. The page ends on the new channel's page, without a single script, frame or request refused
by the Content-Security-Policy."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.fakes.graph_api import WA_PHONE_NUMBER_ID, WA_WABA_ID, FakeGraphAPI

SDK = Path(__file__).resolve().parents[1] / "fakes" / "facebook_sdk.js"
PIN = "135790"
WATCH = """window.__refused = [];
document.addEventListener('securitypolicyviolation',
  e => window.__refused.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"""


class FakeFacebook:
    """Serves ``/sdk.js`` (the fake SDK) and ``/dialog/embedded-signup`` (the sign-up's last page: it posts
    the WA_EMBEDDED_SIGNUP event, then the login result, to the window that framed it). ``event`` is FINISH
    or CANCEL; ``dialogs`` records each dialog's query (what the page passed to FB.login)."""

    def __init__(self) -> None:
        self.event = "FINISH"
        self.code = "browser-es-code"
        self.dialogs: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                if parts.path == "/sdk.js":
                    self._send(SDK.read_bytes(), "application/javascript")
                elif parts.path == "/dialog/embedded-signup":
                    fake.dialogs.append(dict(parse_qsl(parts.query)))
                    self._send(fake.dialog_page().encode(), "text/html")
                else:
                    self._send(b"not here", "text/plain", 404)

            def _send(self, body: bytes, kind: str, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")  # as connect.facebook.net does
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True, name="fake-facebook")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def dialog_page(self) -> str:
        if self.event == "FINISH":
            event = {"type": "WA_EMBEDDED_SIGNUP", "event": "FINISH",
                     "data": {"phone_number_id": WA_PHONE_NUMBER_ID, "waba_id": WA_WABA_ID, "business_id": "77"}}
            login = {"authResponse": {"code": self.code, "userID": "", "expiresIn": 30}, "status": "connected"}
        else:
            event = {"type": "WA_EMBEDDED_SIGNUP", "event": "CANCEL", "data": {"current_step": "PHONE_NUMBER_SETUP"}}
            login = {"authResponse": None, "status": "unknown"}
        script = (f"parent.postMessage({json.dumps(json.dumps(event))}, '*');"
                  f"parent.postMessage({json.dumps(json.dumps({'type': 'FAKE_SDK_LOGIN', 'response': login}))}, '*');")
        script = script.replace("</", "<\\/")  # JSON inside a <script>: never close the element early
        return f"<!doctype html><title>Fake Embedded Signup</title><script>{script}</script>"

    def __enter__(self) -> FakeFacebook:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._thread.join(timeout=5)
        self._httpd.server_close()


@pytest.fixture()
def facebook(app: Any, graph_api: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeFacebook]:
    """Two loopback origins, as in production: the SDK's (connect.facebook.net) and Facebook's own
    (www.facebook.com, which frames the sign-up and sends the message event); the Graph API is the fake."""
    with FakeFacebook() as sdk_host, FakeFacebook() as dialog_host:
        for key, value in {"FACEBOOK_SDK_URL": f"{sdk_host.url}/sdk.js?dialog={quote(dialog_host.url, safe='')}",
                           "FACEBOOK_DIALOG_URL": dialog_host.url, "META_GRAPH_URL": graph_api.url,
                           "CONNECTOR_BACKOFF_BASE": 0.01, "CONNECTOR_BACKOFF_MAX": 0.02}.items():
            monkeypatch.setitem(app.config, key, value)
        yield dialog_host


def _open(page: Page) -> None:
    page.add_init_script(WATCH)
    resp = page.goto(f"{page.base_url}/connect/whatsapp")  # type: ignore[attr-defined]
    assert resp is not None and resp.ok


def test_embedded_signup_ends_on_the_new_channel(signed_in_page: Page, facebook: FakeFacebook,
                                                 graph_api: FakeGraphAPI) -> None:
    page = signed_in_page
    _open(page)
    button = page.get_by_test_id("wa-signup-start")
    expect(button).to_be_disabled()  # no PIN yet
    page.get_by_test_id("wa-pin").fill(PIN)
    expect(button).to_be_enabled()  # the SDK loaded and the PIN is 6 digits
    button.click()
    page.wait_for_url(re.compile(r"/channels/\d+$"))
    expect(page.get_by_text("Fake Salon (+1 555-010-0001) is connected.")).to_be_visible()
    expect(page.get_by_test_id("wa-template")).to_be_visible()

    [dialog] = facebook.dialogs
    assert dialog["app_id"] == "test-app-id" and dialog["config_id"] == "test-signup-config"
    assert dialog["response_type"] == "code" and dialog["override_default_response_type"] == "true"
    assert json.loads(dialog["extras"]) == {"setup": {}} and dialog["version"] == "v21.0"
    [exchange] = graph_api.requests_to("/oauth/access_token")
    assert exchange.params["code"] == "browser-es-code"
    assert graph_api.registered == {WA_PHONE_NUMBER_ID: PIN} and WA_WABA_ID in graph_api.subscriptions
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_a_cancelled_signup_says_so(signed_in_page: Page, facebook: FakeFacebook, graph_api: FakeGraphAPI) -> None:
    page = signed_in_page
    facebook.event = "CANCEL"
    _open(page)
    page.get_by_test_id("wa-pin").fill(PIN)
    page.get_by_test_id("wa-signup-start").click()
    expect(page.get_by_test_id("connect-failed-message")).to_contain_text("closed the WhatsApp sign-up")
    assert not graph_api.requests


def test_the_page_runs_under_its_policy(signed_in_page: Page, facebook: FakeFacebook) -> None:
    page = signed_in_page
    _open(page)
    page.get_by_test_id("wa-pin").fill(PIN)
    expect(page.get_by_test_id("wa-signup-start")).to_be_enabled()
    assert page.evaluate("window.__refused") == []
    assert page.evaluate("window.__fakeFB.init.appId") == "test-app-id"
