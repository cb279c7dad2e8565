"""The engine's `Services` built from a tenant, for the simulator, "Check replies", the prompt preview
and `flask flow simulate`: the same language, profile, FAQ, plan features and prompt layers a real turn
uses, but a fixed clock and a recording HTTP client, so a test run never reaches a tenant's systems."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import or_, select

from flows.services import Context, FakeLLM, FixedClock, RecordingHttp, Services

from ..extensions import db
from ..models import PromptLayer, Tenant
from ..plans import features_of

LLM_SETTING_KEYS = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL", "OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES")


def niche_key(tenant: Tenant) -> str:
    return str((tenant.profile or {}).get("niche") or "").strip().lower()


def latest_layers(rows: list[PromptLayer]) -> list[PromptLayer]:
    """Saving a layer adds a version row; only the newest active version of each layer counts."""
    newest: dict[tuple[Any, str, str], PromptLayer] = {}
    for row in rows:
        key = (row.tenant_id, row.kind, row.key)
        if key not in newest or row.version > newest[key].version:
            newest[key] = row
    return sorted(newest.values(), key=lambda r: (r.tenant_id is not None, r.position, r.id))


def platform_layers(tenant: Tenant) -> list[PromptLayer]:
    """Staff rows (tenant_id NULL): every `platform` layer, and the `niche` layers whose key is the
    tenant's niche (so a beauty salon gets the beauty library layer)."""
    rows = db.session.scalars(select(PromptLayer).where(
        PromptLayer.tenant_id.is_(None), PromptLayer.active,
        or_(PromptLayer.kind != "niche", PromptLayer.key == niche_key(tenant)))).all()
    return latest_layers(list(rows))


def tenant_layers(tenant: Tenant) -> list[PromptLayer]:
    rows = db.session.scalars(select(PromptLayer).where(PromptLayer.tenant_id == tenant.id,
                                                        PromptLayer.active)).all()
    return latest_layers(list(rows))


def layer_dicts(tenant: Tenant) -> list[dict[str, Any]]:
    """What `flows.prompt` reads: kind (platform → niche → tenant order), name, text."""
    return [{"kind": r.kind if r.tenant_id is None else "tenant", "key": r.key, "name": r.name, "text": r.text}
            for r in [*platform_layers(tenant), *tenant_layers(tenant)]]


def tenant_llm(tenant: Tenant) -> Any:
    """The tenant's real provider when an API key is configured and the plan has `llm`; None (offline,
    as production behaves without a key) otherwise. Without the LLM layer installed, the engine's
    deterministic fake keeps the simulator useful."""
    if "llm" not in features_of(tenant):
        return None
    try:
        llm_module = importlib.import_module("connectors.llm")
    except ImportError:
        return FakeLLM()
    settings: dict[str, Any] = {k: current_app.config.get(k) for k in LLM_SETTING_KEYS}
    if tenant.plan.llm_model:
        settings["llm_model"] = tenant.plan.llm_model
    settings.update({k: v for k, v in (tenant.settings or {}).items() if str(k).startswith("llm_")})
    return llm_module.provider_from_settings(settings)


def tenant_context(tenant: Tenant, channel: str = "test") -> Context:
    return Context(language=tenant.language or "en", channel=channel, profile=dict(tenant.profile or {}),
                   features=features_of(tenant), prompt_layers=layer_dicts(tenant), timezone=tenant.timezone)


def tenant_services(tenant: Tenant, channel: str = "test", *, at: datetime | None = None,
                    llm: Any = "auto") -> Services:
    """`at` pins the clock so two runs (draft vs published) see the same time of day."""
    return Services(context=tenant_context(tenant, channel),
                    clock=FixedClock(at or datetime.now(UTC)),
                    llm=tenant_llm(tenant) if llm == "auto" else llm,
                    http=RecordingHttp())
