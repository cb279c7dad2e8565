"""Notifications and events page with keyset ("Older" with an opaque cursor) instead of stopping at the
newest 200: every row is reached once, filters ride along, a bad cursor is a 400, and another tenant's rows
never appear."""

from __future__ import annotations

import re
from typing import Any

import pytest

BAD_CURSORS = ["garbage", "!!!", "MTIz", "x" * 100, "LTEuMA", "MS4zMDAwMDAwMDAwMDA"]


def _walk(client: Any, url: str, row_pattern: str, older_testid: str) -> tuple[list[int], int]:
    """Every id the pages show, following "Older" to the end; and how many pages that took."""
    seen: list[int] = []
    pages = 0
    while url:
        resp = client.get(url)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        body = resp.get_data(as_text=True)
        seen += [int(x) for x in re.findall(row_pattern, body)]
        pages += 1
        found = re.search(rf'data-testid="{older_testid}" href="([^"]+)"', body)
        url = found.group(1).replace("&amp;", "&") if found else None
    return seen, pages


@pytest.fixture()
def notifications(db, tenant, make_tenant):
    from webapp.models import Notification

    mine = [Notification(tenant_id=tenant.id, kind="lead", title=f"note {n}") for n in range(123)]
    other = make_tenant("Tenant B")
    db.session.add_all(mine + [Notification(tenant_id=other.id, kind="lead", title="B secret")])
    db.session.commit()
    return [n.id for n in mine]


def test_notifications_page_to_the_oldest(member_client, notifications):
    seen, pages = _walk(member_client, "/notifications", r'data-testid="notification-(\d+)"', "notifications-older")
    assert seen == sorted(notifications, reverse=True)  # newest first, none twice, none missed (> 200 old cap)
    assert pages == 3
    body = member_client.get("/notifications").get_data(as_text=True)
    assert "B secret" not in body and "Back to the newest" not in body


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_notifications_bad_cursor_is_400(member_client, notifications, cursor):
    resp = member_client.get("/notifications", query_string={"after": cursor})
    assert resp.status_code == 400 and "not valid any more" in resp.get_data(as_text=True)


@pytest.fixture()
def events(db, tenant, make_tenant):
    from webapp.models import InboundEvent
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "webchat")
    failed = [InboundEvent(tenant_id=tenant.id, channel_id=channel.id, external_id=f"f-{n}", kind="webchat",
                           status="failed", error=f"boom {n}") for n in range(60)]
    done = [InboundEvent(tenant_id=tenant.id, channel_id=channel.id, external_id=f"d-{n}", kind="webchat",
                         status="done") for n in range(55)]
    other = make_tenant("Tenant B")
    b_channel = add_channel(other, "webchat")
    db.session.add_all(failed + done + [InboundEvent(tenant_id=other.id, channel_id=b_channel.id,
                                                     external_id="b", kind="webchat", status="failed",
                                                     error="B secret")])
    db.session.commit()
    return {"failed": [e.id for e in failed], "done": [e.id for e in done]}


@pytest.mark.parametrize("status", ["failed", "done"])
def test_events_page_to_the_oldest_keeping_the_status(member_client, events, status):
    seen, pages = _walk(member_client, f"/events?status={status}", r'data-testid="event-(\d+)"', "events-older")
    assert seen == sorted(events[status], reverse=True)
    assert pages == 2
    assert "B secret" not in member_client.get("/events").get_data(as_text=True)


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_events_bad_cursor_is_400(member_client, events, cursor):
    resp = member_client.get("/events", query_string={"status": "failed", "after": cursor})
    assert resp.status_code == 400 and "not valid any more" in resp.get_data(as_text=True)
