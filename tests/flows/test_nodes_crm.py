"""lead, notify, handoff, http_request."""

from flows.services import HttpResult, RecordingHttp
from flows.state import resume_bot
from tests.flows.helpers import doc, linear, services, talk, texts


def lead_flow():
    return doc(
        [
            ("start", "trigger", {}),
            ("set", "set_variable", {"values": {"phone": "{{last_message}}"}}),
            (
                "lead",
                "lead",
                {"required": ["phone", "name"], "fields": ["email"], "source": "{{channel}} test"},
            ),
            ("ok", "notify", {"text": "Lead {{name}} {{phone}}"}),
            ("bad", "message", {"text": "missing"}),
        ],
        [
            ("start", "out", "set"),
            ("set", "out", "lead"),
            ("lead", "saved", "ok"),
            ("lead", "invalid", "bad"),
        ],
    )


def test_lead_saved_with_contact_name_and_notify():
    svc = services()
    flow = lead_flow()
    from flows import load_flow
    from flows.engine import step
    from tests.flows.helpers import event

    ev = event("+12025550143")
    ev.contact = {"name": "Ann"}
    result = step(load_flow(flow), None, ev, svc)
    assert [e.to_dict() for e in result.effects] == [
        {
            "type": "lead",
            "payload": {
                "fields": {"phone": "+12025550143", "name": "Ann"},
                "source": "test test",
                "channel": "test",
            },
        },
        {"type": "notify", "payload": {"text": "Lead Ann +12025550143"}},
    ]


def test_lead_missing_required_goes_invalid():
    [result] = talk(lead_flow(), ["+12025550143"])
    assert texts(result) == ["missing"] and result.effects == []
    assert "missing name" in result.trace[2]["warnings"][0]


def test_handoff_pauses_conversation_until_resumed():
    flow = linear(("h", "handoff", {"reason": "asked for {{last_message}}"}))
    first, second = talk(flow, ["human please", "hello?"])
    assert texts(first) == ["I'm passing you to a manager — they will reply here soon."]
    assert first.effects[0].to_dict() == {
        "type": "handoff",
        "payload": {"reason": "asked for human please", "last_message": "human please"},
    }
    assert first.state["paused"] and not first.finished
    assert second.outbound == [] and second.effects == [] and "handed off" in second.trace[0]["warnings"][0]
    [third] = talk(flow, ["back"], state=resume_bot(second.state))
    assert third.state["paused"] and texts(third)  # the flow ran again from its trigger


def test_handoff_silent_and_custom_text():
    assert texts(talk(linear(("h", "handoff", {"silent": True})), ["x"])[0]) == []
    assert texts(talk(linear(("h", "handoff", {"text": "Wait, {{username}}"})), ["x"])[0]) == ["Wait, ann_k"]


def http_flow(**data):
    base = {
        "method": "POST",
        "url": "https://crm.example/leads?u={{username}}",
        "body": {"phone": "{{last_message}}", "n": 1},
        "headers": {"X-Key": "k"},
        "response": {"lead_id": "data.id", "first": "items.0"},
    }
    return doc(
        [
            ("start", "trigger", {}),
            ("call", "http_request", {**base, **data}),
            ("ok", "message", {"text": "id={{lead_id}} first={{first}}"}),
            ("err", "message", {"text": "error"}),
        ],
        [("start", "out", "call"), ("call", "ok", "ok"), ("call", "error", "err")],
    )


def test_http_request_renders_calls_and_maps_response():
    svc = services(features={"integrations"})
    svc.http = RecordingHttp(default=HttpResult(201, {"data": {"id": 77}, "items": ["a", "b"]}))
    [result] = talk(http_flow(), ["+100"], svc)
    assert svc.http.requests == [
        {
            "method": "POST",
            "url": "https://crm.example/leads?u=ann_k",
            "json": {"phone": "+100", "n": 1},
            "headers": {"X-Key": "k"},
            "timeout": 10.0,
        }
    ]
    assert texts(result) == ["id=77 first=a"]


def test_http_request_feature_gated():
    svc = services()
    [result] = talk(http_flow(), ["x"], svc)
    assert texts(result) == ["error"] and svc.http.requests == []
    assert "integrations" in result.trace[1]["warnings"][0]


def test_http_request_error_status_and_missing_path():
    svc = services(features={"integrations"})
    svc.http = RecordingHttp(default=HttpResult(500, "boom"))
    [failed] = talk(http_flow(), ["x"], svc)
    assert texts(failed) == ["error"]
    assert failed.effects[0].type == "http_error" and failed.effects[0].payload["status"] == 500
    svc.http = RecordingHttp(default=HttpResult(200, {"data": {}}))
    [partial] = talk(http_flow(), ["x"], svc)
    assert partial.trace[1]["port"] == "ok" and any("data.id" in w for w in partial.trace[1]["warnings"])
    svc.http = RecordingHttp(default=HttpResult(0, None, "connection refused"))
    assert talk(http_flow(), ["x"], svc)[0].effects[0].payload["error"] == "connection refused"
