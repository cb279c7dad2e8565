"""`flask leads export`: the page's filters (--status, --channel, --from, --to, --flow, --q), written in
chunks as keyset batches are read (the same writers as the page's download), and bad input as a clear
message with a non-zero exit."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture()
def run(app, db):
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Any:
        return runner.invoke(args=["leads", "export", *args])

    return invoke


@pytest.fixture()
def seeded(db, tenant, make_tenant):
    from webapp.models import Contact, Conversation, Lead
    from webapp.services.channels import add_channel
    from webapp.services.flows import create_flow

    channel = add_channel(tenant, "webchat")
    flow = create_flow(tenant, "Promo")
    contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id="v", name="Zoe")
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id, flow_id=flow.id)
    db.session.add(conv)
    db.session.flush()
    specs = [("Anna", "new", "telegram", 0, conv.id), ("Boris", "won", "whatsapp", 2, None),
             ("Chen", "new", "instagram", 5, None), ("Dana", "lost", "telegram", 9, None),
             ("Anastasia", "new", "telegram", 12, None)]
    for name, status, channel_type, days, conv_id in specs:
        db.session.add(Lead(tenant_id=tenant.id, fields={"name": name}, status=status, source_channel=channel_type,
                            created_at=T0 - timedelta(days=days), conversation_id=conv_id))
    other = make_tenant("Tenant B")
    other_flow = create_flow(other, "B promo")
    db.session.add(Lead(tenant_id=other.id, fields={"name": "Anna Secret"}, status="new", source_channel="telegram",
                        created_at=T0))
    db.session.commit()
    return {"tenant": tenant.id, "flow": flow.id, "other": other.id, "other_flow": other_flow.id}


def _names(result: Any) -> list[str]:
    assert result.exit_code == 0, result.output
    return [row["name"] for row in json.loads(result.output)]


@pytest.mark.parametrize(("args", "expected"), [
    ((), ["Anna", "Boris", "Chen", "Dana", "Anastasia"]),
    (("--status", "new"), ["Anna", "Chen", "Anastasia"]),
    (("--channel", "telegram"), ["Anna", "Dana", "Anastasia"]),
    (("--from", "2026-11-15"), ["Anna", "Boris", "Chen"]),
    (("--to", "2026-11-15"), ["Chen", "Dana", "Anastasia"]),
    (("--from", "2026-11-11", "--to", "2026-11-18"), ["Boris", "Chen", "Dana"]),
    (("--q", "STAS"), ["Anastasia"]),
    (("--q", "an", "--status", "new", "--channel", "telegram"), ["Anna", "Anastasia"]),
    (("--flow", "{flow}"), ["Anna"]),
])
def test_filters_like_the_page(run, seeded, args, expected):
    args = tuple(a.format(**seeded) for a in args)
    assert _names(run("--tenant", str(seeded["tenant"]), *args)) == expected


def test_streams_csv_and_json_in_batches(run, seeded, monkeypatch):
    from webapp.services import exporting, lead_list
    from webapp.services.exporting import LEAD_EXPORT_COLUMNS

    monkeypatch.setattr(lead_list, "EXPORT_BATCH", 2)   # three keyset batches
    monkeypatch.setattr(exporting, "CHUNK_ROWS", 1)     # a chunk per row
    result = run("--tenant", str(seeded["tenant"]), "--format", "csv", "--channel", "telegram")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert result.output.splitlines()[0] == ",".join(LEAD_EXPORT_COLUMNS)
    assert [r["name"] for r in rows] == ["Anna", "Dana", "Anastasia"]
    assert "Secret" not in result.output
    assert _names(run("--tenant", str(seeded["tenant"]))) == ["Anna", "Boris", "Chen", "Dana", "Anastasia"]


def test_the_export_is_written_chunk_by_chunk(db, seeded, monkeypatch):
    """What the command echoes: a lazy iterator of chunks, not one string built first."""
    from webapp.models import Tenant
    from webapp.services import exporting, lead_list

    monkeypatch.setattr(lead_list, "EXPORT_BATCH", 2)
    monkeypatch.setattr(exporting, "CHUNK_ROWS", 1)
    chunks = exporting.export_chunks(db.session.get(Tenant, seeded["tenant"]), lead_list.LeadFilters(), "csv")
    assert not isinstance(chunks, str | list)
    first = next(chunks)
    assert first.startswith("id,created_at") and first.count("\n") == 2  # the header and one row
    assert len(list(chunks)) >= 4


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "yesterday"), "--from must be a date as YYYY-MM-DD"),
    (("--to", "2026-13-01"), "--to must be a date as YYYY-MM-DD"),
    (("--from", "2026-11-20", "--to", "2026-11-01"), "--from is after --to"),
    (("--flow", "{other_flow}"), "is not a flow of tenant"),
    (("--flow", "999999"), "is not a flow of tenant"),
    (("--flow", str(2**40)), "--flow"),
    (("--channel", "fax"), "unknown --channel 'fax'"),
    (("--status", "married"), "--status"),
    (("--format", "xml"), "--format"),
    (("--q", "a\x00b"), "cannot be stored"),
])
def test_bad_input_is_a_clear_message_and_non_zero_exit(run, seeded, args, message):
    args = tuple(a.format(**seeded) for a in args)
    result = run("--tenant", str(seeded["tenant"]), *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Anna" not in result.output
