"""Pipeline fixtures: the app pointed at the loopback fakes, a tenant with channels and published flows."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.fakes.documents import llm_answer_flow
from tests.helpers.pipeline import (
    AI_ACCOUNT,
    IG_ACCOUNT,
    IG_TOKEN,
    WA_PHONE_ID,
    WA_TOKEN,
    aim_connectors,
    publish_templates,
)


@pytest.fixture()
def wired(app, db, queue, graph_api, telegram_api, monkeypatch):
    """Connector base URLs at the fakes with fast retries; returns a helper namespace."""
    aim_connectors(app, monkeypatch, graph_api, telegram_api)
    return SimpleNamespace(app=app, db=db, queue=queue, graph=graph_api, telegram=telegram_api)


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


@pytest.fixture()
def ai_shop(wired, make_tenant, openai_fake, monkeypatch):
    from webapp.services.channels import add_channel
    from webapp.services.flows import create_flow, publish

    monkeypatch.setitem(wired.app.config, "OPENAI_API_KEY", "sk-test")
    monkeypatch.setitem(wired.app.config, "OPENAI_BASE_URL", openai_fake.url)
    tenant = make_tenant("AI salon", plan="PRO")
    tenant.profile = {"niche": "beauty salon", "faq": [{"q": "How much is a haircut?", "a": "A haircut is 30 EUR."}]}
    channel = add_channel(tenant, "instagram", external_id=AI_ACCOUNT, token="tok")
    publish(create_flow(tenant, "AI answers", llm_answer_flow()))
    wired.db.session.commit()
    return tenant, channel
