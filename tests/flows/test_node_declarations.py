"""One declaration per node type: the data schema drives validation, the inspector form, the channel choices
the caller passes in, the translatable texts and the docs table; node modules are discovered, not listed."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from marshmallow import fields, validate

import flows
from flows import node_types, reference, registry
from flows.nodes.base import DataSchema
from flows.nodes.form import N_, form, form_fields
from tests.flows.helpers import doc, linear

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = [("instagram", "Instagram"), ("telegram", "Telegram")]


def _field(types: list[dict], type_name: str, name: str) -> dict:
    node = next(t for t in types if t["type"] == type_name)
    return next(f for f in node["fields"] if f["name"] == name)


def test_the_form_is_read_off_the_schema():
    class Sample(DataSchema):
        text = fields.String(required=True, metadata=form(N_("Text"), "textarea", help=N_("Say it.")))
        mode = fields.String(load_default="a", validate=validate.OneOf(["a", "b"]), metadata=form(N_("Mode")))
        tags = fields.List(fields.String(validate=validate.OneOf(["x", "y"])), load_default=list,
                           metadata=form(N_("Tags")))
        lines = fields.List(fields.String(), load_default=list, metadata=form(N_("Lines")))
        count = fields.Integer(required=True, metadata=form(N_("Count"), default=3))
        ratio = fields.Float(load_default=0.5, metadata=form(N_("Ratio")))
        on = fields.Boolean(load_default=True, metadata=form(N_("On")))
        pairs = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict,
                            metadata=form(N_("Pairs")))
        body = fields.Raw(load_default=None, allow_none=True, metadata=form(N_("Body")))
        region = fields.String(load_default="", validate=validate.OneOf(["", "US"]),
                               metadata=form(N_("Region"), "text"))

    got = {f["name"]: f for f in form_fields(Sample)}
    assert list(got) == ["text", "mode", "tags", "lines", "count", "ratio", "on", "pairs", "body", "region"]
    assert got["text"] == {"name": "text", "label": "Text", "kind": "textarea", "required": True, "default": None,
                           "choices": None, "help": "Say it."}
    assert (got["mode"]["kind"], got["mode"]["choices"], got["mode"]["default"]) == ("select", ["a", "b"], "a")
    assert (got["tags"]["kind"], got["tags"]["choices"], got["tags"]["default"]) == ("multiselect", ["x", "y"], [])
    assert [got[n]["kind"] for n in ("lines", "count", "ratio", "on", "pairs", "body")] == [
        "list", "number", "number", "bool", "keyvalue", "json"]
    assert (got["count"]["required"], got["count"]["default"]) == (True, 3)
    assert (got["region"]["kind"], got["region"]["choices"]) == ("text", None)
    first, second = form_fields(Sample), form_fields(Sample)
    first[2]["default"].append("mutated")
    assert second[2]["default"] == []


def test_a_list_of_objects_gets_item_fields_from_its_nested_schema():
    rules = _field(node_types(), "condition", "rules")
    assert rules["kind"] == "json" and rules["required"] is True
    assert rules["default"] == [{"id": "yes", "kind": "keywords", "keywords": ["yes"]}]
    items = {f["name"]: f for f in rules["item_fields"]}
    assert list(items)[:4] == ["id", "kind", "variable", "op"]
    assert items["id"]["required"] and items["op"]["choices"][0] == "equals"


def test_channel_fields_offer_the_callers_channels():
    types = node_types(channels=CHANNELS)
    assert _field(types, "trigger", "channels")["choices"] == [
        ["any", "Any channel"], ["instagram", "Instagram"], ["telegram", "Telegram"]]
    rule_channels = next(f for f in _field(types, "condition", "rules")["item_fields"] if f["name"] == "channels")
    assert rule_channels["kind"] == "multiselect"
    assert rule_channels["choices"] == [["instagram", "Instagram"], ["telegram", "Telegram"]]
    json.dumps(types)


def _channel_flow(trigger_channels: list[str], rule_channels: list[str]) -> dict:
    return doc(
        [("start", "trigger", {"channels": trigger_channels}),
         ("c", "condition", {"rules": [{"id": "ig", "kind": "channel", "channels": rule_channels}]})],
        [("start", "out", "c")],
    )


def test_validation_takes_the_allowed_channels_from_the_caller():
    document = _channel_flow(["any", "messenger"], ["messenger"])
    assert [p for p in flows.validate(document, channels=["messenger"]) if p.severity == "error"] == []
    problems = [p for p in flows.validate(document, channels=["instagram", "telegram"]) if p.code == "bad_data"]
    assert [p.node_id for p in problems] == ["start", "c"]
    assert "Channels (channels)" in problems[0].message and "any, instagram, telegram" in problems[0].message
    with pytest.raises(flows.FlowError):
        flows.load_flow(document, channels=["instagram"])


def test_without_a_channel_list_any_channel_name_loads():
    """A stored version is loaded to run without a list: a channel taken out of the list must not stop it."""
    document = _channel_flow(["messenger"], ["messenger"])
    assert [p for p in flows.validate(document) if p.severity == "error"] == []
    assert flows.load_flow(document).nodes["start"].data["channels"] == ["messenger"]


def test_translate_reaches_the_texts_and_nothing_else():
    marked = node_types(channels=CHANNELS, translate=lambda text: f"«{text}»")
    plain = node_types(channels=CHANNELS)
    trigger = next(t for t in marked if t["type"] == "trigger")
    assert trigger["label"] == "«Trigger»" and trigger["description"].startswith("«Starts")
    channels = _field(marked, "trigger", "channels")
    assert channels["label"] == "«Channels»"
    assert channels["choices"] == [["any", "«Any channel»"], ["instagram", "Instagram"], ["telegram", "Telegram"]]
    assert _field(marked, "ask", "variable")["help"] == "«e.g. phone»"
    for got, want in zip(marked, plain, strict=True):
        assert {k: v for k, v in got.items() if k not in ("label", "description", "fields")} == {
            k: v for k, v in want.items() if k not in ("label", "description", "fields")}
        for got_field, want_field in zip(got["fields"], want["fields"], strict=True):
            for key in ("name", "kind", "required", "default"):
                assert got_field[key] == want_field[key]


def test_node_modules_are_discovered_not_listed(tmp_path, monkeypatch):
    package = tmp_path / "extra_nodes"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "delay.py").write_text(
        "from flows.nodes.base import Node, Result\n"
        "class Base(Node):\n"
        "    pass\n"
        "class Delay(Base):\n"
        "    type = 'delay'\n"
        "    label = description = 'Delay'\n"
        "    def run(self, rt):\n"
        "        return Result(port='out')\n"
    )
    (package / "helpers.py").write_text("from extra_nodes.delay import Delay\nVALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = registry.discover("extra_nodes")
    assert list(found) == ["delay"] and found["delay"].__name__ == "Delay"
    (package / "twin.py").write_text("from extra_nodes.delay import Base\nclass Twin(Base):\n    type = 'delay'\n")
    with pytest.raises(ValueError, match="'delay' is defined twice"):
        registry.discover("extra_nodes")


def test_every_module_in_flows_nodes_is_found():
    modules = {p.stem for p in (ROOT / "flows/nodes").glob("*.py")} - {"__init__", "base", "form"}
    assert {cls.__module__.rpartition(".")[2] for cls in registry.all_types()} == modules
    assert registry.get("ask") is not None and registry.get("nope") is None


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_registry_depends_on_the_nodes_and_flows_on_nothing_of_ours():
    assert _imports(ROOT / "flows/nodes/__init__.py") == set()
    for path in (ROOT / "flows/nodes").glob("*.py"):
        assert "flows.registry" not in _imports(path), path.name
    outside = ("flask", "flask_babel", "webapp", "connectors", "sqlalchemy", "redis", "rq", "httpx", "requests")
    for path in (ROOT / "flows").rglob("*.py"):
        bad = {name for name in _imports(path) if name.split(".")[0] in outside}
        assert bad == set(), (path.name, bad)


def test_the_docs_table_is_generated_from_the_declarations():
    text = (ROOT / "docs/flow-format.md").read_text(encoding="utf-8")
    assert reference.current(text) == reference.section(), (
        "run `.venv/bin/python -m flows.reference docs/flow-format.md`")
    assert "| `variable` | text | yes |  | e.g. phone |" in reference.section()


def test_the_walkthrough_in_the_docs_adds_a_working_node_type(tmp_path, monkeypatch):
    """The "Adding a node type" example, run as written: its module is found and behaves as its test says."""
    text = (ROOT / "docs/flow-format.md").read_text(encoding="utf-8")
    walkthrough = text.split("## Adding a node type", 1)[1]
    module, test = [block.split("```", 1)[0] for block in walkthrough.split("```python\n")[1:3]]
    package = tmp_path / "walkthrough_nodes"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "delay.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    found = registry.discover("walkthrough_nodes")
    assert list(found) == ["delay"]
    monkeypatch.setitem(registry._types(), "delay", found["delay"])  # as if it were in flows/nodes/
    [problem] = [p for p in flows.validate(linear(("d", "delay", {}))) if p.code == "bad_data"]
    assert problem.message == "Delay 'd': Wait (seconds) (seconds): is required."
    described = next(t for t in node_types() if t["type"] == "delay")
    assert described["waits"] and described["fields"][0]["default"] == 60
    namespace: dict = {}
    exec(compile(test, "test_node_delay.py", "exec"), namespace)  # noqa: S102 (the docs' own example)
    namespace["test_delay_waits_for_its_timer_then_goes_on"]()
