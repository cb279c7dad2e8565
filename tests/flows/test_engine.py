"""Engine behaviour across turns: pause/resume, loop guard, version pinning, state handling."""

import json

from flows import load_flow
from flows.engine import MAX_STEPS, step
from flows.nodes.base import Node, Result
from flows.state import HISTORY_LIMIT, new_state, upgrade_state
from flows.turn import TurnEvent
from tests.flows.helpers import doc, event, linear, services, talk, texts


def two_questions():
    return linear(
        ("q1", "ask", {"text": "Name?", "variable": "name", "validate": "name"}),
        ("q2", "ask", {"text": "Email?", "variable": "email", "validate": "email"}),
        ("done", "message", {"text": "Thanks {{name}} <{{email}}>"}),
    )


def test_pause_and_resume_across_steps_with_serialised_state():
    results = talk(two_questions(), ["hi", "Ann", "ann@example.com"])
    assert [texts(r) for r in results] == [["Name?"], ["Email?"], ["Thanks Ann <ann@example.com>"]]
    assert [r.finished for r in results] == [False, False, True]
    assert results[1].state["node"] == "q2" and results[1].state["vars"] == {"name": "Ann"}
    assert json.loads(json.dumps(results[2].state)) == results[2].state
    assert [h["role"] for h in results[2].state["history"]] == ["user", "assistant"] * 3


def test_step_does_not_mutate_the_callers_state():
    flow = load_flow(two_questions())
    first = step(flow, None, event("hi"), services())
    snapshot = json.dumps(first.state, sort_keys=True)
    step(flow, first.state, event("Ann"), services())
    assert json.dumps(first.state, sort_keys=True) == snapshot


def test_finished_flow_restarts_from_trigger_with_fresh_variables():
    # #19: a completed form restarts by itself only when the flow says after how long (0: at once); without
    # the setting it does not (tests/flows/test_after_flow_routing.py)
    results = talk({**two_questions(), "restart_after_minutes": 0}, ["hi", "Ann", "ann@example.com", "hello again"])
    assert texts(results[3]) == ["Name?"] and results[3].state["vars"] == {}


def test_loop_guard_stops_runaway_loop_without_raising():
    # Validation rejects loops without a waiting node, so the runaway flow is assembled by hand with an
    # unregistered node that jumps to itself: the guard must still stop it.
    class Spin(Node):
        type = "spin_test"
        label = description = "spin"

        def run(self, rt):
            return Result(jump=self.id)

    flow = load_flow(linear(("m", "message", {"text": "hi"})))
    spin = Spin("spin", {})
    nodes = dict(flow.nodes, spin=spin)
    looping = type(flow)(flow.name, nodes, {"start": {"out": "spin"}}, flow.triggers, (), "x")
    result = step(looping, None, event("hi"), services())
    assert result.error and f"stopped after {MAX_STEPS} steps" in result.error
    assert result.trace[-1]["warnings"][0] == result.error
    assert len(result.trace) == MAX_STEPS + 1 and result.finished


def test_node_exception_becomes_error_not_crash():
    class Boom(Node):
        type = "boom_test"
        label = description = "boom"

        def run(self, rt):
            raise RuntimeError("bad node")

    flow = load_flow(linear(("m", "message", {"text": "hi"})))
    broken = type(flow)(flow.name, dict(flow.nodes, b=Boom("b", {})), {"start": {"out": "b"}}, flow.triggers, (), "x")
    result = step(broken, None, event("hi"), services())
    assert result.error == "node 'b' (boom_test) failed: RuntimeError: bad node"


def test_conversation_started_on_v1_keeps_running_on_v1_flow_object():
    v1 = load_flow(two_questions())
    v2_doc = two_questions()
    v2_doc["nodes"][2]["data"]["text"] = "Your e-mail, please?"
    v2_doc["nodes"][3]["data"]["text"] = "v2 thanks"
    v2 = load_flow(v2_doc)
    svc = services()
    first = step(v1, None, event("hi"), svc)
    second = step(v1, first.state, event("Ann"), svc)  # the caller pins the conversation to v1
    assert texts(second) == ["Email?"]
    third = step(v1, second.state, event("a@b.co"), svc)
    assert texts(third) == ["Thanks Ann <a@b.co>"]
    fresh = talk(v2, ["hi", "Bob"])
    assert texts(fresh[1]) == ["Your e-mail, please?"]
    assert v1.fingerprint != v2.fingerprint


