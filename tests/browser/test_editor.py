"""The flow editor in a real browser (issue 6, "Tests"): palette → canvas → inspector → autosave → reload,
validation on the nodes, the publish gate, Send test, Simulate comment, templates and undo/redo.

Every wait is for a visible state (`expect`, selectors, `data-state`), never a fixed sleep.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from webapp.models import Flow, FlowVersion

pytestmark = pytest.mark.usefixtures("editor_bundle")

TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"

GREETING = {"schema_version": 1, "name": "Greeting", "nodes": [
    {"id": "start", "type": "trigger", "position": {"x": 0, "y": 0}, "data": {"channels": ["any"]}},
    {"id": "hello", "type": "message", "position": {"x": 320, "y": 0}, "data": {"text": "Hello there!"}},
], "edges": [{"id": "e1", "source": "start", "sourceHandle": "out", "target": "hello"}]}


# --- helpers -------------------------------------------------------------------------------------------

def open_editor(page: Page, flow_id: int) -> None:
    page.goto(f"{page.base_url}/flows/{flow_id}/edit")  # type: ignore[attr-defined]
    expect(page.get_by_test_id("flow-editor-root")).to_have_attribute("data-ready", "true")
    expect(page.locator(".react-flow__node").first).to_be_visible()


def node(page: Page, node_id: str) -> Locator:
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def node_ids(page: Page) -> set[str]:
    return set(page.locator(".react-flow__node").evaluate_all("els => els.map(e => e.dataset.id)"))


def save_state(page: Page) -> Locator:
    return page.get_by_test_id("save-state")


def wait_saved(page: Page) -> None:
    """Autosave is debounced (1 s): wait until the state says saved and stays so."""
    expect(save_state(page)).to_have_attribute("data-state", "saved")


def drag(page: Page, source: Locator, target: Locator) -> None:
    """A real mouse drag (down, several moves, up) as React Flow expects for a connection."""
    a, b = source.bounding_box(), target.bounding_box()
    assert a and b, "handles must be on screen"
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    tx, ty = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    page.mouse.move((a["x"] + tx) / 2, (a["y"] + ty) / 2, steps=5)
    page.mouse.move(tx, ty, steps=10)
    page.mouse.up()


def connect(page: Page, source_id: str, port: str, target_id: str) -> None:
    drag(page, node(page, source_id).locator(f'.react-flow__handle.source[data-handleid="{port}"]'),
         node(page, target_id).locator(".react-flow__handle.target"))


def has_class(css_class: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(css_class)}(\s|$)")


def api_flow(page: Page, flow_id: int) -> dict[str, Any]:
    """What the server stored, through the JSON API with the page's own session cookie."""
    resp = page.request.get(f"{page.base_url}/api/flows/{flow_id}")  # type: ignore[attr-defined]
    assert resp.ok, resp.text()
    return resp.json()


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Retry an assertion about server-side state (autosave is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def template_flow(flow_factory: Any, tenant: Any, key: str) -> Any:
    return flow_factory(tenant, json.loads((TEMPLATES / f"{key}.json").read_text())["name"], template=key)


# --- tests ---------------------------------------------------------------------------------------------

def test_add_connect_edit_save_reload(signed_in_page: Page, tenant: Any, flow_factory: Any) -> None:
    page = signed_in_page
    flow = flow_factory(tenant, "Greeting", GREETING)
    open_editor(page, flow.id)
    wait_saved(page)
    assert node_ids(page) == {"start", "hello"}

    # palette → a new node, selected in the inspector
    page.get_by_test_id("palette-ask").click()
    ask = node(page, "ask_1")
    expect(ask).to_be_visible()
    expect(page.get_by_test_id("inspector-node-id")).to_have_text("ask_1")
    # it has no variable and no incoming edge yet: the engine says so, on the node and in the list,
    # and Publish is disabled
    expect(ask.get_by_test_id("node-badge-error")).to_be_visible()
    expect(ask.get_by_test_id("node-badge-warning")).to_be_visible()
    expect(page.get_by_test_id("problem-item").filter(has_text="never be reached")).to_have_count(1)
    expect(page.get_by_test_id("btn-publish")).to_be_disabled()

    # drag hello.out → ask_1: an edge appears and the "unreachable" warning goes away
    edges_before = page.locator(".react-flow__edge").count()
    connect(page, "hello", "out", "ask_1")
    expect(page.locator(".react-flow__edge")).to_have_count(edges_before + 1)
    expect(page.get_by_test_id("problem-item").filter(has_text="never be reached")).to_have_count(0)

    # the inspector edits the node; the card shows the new text
    page.get_by_test_id("field-text").fill("What's your name?")
    page.get_by_test_id("field-variable").fill("name")
    page.get_by_test_id("field-validate").select_option("name")
    expect(ask).to_contain_text("What's your name?")
    expect(ask.get_by_test_id("node-badge-error")).to_have_count(0)
    expect(ask.get_by_test_id("node-badge-warning")).to_have_count(0)
    expect(page.get_by_test_id("btn-publish")).to_be_enabled()
    wait_saved(page)

    def stored() -> dict[str, Any]:
        draft = api_flow(page, flow.id)["draft"]
        nodes = {n["id"]: n for n in draft["nodes"]}
        assert "ask_1" in nodes, sorted(nodes)
        assert nodes["ask_1"]["type"] == "ask"
        assert nodes["ask_1"]["data"]["variable"] == "name"
        assert nodes["ask_1"]["data"]["text"] == "What's your name?"
        assert nodes["ask_1"]["data"]["validate"] == "name"
        assert {(e["source"], e["sourceHandle"], e["target"]) for e in draft["edges"]} == {
            ("start", "out", "hello"), ("hello", "out", "ask_1")}
        return draft

    eventually(stored)

    # reload: the node, its edge and its data come back from the server
    page.reload()
    expect(page.get_by_test_id("flow-editor-root")).to_have_attribute("data-ready", "true")
    expect(node(page, "ask_1")).to_contain_text("What's your name?")
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    node(page, "ask_1").click()
    expect(page.get_by_test_id("inspector-node-id")).to_have_text("ask_1")
    expect(page.get_by_test_id("field-variable")).to_have_value("name")
    expect(page.get_by_test_id("field-validate")).to_have_value("name")
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_validation_error_on_node_blocks_publish_until_fixed(signed_in_page: Page, tenant: Any,
                                                             flow_factory: Any, db: Any) -> None:
    page = signed_in_page
    doc = json.loads(json.dumps(GREETING))
    doc["nodes"].append({"id": "ask_name", "type": "ask", "position": {"x": 640, "y": 0},
                         "data": {"text": "Your name?", "variable": ""}})
    doc["edges"].append({"id": "e2", "source": "hello", "sourceHandle": "out", "target": "ask_name"})
    flow = flow_factory(tenant, "Needs a variable", doc)
    open_editor(page, flow.id)

    # the error is drawn on the node and listed; Publish is disabled
    ask = node(page, "ask_name")
    expect(ask.get_by_test_id("node-badge-error")).to_have_text("1")
    expect(ask.locator(".fe-node")).to_have_class(has_class("has-error"))
    expect(page.get_by_test_id("problem-item").filter(has_text="variable")).to_have_count(1)
    expect(page.get_by_test_id("btn-publish")).to_be_disabled()

    # a click on the problem focuses the node in the inspector; fixing the field clears the error
    page.get_by_test_id("problem-item").filter(has_text="variable").click()
    expect(page.get_by_test_id("inspector-node-id")).to_have_text("ask_name")
    page.get_by_test_id("field-variable").fill("name")
    expect(ask.get_by_test_id("node-badge-error")).to_have_count(0)
    expect(page.get_by_test_id("problem-item")).to_have_count(0)
    expect(page.get_by_test_id("btn-publish")).to_be_enabled()

    # breaking it again brings the error back (and disables Publish again)
    page.get_by_test_id("field-variable").fill("")
    expect(ask.get_by_test_id("node-badge-error")).to_be_visible()
    expect(page.get_by_test_id("btn-publish")).to_be_disabled()
    page.get_by_test_id("field-variable").fill("customer_name")
    expect(page.get_by_test_id("btn-publish")).to_be_enabled()

    # publish: saves pending changes first, then a version 1 exists with the fixed document
    page.get_by_test_id("btn-publish").click()
    expect(page.get_by_test_id("toast")).to_contain_text("Published version 1")
    db.session.rollback()
    versions = list(db.session.scalars(select(FlowVersion).where(FlowVersion.flow_id == flow.id)))
    assert [v.number for v in versions] == [1]
    stored = {n["id"]: n for n in versions[0].document["nodes"]}
    assert stored["ask_name"]["data"]["variable"] == "customer_name"
    assert db.session.get(Flow, flow.id).published_version_id == versions[0].id
    assert api_flow(page, flow.id)["published_version"] == 1


def test_send_test_shows_reply_and_highlights_path(signed_in_page: Page, tenant: Any,
                                                   flow_factory: Any) -> None:
    page = signed_in_page
    flow = template_flow(flow_factory, tenant, "lead_capture")
    open_editor(page, flow.id)

    page.get_by_test_id("tab-test").click()
    page.get_by_test_id("test-input").fill("hi")
    page.get_by_test_id("test-send").click()
    replies = page.get_by_test_id("test-reply")
    expect(replies.filter(has_text="Thanks for reaching out")).to_have_count(1)
    expect(replies.filter(has_text="What's your name?")).to_have_count(1)
    # the path the draft took glows on the canvas; nodes off the path do not
    for node_id in ("start", "greet", "ask_name"):
        expect(node(page, node_id).locator(".fe-node")).to_have_class(has_class("is-trace"))
    expect(node(page, "ask_phone").locator(".fe-node")).not_to_have_class(has_class("is-trace"))
    expect(page.locator(".react-flow__edge.animated")).not_to_have_count(0)

    # the trace is one click away
    page.get_by_test_id("test-trace-toggle").check()
    expect(page.get_by_test_id("test-trace")).to_contain_text("ask_name")

    # the conversation goes on: the next answer moves the highlight to the phone question
    page.get_by_test_id("test-input").fill("Anna")
    page.get_by_test_id("test-send").click()
    expect(replies.filter(has_text="best phone number")).to_have_count(1)
    expect(node(page, "ask_phone").locator(".fe-node")).to_have_class(has_class("is-trace"))


def test_simulate_comment_shows_public_and_private_reply(signed_in_page: Page, tenant: Any,
                                                        flow_factory: Any) -> None:
    page = signed_in_page
    flow = template_flow(flow_factory, tenant, "instagram_comment_to_dm")
    open_editor(page, flow.id)

    page.get_by_test_id("tab-comment").click()
    page.get_by_test_id("comment-post-id").fill("1790001")
    page.get_by_test_id("comment-text").fill("What's the price?")
    page.get_by_test_id("comment-send").click()
    expect(page.get_by_test_id("comment-result")).to_be_visible()
    expect(page.get_by_test_id("comment-public")).to_contain_text("We've sent you the details in DM")
    expect(page.get_by_test_id("comment-private")).to_contain_text("Reply to this message")


def test_new_flow_from_template_in_two_clicks(signed_in_page: Page, tenant: Any, db: Any) -> None:
    page = signed_in_page
    template = json.loads((TEMPLATES / "beauty_salon_booking.json").read_text())
    page.goto(f"{page.base_url}/flows")
    page.locator("#new-flow-template").select_option("beauty_salon_booking")  # click 1: pick
    with page.expect_navigation():
        page.locator("#new-flow button[type=submit]").click()                  # click 2: create
    assert "/edit" in page.url
    expect(page.get_by_test_id("flow-editor-root")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("flow-name")).to_have_value(template["name"])
    expected = {n["id"] for n in template["document"]["nodes"]}
    expect(page.locator(".react-flow__node")).to_have_count(len(expected))
    assert node_ids(page) == expected
    # the copy is the tenant's own flow
    db.session.rollback()
    flows = list(db.session.scalars(select(Flow).where(Flow.tenant_id == tenant.id)))
    assert [f.name for f in flows] == [template["name"]]


def test_import_template_file_lays_it_out_and_saves(signed_in_page: Page, tenant: Any, flow_factory: Any,
                                                    tmp_path: Path) -> None:
    page = signed_in_page
    flow = flow_factory(tenant, "Greeting", GREETING)
    open_editor(page, flow.id)
    template = json.loads((TEMPLATES / "faq_bot.json").read_text())
    for n in template["document"]["nodes"]:  # no positions: the editor must auto-layout the import
        n.pop("position", None)
    path = tmp_path / "faq_bot.json"
    path.write_text(json.dumps(template))

    page.get_by_test_id("import-file").set_input_files(str(path))
    expected = {n["id"] for n in template["document"]["nodes"]}
    expect(page.get_by_test_id("toast")).to_contain_text(f"Imported {len(expected)} nodes")
    expect(page.locator(".react-flow__node")).to_have_count(len(expected))
    assert node_ids(page) == expected
    boxes = [node(page, i).bounding_box() for i in sorted(expected)]
    assert len({(round(b["x"]), round(b["y"])) for b in boxes}) == len(expected), "nodes stacked on each other"
    wait_saved(page)

    def stored() -> None:
        draft = api_flow(page, flow.id)["draft"]
        assert {n["id"] for n in draft["nodes"]} == expected
        assert len({(n["position"]["x"], n["position"]["y"]) for n in draft["nodes"]}) == len(expected)

    eventually(stored)


def test_undo_and_redo_an_added_node(signed_in_page: Page, tenant: Any, flow_factory: Any) -> None:
    page = signed_in_page
    flow = flow_factory(tenant, "Greeting", GREETING)
    open_editor(page, flow.id)
    undo, redo = page.get_by_test_id("btn-undo"), page.get_by_test_id("btn-redo")

    page.get_by_test_id("palette-message").click()
    expect(node(page, "message_1")).to_be_visible()
    undo.click()
    expect(node(page, "message_1")).to_have_count(0)
    expect(page.locator(".react-flow__node")).to_have_count(2)
    redo.click()
    expect(node(page, "message_1")).to_be_visible()

    # the keyboard does the same when the focus is on the canvas
    page.locator(".react-flow__pane").click(position={"x": 30, "y": 30})
    page.keyboard.press("Control+z")
    expect(node(page, "message_1")).to_have_count(0)
    page.keyboard.press("Control+Shift+z")
    expect(node(page, "message_1")).to_be_visible()

    # and the redone node is what gets saved
    wait_saved(page)
    eventually(lambda: _assert_has_node(api_flow(page, flow.id)["draft"], "message_1"))


def _assert_has_node(draft: dict[str, Any], node_id: str) -> None:
    assert node_id in {n["id"] for n in draft["nodes"]}


def test_editor_speaks_the_users_language(signed_in_page: Page, tenant: Any, flow_factory: Any, db: Any) -> None:
    """The bundle's own strings and the palette (translated by `GET /api/node-types`) follow the
    back-office language."""
    from webapp.models import User

    page = signed_in_page
    db.session.rollback()
    db.session.scalar(select(User).where(User.tenant_id == tenant.id)).language = "ru"
    db.session.commit()
    flow = flow_factory(tenant, "Greeting", GREETING)
    open_editor(page, flow.id)
    expect(page.get_by_test_id("btn-publish")).to_have_text("Опубликовать")
    expect(page.get_by_test_id("save-state")).to_have_text(re.compile("Сохранено"))
    expect(page.get_by_test_id("btn-import")).to_contain_text("Импорт")

    ask = page.get_by_test_id("palette-ask").inner_text()
    assert re.search("[А-Яа-яЁё]", ask), f"the Russian palette says {ask!r}"


def test_keyboard_delete_undo_copy_paste_and_rename(signed_in_page: Page, tenant: Any, flow_factory: Any) -> None:
    """Deleting a node takes its edge along and one undo brings both back; Ctrl+C / Ctrl+V pastes a copy with
    a fresh id; the flow name is part of the saved document."""
    page = signed_in_page
    flow = flow_factory(tenant, "Greeting", GREETING)
    open_editor(page, flow.id)

    node(page, "hello").click()
    expect(page.get_by_test_id("inspector-node-id")).to_have_text("hello")
    page.keyboard.press("Delete")
    expect(node(page, "hello")).to_have_count(0)
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(node(page, "hello")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    expect(page.get_by_test_id("btn-undo")).to_be_disabled()  # the node and its edge were one step

    node(page, "hello").click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(node(page, "message_1")).to_contain_text("Hello there!")
    expect(page.get_by_test_id("inspector-node-id")).to_have_text("message_1")

    page.get_by_test_id("flow-name").fill("Renamed greeting")
    wait_saved(page)

    def stored() -> None:
        draft = api_flow(page, flow.id)["draft"]
        assert draft["name"] == "Renamed greeting"
        assert {n["id"] for n in draft["nodes"]} == {"start", "hello", "message_1"}
        assert [(e["source"], e["target"]) for e in draft["edges"]] == [("start", "hello")]

    eventually(stored)
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_flow_settings_restart_after_minutes_saved_cleared_and_checked(signed_in_page: Page, tenant: Any,
                                                                      flow_factory: Any) -> None:
    """With nothing selected the inspector edits the flow itself: after how many minutes a finished flow
    starts again (empty: never), saved in the document, checked by the server."""
    page = signed_in_page
    flow = flow_factory(tenant, "Greeting", GREETING)
    open_editor(page, flow.id)
    wait_saved(page)
    field = page.get_by_test_id("flow-restart-after")
    expect(page.get_by_test_id("flow-settings")).to_contain_text("Start again after (minutes)")
    expect(field).to_have_value("")
    field.fill("1440")
    wait_saved(page)
    def restart_after() -> Any:
        draft = api_flow(page, flow.id)["draft"]
        return draft.get("restart_after_minutes", "absent")

    def stored_as(expected: Any) -> Callable[[], None]:
        def check() -> None:
            assert restart_after() == expected
        return check

    eventually(stored_as(1440))
    page.reload()
    expect(page.get_by_test_id("flow-editor-root")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("flow-restart-after")).to_have_value("1440")

    page.get_by_test_id("flow-restart-after").fill("-5")
    expect(page.get_by_test_id("problem-item").filter(has_text="restart_after_minutes")).to_have_count(1)
    expect(page.get_by_test_id("btn-publish")).to_be_disabled()
    page.get_by_test_id("flow-restart-after").fill("")
    expect(page.get_by_test_id("problem-item").filter(has_text="restart_after_minutes")).to_have_count(0)
    wait_saved(page)
    eventually(stored_as("absent"))
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]
