"""Shared fixtures: app, db, client, tenant, queue (DESIGN.md, flaskr style).

The database is PostgreSQL when TEST_DATABASE_URL or DATABASE_URL is set (CI), else a temporary SQLite
file; the queue is RQ when REDIS_URL is set, else the embedded queue. The schema is built by running the
Alembic migrations, so every run also checks them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from connectors.pipeline.cache import TTLCache
from tests.helpers.web import TEST_QUEUE_PREFIX, login, make_config
from webapp import create_app
from webapp.extensions import db as _db
from webapp.extensions import limiter
from webapp.services.flows import compiled_cache

pytest_plugins = ["tests.fakes.fixtures_all"]



def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    return url or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


def _reset_schema(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if _db.engine.dialect.name == "postgresql":
            with _db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory)


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (fresh `g`, own DB session), as in production, even though
    the test itself holds an app context for its own queries."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    application = create_app(make_config(database_url))
    application.test_client_class = IsolatedClient
    _reset_schema(application)
    yield application


def _clean_tables() -> None:
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    if _db.engine.dialect.name == "postgresql":
        _db.session.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            _db.session.execute(text(f"DELETE FROM {name}"))
    _db.session.commit()


def _clean_queue(app: Flask) -> None:
    queue = app.extensions["job_queue"]
    if queue.backend == "rq":
        for key in queue.connection.scan_iter(match=f"rq:*{TEST_QUEUE_PREFIX}*"):
            queue.connection.delete(key)
    else:
        queue._pending.clear()


@pytest.fixture()
def db(app: Flask) -> Iterator[Any]:
    from webapp.plans import ensure_default_plans

    with app.app_context():
        _clean_tables()
        _clean_queue(app)
        limiter.reset()
        compiled_cache.clear()  # ids restart with the tables: cached versions and routes must not leak
        TTLCache.clear_all()
        ensure_default_plans()
        yield _db
        _db.session.rollback()
        _db.session.remove()


@pytest.fixture()
def client(app: Flask, db: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def queue(app: Flask, db: Any) -> Any:
    return app.extensions["job_queue"]


@pytest.fixture()
def make_tenant(db: Any) -> Any:
    from webapp.services.tenants import create_tenant, create_user

    def factory(name: str = "Acme", plan: str = "PRO", email: str | None = None,
                password: str = "password-123", language: str = "en") -> Any:
        tenant = create_tenant(name, plan, language)
        user = create_user(email or f"owner@{tenant.slug}.example.com", password, tenant.id, False)
        tenant.owner_email, tenant.owner_password = user.email, password
        return tenant

    return factory


@pytest.fixture()
def tenant(make_tenant: Any) -> Any:
    return make_tenant("Acme Salon")


@pytest.fixture()
def staff_user(db: Any) -> Any:
    from webapp.services.tenants import create_user

    user = create_user("staff@platform.example.com", "staff-password-1", None, True)
    user.raw_password = "staff-password-1"
    return user


@pytest.fixture()
def member_client(client: FlaskClient, tenant: Any) -> FlaskClient:
    resp = login(client, tenant.owner_email, tenant.owner_password)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client
