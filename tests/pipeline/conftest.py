"""Pipeline fixtures: the app pointed at the loopback fakes, a tenant with channels and published flows."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from connectors.channels import ratelimit

IG_ACCOUNT = "17841400000000001"
WA_PHONE_ID = "106540352242922"
IG_TOKEN = "IGQV-test-token"
WA_TOKEN = "EAAG-test-token"


@pytest.fixture()
def wired(app, db, queue, graph_api, telegram_api, monkeypatch):
    """Connector base URLs at the fakes with fast retries; returns a helper namespace."""
    for key, value in {"META_GRAPH_URL": graph_api.url, "INSTAGRAM_GRAPH_URL": graph_api.url,
                       "TELEGRAM_API_URL": telegram_api.url, "CONNECTOR_BACKOFF_BASE": 0.01,
                       "CONNECTOR_BACKOFF_MAX": 0.05, "CONNECTOR_TIMEOUT": 5.0,
                       "RATELIMIT_STORAGE_URI": "memory://"}.items():
        monkeypatch.setitem(app.config, key, value)
    ratelimit.reset("memory://")
    return SimpleNamespace(app=app, db=db, queue=queue, graph=graph_api, telegram=telegram_api)


def publish_templates(tenant: Any, *keys: str) -> None:
    from webapp.services.flows import seed_templates_for

    seed_templates_for(tenant, list(keys), publish_now=True)


@pytest.fixture()
def shop(wired, make_tenant):
    """A PRO tenant with Instagram, WhatsApp and web chat channels and two published flows."""
    from webapp.services.channels import add_channel

    tenant = make_tenant("Shop", plan="PRO")
    ig = add_channel(tenant, "instagram", external_id=IG_ACCOUNT, token=IG_TOKEN)
    wa = add_channel(tenant, "whatsapp", external_id=WA_PHONE_ID, token=WA_TOKEN)
    web = add_channel(tenant, "webchat")
    publish_templates(tenant, "lead_capture", "instagram_comment_to_dm")
    return SimpleNamespace(tenant=tenant, ig=ig, wa=wa, web=web)


def events(db, **filters: Any) -> list[Any]:
    from sqlalchemy import select

    from webapp.models import InboundEvent

    db.session.expire_all()
    query = select(InboundEvent).order_by(InboundEvent.id)
    for key, value in filters.items():
        query = query.where(getattr(InboundEvent, key) == value)
    return list(db.session.scalars(query))


def outbound(db, channel_id: int) -> list[Any]:
    from sqlalchemy import select

    from webapp.models import Message

    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(Message.channel_id == channel_id,
                                                         Message.direction == "out").order_by(Message.id)))


def handle_with_one_driver_error(db, event_id: int, matches: Any) -> bool:
    """Run the event's job with the first statement for which `matches(statement, parameters)` is true
    failing at the driver boundary, as a dropped server connection does; True when it did fail."""
    from sqlalchemy import event as sa_event

    from connectors.runtime.jobs import handle_inbound

    driver_error = db.engine.dialect.dbapi.OperationalError  # psycopg or sqlite3
    broken = {"left": 1}

    def fail_once(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if broken["left"] and matches(statement.lstrip(), parameters):
            broken["left"] -= 1
            raise driver_error("server closed the connection unexpectedly")

    sa_event.listen(db.engine, "before_cursor_execute", fail_once)
    try:
        handle_inbound(event_id)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", fail_once)
    return broken["left"] == 0
