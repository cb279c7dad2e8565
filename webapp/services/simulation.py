"""The engine's `Services` built from a tenant, for the simulator, "Check replies" and `flask flow
simulate`: the context and the model a real turn gets (built by the one builder, connectors/pipeline/
context.py), but a fixed clock and a recording HTTP client, so a test run never reaches a tenant's
systems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.pipeline import context
from flows.services import FixedClock, RecordingHttp, Services
from webapp.models import Tenant


def tenant_services(tenant: Tenant, channel: str = "test", *, at: datetime | None = None,
                    llm: Any = "auto") -> Services:
    """`at` pins the clock so two runs (draft vs published) see the same time of day."""
    return Services(context=context.tenant_context(tenant, channel),
                    clock=FixedClock(at or datetime.now(UTC)),
                    llm=context.tenant_llm(tenant) if llm == "auto" else llm,
                    http=RecordingHttp())
