"""What a turn costs the database: usage counted in the transaction that stores the messages, one claim for a
person's backlog."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.helpers.pipeline import events, outbound, statements
from tests.helpers.webhooks import dm


def counters(db, tenant_id: int) -> tuple[int, int, int]:
    from webapp.models import UsageCounter

    db.session.expire_all()
    row = db.session.query(UsageCounter).filter_by(tenant_id=tenant_id).one_or_none()
    return (row.messages_in, row.messages_out, row.llm_prompt_tokens) if row else (0, 0, 0)


def test_counts_are_added_with_the_commit_and_dropped_with_a_rollback(shop, db):
    from connectors.pipeline import usage

    usage.add(shop.tenant.id, messages_in=1)
    usage.add(shop.tenant.id, messages_out=2, llm_prompt_tokens=30)
    assert usage.current(shop.tenant.id) == usage.Totals(3, 30)  # this transaction sees what it counted
    with statements(db.engine) as seen:
        db.session.commit()
    assert sum("usage_counters" in s for s in seen) == 1  # all of it in one upsert
    assert counters(db, shop.tenant.id) == (1, 2, 30)
    usage.add(shop.tenant.id, messages_in=5)
    db.session.rollback()
    db.session.commit()
    assert counters(db, shop.tenant.id) == (1, 2, 30)


def test_a_turn_counts_its_usage_with_the_messages_it_stores(client, shop, wired, db):
    dm(client, "mid.c1", sender="U-cost")
    [event_row] = events(db)
    from connectors.runtime.jobs import handle_inbound

    with statements(db.engine) as seen:
        handle_inbound(event_row.id)
    upserts = [s for s in seen if s.lstrip().upper().startswith("INSERT INTO USAGE_COUNTERS")]
    assert len(upserts) == 2  # the person's message, then the replies: each with its own transaction
    assert counters(db, shop.tenant.id)[:2] == (1, 2)
    assert [m.delivery_status for m in outbound(db, shop.ig.id)] == ["sent", "sent"]


def test_a_persons_backlog_is_claimed_at_once_and_answered_oldest_first(client, shop, wired, db):
    from connectors.pipeline.turns import process_event

    dm(client, "mid.b1", "hi", sender="U-backlog")
    dm(client, "mid.b2", "Anna", sender="U-backlog")
    dm(client, "mid.b3", "hi", sender="U-other")  # another person's event is not touched
    first, second, other = events(db)
    with statements(db.engine) as seen:
        process_event(second.id)
    claims = [s for s in seen if s.lstrip().upper().startswith("UPDATE INBOUND_EVENTS SET STATUS")
              and "attempts" in s]
    assert len(claims) == 1
    assert [e.status for e in events(db)] == ["done", "done", "queued"]
    assert [e.attempts for e in events(db)] == [1, 1, 0]
    texts = [r.json["message"]["text"] for r in wired.graph.messages]
    assert "Thanks for reaching out" in texts[0] and texts[-1].startswith("What's the best phone number")
    process_event(first.id)  # its own job comes later: already done, nothing sent again
    assert len(wired.graph.messages) == len(texts)


def test_counts_of_a_commit_that_fails_are_not_added_later(shop, db):
    from sqlalchemy.exc import IntegrityError

    from connectors.pipeline import usage
    from webapp.models import Contact

    usage.add(shop.tenant.id, messages_in=7)
    db.session.add(Contact(channel_id=shop.ig.id, external_user_id="dup"))
    db.session.add(Contact(channel_id=shop.ig.id, external_user_id="dup"))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
    else:  # pragma: no cover - the unique key makes the commit fail
        raise AssertionError("expected the duplicate contact to fail the commit")
    db.session.commit()
    assert counters(db, shop.tenant.id) == (0, 0, 0)


def test_counts_are_written_inside_the_transaction_as_its_last_statement(shop, db):
    """Exact under crashes: the count commits with what it counts (never in autocommit after it), and as the
    last statement before COMMIT, so the counter row is locked for one round trip only."""
    from connectors.pipeline import usage
    from webapp.models import Contact

    modes: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        modes.append((statement, conn.get_execution_options().get("isolation_level")))

    usage.add(shop.tenant.id, messages_in=1)
    db.session.add(Contact(tenant_id=shop.tenant.id, channel_id=shop.ig.id, external_user_id="counted"))
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    written = [statement.split()[2] for statement, _ in modes if statement.lstrip().upper().startswith("INSERT")]
    assert written == ["contacts", "usage_counters"]
    assert [mode for statement, mode in modes if "usage_counters" in statement] == [None]
    assert counters(db, shop.tenant.id) == (1, 0, 0)


def test_a_contact_created_by_another_worker_meanwhile_is_reused(shop, db):
    """The turn's first query found no contact, but another worker created it before this turn's INSERT:
    the conflict is not an error, the existing contact is used (and gets this message's profile fields)."""
    from connectors.channels.events import InboundEvent
    from connectors.pipeline.turns import _contact
    from webapp.models import Contact
    from webapp.models.base import utcnow

    existing = Contact(tenant_id=shop.tenant.id, channel_id=shop.ig.id, external_user_id="U-race", name="")
    db.session.add(existing)
    db.session.commit()
    event = InboundEvent("instagram", shop.ig.external_id, "dm", "mid.race", "U-race", "hi",
                         meta={"name": "Anna"})
    contact, created = _contact(None, shop.ig, event, utcnow())
    assert (contact.id, created, contact.name) == (existing.id, False, "Anna")
    fresh, created = _contact(None, shop.ig, InboundEvent("instagram", shop.ig.external_id, "dm", "mid.new",
                                                          "U-new", "hi"), utcnow())
    assert created and fresh.id != existing.id and fresh.external_user_id == "U-new"
    db.session.commit()
    assert db.session.query(Contact).filter_by(channel_id=shop.ig.id).count() == 2
    stored = db.session.get(Contact, fresh.id)  # the column defaults of a Core insert are applied
    assert stored.created_at is not None and stored.profile == {} and stored.last_seen_at is not None
    db.session.expire_all()
    assert db.session.get(Contact, existing.id).name == "Anna"


def test_a_message_waiting_for_the_persons_earlier_turn_holds_no_connection(app, client, shop, wired, db):
    """A person's second message waits for the lock of their first turn (which may wait seconds on a
    model) with its transaction ended: a burst of messages from one person cannot drain the pool."""
    import threading
    import time

    from connectors.pipeline.locks import contact_lock
    from connectors.runtime.jobs import handle_inbound

    dm(client, "mid.wait", sender="U-wait")
    [event_row] = events(db)
    key = f"{event_row.channel_id}:{event_row.user_id}"
    db.session.remove()
    pool = db.engine.pool
    done = threading.Event()

    def second_turn() -> None:
        with app.app_context():
            handle_inbound(event_row.id)
        done.set()

    with contact_lock(key):  # the person's earlier turn is running
        worker = threading.Thread(target=second_turn)
        worker.start()
        time.sleep(0.5)
        assert not done.is_set()  # it is waiting for the lock...
        assert pool.checkedout() == 0  # ...without a connection
    assert done.wait(10)
    worker.join(5)
    assert events(db)[0].status == "done" and len(wired.graph.messages) == 2


def test_a_message_stored_before_a_database_error_is_counted_once(client, shop, wired, db):
    """The turn hits a database error after storing the person's message: the message and its count roll
    back together, and the retry stores and counts it once."""
    from datetime import timedelta

    from connectors.pipeline.sweeper import sweep
    from tests.helpers.pipeline import handle_with_one_driver_error
    from webapp.models import InboundEvent, Message

    dm(client, "mid.count", sender="U-count")
    [stored] = events(db)
    assert handle_with_one_driver_error(  # the published flows' query, after the message is stored
        db, stored.id, lambda sql, params: sql.startswith("SELECT") and "published_version_id" in sql)
    [event_row] = events(db)
    assert event_row.status == "queued"
    assert db.session.query(Message).filter_by(direction="in").count() == 0
    assert counters(db, shop.tenant.id)[:2] == (0, 0)
    db.session.query(InboundEvent).update({"created_at": event_row.created_at - timedelta(minutes=5)})
    db.session.commit()
    sweep()
    wired.queue.drain()
    assert events(db)[0].status == "done"
    assert db.session.query(Message).filter_by(direction="in").count() == 1
    assert counters(db, shop.tenant.id)[:2] == (1, 2)
