"""The engine's `Services` built from a tenant, for the simulator, "Check replies", the prompt preview
and `flask flow simulate`: the same language, profile, FAQ, plan features and prompt layers a real turn
uses, but a fixed clock and a recording HTTP client, so a test run never reaches a tenant's systems."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from flows.services import Context, FakeLLM, FixedClock, RecordingHttp, Services
from webapp.extensions import db
from webapp.models import PromptLayer, Tenant
from webapp.plans import features_of

LLM_SETTING_KEYS = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL", "OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES")


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^\w]+|_", text.lower()) if t]


def niche_matches(key: str, niche: str) -> bool:
    """A niche layer's key ("beauty", "real_estate") matches a free-text niche when its words appear in
    it in order: "Beauty salon" gets `beauty`, "Real estate agency" gets `real_estate`."""
    want, have = _tokens(key), _tokens(niche)
    return bool(want) and any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1))


def latest_layers(rows: list[PromptLayer]) -> list[PromptLayer]:
    """Saving a layer adds a version row; only the newest active version of each layer counts."""
    newest: dict[tuple[Any, str, str], PromptLayer] = {}
    for row in rows:
        key = (row.tenant_id, row.kind, row.key)
        if key not in newest or row.version > newest[key].version:
            newest[key] = row
    return sorted(newest.values(), key=lambda r: (r.tenant_id is not None, r.position, r.id))


def platform_layers(tenant: Tenant) -> list[PromptLayer]:
    """Staff rows (tenant_id NULL): every `platform` layer, and the `niche` layers whose key matches the
    tenant's niche (so a beauty salon gets the `beauty` library layer)."""
    niche = str((tenant.profile or {}).get("niche") or "")
    rows = db.session.scalars(select(PromptLayer).where(PromptLayer.tenant_id.is_(None), PromptLayer.active))
    return latest_layers([r for r in rows if r.kind != "niche" or niche_matches(r.key, niche)])


def tenant_layers(tenant: Tenant) -> list[PromptLayer]:
    rows = db.session.scalars(select(PromptLayer).where(PromptLayer.tenant_id == tenant.id,
                                                        PromptLayer.active)).all()
    return latest_layers(list(rows))


def layer_dicts(tenant: Tenant) -> list[dict[str, Any]]:
    """What `flows.prompt` reads: kind (platform → niche → tenant order), name, text."""
    return [{"kind": r.kind if r.tenant_id is None else "tenant", "key": r.key, "name": r.name or r.key,
             "text": r.text}
            for r in [*platform_layers(tenant), *tenant_layers(tenant)]]


def tenant_llm(tenant: Tenant) -> Any:
    """The tenant's real provider when an API key is configured and the plan has `llm`; None (offline,
    as production behaves without a key) otherwise. Without the LLM layer installed, the engine's
    deterministic fake keeps the simulator useful."""
    if "llm" not in features_of(tenant):
        return None
    try:
        llm_module = importlib.import_module("connectors.providers.llm")
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
