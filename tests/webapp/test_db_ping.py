"""Checkout pings only for connections that sat idle; a dead idle connection is replaced unseen."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from webapp.db_ping import ping_idle_connections


@pytest.fixture()
def engine(db):
    """An engine of its own on the test database, with the hooks the app installs (pool_pre_ping off)."""
    own = create_engine(db.engine.url, pool_pre_ping=False, pool_size=1, max_overflow=0)
    ping_idle_connections(own, idle=0.2)
    pings: list[int] = []
    real = own.dialect.do_ping

    def counting(dbapi_connection):
        pings.append(1)
        return real(dbapi_connection)

    own.dialect.do_ping = counting  # type: ignore[method-assign]
    own.pings = pings  # type: ignore[attr-defined]
    yield own
    own.dispose()


def test_a_connection_handed_back_a_moment_ago_is_not_pinged(engine):
    for _ in range(5):
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    assert engine.pings == []


def test_an_idle_connection_is_pinged_on_checkout(engine):
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    time.sleep(0.3)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert len(engine.pings) == 1


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(engine, db):
    if engine.dialect.name != "postgresql":
        pytest.skip("server-side connection termination is a PostgreSQL test")
    with engine.connect() as conn:
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with db.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        admin.commit()
    time.sleep(0.3)
    with engine.connect() as conn:  # no error reaches the caller: the pool reconnected after the ping failed
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != backend
    assert len(engine.pings) == 1