def test_state_from_another_version_is_noted_in_trace():
    v1, v2_doc = load_flow(two_questions()), two_questions()
    v2_doc["name"] = "renamed"
    first = step(v1, None, event("hi"), services())
    moved = step(load_flow(v2_doc), first.state, event("Ann"), services())
    assert "different flow version" in moved.trace[0]["warnings"][0] and texts(moved) == ["Email?"]


def test_waiting_node_missing_from_flow_restarts():
    flow = load_flow(two_questions())
    state = {**new_state(), "node": "gone", "waiting": {"node": "gone", "token": None}}
    result = step(flow, state, event("hi"), services())
    assert "not in this flow" in result.trace[0]["warnings"][0] and texts(result) == ["Name?"]


def test_old_state_shape_upgraded_and_bad_state_reported():
    old = {"current": "q2", "variables": {"name": "Ann"}, "awaiting": True}
    upgraded = upgrade_state(old)
    assert upgraded["v"] == 1 and upgraded["waiting"] == {"node": "q2", "token": None}
    result = step(load_flow(two_questions()), old, event("x@y.io"), services())
    assert texts(result) == ["Thanks Ann <x@y.io>"]
    bad = step(load_flow(two_questions()), {"v": 99}, event("x"), services())
    assert bad.error and "version 99" in bad.error and bad.outbound == []


def test_trigger_reason_recorded_and_matching_trigger_chosen():
    flow = doc(
        [
            ("t_any", "trigger", {}),
            ("t_price", "trigger", {"keywords": ["price"]}),
            ("a", "message", {"text": "any"}),
            ("p", "message", {"text": "prices"}),
        ],
        [("t_any", "out", "a"), ("t_price", "out", "p")],
    )
    [result] = talk(flow, ["price?"])  # a keyword trigger before a catch-all placed ahead of it
    assert texts(result) == ["prices"] and "keyword 'price'" in result.trace[0]["note"]
    [result] = talk(flow, ["hello"])
    assert texts(result) == ["any"]
    flow["nodes"][0]["data"] = {"channels": ["telegram"]}
    [result] = talk(flow, ["hello"])
    assert texts(result) == ["any"] and "first trigger" in result.trace[0]["note"]


def test_result_to_dict_is_json_serialisable():
    [result] = talk(two_questions(), ["hi"])
    data = json.loads(json.dumps(result.to_dict()))
    assert data["outbound"][0] == {"text": "Name?", "buttons": [], "kind": "reply", "meta": {}}
    assert data["trace"][-1]["waiting"] is True


def test_history_window_keeps_the_latest_messages():
    flow = doc(
        [("start", "trigger", {}), ("q", "ask", {"text": "more?", "variable": "x"})],
        [("start", "out", "q"), ("q", "ok", "q")],
    )
    results = talk(flow, [f"m{i}" for i in range(10)])
    history = results[-1].state["history"]
    assert len(history) == HISTORY_LIMIT
    assert history[-2:] == [{"role": "user", "text": "m9"}, {"role": "assistant", "text": "more?"}]


def test_timeout_for_a_node_missing_from_this_version_is_ignored():
    flow = load_flow(two_questions())
    state = {**new_state(), "node": "old_wait", "waiting": {"node": "old_wait", "token": "old_wait:3"}}
    result = step(flow, state, event(kind="timeout", token="old_wait:3"), services())
    assert result.outbound == [] and "stale" in result.trace[0]["warnings"][0]


def test_event_without_text_meta_or_contact_is_handled():
    flow = load_flow(
        linear(
            ("m", "message", {"text": "Hi {{username}}"}),
            ("c", "condition", {"rules": [{"id": "k", "kind": "keywords", "keywords": ["x"]}]}),
        )
    )
    result = step(flow, None, TurnEvent("dm", "telegram", None, None, None), services())  # type: ignore[arg-type]
    assert result.error is None and texts(result) == ["Hi "] and result.trace[-1]["port"] == "else"
