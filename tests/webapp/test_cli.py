"""The operator CLI: JSON out, non-zero exit with a clear message on bad input."""

from __future__ import annotations

import json

import pytest


@pytest.fixture()
def run(app, db):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    return invoke


def ok_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_tenant_create_and_list(run):
    created = ok_json(run("tenant", "create", "--name", "Nail Bar", "--plan", "PRO"))
    assert created["plan"] == "PRO" and created["slug"] == "nail-bar"
    listed = ok_json(run("tenant", "list"))
    assert [t["name"] for t in listed] == ["Nail Bar"]


@pytest.mark.parametrize("args, message", [
    (("tenant", "create", "--name", "X", "--plan", "GOLD"), "unknown plan 'GOLD'"),
    (("tenant", "create", "--name", "  ", "--plan", "PRO"), "--name must not be empty"),
    (("user", "create", "--email", "not-an-email", "--password", "password-1", "--staff"), "invalid --email"),
    (("user", "create", "--email", "a@b.example.com", "--password", "short", "--staff"), "at least 8"),
    (("user", "create", "--email", "a@b.example.com", "--password", "password-1"), "exactly one of"),
    (("user", "create", "--email", "a@b.example.com", "--password", "password-1", "--tenant", "999"),
     "tenant 999 does not exist"),
    (("channel", "add", "--tenant", "999", "--type", "webchat"), "tenant 999 does not exist"),
    (("leads", "export", "--tenant", "999"), "tenant 999 does not exist"),
])
def test_bad_input_exits_non_zero_with_message(run, args, message):
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output


def test_unknown_channel_type_is_a_usage_error(run):
    tenant = ok_json(run("tenant", "create", "--name", "T", "--plan", "START"))
    result = run("channel", "add", "--tenant", str(tenant["id"]), "--type", "fax")
    assert result.exit_code == 2 and "fax" in result.output


def test_user_create_duplicate_email(run):
    ok_json(run("user", "create", "--email", "Boss@Example.com", "--password", "password-1", "--staff"))
    result = run("user", "create", "--email", "boss@example.com", "--password", "password-1", "--staff")
    assert result.exit_code == 1 and "already exists" in result.output


def test_channel_add_prints_id_and_webhook_url(run):
    tenant = ok_json(run("tenant", "create", "--name", "Shop", "--plan", "PRO"))
    ch = ok_json(run("channel", "add", "--tenant", str(tenant["id"]), "--type", "whatsapp",
                     "--external-id", "106540352242922", "--token", "EAAG-token"))
    assert ch["id"] and ch["webhook_url"] == "https://bots.example.test/webhooks/meta"
    assert "EAAG-token" not in json.dumps(ch)
    dup = run("channel", "add", "--tenant", str(tenant["id"]), "--type", "whatsapp",
              "--external-id", "106540352242922", "--token", "t")
    assert dup.exit_code == 1 and "already connected" in dup.output
    missing = run("channel", "add", "--tenant", str(tenant["id"]), "--type", "instagram", "--token", "t")
    assert missing.exit_code == 1 and "--external-id is required" in missing.output


def test_channel_limit_of_the_plan_is_enforced(run):
    tenant = ok_json(run("tenant", "create", "--name", "Tiny", "--plan", "START"))
    ok_json(run("channel", "add", "--tenant", str(tenant["id"]), "--type", "webchat"))
    second = run("channel", "add", "--tenant", str(tenant["id"]), "--type", "webchat")
    assert second.exit_code == 1 and "allows 1 channel" in second.output


def test_plan_list_shows_features_and_limits(run):
    plans = {p["code"]: p for p in ok_json(run("plan", "list"))}
    assert set(plans) == {"START", "BUSINESS", "PRO"}
    assert "integrations" in plans["PRO"]["features"] and "integrations" not in plans["START"]["features"]
    assert plans["PRO"]["priority"] == "high" and plans["START"]["priority"] == "low"


def test_leads_export_json_and_csv(run, db):
    from webapp.models import Lead

    tenant = ok_json(run("tenant", "create", "--name", "Leads Co", "--plan", "PRO"))
    other = ok_json(run("tenant", "create", "--name", "Other Co", "--plan", "PRO"))
    db.session.add(Lead(tenant_id=tenant["id"], fields={"name": "Anna", "phone": "+37120000000"},
                        source_channel="telegram"))
    db.session.add(Lead(tenant_id=other["id"], fields={"name": "Not mine"}, source_channel="telegram"))
    db.session.commit()
    rows = ok_json(run("leads", "export", "--tenant", str(tenant["id"])))
    assert [r["name"] for r in rows] == ["Anna"]
    csv_out = run("leads", "export", "--tenant", str(tenant["id"]), "--format", "csv")
    assert csv_out.exit_code == 0
    assert csv_out.output.splitlines()[0].startswith("id,created_at,status")
    assert "+37120000000" in csv_out.output and "Not mine" not in csv_out.output


def test_layers_seed_adds_the_library_layers_once_and_keeps_staff_edits(run, make_tenant, db):
    from webapp.models import PromptLayer
    from webapp.services.prompts import layer_dicts

    first = ok_json(run("layers", "seed"))
    assert "platform:base" in first["added"] and "niche:beauty" in first["added"] and first["kept"] == []
    base = db.session.query(PromptLayer).filter_by(key="base").one()
    db.session.add(PromptLayer(tenant_id=None, kind="platform", key="base", name=base.name, text="Staff's own.",
                               version=2))
    db.session.query(PromptLayer).filter_by(key="retail").update({"active": False})  # switched off by staff
    db.session.commit()
    again = ok_json(run("layers", "seed"))
    assert again["added"] == [] and sorted(again["kept"]) == sorted(first["added"])
    salon = make_tenant("Salon", plan="PRO")
    salon.profile = {"niche": "Beauty salon"}
    db.session.commit()
    layers = {(d["kind"], d["key"]): d["text"] for d in layer_dicts(salon)}
    assert layers[("platform", "base")] == "Staff's own."  # the newest version, not the shipped text
    assert "specialist" in layers[("niche", "beauty")]
    assert ("niche", "real_estate") not in layers and ("niche", "retail") not in layers


def test_worker_log_level_must_be_a_known_level(run):
    result = run("worker", "--burst", "--log-level", "LOUD")
    assert result.exit_code == 2 and "LOUD" in result.output
