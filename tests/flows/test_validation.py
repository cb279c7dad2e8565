"""Static validation: every bad document is rejected with a clear message."""

import pytest

from flows import FlowError, load_flow, validate
from tests.flows.helpers import doc, linear


def codes(document, severity=None):
    return [(p.code, p.node_id) for p in validate(document) if severity in (None, p.severity)]


def messages(document):
    return " | ".join(p.message for p in validate(document))


def test_clean_document_has_no_problems():
    assert validate(linear(("m", "message", {"text": "hi"}))) == []


def test_unknown_node_type():
    document = linear(("x", "teleport", {}))
    assert ("unknown_node_type", "x") in codes(document)
    assert "unknown type 'teleport'" in messages(document)


def test_bad_data_becomes_human_messages():
    document = linear(("q", "ask", {"validate": "zodiac", "max_retries": "many", "colour": "red"}))
    msgs = [p.message for p in validate(document) if p.code == "bad_data"]
    assert any("Save answer as (variable): is required" in m for m in msgs)
    assert any("Validate as (validate): Must be one of" in m for m in msgs)
    assert any("Re-ask times (max_retries): must be a whole number" in m for m in msgs)
    assert any("colour: is not a setting of this node type" in m for m in msgs)
    assert all(m.startswith("Ask 'q':") for m in msgs)


def test_bad_regex_and_choice_without_choices():
    assert "invalid regular expression" in messages(
        linear(("q", "ask", {"variable": "v", "validate": "regex", "pattern": "(["}))
    )
    assert "needs at least one choice" in messages(linear(("q", "ask", {"variable": "v", "validate": "choice"})))
    rules = [{"id": "a", "variable": "x", "op": "regex", "value": "(("}]
    assert "invalid regular expression" in messages(linear(("c", "condition", {"rules": rules})))
    rules[0]["value"] = "(a+)+$"
    assert "can hang" in messages(linear(("c", "condition", {"rules": rules})))
    assert "two-letter country code" in messages(linear(("q", "ask", {"variable": "p", "region": "Russia"})))


def test_dangling_edges_and_goto():
    document = linear(("m", "message", {"text": "hi"}))
    document["edges"].append({"id": "bad", "source": "m", "sourceHandle": "out", "target": "ghost"})
    assert ("dangling_edge", "m") in codes(document)
    assert "Edge 'bad' points to missing node 'ghost'" in messages(document)
    assert ("dangling_goto", "g") in codes(linear(("g", "goto", {"target": "nowhere"})))


def test_unknown_port_and_missing_port():
    document = doc(
        [("start", "trigger", {}), ("q", "ask", {"variable": "v"}), ("m", "message", {"text": "x"})],
        [("start", "out", "q"), ("q", "yes", "m")],
    )
    assert ("unknown_port", "q") in codes(document)
    assert "output 'yes', which ask does not have (ok, failed)" in messages(document)
    document["edges"][1]["sourceHandle"] = None
    assert ("missing_port", "q") in codes(document)


def test_single_port_edge_without_handle_is_accepted():
    document = doc([("start", "trigger", {}), ("m", "message", {"text": "x"})], [("start", None, "m")])
    assert validate(document) == []


def test_output_with_two_edges_is_an_error():
    document = doc(
        [("start", "trigger", {}), ("a", "message", {"text": "a"}), ("b", "message", {"text": "b"})],
        [("start", "out", "a"), ("start", "out", "b")],
    )
    assert ("duplicate_output", "start") in codes(document, "error")
    assert "Output 'out' of 'start' has two edges" in messages(document)


def test_unreachable_node_is_a_warning():
    document = doc(
        [("start", "trigger", {}), ("a", "message", {"text": "a"}), ("island", "message", {"text": "b"})],
        [("start", "out", "a")],
    )
    assert codes(document) == [("unreachable", "island")]
    assert validate(document)[0].severity == "warning"
    load_flow(document)  # warnings do not block


def test_missing_trigger():
    document = doc([("a", "message", {"text": "a"})], [])
    assert ("missing_trigger", None) in codes(document, "error")
    assert "no trigger node" in messages(document)


def test_unset_variable_warning_but_builtins_count_as_set():
    document = linear(
        ("m", "message", {"text": "{{name}} {{profile.offer}} {{contact.phone}} {{last_message}}"}),
        ("n", "message", {"text": "{{favourite_colour}}"}),
        ("c", "condition", {"rules": [{"id": "r", "variable": "budget", "op": "empty"}]}),
    )
    assert codes(document) == [("unset_variable", "n"), ("unset_variable", "c")]
    assert "uses variable 'favourite_colour', which no node sets" in messages(document)
    set_later = linear(
        ("s", "set_variable", {"values": {"favourite_colour": "red"}}),
        ("n", "message", {"text": "{{favourite_colour}}"}),
    )
    assert validate(set_later) == []


def test_loop_without_waiting_node_is_an_error_but_loop_through_ask_is_fine():
    spinning = doc(
        [("start", "trigger", {}), ("a", "message", {"text": "a"}), ("b", "goto", {"target": "a"})],
        [("start", "out", "a"), ("a", "out", "b")],
    )
    assert ("endless_loop", "a") in codes(spinning, "error")
    assert "would spin forever: a → b" in messages(spinning)
    waiting = doc(
        [("start", "trigger", {}), ("a", "message", {"text": "a"}), ("q", "ask", {"variable": "v"})],
        [("start", "out", "a"), ("a", "out", "q"), ("q", "ok", "a")],
    )
    assert validate(waiting) == []


def test_loop_bypassing_the_waiting_node_is_still_an_error():
    document = doc(
        [
            ("start", "trigger", {}),
            ("c", "condition", {"rules": [{"id": "r", "kind": "keywords", "keywords": ["x"]}]}),
            ("q", "ask", {"variable": "v"}),
            ("m", "message", {"text": "m"}),
        ],
        [("start", "out", "c"), ("c", "r", "q"), ("q", "ok", "c"), ("c", "else", "m"), ("m", "out", "c")],
    )
    assert ("endless_loop", "c") in codes(document, "error")


def test_duplicate_node_ids():
    document = linear(("m", "message", {"text": "a"}))
    document["nodes"].append({"id": "m", "type": "message", "data": {"text": "b"}})
    assert ("duplicate_node_id", "m") in codes(document)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "must be a JSON object"),
        ({"schema_version": 9, "nodes": []}, "newer than this engine"),
        ({"schema_version": 1}, "nodes: is required"),
        ({"schema_version": 1, "nodes": [{"type": "message"}]}, "nodes → item 1 → id: is required"),
    ],
)
def test_broken_envelopes(document, expected):
    [problem] = validate(document)
    assert problem.code == "bad_document" and expected in problem.message


def test_load_flow_raises_flow_error_with_all_problems():
    document = doc([("a", "teleport", {}), ("b", "message", {})], [])
    with pytest.raises(FlowError) as caught:
        load_flow(document)
    assert {p.code for p in caught.value.problems} >= {"unknown_node_type", "bad_data"}
    assert "teleport" in str(caught.value)
    assert caught.value.problems[0].to_dict().keys() == {"node_id", "severity", "code", "message"}


def test_v0_document_is_upgraded():
    old = {
        "name": "old",
        "nodes": [
            {"id": "start", "type": "trigger", "config": {}},
            {"id": "m", "type": "message", "config": {"text": "hi"}},
        ],
        "edges": [{"from": "start", "to": "m", "port": "out"}],
    }
    flow = load_flow(old)
    assert flow.target("start", "out") == "m"
    assert "config" in old["nodes"][0]  # input untouched
