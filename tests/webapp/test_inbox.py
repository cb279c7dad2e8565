"""The operator inbox: filters, the channel filter, unread counts from the real pipeline, reading, keyset
paging (stable over equal timestamps), bad arguments as 400s, the JSON the poller reads, and isolation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.helpers.pipeline import publish_templates
from tests.helpers.webhooks import webchat_send

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _conversation(db: Any, tenant: Any, channel: Any, who: str, *, at: datetime = T0, paused: bool = False,
                  status: str = "open", unread: int = 0, owner: str | None = None,
                  messages: tuple[tuple[str, str], ...] = ()) -> Any:
    from webapp.models import Contact, Conversation, Message

    contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id=f"ext-{who}", name=who)
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id, bot_paused=paused,
                        status=status, unread_count=unread, human_owner=owner, updated_at=at,
                        state={"big": "x" * 1000})
    db.session.add(conv)
    db.session.flush()
    for direction, text in messages:
        db.session.add(Message(tenant_id=tenant.id, conversation_id=conv.id, channel_id=channel.id,
                               direction=direction, text=text))
    db.session.commit()
    return conv


def _ids(client: Any, query: str = "") -> list[int]:
    resp = client.get(f"/inbox.json{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [row["id"] for row in resp.get_json()["rows"]]


@pytest.fixture()
def web(tenant: Any) -> Any:
    from webapp.services.channels import add_channel

    return add_channel(tenant, "webchat", name="Site chat")


def test_filters_badges_and_rows(member_client, db, tenant, web):
    bot = _conversation(db, tenant, web, "Ann", at=T0, unread=2, messages=(("in", "hello"), ("out", "Hi Ann!")))
    human = _conversation(db, tenant, web, "Ben", at=T0 + timedelta(minutes=1), paused=True, unread=1,
                          owner="op@shop.example", messages=(("in", "I want a human"),))
    closed = _conversation(db, tenant, web, "Cat", at=T0 + timedelta(minutes=2), status="closed")
    closed_paused = _conversation(db, tenant, web, "Dan", at=T0 + timedelta(minutes=3), status="closed",
                                  paused=True, unread=4)

    assert _ids(member_client) == [closed_paused.id, closed.id, human.id, bot.id]  # newest first
    assert _ids(member_client, "?filter=needs_human") == [human.id]
    assert _ids(member_client, "?filter=bot") == [bot.id]
    assert _ids(member_client, "?filter=closed") == [closed_paused.id, closed.id]

    data = member_client.get("/inbox.json").get_json()
    assert data["counts"] == {"needs_human": 1, "unread": 7} and data["next"] is None
    row = {r["id"]: r for r in data["rows"]}
    assert row[human.id]["state"] == "needs_human" and row[human.id]["human_owner"] == "op@shop.example"
    assert row[human.id]["preview"] == "I want a human" and row[human.id]["preview_direction"] == "in"
    assert row[bot.id]["preview"] == "Hi Ann!" and row[bot.id]["preview_direction"] == "out"
    assert row[bot.id]["contact"] == "Ann" and row[bot.id]["channel_name"] == "Site chat"
    assert row[closed.id]["preview"] == "" and row[closed_paused.id]["state"] == "closed"
    assert "big" not in str(data)  # never the conversation's engine state

    page = member_client.get("/inbox?filter=needs_human")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Ben" in html and "Ann" not in html and "op@shop.example" in html
    assert 'data-badge="needs_human">1<' in html and 'data-badge="unread" title="unread">7<' in html
    assert "inbox.js" in html and 'data-poll-url="/inbox.json?filter=needs_human"' in html


def test_badges_are_capped(member_client, db, tenant, web):
    from webapp.dashboard.inbox import BADGE_CAP

    for i in range(BADGE_CAP + 3):
        _conversation(db, tenant, web, f"p{i}", paused=True, unread=1)
    data = member_client.get("/inbox.json").get_json()
    assert data["counts"] == {"needs_human": BADGE_CAP + 1, "unread": BADGE_CAP + 1}
    assert data["badges"] == {"needs_human": f"{BADGE_CAP}+", "unread": f"{BADGE_CAP}+"}


def test_channel_filter(member_client, db, tenant, web, make_tenant):
    from webapp.services.channels import add_channel

    other_web = add_channel(tenant, "webchat", name="Second site")
    first = _conversation(db, tenant, web, "Ann", paused=True, unread=3)
    second = _conversation(db, tenant, other_web, "Ben", paused=True, unread=1)
    assert _ids(member_client, f"?channel={other_web.id}") == [second.id]
    data = member_client.get(f"/inbox.json?channel={web.id}&filter=needs_human").get_json()
    assert [r["id"] for r in data["rows"]] == [first.id] and data["counts"] == {"needs_human": 1, "unread": 3}
    html = member_client.get(f"/inbox?channel={web.id}").get_data(as_text=True)
    assert f'<option value="{web.id}" selected>' in html and "Second site" in html  # the select lists both

    foreign = add_channel(make_tenant("Tenant B"), "webchat", name="B's chat")
    for path in ("/inbox", "/inbox.json"):
        assert member_client.get(f"{path}?channel={foreign.id}").status_code == 404
        for bad in ("abc", "-1", "1.5", "99999999999999999999", "٣"):
            assert member_client.get(f"{path}?channel={bad}").status_code == 400, bad
    assert member_client.get("/inbox.json?channel=abc").get_json()["error"]


def test_unread_counts_come_from_the_pipeline_and_opening_reads(member_client, db, tenant, web, queue):
    from webapp.dashboard.inbox import mark_read
    from webapp.models import Conversation

    publish_templates(tenant, "lead_capture")
    for n, text in enumerate(("hello", "Anna", "+49 151 2345678")):
        assert webchat_send(member_client, web.public_key, text, f"c{n}").status_code == 202
        queue.drain()
    row = member_client.get("/inbox.json").get_json()["rows"][0]
    assert row["unread_count"] == 3 and row["state"] == "bot" and row["preview_direction"] == "out"

    conv = db.session.get(Conversation, row["id"])
    before = conv.updated_at
    mark_read(conv)
    db.session.commit()
    db.session.expire_all()
    conv = db.session.get(Conversation, row["id"])
    assert conv.unread_count == 0 and conv.updated_at == before  # reading does not reorder the inbox
    webchat_send(member_client, web.public_key, "one more", "c9")
    queue.drain()
    assert member_client.get("/inbox.json").get_json()["rows"][0]["unread_count"] == 1


def test_opening_a_conversation_marks_it_read(member_client, db, tenant, web):
    conv = _conversation(db, tenant, web, "Ann", unread=5, messages=(("in", "hi"),))
    assert member_client.get(f"/conversations/{conv.id}").status_code == 200
    assert _ids(member_client) == [conv.id]
    assert member_client.get("/inbox.json").get_json()["rows"][0]["unread_count"] == 0


def test_keyset_paging_is_stable_over_equal_timestamps(member_client, db, tenant, web):
    from webapp.dashboard.inbox import PAGE_SIZE

    # 120 conversations over three instants: most neighbours tie on updated_at, the id breaks the tie.
    convs = [_conversation(db, tenant, web, f"c{i}", at=T0 + timedelta(seconds=i % 3)) for i in range(120)]
    expected = [c.id for c in sorted(convs, key=lambda c: (c.updated_at, c.id), reverse=True)]
    seen: list[int] = []
    cursor = None
    sizes = []
    while True:
        data = member_client.get("/inbox.json" + (f"?after={cursor}" if cursor else "")).get_json()
        sizes.append(len(data["rows"]))
        seen += [r["id"] for r in data["rows"]]
        cursor = data["next"]
        if cursor is None:
            break
    assert sizes == [PAGE_SIZE, PAGE_SIZE, 120 - 2 * PAGE_SIZE]
    assert seen == expected

    first = member_client.get("/inbox").get_data(as_text=True)
    assert 'data-testid="inbox-older"' in first and "data-poll-url" in first
    older = first.split('data-testid="inbox-older" href="')[1].split('"')[0].replace("&amp;", "&")
    second = member_client.get(older).get_data(as_text=True)
    assert f'data-id="{expected[PAGE_SIZE]}"' in second and f'data-id="{expected[0]}"' not in second
    assert "data-poll-url" not in second  # a later page is not refreshed under the operator
    assert "Back to the newest" in second


def test_paging_keeps_the_filter(member_client, db, tenant, web):
    from webapp.dashboard.inbox import PAGE_SIZE

    paused = [_conversation(db, tenant, web, f"h{i}", paused=True, at=T0 + timedelta(seconds=i))
              for i in range(PAGE_SIZE + 5)]
    for i in range(10):
        _conversation(db, tenant, web, f"b{i}", at=T0 + timedelta(seconds=i))
    data = member_client.get("/inbox.json?filter=needs_human").get_json()
    rest = member_client.get(f"/inbox.json?filter=needs_human&after={data['next']}").get_json()
    assert [r["id"] for r in data["rows"] + rest["rows"]] == [c.id for c in reversed(paused)]
    assert rest["next"] is None


def test_assigned_to_me_pages_only_the_members_own(member_client, db, tenant, web):
    """"Assigned to me": the conversations the signed-in member took over (open or closed), keyset-paged
    like the other views; another member's and unassigned ones never appear."""
    from webapp.dashboard.inbox import PAGE_SIZE

    me = tenant.owner_email
    mine = [_conversation(db, tenant, web, f"m{i}", paused=True, owner=me, at=T0 + timedelta(seconds=i))
            for i in range(PAGE_SIZE + 3)]
    mine.append(_conversation(db, tenant, web, "closed-mine", status="closed", owner=me,
                              at=T0 + timedelta(seconds=PAGE_SIZE + 10)))
    _conversation(db, tenant, web, "theirs", paused=True, owner="op@shop.example", at=T0 + timedelta(hours=1))
    _conversation(db, tenant, web, "nobody", at=T0 + timedelta(hours=1))
    data = member_client.get("/inbox.json?filter=mine").get_json()
    rest = member_client.get(f"/inbox.json?filter=mine&after={data['next']}").get_json()
    assert [r["id"] for r in data["rows"] + rest["rows"]] == [c.id for c in reversed(mine)]
    assert rest["next"] is None and len(data["rows"]) == PAGE_SIZE
    page = member_client.get("/inbox?filter=mine")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="filter-mine"' in html and "Assigned to me" in html
    assert "theirs" not in html and "nobody" not in html
    assert 'data-poll-url="/inbox.json?filter=mine"' in html


