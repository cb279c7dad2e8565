"""The message kind in the engine (issue #19): a `condition` rule of kind `content`, and the "I can read text
only" answer to a message without text that the flow does not handle (flows/media.py)."""

from __future__ import annotations

import json

from connectors.channels.events import MEDIA_KINDS, content_kind, media_item
from flows import load_flow, media, validate
from flows.engine import step
from flows.i18n import text as system_text
from tests.flows.helpers import doc, event, linear, services, texts


def kind_flow() -> dict:
    rules = [{"id": "photo", "kind": "content", "contents": ["image", "sticker"]},
             {"id": "voice", "kind": "content", "contents": ["audio"]},
             {"id": "typed", "kind": "content", "contents": ["text"]}]
    return doc(
        [("start", "trigger", {}), ("c", "condition", {"rules": rules}),
         ("p", "message", {"text": "Nice photo!"}), ("v", "message", {"text": "Thanks for the voice note"}),
         ("t", "message", {"text": "You typed"}), ("e", "message", {"text": "Something else"})],
        [("start", "out", "c"), ("c", "photo", "p"), ("c", "voice", "v"), ("c", "typed", "t"), ("c", "else", "e")],
    )


def run(flow, text="", content=None, state=None, svc=None):
    meta = {media.CONTENT_KEY: content} if content else {}
    return step(flow, state, event(text, **meta), svc or services())


def test_a_content_rule_branches_on_the_message_kind():
    flow = load_flow(kind_flow())
    assert validate(kind_flow()) == []
    assert texts(run(flow, content="image")) == ["Nice photo!"]
    assert texts(run(flow, content="sticker")) == ["Nice photo!"]
    assert texts(run(flow, content="audio")) == ["Thanks for the voice note"]
    assert texts(run(flow, "hello")) == ["You typed"]  # no content key: a text message
    assert texts(run(flow, content="location")) == ["Something else"]
    assert texts(run(flow, "look at this", content="image")) == ["Nice photo!"]  # a caption keeps the kind


def test_a_content_rule_needs_kinds_and_only_known_ones():
    bad = kind_flow()
    bad["nodes"][1]["data"]["rules"][0]["contents"] = []
    assert [(p.node_id, p.severity) for p in validate(bad)] == [("c", "error")]
    assert "a content rule needs message kinds" in validate(bad)[0].message
    bad["nodes"][1]["data"]["rules"][0]["contents"] = ["hologram"]
    assert [(p.node_id, p.severity, "contents" in p.message) for p in validate(bad)] == [("c", "error", True)]


def test_without_a_content_rule_a_photo_gets_the_text_only_reply_once():
    flow = load_flow(linear(("hi", "message", {"text": "Hello!"}), ("name", "ask", {"text": "Your name?",
                                                                                     "variable": "name"})))
    result = run(flow, content="image")
    assert texts(result) == [system_text("media.text_only")] and result.state_kept
    assert not result.state.get("waiting")  # the flow did not start
    ru = run(flow, content="audio", svc=services(language="ru"))
    assert texts(ru) == ["Я понимаю только текст — пожалуйста, напишите ваш вопрос."]
    svc = services()
    svc.context.media_text = "Words, please."
    assert texts(run(flow, content="video", svc=svc)) == ["Words, please."]
    # With a caption the message is text: the flow runs.
    assert texts(run(flow, "do you have this in red?", content="image")) == ["Hello!", "Your name?"]


def test_a_pending_question_stays_pending_and_counts_no_attempt():
    flow = load_flow(linear(("name", "ask", {"text": "Your name?", "variable": "name", "max_retries": 0}),
                            ("bye", "message", {"text": "Thanks, {{name}}"})))
    first = run(flow, "hi")
    state = json.loads(json.dumps(first.state))
    photo = run(flow, content="image", state=state)
    assert texts(photo) == [system_text("media.text_only")]
    assert photo.state["waiting"] == state["waiting"] and photo.state["retries"] == state["retries"]
    assert "stays pending" in photo.trace[-1]["warnings"][0]
    answer = run(flow, "Ann", state=json.loads(json.dumps(photo.state)))
    assert texts(answer) == ["Thanks, Ann"]  # max_retries 0: had the photo counted, the ask would have failed


def test_a_flow_with_a_content_rule_gets_the_photo_itself():
    flow = load_flow(kind_flow())
    assert media.flow_reads_content(flow)
    result = run(flow, content="file")
    assert texts(result) == ["Something else"] and not result.state_kept


def test_comments_and_timers_are_not_media():
    flow = load_flow(linear(("hi", "message", {"text": "Hello!"})))
    assert not media.unanswerable(flow, {}, event("", kind="timeout"))
    assert not media.unanswerable(flow, {}, event("", **{media.CONTENT_KEY: "text"}))


def test_the_channels_and_the_engine_share_one_list_of_kinds():
    assert MEDIA_KINDS == media.MEDIA_KINDS
    assert content_kind([]) == "text"
    assert content_kind([media_item("location", latitude=1.5, longitude=2), media_item("image")]) == "location"
    assert media_item("hologram", url="https://x", size="big", latitude=True) == {"kind": "other", "url": "https://x"}
