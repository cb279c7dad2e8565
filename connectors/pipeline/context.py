"""What the engine may use for one tenant's turn: context, clock, LLM (or offline), HTTP (if allowed)."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app
from sqlalchemy import event

from connectors.providers.integration_http import (
    RequestsHttp,  # http_request nodes: public addresses only, size cap, deadline
)
from flows.services import Context, Services, SystemClock
from webapp.models import PromptLayer, Tenant
from webapp.plans import features_of, within_limit

_LAYERS_TTL = 10.0
_layers_cache: dict[int, tuple[float, list[dict[str, Any]]]] = {}


def clear_layers_cache(*_: Any) -> None:
    _layers_cache.clear()


event.listen(PromptLayer, "after_insert", clear_layers_cache)
event.listen(PromptLayer, "after_update", clear_layers_cache)
event.listen(PromptLayer, "after_delete", clear_layers_cache)


def prompt_layers(tenant: Tenant) -> list[dict[str, Any]]:
    """Cached for a few seconds per tenant: layers change rarely and every AI turn reads them (edits in
    this process clear the cache at once; other processes see them within the TTL)."""
    hit = _layers_cache.get(tenant.id)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    layers = _load_prompt_layers(tenant)
    _layers_cache[tenant.id] = (now + _LAYERS_TTL, layers)
    return layers


def _load_prompt_layers(tenant: Tenant) -> list[dict[str, Any]]:
    """The same layers the simulator and the prompt preview show: platform layers, the niche layers that
    match the tenant's niche, then the tenant's own, newest active version of each."""
    from webapp.services.simulation import layer_dicts

    return layer_dicts(tenant)


def llm_tokens_used(tenant: Tenant) -> int:
    from .usage import current

    return current(tenant.id).llm_tokens


def llm_for(tenant: Tenant, tokens_used: int | None = None) -> Any:
    """The tenant's provider, or None (offline FAQ mode) without the feature, a key, or token budget."""
    from connectors.providers.llm import provider_from_settings

    if "llm" not in features_of(tenant):
        return None
    used = tokens_used if tokens_used is not None else llm_tokens_used(tenant)
    if not within_limit(tenant, "llm_tokens_monthly", used, 0):
        return None
    settings: dict[str, Any] = {k: current_app.config.get(k) for k in
                                ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL")}
    if tenant.plan.llm_model:
        settings["llm_model"] = tenant.plan.llm_model
    settings.update({k: v for k, v in (tenant.settings or {}).items() if k.startswith("llm_")})
    return provider_from_settings(settings)


def build_services(tenant: Tenant, channel_type: str, uses: frozenset[str] = frozenset({"llm", "http"}),
                   llm_tokens_used: int | None = None) -> Services:
    """`uses`: the slow services the flow can call; prompt layers and the LLM budget are only looked up
    for flows with an `llm` node."""
    features = features_of(tenant)
    settings = tenant.settings or {}
    wants_llm = "llm" in uses
    context = Context(language=tenant.language, channel=channel_type, profile=dict(tenant.profile or {}),
                      features=features, prompt_layers=prompt_layers(tenant) if wants_llm else [],
                      fallback_text=settings.get("fallback_text"), timezone=tenant.timezone,
                      phone_region=settings.get("phone_region"))
    return Services(context=context, clock=SystemClock(), llm=llm_for(tenant, llm_tokens_used) if wants_llm else None,
                    http=RequestsHttp() if "integrations" in features and "http" in uses else None)
