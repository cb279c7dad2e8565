"""The editor page hands the bundle its own texts in the user's language, from the same catalog as the rest
of the UI (webapp/editor/messages.py); the bundle shows the English msgid for anything not handed over."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.helpers.web import csrf_token


class _Mount(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "div" and dict(attrs).get("id") == "flow-editor":
            self.attrs = dict(attrs)


def _messages(client: Any, flow_id: int) -> dict[str, str]:
    parser = _Mount()
    parser.feed(client.get(f"/flows/{flow_id}/edit").get_data(as_text=True))
    assert parser.attrs is not None, "no #flow-editor on the page"
    return json.loads(parser.attrs["data-messages"])


@pytest.fixture()
def built(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page as it is with the bundle built (the bundle itself is not needed to render it)."""
    from webapp.editor import routes

    monkeypatch.setattr(routes, "bundle_built", lambda: True)


def test_editor_texts_come_in_the_users_language(api: Any, member_client: Any, built: None) -> None:
    from webapp.editor.messages import msgids

    flow_id = api.post("/flows", {"template": "lead_capture"}).get_json()["id"]
    assert _messages(member_client, flow_id) == {}  # English: the bundle's msgids as they are

    member_client.post("/language", data={"language": "ru", "csrf_token": csrf_token(member_client)})
    russian = _messages(member_client, flow_id)
    assert russian["Publish"] == "Опубликовать"
    assert russian["Could not load the flow: {error}"] == "Не удалось загрузить сценарий: {error}"
    assert russian["Unknown node type \"{type}\": edit its data as JSON."].startswith("Неизвестный тип «{type}»")
    assert set(russian) == set(msgids())


def test_editor_texts_survive_the_attribute(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Quotes, angle brackets and ampersands in a translation reach the bundle intact (no markup injected)."""
    from flask import render_template

    from webapp.models import Flow

    texts = {"Publish": "It's <b>\"live\"</b> & 'done'"}
    with app.test_request_context():
        html = render_template("editor/edit.html", flow=Flow(id=1, name="x"), bundle_built=True,
                               editor_messages=texts)
    parser = _Mount()
    parser.feed(html)
    assert parser.attrs is not None and json.loads(parser.attrs["data-messages"]) == texts
    assert "<b>" not in html
