"""Comments and messages are different entry points: a comment never answers a waiting question."""

from __future__ import annotations

import json
from typing import Any

from flows import load_flow
from flows.engine import step
from flows.select import choose_flow
from flows.simulator import simulate
from tests.flows.helpers import doc, event, services, texts

NAME = ("ask_name", "ask", {"text": "What's your name?", "variable": "name", "validate": "name"})
PHONE = ("ask_phone", "ask", {"text": "Your phone?", "variable": "phone", "validate": "phone"})
REPLY = ("reply", "comment_reply", {"public_text": "See DM", "private_text": "Hi from the comment!"})
COMMENT_TRIGGER = {"channels": ["instagram"], "kinds": ["comment"], "keywords": ["price"]}


def both_entries(*, comment_waits: bool = False) -> dict[str, Any]:
    """One flow, two triggers: DMs ask for name then phone; a "price" comment gets the comment replies
    (and, with `comment_waits`, waits for the DM answer to it)."""
    nodes = [("dm", "trigger", {"kinds": ["dm"]}), NAME, PHONE, ("c", "trigger", COMMENT_TRIGGER), REPLY]
    edges = [("dm", "out", "ask_name"), ("ask_name", "ok", "ask_phone"), ("c", "out", "reply")]
    if comment_waits:
        nodes.append(("offer_q", "ask", {"text": "", "variable": "answer"}))
        nodes.append(("offer", "message", {"text": "Our offer for {{answer}}"}))
        edges += [("reply", "out", "offer_q"), ("offer_q", "ok", "offer")]
    return doc(nodes, edges)


def comment(text: str = "price?", comment_id: str = "C1") -> Any:
    return event(text, kind="comment", channel="instagram", comment_id=comment_id, post_id="P1")


def dm(text: str) -> Any:
    return event(text, kind="dm", channel="instagram")


def run(flow: Any, state: dict[str, Any] | None, ev: Any) -> Any:
    result = step(flow, state, ev, services(channel="instagram"))
    return result, json.loads(json.dumps(result.state))


def test_a_comment_never_answers_the_pending_dm_question_and_the_next_dm_still_does():
    flow = load_flow(both_entries())
    asked, state = run(flow, None, dm("hi"))
    assert texts(asked) == ["What's your name?"] and state["waiting"]["node"] == "ask_name"
    commented, kept = run(flow, state, comment())
    assert [(m.kind, m.text) for m in commented.outbound] == [
        ("comment_reply", "See DM"),
        ("private_reply", "Hi from the comment!"),
    ]
    assert commented.state_kept
    assert kept["waiting"] == state["waiting"] and kept["vars"] == {} and kept["node"] == "ask_name"
    assert kept["history"][-2:] == [
        {"role": "user", "text": "price?"},
        {"role": "assistant", "text": "Hi from the comment!"},
    ]
    answered, after = run(flow, kept, dm("Anna"))
    assert texts(answered) == ["Your phone?"] and after["vars"] == {"name": "Anna"}
    assert not answered.state_kept


def test_the_pending_question_keeps_its_variables_and_follow_up_token():
    flow = load_flow(both_entries())
    _, state = run(flow, None, dm("hi"))
    _, state = run(flow, state, dm("Anna"))
    state["waiting"]["token"] = "ask_phone:2"
    commented, kept = run(flow, state, comment())
    assert kept["vars"] == {"name": "Anna"} and kept["waiting"] == {"node": "ask_phone", "token": "ask_phone:2"}
    assert kept["turn"] == state["turn"] + 1  # new wait tokens stay unique


def test_a_comment_run_that_waits_becomes_the_conversation():
    flow = load_flow(both_entries(comment_waits=True))
    _, state = run(flow, None, dm("hi"))
    commented, state = run(flow, state, comment())
    assert not commented.state_kept and state["waiting"]["node"] == "offer_q"
    assert [m.kind for m in commented.outbound] == ["comment_reply", "private_reply"]
    answered, _ = run(flow, state, dm("shoes"))
    assert texts(answered) == ["Our offer for shoes"]