@pytest.mark.parametrize("cursor", [
    "garbage!", "abc", base64.urlsafe_b64encode(b"x.y").decode(), base64.urlsafe_b64encode(b"1.0").decode(),
    base64.urlsafe_b64encode(b"1.99999999999").decode(), base64.urlsafe_b64encode(b"99999999999999999999.1").decode(),
    base64.urlsafe_b64encode(b"-99999999999999999.1").decode(), base64.urlsafe_b64encode("1.\u0663".encode()).decode(),
    "A" * 200,
])
def test_a_bad_cursor_is_a_400(member_client, db, web, cursor):
    html = member_client.get(f"/inbox?after={cursor}")
    assert html.status_code == 400 and "not valid any more" in html.get_data(as_text=True)
    resp = member_client.get(f"/inbox.json?after={cursor}")
    assert resp.status_code == 400 and "not valid any more" in resp.get_json()["error"]


def test_an_unknown_filter_is_a_400(member_client, db):
    assert member_client.get("/inbox?filter=everything").status_code == 400
    assert "needs_human" in member_client.get("/inbox.json?filter=everything").get_json()["error"]


def test_the_old_list_redirects_with_its_arguments(member_client, db, web):
    resp = member_client.get(f"/conversations?filter=closed&channel={web.id}")
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/inbox?filter=closed&channel={web.id}"
    assert member_client.get("/conversations").headers["Location"] == "/inbox"


