"""The connect pages' fixtures: the fake Meta login pages and the Graph fake, with the app aimed at both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.meta_login import FakeMetaLogin


@pytest.fixture()
def meta_login(app: Any, graph_api: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMetaLogin]:
    """Meta's consent pages and Instagram's token endpoint (FakeMetaLogin), the Graph API (FakeGraphAPI),
    and the app's every Meta URL pointing at them, with fast retries."""
    fake = FakeMetaLogin(client_id=app.config["INSTAGRAM_APP_ID"],
                         client_secret=app.config["INSTAGRAM_APP_SECRET"]).start()
    for key, value in {"INSTAGRAM_AUTHORIZE_URL": fake.authorize_url, "INSTAGRAM_TOKEN_URL": fake.token_url,
                       "FACEBOOK_DIALOG_URL": fake.url, "META_GRAPH_URL": graph_api.url,
                       "INSTAGRAM_GRAPH_URL": graph_api.url, "CONNECTOR_BACKOFF_BASE": 0.01,
                       "CONNECTOR_BACKOFF_MAX": 0.02, "CONNECTOR_TIMEOUT": 2.0}.items():
        monkeypatch.setitem(app.config, key, value)
    try:
        yield fake
    finally:
        fake.stop()


def follow_consent(client: FlaskClient, start: str, *, decision: str = "allow") -> tuple[str, dict[str, Any]]:
    """Press our connect button (``start``), then Allow/Cancel on the fake's consent page, over real HTTP
    for the fake's part; returns (our callback path with its query, the authorize request's parameters)."""
    import requests

    begin = client.get(start)
    assert begin.status_code == 302, begin.get_data(as_text=True)
    authorize = begin.headers["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    answer = requests.get(authorize, params={"decision": decision}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}" + (f"#{back.fragment}" if back.fragment else ""), params


@pytest.fixture()
def connect_round_trip(member_client: FlaskClient) -> Callable[..., Any]:
    def run(start: str, **kwargs: Any) -> Any:
        callback, _params = follow_consent(member_client, start, **kwargs)
        return member_client.get(callback.split("#")[0])
    return run
