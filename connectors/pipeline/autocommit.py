"""Autocommit phases of a turn: statements that need no transaction around them run without one.

A turn's claim, the reads that follow it and the storing of the person's message are statements that need
not be atomic with each other (a retried turn resumes from what was stored: turns.handle_conversation_turn),
and so are the send results and the event's outcome. In autocommit each of them costs its own round trip
only, and is durable when it returns: no BEGIN and COMMIT around it, and no pool checkout (with its pre-ping)
for the next transaction. The statements still go through `db.session`, so the ORM works as usual; the
session's next commit, rollback or close ends the phase (and hands the connection back).
"""

from __future__ import annotations

from typing import Any

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from webapp.extensions import db

_FLAG = "autocommit"  # key in Session.info while the session's connection is in autocommit


def autocommit() -> None:
    """From here to the session's next commit/rollback/close, its statements run in autocommit. What the
    session has pending is committed first (a phase starts with nothing open)."""
    session = db.session()
    if session.info.get(_FLAG):
        return
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[_FLAG] = True


def in_autocommit(session: Session | None = None) -> bool:
    return bool((session or db.session()).info.get(_FLAG))


def holds_connection() -> bool:
    """True while this thread's session may hold a database connection (from its first statement to its
    commit, rollback or close), in a transaction or in autocommit. The worker's run slots (run_slots.py)
    are only given up without one."""
    return has_app_context() and db.session().in_transaction()


@event.listens_for(db.session, "after_transaction_end")
def _phase_ended(session: Session, transaction: SessionTransaction, *_: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_FLAG, None)