def test_another_tenants_conversations_are_never_listed(member_client, db, tenant, web, make_tenant):
    from webapp.services.channels import add_channel

    mine = _conversation(db, tenant, web, "Mine", paused=True, unread=1)
    b = make_tenant("Tenant B")
    b_web = add_channel(b, "webchat", name="B's chat")
    _conversation(db, b, b_web, "Secret Bob", at=T0 + timedelta(hours=1), paused=True, unread=9,
                  messages=(("in", "B's private message"),))
    for query in ("", "?filter=needs_human", "?filter=bot", "?filter=closed"):
        for path in ("/inbox", "/inbox.json"):
            body = member_client.get(path + query).get_data(as_text=True)
            assert "Secret Bob" not in body and "B's" not in body, path + query
    data = member_client.get("/inbox.json").get_json()
    assert [r["id"] for r in data["rows"]] == [mine.id] and data["counts"] == {"needs_human": 1, "unread": 1}


def test_the_inbox_needs_a_member(client, db, staff_user):
    from tests.helpers.web import login

    assert client.get("/inbox.json").status_code == 302  # to the sign-in page, never data
    login(client, staff_user.email, staff_user.raw_password)
    assert client.get("/inbox").status_code == 302  # staff work in /admin


def test_a_message_without_text_is_previewed_by_its_kind(member_client, db, tenant, web):
    """A photo or a voice note is the newest message: the inbox names it instead of an empty line."""
    from webapp.models import Message

    photo = _conversation(db, tenant, web, "Eve", messages=(("out", "Hi!"),))
    voice = _conversation(db, tenant, web, "Fay", at=T0 + timedelta(minutes=1))
    odd = _conversation(db, tenant, web, "Gus", at=T0 + timedelta(minutes=2))
    for conv, content in ((photo, "image"), (voice, "audio"), (odd, "hologram")):
        db.session.add(Message(tenant_id=tenant.id, conversation_id=conv.id, channel_id=web.id, direction="in",
                               text="", payload={"content": content, "media": [{"kind": content}]}))
    db.session.commit()
    rows = {r["id"]: r for r in member_client.get("/inbox.json").get_json()["rows"]}
    assert rows[photo.id]["preview"] == "\U0001f5bc Photo" and rows[photo.id]["preview_direction"] == "in"
    assert rows[voice.id]["preview"] == "\U0001f3a4 Voice or audio"
    assert rows[odd.id]["preview"] == "\u2709 Message the bot cannot read"
    assert "\U0001f5bc Photo" in member_client.get("/inbox").get_data(as_text=True)
