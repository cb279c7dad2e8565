"""Pessimistic disconnect handling that pings only connections that sat idle in the pool.

SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip to the server before each transaction.
A worker's turn takes a connection three times within a few milliseconds (a web request once or twice), and
a connection handed back a moment ago is as alive as a ping would show. Connections idle for longer than
`DB_PING_IDLE` seconds, the ones a server restart, an idle timeout or a proxy may have closed meanwhile, are
still pinged on checkout, and one that fails is replaced before the caller sees it, as with pool_pre_ping
(SQLAlchemy's documented "disconnect handling" hook: a checkout listener raising DisconnectionError).
A connection that breaks while in use surfaces as a disconnect error, after which SQLAlchemy invalidates
the whole pool; the pipeline puts such a turn back for a retry (turns.TRANSIENT_ERRORS).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

_RETURNED = "returned_at"  # key in the connection record's info: when it last went back to the pool


def ping_idle_connections(engine: Engine, idle: float) -> None:
    """Install the hooks on `engine` (whose pool_pre_ping is off): ping on checkout after `idle` seconds."""

    def returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_RETURNED)
        if since is None or time.monotonic() - since < idle:  # new, or in use a moment ago
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool replaces it with a new connection and checks out again
            record.info.pop(_RETURNED, None)
            raise exc.DisconnectionError(f"idle connection failed its ping: {error}") from error

    event.listen(engine, "checkin", returned)
    event.listen(engine, "checkout", checkout)
