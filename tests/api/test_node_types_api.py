"""The palette the editor reads (`GET /api/node-types`) and the channel list the webapp hands to `flows`:
the node types offer the webapp's channels, and drafts, publishing and draft runs are checked against them."""

from __future__ import annotations

import copy


def _channels_field(types: list[dict], type_name: str) -> dict:
    node = next(t for t in types if t["type"] == type_name)
    if type_name == "condition":
        return next(f for f in node["fields"][0]["item_fields"] if f["name"] == "channels")
    return next(f for f in node["fields"] if f["name"] == "channels")


def test_node_types_keep_the_editors_shape_and_offer_the_webapps_channels(api):
    from webapp.services.flow_channels import flow_channel_names

    types = api.get("/node-types").get_json()["node_types"]
    for node in types:
        assert node.keys() == {"type", "label", "description", "category", "ports", "waits", "dynamic_ports", "fields"}
        for field in node["fields"]:
            assert field.keys() - {"item_fields"} == {"name", "label", "kind", "required", "default", "choices", "help"}
    trigger = _channels_field(types, "trigger")["choices"]
    assert trigger[0] == ["any", "Any channel"]
    assert [value for value, _label in trigger[1:]] == flow_channel_names()
    assert ["webchat", "Web chat"] in trigger and ["test", "Test (simulator)"] in trigger
    assert _channels_field(types, "condition")["choices"] == trigger[1:]


def _with_channel(draft: dict, channel: str) -> dict:
    doc = copy.deepcopy(draft)
    trigger = next(n for n in doc["nodes"] if n["type"] == "trigger")
    trigger["data"]["channels"] = [channel]
    return doc


def test_a_draft_naming_an_unknown_channel_has_a_problem_and_neither_publishes_nor_runs(api, lead_flow):
    fid = lead_flow["id"]
    saved = api.put(f"/flows/{fid}/draft", {"document": _with_channel(lead_flow["draft"], "fax")}).get_json()
    [problem] = [p for p in saved["problems"] if p["code"] == "bad_data"]
    assert "Channels (channels)" in problem["message"] and "instagram" in problem["message"]
    assert api.post(f"/flows/{fid}/publish").status_code == 409
    run = api.post(f"/flows/{fid}/simulate", {"messages": ["hi"]})
    assert run.status_code == 400 and run.get_json()["problems"][0]["code"] == "bad_data"

    saved = api.put(f"/flows/{fid}/draft", {"document": _with_channel(lead_flow["draft"], "telegram")}).get_json()
    assert [p for p in saved["problems"] if p["severity"] == "error"] == []
    assert api.post(f"/flows/{fid}/simulate", {"messages": ["hi"], "channel": "telegram"}).status_code == 200
    assert api.post(f"/flows/{fid}/publish").status_code == 200


def test_a_condition_rule_naming_an_unknown_channel_is_a_problem(api, lead_flow):
    doc = copy.deepcopy(lead_flow["draft"])
    doc["nodes"].append({"id": "by_channel", "type": "condition", "position": {"x": 0, "y": 400},
                         "data": {"rules": [{"id": "fx", "kind": "channel", "channels": ["fax"]}]}})
    problems = api.post(f"/flows/{lead_flow['id']}/validate", {"document": doc}).get_json()["problems"]
    assert [p["node_id"] for p in problems if p["code"] == "bad_data"] == ["by_channel"]
