"""`flask flow import` and the template files as shipped (#19): a file of flows/templates/ (the wrapper around
the document) is imported as its document, `--template KEY` imports one from the library, and the mistakes
are refused with exit 1."""

from __future__ import annotations

import json

import pytest

from flows.templates import DIRECTORY


@pytest.fixture()
def run(app, db):
    runner = app.test_cli_runner()

    def invoke(*args: object):
        return runner.invoke(args=[str(a) for a in args])

    return invoke


def ok_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("file_name", ["lead_capture.json", "beauty_salon_booking.ru.json"])
def test_a_shipped_template_file_imports_as_its_document(run, tenant, file_name):
    shipped = json.loads((DIRECTORY / file_name).read_text(encoding="utf-8"))
    imported = ok_json(run("flow", "import", "--tenant", tenant.id, "--publish", DIRECTORY / file_name))
    assert imported["name"] == shipped["document"]["name"] and imported["version"] == 1
    assert imported["problems"] == []
    exported = json.loads(run("flow", "export", "--flow", imported["id"]).stdout)
    assert exported == shipped["document"]  # the document, unchanged, without the wrapper


def test_import_by_template_key(run, tenant, db):
    from webapp.models import Flow

    imported = ok_json(run("flow", "import", "--tenant", tenant.id, "--template", "clinic_appointment_ru",
                           "--name", "Приём"))
    flow = db.session.get(Flow, imported["id"])
    assert flow.tenant_id == tenant.id and flow.name == "Приём"
    assert flow.draft["nodes"][1]["data"]["text"].startswith("Здравствуйте")


def test_import_refuses_an_unknown_key_and_asks_for_one_source(run, tenant):
    unknown = run("flow", "import", "--tenant", tenant.id, "--template", "nope")
    assert unknown.exit_code == 1 and "unknown template 'nope'" in unknown.output
    assert "lead_capture_ru" in unknown.output  # the keys one may use
    neither = run("flow", "import", "--tenant", tenant.id)
    both = run("flow", "import", "--tenant", tenant.id, "--template", "faq_bot", DIRECTORY / "faq_bot.json")
    for result in (neither, both):
        assert result.exit_code == 1 and "either a FILE or --template KEY" in result.output


def test_a_wrapper_around_a_broken_document_is_refused(run, tenant, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"key": "x", "name": "X", "niche": "general", "language": "en",
                                "kind": "scenario", "document": {"schema_version": 1, "nodes": [
                                    {"id": "m", "type": "message", "position": {"x": 0, "y": 0}, "data": {}}],
                                    "edges": []}}), encoding="utf-8")
    result = run("flow", "import", "--tenant", tenant.id, path)
    assert result.exit_code == 1 and "nothing was imported" in result.output