def test_a_comment_with_a_pending_question_of_another_flow_version_runs_beside_it():
    """The pipeline passes a DM flow's state to the comment flow; equal node ids must not be resumed."""
    dm_flow = load_flow(doc([("start", "trigger", {}), ("q", "ask", {"text": "Name?", "variable": "name"})],
                            [("start", "out", "q")]))
    comment_flow = load_flow(doc([("start", "trigger", COMMENT_TRIGGER), REPLY,
                                  ("q", "ask", {"text": "", "variable": "x"})],
                                 [("start", "out", "reply")]))
    _, state = run(dm_flow, None, dm("hi"))
    commented, kept = run(comment_flow, state, comment())
    assert [m.kind for m in commented.outbound] == ["comment_reply", "private_reply"]
    assert commented.state_kept and kept["waiting"] == {"node": "q", "token": None}
    assert kept["flow"] == dm_flow.fingerprint
    answered, _ = run(dm_flow, kept, dm("Anna"))
    assert answered.state["vars"] == {"name": "Anna"}


def test_a_comment_never_enters_a_dm_flow_nor_restarts_it():
    """A catch-all trigger that reaches no comment reply does not take comments: the conversation is
    neither answered with the comment's text nor restarted; nothing is sent."""
    flow = load_flow(doc([("start", "trigger", {}), NAME], [("start", "out", "ask_name")]))
    _, state = run(flow, None, dm("hi"))
    commented, kept = run(flow, state, comment("nice photo"))
    assert commented.outbound == [] and commented.state_kept and kept == state
    assert "no trigger of this flow accepts this comment" in commented.trace[-1]["warnings"][0]
    fresh, _ = run(flow, None, comment("nice photo"))
    assert fresh.outbound == [] and fresh.state["node"] is None


def test_which_triggers_accept_comments():
    dm_only = load_flow(doc([("t", "trigger", {"kinds": ["dm"]}), REPLY], [("t", "out", "reply")]))
    catch_all_reply = load_flow(doc([("t", "trigger", {}), REPLY], [("t", "out", "reply")]))
    reply_after_wait = load_flow(doc([("t", "trigger", {}), NAME, REPLY],
                                     [("t", "out", "ask_name"), ("ask_name", "ok", "reply")]))
    named = load_flow(doc([("t", "trigger", {"kinds": ["dm", "comment"]}), NAME], [("t", "out", "ask_name")]))
    assert [f.comment_triggers for f in (dm_only, catch_all_reply, reply_after_wait, named)] == [
        (), ("t",), (), ("t",)]


def test_choose_flow_routes_a_comment_only_to_a_flow_that_accepts_it():
    lead = load_flow(doc([("start", "trigger", {}), NAME], [("start", "out", "ask_name")]))
    comments = load_flow(doc([("start", "trigger", COMMENT_TRIGGER), REPLY], [("start", "out", "reply")]))
    candidates = [("lead", lead), ("comments", comments)]
    assert choose_flow(candidates, comment("price?"), "lead")[0] == "comments"
    assert choose_flow(candidates, comment("nice photo"), "lead") == (
        None, "no published flow has a trigger that accepts this comment")
    assert choose_flow(candidates, dm("price?"), "lead")[0] == "lead"


def test_simulator_runs_a_comment_beside_a_pending_question_like_the_pipeline():
    flow = load_flow(both_entries())
    first = simulate(flow, channel="instagram", kind="dm", messages=["hi"])
    result = simulate(flow, channel="instagram", kind="dm", state=first["state"],
                      comment={"text": "price?", "post_id": "P1"}, messages=["Anna"])
    comment_turn, answer = result["turns"]
    assert [r["kind"] for r in comment_turn["replies"]] == ["comment_reply", "private_reply"]
    assert [r["text"] for r in answer["replies"]] == ["Your phone?"]
    assert result["variables"] == {"name": "Anna"}
