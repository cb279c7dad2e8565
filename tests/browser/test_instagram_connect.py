"""Connect Instagram in a real browser: the Channels page's button → the (fake) Instagram consent page →
Allow → back on our callback → the new channel's page, connected; and Cancel ends on the explaining page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.meta_login import FakeMetaLogin


@pytest.fixture()
def meta(app: Any, live_server: str, graph_api: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[FakeMetaLogin]:
    fake = FakeMetaLogin(client_id=app.config["INSTAGRAM_APP_ID"],
                         client_secret=app.config["INSTAGRAM_APP_SECRET"]).start()
    for key, value in {"INSTAGRAM_AUTHORIZE_URL": fake.authorize_url, "INSTAGRAM_TOKEN_URL": fake.token_url,
                       "INSTAGRAM_GRAPH_URL": graph_api.url, "META_GRAPH_URL": graph_api.url,
                       "PUBLIC_BASE_URL": live_server}.items():
        monkeypatch.setitem(app.config, key, value)
    try:
        yield fake
    finally:
        fake.stop()


def test_connect_instagram_button_round_trip(signed_in_page: Page, meta: FakeMetaLogin, graph_api: FakeGraphAPI,
                                             db: Any) -> None:
    page = signed_in_page
    page.goto(f"{page.base_url}/channels")  # type: ignore[attr-defined]
    page.get_by_role("link", name="Connect Instagram").click()
    expect(page.locator("h1")).to_have_text("Instagram: allow Fake App?")  # the fake consent page
    expect(page.get_by_test_id("scope")).to_contain_text("instagram_business_manage_messages")
    page.click("#allow")
    expect(page.locator("h1")).to_contain_text("@fake_shop")
    expect(page.locator(".alert-success")).to_contain_text("@fake_shop is connected.")
    assert "/channels/" in page.url, page.url
    assert graph_api.subscriptions.get("me"), "the account was subscribed to webhooks"

    from webapp.models import Channel

    db.session.expire_all()
    [channel] = db.session.query(Channel).all()
    assert channel.external_id == graph_api.ig_user_id and channel.token_expires_at is not None


def test_cancel_on_the_consent_page_explains(signed_in_page: Page, meta: FakeMetaLogin) -> None:
    page = signed_in_page
    page.goto(f"{page.base_url}/channels")  # type: ignore[attr-defined]
    page.get_by_role("link", name="Connect Instagram").click()
    page.click("#cancel")
    expect(page.get_by_test_id("connect-failed-message")).to_contain_text("You did not allow TemoWeb")
    expect(page.get_by_role("link", name="Back to channels")).to_be_visible()
