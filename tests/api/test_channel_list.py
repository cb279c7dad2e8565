"""One list of channels: the channel registry (connectors/channels/registry.py). A channel type registered
there, here a fake one, shows up wherever channels are offered or checked (the editor's node types, flow
validation, the simulator, saved test conversations, the CLI, the settings form, the back-office, adding a
channel) with what it declares (label, text limit, what connecting one needs), and nothing else keeps a copy.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from connectors.channels import registry
from connectors.channels.base import N_, BaseConnector, Needs
from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult
from tests.helpers.web import login

ROOT = Path(__file__).resolve().parents[2]


class FaxConnector(BaseConnector):
    """A channel type nobody wrote code for outside this class."""

    type = "fax"
    label = N_("Fax")
    max_text_length = 160
    webhook_path = "/webhooks/fax/{channel_id}"
    needs = Needs(token=True, external_id="the fax number")

    def verify(self, headers: Mapping[str, str], raw_body: bytes, secret: str) -> bool:
        return False

    def parse(self, raw_body: bytes, account_id: str = "", settings: Mapping[str, Any] | None = None
              ) -> list[InboundEvent]:
        return []

    def send(self, credentials: dict[str, Any], outbound: Outbound, config: ConnectorConfig) -> SendResult:
        return SendResult.skipped("fax")


@pytest.fixture()
def fax() -> Iterator[BaseConnector]:
    registry.register(FaxConnector)
    try:
        yield registry.get_connector("fax")  # type: ignore[misc]
    finally:
        registry.unregister("fax")


def _trigger_channels(types: list[dict[str, Any]]) -> list[list[str]]:
    trigger = next(t for t in types if t["type"] == "trigger")
    return next(f for f in trigger["fields"] if f["name"] == "channels")["choices"]


def _on_channel(draft: dict[str, Any], channel: str) -> dict[str, Any]:
    doc = copy.deepcopy(draft)
    next(n for n in doc["nodes"] if n["type"] == "trigger")["data"]["channels"] = [channel]
    return doc


def test_a_registered_channel_appears_in_the_editor_flows_and_the_simulator(api, lead_flow, fax):
    assert ["fax", "Fax"] in _trigger_channels(api.get("/node-types").get_json()["node_types"])
    fid = lead_flow["id"]
    saved = api.put(f"/flows/{fid}/draft", {"document": _on_channel(lead_flow["draft"], "fax")}).get_json()
    assert [p for p in saved["problems"] if p["severity"] == "error"] == []
    run = api.post(f"/flows/{fid}/simulate", {"messages": ["hi"], "channel": "fax"})
    assert run.status_code == 200, run.get_json()
    assert all(len(r["text"]) <= FaxConnector.max_text_length for t in run.get_json()["turns"] for r in t["replies"])
    saved_test = api.post(f"/flows/{fid}/tests", {"name": "by fax", "messages": ["hi"], "channel": "fax"})
    assert saved_test.status_code == 201 and saved_test.get_json()["channel"] == "fax"


def test_an_unregistered_channel_is_refused_everywhere(api, lead_flow):
    assert "fax" not in [value for value, _label in _trigger_channels(api.get("/node-types").get_json()["node_types"])]
    fid = lead_flow["id"]
    saved = api.put(f"/flows/{fid}/draft", {"document": _on_channel(lead_flow["draft"], "fax")}).get_json()
    assert [p for p in saved["problems"] if p["code"] == "bad_data"]
    assert api.post(f"/flows/{fid}/simulate", {"messages": ["hi"], "channel": "fax"}).status_code == 400


def test_the_cli_offers_and_adds_a_registered_channel_as_it_declares(app, db, tenant, fax):
    runner = app.test_cli_runner()
    assert "fax" in runner.invoke(args=["channel", "add", "--help"]).output
    assert "fax" in runner.invoke(args=["flow", "simulate", "--help"]).output
    missing = runner.invoke(args=["channel", "add", "--tenant", str(tenant.id), "--type", "fax", "--token", "t"])
    assert missing.exit_code == 1 and "--external-id is required for fax: the fax number" in missing.output
    added = runner.invoke(args=["channel", "add", "--tenant", str(tenant.id), "--type", "fax", "--token", "t",
                                "--external-id", "+15550100"])
    assert added.exit_code == 0, added.output
    assert '"type": "fax"' in added.output and "/webhooks/fax/" in added.output
    registry.unregister("fax")
    gone = runner.invoke(args=["channel", "add", "--tenant", str(tenant.id), "--type", "fax"])
    assert gone.exit_code == 2 and "fax" in gone.output  # a usage error: not one of the choices


def test_forms_and_the_back_office_offer_a_registered_channel(client, member_client, app, staff_user, fax):
    preview = member_client.get("/settings/preview").get_data(as_text=True)
    assert '<option value="fax">Fax</option>' in preview
    staff = app.test_client()
    login(staff, staff_user.email, staff_user.raw_password)
    assert '<option value="fax">Fax</option>' in staff.get("/admin/channel/new/").get_data(as_text=True)


def test_the_turn_gets_its_channels_text_limit_from_the_registry(db, tenant, fax):
    from connectors.pipeline.context import tenant_context

    assert tenant_context(tenant, "fax").text_limit == 160
    assert tenant_context(tenant, "webchat").text_limit == registry.get_connector("webchat").max_text_length == 4000
    assert tenant_context(tenant, "test").text_limit is None  # the simulator's own channel: the strictest limit


def test_the_registry_refuses_a_declaration_with_gaps_or_a_taken_name():
    class Nameless(FaxConnector):
        type = ""

    class Unlabelled(FaxConnector):
        type, label = "pager", ""

    class TooLong(FaxConnector):
        type = "a-very-long-channel-type"

    class Impostor(FaxConnector):
        type = "instagram"

    class SecondPage(FaxConnector):
        type, meta_object = "page2", "instagram"

    for cls, message in ((Nameless, "non-empty 'type'"), (Unlabelled, "'label'"), (TooLong, "16 characters"),
                         (Impostor, "already registered"), (SecondPage, "already parsed")):
        with pytest.raises(ValueError, match=message):
            registry.register(cls)
    assert "pager" not in registry.connector_types() and "page2" not in registry.connector_types()


def test_channel_modules_are_discovered_not_listed():
    source = (ROOT / "connectors/channels/registry.py").read_text(encoding="utf-8")
    modules = sorted(p.stem for p in (ROOT / "connectors/channels").glob("*.py")
                     if "@register" in p.read_text(encoding="utf-8"))
    assert modules and not any(f'"{m}"' in source or f".{m}\"" in source for m in modules)
    assert set(registry.connector_types()) >= set(modules) - {"registry"}


#: Files outside connectors/channels that still name several channel types, and why (PROTOCOLS-driven
#: wording, not a list anything is offered or checked from).
KNOWN_COPIES: dict[str, str] = {}


def test_no_other_module_keeps_a_list_of_channel_types():
    """A module that quotes three or more channel type names keeps a list of channels: it should ask the
    registry instead (see KNOWN_COPIES for what is left)."""
    names = registry.connector_types()
    alternatives = "|".join(map(re.escape, names))
    quoted = re.compile(rf"""["']({alternatives})["']""")
    copies = {}
    for package in ("webapp", "flows", "connectors"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("connectors/channels/") or "node_modules" in rel:
                continue
            found = set(quoted.findall(path.read_text(encoding="utf-8")))
            if len(found) >= 3:
                copies[rel] = sorted(found)
    assert sorted(copies) == sorted(KNOWN_COPIES), copies


def test_channel_labels_are_marked_for_extraction_and_translated():
    """Labels are declared with N_ beside the channel (no Flask in the adapters) and the webapp shows them
    translated: in the Russian catalog, and in a Russian user's node types."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    labels = {label for _type, label in registry.channel_choices()}
    marked = {msg for _f, _l, msg, _c, _x in extract_from_dir(str(ROOT / "connectors/channels"), [("**.py", "python")],
                                                              keywords={"N_": None}) if isinstance(msg, str)}
    assert sorted(labels - marked) == []
    with (ROOT / "webapp/translations/ru/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = {m.id: m.string for m in read_po(fh, locale="ru") if m.id and not m.fuzzy}
    assert sorted(label for label in labels if not catalog.get(label)) == []
