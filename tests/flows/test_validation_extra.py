"""Validation messages stay precise around a node with bad data."""

from flows import validate
from tests.fakes.documents import document


def _doc(nodes, edges):
    return document("t", nodes, edges)


def test_nodes_behind_an_invalid_node_are_not_called_unreachable():
    doc = _doc([("start", "trigger", {"channels": ["any"]}), ("bad", "message", {"text": ""}),
                ("after", "message", {"text": "Hello"})],
               [("start", "out", "bad"), ("bad", "out", "after")])
    problems = validate(doc)
    assert [p.code for p in problems if p.node_id == "bad"] == ["bad_data"]
    assert not [p for p in problems if p.code == "unreachable"]


def test_messages_end_with_one_full_stop():
    doc = _doc([("start", "trigger", {"channels": ["any"]}), ("bad", "message", {"text": ""})],
               [("start", "out", "bad")])
    [problem] = [p for p in validate(doc) if p.code == "bad_data"]
    assert problem.message.endswith(".") and not problem.message.endswith("..")
