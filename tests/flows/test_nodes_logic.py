"""trigger, condition, set_variable, goto, end."""

from datetime import UTC, datetime

from flows import load_flow
from flows.engine import step
from flows.services import FixedClock
from tests.flows.helpers import doc, event, linear, services, talk, texts


def trigger_node(**data):
    return (
        load_flow(linear(("m", "message", {"text": "x"})))
        .nodes["start"]
        .__class__(
            "t",
            {
                "channels": ["any"],
                "kinds": [],
                "keywords": [],
                "match": "contains",
                "fuzzy_threshold": 85.0,
                **data,
            },
        )
    )


def test_trigger_filters_channel_kind_and_keywords():
    node = trigger_node(channels=["instagram"], kinds=["comment"], keywords=["Price"])
    assert node.matches(event("what PRICE?", kind="comment", channel="instagram"))[0]
    assert not node.matches(event("price", kind="dm", channel="instagram"))[0]
    assert not node.matches(event("price", kind="comment", channel="telegram"))[0]
    assert not node.matches(event("hello", kind="comment", channel="instagram"))[0]


def test_trigger_exact_and_fuzzy_match():
    exact = trigger_node(keywords=["start"], match="exact")
    assert exact.matches(event("  Start "))[0] and not exact.matches(event("start now"))[0]
    fuzzy = trigger_node(keywords=["консультация"], match="fuzzy")
    ok, reason = fuzzy.matches(event("хочу конслуьтация"))
    assert ok and "fuzzy" in reason
    assert not fuzzy.matches(event("доставка"))[0]


def cond_flow(rules):
    return doc(
        [
            ("start", "trigger", {}),
            ("c", "condition", {"rules": rules}),
            ("else_msg", "message", {"text": "else"}),
            *[(r["id"] + "_msg", "message", {"text": r["id"]}) for r in rules],
        ],
        [
            ("start", "out", "c"),
            ("c", "else", "else_msg"),
            *[("c", r["id"], r["id"] + "_msg") for r in rules],
        ],
    )


def first_port(rules, text="hi", variables=None, channel="test", svc=None):
    flow = load_flow(cond_flow(rules))
    state = {"v": 1, "node": None, "vars": variables or {}}
    result = step(flow, state, event(text, channel=channel), svc or services())
    return result.trace[1]["port"]


def test_condition_variable_operators():
    assert first_port([{"id": "a", "variable": "x", "op": "equals", "value": "YES"}], variables={"x": "yes"}) == "a"
    assert first_port([{"id": "a", "variable": "x", "op": "not_equals", "value": "y"}], variables={"x": "y"}) == "else"
    assert (
        first_port([{"id": "a", "variable": "x", "op": "contains", "value": "cut"}], variables={"x": "Haircut"}) == "a"
    )
    assert first_port([{"id": "a", "variable": "x", "op": "regex", "value": r"^\d{3}$"}], variables={"x": "123"}) == "a"
    assert first_port([{"id": "a", "variable": "x", "op": "empty"}]) == "a"
    assert first_port([{"id": "a", "variable": "x", "op": "not_empty"}], variables={"x": "v"}) == "a"
    assert first_port([{"id": "a", "variable": "x", "op": "greater", "value": "10"}], variables={"x": 11}) == "a"
    assert first_port([{"id": "a", "variable": "x", "op": "less", "value": "10"}], variables={"x": "11"}) == "else"


def test_condition_first_matching_rule_wins_and_non_numbers_warn():
    rules = [
        {"id": "a", "kind": "keywords", "keywords": ["price"]},
        {"id": "b", "kind": "keywords", "keywords": ["price", "cost"]},
    ]
    assert first_port(rules, text="The PRICE please") == "a"
    assert first_port(rules, text="cost?") == "b"
    flow = load_flow(cond_flow([{"id": "a", "variable": "x", "op": "greater", "value": "1"}]))
    result = step(flow, {"v": 1, "vars": {"x": "lots"}}, event("hi"), services())
    assert result.trace[1]["port"] == "else" and "cannot compare" in result.trace[1]["warnings"][0]


def test_condition_channel_and_time_window_in_tenant_timezone():
    assert first_port([{"id": "ig", "kind": "channel", "channels": ["instagram"]}], channel="instagram") == "ig"
    assert first_port([{"id": "ig", "kind": "channel", "channels": ["instagram"]}], channel="telegram") == "else"
    rule = [{"id": "open", "kind": "time", "start": "09:00", "end": "18:00"}]
    svc = services()
    svc.clock = FixedClock(datetime(2026, 1, 5, 7, 30, tzinfo=UTC))  # Monday 07:30 UTC = 10:30 Moscow
    assert first_port(rule, svc=svc) == "else"
    svc.context.timezone = "Europe/Moscow"
    assert first_port(rule, svc=svc) == "open"
    assert first_port([{**rule[0], "days": [5, 6]}], svc=svc) == "else"  # weekend only
    night = [{"id": "night", "kind": "time", "start": "22:00", "end": "06:00"}]
    svc.clock = FixedClock(datetime(2026, 1, 5, 23, 0, tzinfo=UTC))
    svc.context.timezone = None
    assert first_port(night, svc=svc) == "night"


def test_set_variable_renders_and_records_changes():
    flow = linear(
        ("s", "set_variable", {"values": {"greeting": "Hi {{username}}", "n": "1"}}),
        ("m", "message", {"text": "{{greeting}} #{{n}}"}),
    )
    [result] = talk(flow, ["x"])
    assert texts(result) == ["Hi ann_k #1"]
    assert result.trace[1]["vars_changed"] == {"greeting": "Hi ann_k", "n": "1"}


def test_goto_jumps_and_end_finishes():
    flow = doc(
        [
            ("start", "trigger", {}),
            ("jump", "goto", {"target": "there"}),
            ("skipped", "message", {"text": "no"}),
            ("there", "message", {"text": "yes"}),
            ("stop", "end", {}),
        ],
        [("start", "out", "jump"), ("there", "out", "stop"), ("skipped", "out", "there")],
    )
    [result] = talk(flow, ["x"])
    assert texts(result) == ["yes"] and result.finished
    assert [t["node_id"] for t in result.trace] == ["start", "jump", "there", "stop"]
