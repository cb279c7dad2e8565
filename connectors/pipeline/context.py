"""What the engine may use for one tenant's turn: context, clock, LLM (or offline), HTTP (if allowed).

The one builder of a tenant's `Context` and model: a real turn (`build_services`) and the simulator,
"Check replies" and `flask flow simulate` (webapp/services/simulation.py, with a fixed clock and a
recording HTTP client) get the same language, profile, plan features, prompt layers, channel limits and
provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from connectors.channels.registry import prompt_style, text_limit
from connectors.providers.integration_http import (
    RequestsHttp,  # http_request nodes: public addresses only, size cap, deadline
)
from connectors.providers.llm import provider_from_settings
from connectors.runtime.run_slots import waiting
from flows.services import Context, HttpResult, LLMResult, Services, SystemClock
from webapp.models import PromptLayer, Tenant
from webapp.plans import features_of, within_limit
from webapp.services.bot_texts import translator
from webapp.services.handoff_settings import MEDIA_TEXT, handoff_settings
from webapp.services.prompts import layer_dicts

from .cache import TTLCache
from .usage import current

LLM_SETTING_KEYS = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL", "OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES")

_layers: TTLCache[list[dict[str, Any]]] = TTLCache(
    10.0, cleared_by=((PromptLayer, ("after_insert", "after_update", "after_delete")), (Tenant, ("after_update",))))


def prompt_layers(tenant: Tenant) -> list[dict[str, Any]]:
    """Platform layers, the niche layers that match the tenant's niche, then the tenant's own, newest
    active version of each (cache.py)."""
    return _layers.get(tenant.id, lambda: layer_dicts(tenant))


def tenant_context(tenant: Tenant, channel_type: str = "test", *, layers: bool = True) -> Context:
    """The turn's context on that channel (its limits from the channel registry; the simulator's own
    `test` channel has none, so replies get the strictest common limit). `layers`: the prompt layers are
    looked up only for a flow that can use them."""
    settings = tenant.settings or {}
    return Context(language=tenant.language or "en", channel=channel_type, profile=dict(tenant.profile or {}),
                   features=features_of(tenant), prompt_layers=prompt_layers(tenant) if layers else [],
                   fallback_text=settings.get("fallback_text"), timezone=tenant.timezone,
                   phone_region=settings.get("phone_region"), text_limit=text_limit(channel_type),
                   channel_style=prompt_style(channel_type),
                   handoff_keywords=handoff_settings(settings, tenant.language).keywords,
                   media_text=settings.get(MEDIA_TEXT) or None, translate=translator(tenant.language))


def tenant_llm(tenant: Tenant, tokens_used: int | None = None) -> Any:
    """The tenant's provider, or None (offline FAQ mode) without the feature, a key, or token budget."""
    if "llm" not in features_of(tenant):
        return None
    used = tokens_used if tokens_used is not None else current(tenant.id).llm_tokens
    if not within_limit(tenant, "llm_tokens_monthly", used, 0):
        return None
    settings: dict[str, Any] = {k: current_app.config.get(k) for k in LLM_SETTING_KEYS}
    if tenant.plan.llm_model:
        settings["llm_model"] = tenant.plan.llm_model
    settings.update({k: v for k, v in (tenant.settings or {}).items() if str(k).startswith("llm_")})
    return provider_from_settings(settings)


@dataclass(frozen=True)
class ModelOutside:
    """A turn's model: while it answers, the worker's run slot goes to another job (run_slots.py)."""

    provider: Any

    def complete(self, messages: list[dict], *, max_tokens: int, response_schema: dict | None = None) -> LLMResult:
        with waiting():
            return self.provider.complete(messages, max_tokens=max_tokens, response_schema=response_schema)


@dataclass(frozen=True)
class IntegrationOutside:
    """A turn's `http_request` calls: while the tenant's system answers, the run slot goes to another job."""

    http: RequestsHttp

    def request(self, method: str, url: str, *, json: Any, headers: dict[str, str], timeout: float) -> HttpResult:
        with waiting():
            return self.http.request(method, url, json=json, headers=headers, timeout=timeout)


def build_services(tenant: Tenant, channel_type: str, uses: frozenset[str] = frozenset({"llm", "http"}),
                   llm_tokens_used: int | None = None) -> Services:
    """`uses`: the slow services the flow can call; prompt layers and the LLM budget are only looked up
    for flows with an `llm` node. The model and the integrations are two of the three places a job waits
    outside (the third is a channel send: delivery.py)."""
    wants_llm = "llm" in uses
    context = tenant_context(tenant, channel_type, layers=wants_llm)
    provider = tenant_llm(tenant, llm_tokens_used) if wants_llm else None
    http = RequestsHttp() if "integrations" in context.features and "http" in uses else None
    return Services(context=context, clock=SystemClock(), llm=ModelOutside(provider) if provider else None,
                    http=IntegrationOutside(http) if http else None)
