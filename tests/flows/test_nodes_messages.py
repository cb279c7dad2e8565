"""message, ask, comment_reply, follow_up."""

from flows import load_flow
from flows.engine import step
from tests.flows.helpers import doc, event, linear, services, talk, texts


def test_message_renders_text_and_buttons_then_continues():
    flow = linear(
        ("hi", "message", {"text": "Hi {{username}}", "buttons": ["Prices", "{{channel}}"]}),
        ("bye", "message", {"text": "Bye"}),
    )
    [result] = talk(flow, ["hello"])
    assert [(m.text, m.buttons, m.kind) for m in result.outbound] == [
        ("Hi ann_k", ["Prices", "test"], "reply"),
        ("Bye", [], "reply"),
    ]
    assert result.finished


def ask_flow(**data):
    base = {"text": "Phone?", "variable": "phone", "validate": "phone", "max_retries": 2}
    return doc(
        [
            ("start", "trigger", {}),
            ("ask", "ask", {**base, **data}),
            ("ok", "message", {"text": "Saved {{phone}}"}),
            ("bad", "message", {"text": "Giving up"}),
        ],
        [("start", "out", "ask"), ("ask", "ok", "ok"), ("ask", "failed", "bad")],
    )


def test_ask_waits_validates_and_stores_normalised_value():
    first, second = talk(ask_flow(), ["hi", "+1 (202) 555-0143"])
    assert texts(first) == ["Phone?"] and not first.finished
    assert first.state["waiting"] == {"node": "ask", "token": None}
    assert texts(second) == ["Saved +12025550143"]
    assert second.state["vars"]["phone"] == "+12025550143"
    assert second.trace[0]["vars_changed"] == {"phone": "+12025550143"}


def test_ask_reasks_with_system_text_then_takes_failed_port():
    results = talk(ask_flow(), ["hi", "nope", "still no", "123"])
    assert "valid phone number" in texts(results[1])[0]
    assert results[2].state["retries"] == {"ask": 2}
    assert texts(results[3]) == ["Giving up"]
    assert results[3].trace[0]["port"] == "failed" and results[3].state["retries"] == {}


def test_ask_reask_in_russian_and_custom_retry_text():
    ru = talk(ask_flow(), ["hi", "abc"], services(language="ru"))
    assert "номер телефона" in texts(ru[1])[0]
    custom = talk(ask_flow(retry_text="Try again, {{username}}"), ["hi", "abc"])
    assert texts(custom[1]) == ["Try again, ann_k"]


def test_ask_choice_offers_choices_as_buttons_and_default_region():
    flow = linear(("pick", "ask", {"text": "Size?", "variable": "size", "validate": "choice", "choices": ["S", "M"]}))
    [first, second] = talk(flow, ["hi", "m"])
    assert first.outbound[0].buttons == ["S", "M"]
    assert second.state["vars"]["size"] == "M"
    ru_phone = linear(("p", "ask", {"text": "?", "variable": "phone", "validate": "phone", "region": "RU"}))
    assert talk(ru_phone, ["hi", "8 912 345 67 89"])[1].state["vars"]["phone"] == "+79123456789"


def test_ask_without_text_just_waits():
    flow = linear(("wait", "ask", {"variable": "q"}), ("echo", "message", {"text": "You: {{q}}"}))
    first, second = talk(flow, ["hi", "question"])
    assert first.outbound == [] and first.state["waiting"]["node"] == "wait"
    assert texts(second) == ["You: question"]


def comment_flow():
    return linear(
        (
            "reply",
            "comment_reply",
            {"public_text": "Check DM, {{username}}", "private_text": "Hi!", "buttons": ["Yes"]},
        ),
        ("after", "message", {"text": "next"}),
    )


def test_comment_reply_on_comment_event_emits_public_and_private():
    flow = load_flow(comment_flow())
    result = step(
        flow,
        None,
        event("price?", kind="comment", channel="instagram", comment_id="c1", post_id="p1"),
        services(),
    )
    kinds = [(m.kind, m.text, m.meta) for m in result.outbound]
    assert kinds[0] == ("comment_reply", "Check DM, ann_k", {"comment_id": "c1", "post_id": "p1"})
    assert kinds[1] == ("private_reply", "Hi!", {"comment_id": "c1", "post_id": "p1"})
    assert result.outbound[1].buttons == ["Yes"] and kinds[2][1] == "next"


def test_comment_reply_skipped_with_warning_on_dm():
    [result] = talk(comment_flow(), ["hello"])
    assert texts(result) == ["next"]
    assert "comment reply skipped" in result.trace[1]["warnings"][0]


def follow_flow():
    return doc(
        [
            ("start", "trigger", {}),
            ("wait", "follow_up", {"delay": 2, "unit": "hours", "text": "Still there?"}),
            ("replied", "message", {"text": "You said {{last_message}}"}),
            ("nudge", "message", {"text": "Ping!"}),
        ],
        [("start", "out", "wait"), ("wait", "replied", "replied"), ("wait", "timeout", "nudge")],
    )


def test_follow_up_schedules_timer_and_reply_cancels_it():
    flow = load_flow(follow_flow())
    svc = services()
    first = step(flow, None, event("hi"), svc)
    [effect] = first.effects
    assert effect.type == "schedule_follow_up" and effect.payload["delay_seconds"] == 7200
    token = effect.payload["token"]
    assert first.state["waiting"] == {"node": "wait", "token": token} and texts(first) == ["Still there?"]
    second = step(flow, first.state, event("yes"), svc)
    assert texts(second) == ["You said yes"]
    assert [(e.type, e.payload["token"]) for e in second.effects] == [("cancel_follow_up", token)]


def test_follow_up_timeout_with_matching_token_and_stale_token_ignored():
    flow = load_flow(follow_flow())
    svc = services()
    first = step(flow, None, event("hi"), svc)
    token = first.effects[0].payload["token"]
    stale = step(flow, first.state, event(kind="timeout", token="wait:0"), svc)
    assert stale.outbound == [] and stale.state == first.state
    assert "stale" in stale.trace[0]["warnings"][0]
    fired = step(flow, first.state, event(kind="timeout", token=token), svc)
    assert texts(fired) == ["Ping!"] and fired.trace[0]["port"] == "timeout"
    again = step(flow, fired.state, event(kind="timeout", token=token), svc)
    assert again.outbound == []
