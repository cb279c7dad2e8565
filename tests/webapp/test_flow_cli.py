"""`flask flow ...`: import/export round-trip, refusals with exit 1 and the problems, simulate, list,
publish."""

from __future__ import annotations

import json

import pytest


@pytest.fixture()
def run(app, db):
    runner = app.test_cli_runner(mix_stderr=False) if _supports_mix_stderr() else app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=[str(a) for a in args])

    return invoke


def _supports_mix_stderr() -> bool:
    import inspect

    from click.testing import CliRunner

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def ok_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def error_text(result) -> str:
    return (getattr(result, "stderr", "") or "") + result.output


@pytest.fixture()
def template_file(tmp_path):
    from flows.templates import load_template

    path = tmp_path / "lead.json"
    path.write_text(json.dumps(load_template("lead_capture"), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def test_import_then_export_gives_the_identical_document(run, tenant, template_file, tmp_path):
    original = json.loads(template_file.read_text(encoding="utf-8"))
    imported = ok_json(run("flow", "import", "--tenant", tenant.id, template_file))
    assert imported["name"] == original["name"] and "version" not in imported
    assert not [p for p in imported["problems"] if p["severity"] == "error"]
    out = tmp_path / "out.json"
    result = run("flow", "export", "--flow", imported["id"], "--output", out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8")) == original
    assert json.loads(run("flow", "export", "--flow", imported["id"]).stdout) == original


def test_import_keeps_a_document_without_name_unchanged(run, tenant, tmp_path):
    from flows.templates import load_template

    doc = load_template("faq_bot")
    doc.pop("name", None)
    path = tmp_path / "my_faq.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    imported = ok_json(run("flow", "import", "--tenant", tenant.id, path))
    assert imported["name"] == "my_faq"
    assert json.loads(run("flow", "export", "--flow", imported["id"]).stdout) == doc


def test_import_publish_and_name(run, tenant, template_file):
    imported = ok_json(run("flow", "import", "--tenant", tenant.id, "--publish", "--name", "Website leads",
                           template_file))
    assert imported["version"] == 1 and imported["name"] == "Website leads"
    v1 = json.loads(run("flow", "export", "--flow", imported["id"], "--version", "1").stdout)
    assert v1["name"] == "Website leads"
    listed = ok_json(run("flow", "list", "--tenant", tenant.id))
    assert listed == [{"id": imported["id"], "name": "Website leads", "is_default": True,
                       "published_version": 1, "updated_at": listed[0]["updated_at"]}]
    assert ok_json(run("flow", "publish", "--flow", imported["id"]))["version"] == 2


def test_bad_files_exit_1_with_the_reason_and_store_nothing(run, tenant, tmp_path, db):
    from webapp.models import Flow

    cases = {
        "broken.json": ("{not json", "not valid JSON"),
        "list.json": ("[1, 2]", "JSON object"),
        "invalid.json": (json.dumps({"schema_version": 1, "name": "x", "nodes": [],
                                     "edges": [{"id": "e", "source": "a", "target": "b"}]}), "has errors"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        result = run("flow", "import", "--tenant", tenant.id, path)
        assert result.exit_code == 1, (name, result.output)
        assert message in error_text(result), error_text(result)
    invalid = run("flow", "import", "--tenant", tenant.id, tmp_path / "invalid.json")
    assert "[error]" in error_text(invalid)  # each problem is listed
    missing = run("flow", "import", "--tenant", tenant.id, tmp_path / "nope.json")
    assert missing.exit_code == 1 and "cannot read" in error_text(missing)
    assert run("flow", "import", "--tenant", 9999, tmp_path / "invalid.json").exit_code == 1
    assert db.session.query(Flow).count() == 0


def test_export_bad_arguments(run, tenant, template_file):
    fid = ok_json(run("flow", "import", "--tenant", tenant.id, template_file))["id"]
    assert run("flow", "export", "--flow", 999).exit_code == 1
    bad = run("flow", "export", "--flow", fid, "--version", "3")
    assert bad.exit_code == 1 and "no version 3" in error_text(bad)
    assert run("flow", "export", "--flow", fid, "--version", "latest").exit_code == 1


def test_simulate_prints_the_simulator_result(run, tenant, template_file):
    fid = ok_json(run("flow", "import", "--tenant", tenant.id, "--publish", template_file))["id"]
    result = ok_json(run("flow", "simulate", "--flow", fid, "--version", "1", "--message", "hi",
                         "--message", "Anna", "--message", "123", "--message", "+14155552671"))
    turns = result["turns"]
    assert len(turns) == 4 and "valid phone" in turns[2]["replies"][0]["text"]
    assert result["variables"]["phone"] == "+14155552671"
    assert turns[1]["trace"][0]["vars_changed"] == {"name": "Anna"}
    assert run("flow", "simulate", "--flow", fid).exit_code == 1  # nothing to simulate


def test_simulate_comment(run, tenant, tmp_path):
    from flows.templates import load_template

    path = tmp_path / "c.json"
    path.write_text(json.dumps(load_template("instagram_comment_to_dm")), encoding="utf-8")
    fid = ok_json(run("flow", "import", "--tenant", tenant.id, path))["id"]
    result = ok_json(run("flow", "simulate", "--flow", fid, "--channel", "instagram", "--kind", "comment",
                         "--comment", "price please", "--post-id", "p1"))
    kinds = {r["kind"] for r in result["turns"][0]["replies"]}
    assert {"comment_reply", "private_reply"} <= kinds


def test_publish_refused_lists_problems(run, tenant, db):
    from webapp.services.flows import create_flow

    flow = create_flow(tenant, "Empty")
    db.session.commit()
    result = run("flow", "publish", "--flow", flow.id)
    assert result.exit_code == 1 and "no trigger" in error_text(result)
