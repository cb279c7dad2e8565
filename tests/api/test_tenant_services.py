"""Which LLM the simulator uses: the tenant's real provider only with a key and the `llm` feature."""

from __future__ import annotations


def test_offline_without_a_key(app, tenant, monkeypatch):
    from connectors.pipeline.context import tenant_llm

    monkeypatch.setitem(app.config, "OPENAI_API_KEY", "")
    assert tenant_llm(tenant) is None


def test_provider_with_a_key_and_the_plan_model(app, tenant, monkeypatch, db):
    from connectors.pipeline.context import tenant_llm
    from connectors.providers.llm import OpenAIProvider

    monkeypatch.setitem(app.config, "OPENAI_API_KEY", "sk-test")
    tenant.plan.llm_model = "plan-model"
    provider = tenant_llm(tenant)
    assert isinstance(provider, OpenAIProvider)
    db.session.rollback()


def test_no_llm_feature_means_offline(app, make_tenant, monkeypatch, db):
    from connectors.pipeline.context import tenant_llm

    monkeypatch.setitem(app.config, "OPENAI_API_KEY", "sk-test")
    t = make_tenant("No AI")
    t.plan.features = []
    assert tenant_llm(t) is None
    db.session.rollback()


def test_services_carry_the_tenant_context(tenant, db):
    from webapp.services.simulation import tenant_services

    tenant.language = "ru"
    services = tenant_services(tenant, "instagram")
    assert services.context.language == "ru" and services.context.channel == "instagram"
    assert "llm" in services.context.features
    assert services.http is not None and services.http.requests == []  # recording, never real HTTP
    db.session.rollback()


def test_niche_layers_match_free_text_niches():
    from webapp.services.prompts import niche_matches

    assert niche_matches("beauty", "Beauty salon")
    assert niche_matches("real_estate", "Real estate agency")
    assert niche_matches("beauty", "beauty")
    assert not niche_matches("real_estate", "estate real")
    assert not niche_matches("beauty", "")
    assert not niche_matches("", "beauty")
    assert not niche_matches("retail", "retailer")
