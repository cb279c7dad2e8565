"""A customer waiting for a person: the team told of each message, and a "we'll get back to you" once per
wait when nobody answers within the tenant's time.

While a person owns a conversation (the bot paused) a customer's message starts a wait (`waiting_since`,
kept until a person answers, hands back or closes: webapp/services/handoff.py) and notifies the team. The
sweeper finds waits older than the tenant's `handoff_wait_minutes` (the partial index
ix_conversation_waiting holds only conversations that wait) and stores the notice as a normal outbound
message, claimed by marking `auto_reply_sent_at` in the same transaction: one notice per wait, whichever
process sweeps.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select, tuple_, update

from connectors.runtime.queue import QueueUnavailable, get_queue
from webapp.extensions import db
from webapp.models import Conversation, Tenant
from webapp.models.base import as_utc
from webapp.services.handoff_settings import handoff_settings

from . import store
from .delivery import record_once
from .effects import notify

log = logging.getLogger(__name__)

_V = Conversation.__table__
MIN_WAIT = timedelta(minutes=1)  # the shortest wait a tenant may set: older waits are the candidates


def customer_waiting(tenant_id: int, conversation_id: int, text: str, now: datetime) -> None:
    """A customer wrote while a person owns the conversation: the wait starts (if it had not) and the team
    (the owner named in the payload) is told. In the turn's transaction."""
    owner = db.session.execute(
        update(_V).where(_V.c.id == conversation_id)
        .values(waiting_since=func.coalesce(_V.c.waiting_since, literal(now, _V.c.waiting_since.type)))
        .returning(_V.c.human_owner)).scalar()
    preview = " ".join((text or "").split())
    notify(tenant_id, "customer_waiting", "A customer is waiting for your reply", preview[:500],
           conversation_id=conversation_id, human_owner=owner)


def send_waiting_notices(now: datetime, *, batch: int = 200) -> int:
    """The sweeper's part: each wait older than its tenant's setting gets the notice once; returns how many
    were stored (their delivery is enqueued; the sweeper's own delivery pass covers a lost job).

    The waits are read oldest first in keyset batches until none is left: a batch of waits that are not due
    (a tenant with a long wait, or the notice switched off) must not hide the due ones behind it."""
    stored: list[int] = []
    after: tuple[datetime, int] | None = None
    while True:
        query = (select(_V.c.id, _V.c.tenant_id, _V.c.waiting_since)
                 .where(_V.c.waiting_since.isnot(None), _V.c.waiting_since <= now - MIN_WAIT,
                        _V.c.auto_reply_sent_at.is_(None), _V.c.status == "open", _V.c.bot_paused.is_(True))
                 .order_by(_V.c.waiting_since, _V.c.id).limit(batch))
        if after is not None:
            query = query.where(tuple_(_V.c.waiting_since, _V.c.id) > after)
        rows = db.session.execute(query).all()
        if not rows:
            db.session.commit()
            break
        after = (rows[-1].waiting_since, rows[-1].id)
        tenants = {t.id: t for t in db.session.execute(
            select(Tenant.id, Tenant.status, Tenant.settings, Tenant.language)
            .where(Tenant.id.in_({r.tenant_id for r in rows})))}
        for row in rows:
            tenant = tenants.get(row.tenant_id)
            if tenant is None or tenant.status != "active":
                continue
            wanted = handoff_settings(tenant.settings, tenant.language)
            if not wanted.wait_minutes or as_utc(row.waiting_since) > now - timedelta(minutes=wanted.wait_minutes):
                continue
            if _store_notice(row, wanted.wait_text, now):
                stored.append(row.id)
            db.session.commit()
        if len(rows) < batch:
            db.session.commit()
            break
    for conversation_id in stored:
        try:
            get_queue().enqueue("connectors.runtime.jobs.deliver_conversation", conversation_id)
        except QueueUnavailable:
            log.warning("waiting notice of conversation %s left for the sweeper (queue down)", conversation_id)
    return len(stored)


def _store_notice(row: Any, text: str, now: datetime) -> bool:
    """Claim this wait's notice (the conditional update) and store the message, in one transaction."""
    claimed = db.session.execute(
        update(_V).where(_V.c.id == row.id, _V.c.auto_reply_sent_at.is_(None),
                         _V.c.waiting_since == row.waiting_since).values(auto_reply_sent_at=now)).rowcount
    conv = db.session.get(Conversation, row.id) if claimed == 1 else None
    channel = store.channel(conv.channel_id) if conv is not None else None
    if conv is None or channel is None:
        db.session.rollback()
        return False
    key = f"wait:{row.id}:{int(as_utc(row.waiting_since).timestamp() * 1_000_000)}"  # this wait's start
    return record_once(row.tenant_id, channel, conv, kind="message", text=text, key=key,
                       meta={"auto": "waiting"}) is not None

