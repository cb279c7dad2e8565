"""choose_flow, diff_documents and node_types."""

import json

from flows import diff_documents, load_flow, node_types, registry, validate
from flows.select import choose_flow
from flows.simulator import simulate
from tests.flows.helpers import event, linear


def flow_with_trigger(**data):
    document = linear(("m", "message", {"text": "x"}))
    document["nodes"][0]["data"] = data
    document["name"] = data.get("name_", "")
    return load_flow(document)


def test_keyword_flow_beats_earlier_catch_all_and_reason_is_given():
    candidates = [("general", flow_with_trigger()), ("promo", flow_with_trigger(keywords=["sale"]))]
    key, reason = choose_flow(candidates, event("Is the SALE on?"), "general")
    assert key == "promo" and "keyword 'sale' matched" in reason
    key, reason = choose_flow(candidates, event("hello"), "general")
    assert key == "general" and "accepts any text" in reason


def test_channel_and_kind_filters_then_default():
    ig_comments = flow_with_trigger(channels=["instagram"], kinds=["comment"])
    candidates = [("ig", ig_comments)]
    assert choose_flow(candidates, event("hi", kind="comment", channel="instagram"), "d")[0] == "ig"
    key, reason = choose_flow(candidates, event("hi", kind="dm", channel="instagram"), "d")
    assert key == "d" and "default" in reason
    assert choose_flow(candidates, event("hi", channel="telegram"), None) == (
        None,
        "no flow's trigger matched and there is no default flow",
    )


def test_fuzzy_keyword_and_timeout_never_selects():
    candidates = [("book", flow_with_trigger(keywords=["appointment"], match="fuzzy"))]
    assert choose_flow(candidates, event("can I get an apointment"), None)[0] == "book"
    assert choose_flow(candidates, event(kind="timeout"), "book")[0] is None


def test_diff_reports_added_removed_and_changed_fields():
    a = linear(("m", "message", {"text": "hi"}), ("q", "ask", {"variable": "v"}))
    b = json.loads(json.dumps(a))
    b["nodes"][1]["data"]["text"] = "hello"
    b["nodes"][1]["data"]["buttons"] = ["x"]
    b["nodes"][2]["position"] = {"x": 5, "y": 5}
    b["nodes"].append({"id": "new", "type": "end", "data": {}})
    b["nodes"] = [n for n in b["nodes"] if n["id"] != "start"]
    b["edges"] = [{"id": "z", "source": "q", "sourceHandle": "ok", "target": "new"}]
    diff = diff_documents(a, b)
    assert diff["added"] == ["new"] and diff["removed"] == ["start"]
    assert diff["changed"] == [
        {"id": "m", "fields": ["buttons", "text", "edges"]},
        {"id": "q", "fields": ["position", "edges"]},
    ]
    assert diff_documents(a, json.loads(json.dumps(a))) == {"added": [], "removed": [], "changed": []}


def test_node_types_are_json_and_describe_every_registered_type():
    types = node_types()
    json.dumps(types)
    by_type = {t["type"]: t for t in types}
    expected = {
        "trigger",
        "message",
        "ask",
        "condition",
        "set_variable",
        "llm",
        "faq",
        "lead",
        "notify",
        "handoff",
        "follow_up",
        "http_request",
        "comment_reply",
        "goto",
        "end",
    }
    assert expected <= set(by_type)  # a new node type is one more module, not an edit here
    assert by_type["ask"]["ports"] == ["ok", "failed"] and by_type["ask"]["waits"] is True
    assert by_type["follow_up"]["waits"] and not by_type["message"]["waits"]
    assert by_type["condition"]["dynamic_ports"] == {"field": "rules", "key": "id"}
    assert by_type["message"]["dynamic_ports"] is None
    kinds = {"text", "textarea", "select", "multiselect", "number", "bool", "list", "keyvalue", "json"}
    for t in types:
        assert t["label"] and t["description"] and t["category"]
        for field in t["fields"]:
            assert field["kind"] in kinds and field["label"]
            assert field.keys() >= {"name", "label", "kind", "required", "default", "choices", "help"}


def test_defaults_from_the_form_fields_make_a_valid_node():
    """The editor creates new nodes from field defaults; with required fields filled they must load."""
    samples = {
        "text": "Hi",
        "variable": "v",
        "values": {"v": "1"},
        "target": "q",
        "url": "https://x.io",
        "delay": 5,
        "public_text": "Thanks",
    }
    for t in node_types():
        if t["type"] == "trigger":
            continue
        data = {f["name"]: f["default"] for f in t["fields"] if f["default"] is not None}
        data.update({f["name"]: samples[f["name"]] for f in t["fields"] if f["required"] and f["name"] in samples})
        if t["type"] == "comment_reply":
            data["public_text"] = "Thanks"
        document = linear(("q", "ask", {"variable": "x"}), (t["type"] + "_node", t["type"], data))
        assert [p for p in validate(document) if p.severity == "error"] == [], t["type"]


def test_form_fields_match_each_data_schema():
    """The form is read off the schema: every data key but the editor's own is a labelled form field."""
    for cls in registry.all_types():
        schema = cls.schema()
        form = cls.describe()["fields"]
        schema_keys = {f.data_key or name for name, f in schema.fields.items()} - {"label", "note"}
        assert {f["name"] for f in form} == schema_keys, cls.type
        required = {f.data_key or n for n, f in schema.fields.items() if f.required}
        assert {f["name"] for f in form if f["required"]} == required, cls.type
        for field in form + [item for f in form for item in f.get("item_fields", ())]:
            assert field["label"] != field["name"] and field["label"][0].isupper(), (cls.type, field["name"])


def test_flow_format_doc_example_is_valid_and_covers_every_node_type():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "flow-format.md").read_text(encoding="utf-8")
    example = json.loads(text.split("## Complete example", 1)[1].split("```json", 1)[1].split("```", 1)[0])
    assert validate(example) == []
    result = simulate(example, channel="telegram", kind="message", messages=["hi", "555", "+1 202 555 0143"])
    assert "valid phone number" in result["turns"][1]["replies"][0]["text"]
    assert [e["type"] for e in result["effects"]] == ["lead", "notify"]
    documented = set(re.findall(r"^#### `(\w+)`", text, re.MULTILINE))
    assert documented == {t["type"] for t in node_types()}


def test_the_default_flow_answers_first_among_catch_all_flows():
    candidates = [("lead", flow_with_trigger()), ("assistant", flow_with_trigger()),
                  ("promo", flow_with_trigger(keywords=["sale"]))]
    key, reason = choose_flow(candidates, event("hello"), "assistant")
    assert key == "assistant" and "accepts any text" in reason
    assert choose_flow(candidates, event("hello"), "gone")[0] == "lead"
    assert choose_flow(candidates, event("hello"), None)[0] == "lead"
    assert choose_flow(candidates, event("any sale?"), "assistant")[0] == "promo"
