"""The job the concurrency test and benchmark run: one customer message through the engine's `llm` node.

It is the LLM-bound part of `handle_inbound` (flow step + real provider over HTTP) without the database,
so the worker mechanism can be measured on its own. Importable by dotted path for RQ.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from connectors.providers.llm import get_provider
from flows import load_flow
from flows.compiler import Flow
from flows.engine import step
from flows.services import offline_services
from flows.turn import StepResult, TurnEvent

PROFILE = {
    "name": "Лиса", "niche": "салон красоты", "address": "ул. Ленина, 5", "hours": "10–20",
    "faq": [{"q": "Цена стрижки?", "a": "Стрижка — 1500 ₽."}],
}


@lru_cache(maxsize=1)
def _flow() -> Flow:
    """Compiled once per process, as the pipeline caches a Flow per FlowVersion."""
    nodes = [("start", "trigger", {}), ("ai", "llm", {"prompt": "Ответь на вопрос клиента."}),
             ("done", "end", {})]
    edges = [("start", "out", "ai"), ("ai", "ok", "done"), ("ai", "fallback", "done")]
    return load_flow({
        "schema_version": 1, "name": "bench",
        "nodes": [{"id": i, "type": t, "position": {"x": 0, "y": 0}, "data": d} for i, t, d in nodes],
        "edges": [{"id": f"e{n}", "source": s, "sourceHandle": p, "target": t}
                  for n, (s, p, t) in enumerate(edges)],
    })


def _turn(base_url: str, conversation: int, wrap: Any = None) -> SimpleNamespace:
    """What the engine step of one turn takes (the fields of the pipeline's `PreparedTurn` it reads);
    `wrap`: what the pipeline puts around the provider."""
    provider = get_provider(base_url, "sk-bench", "fake-gpt", timeout=15, max_retries=1)
    provider = wrap(provider) if wrap else provider
    services = offline_services(language="ru", channel="instagram", llm=provider, profile=PROFILE)
    event = TurnEvent("dm", "instagram", f"Сколько стоит стрижка? (#{conversation})", {},
                      {"username": f"user{conversation}"}, datetime.now(UTC))
    return SimpleNamespace(flow=_flow(), state=None, event=event, services=services)


def _outcome(started_at: float, result: StepResult) -> dict[str, Any]:
    llm_errors = [w for t in result.trace for w in t.get("warnings", []) if "LLM error" in w]
    return {"started_at": started_at, "done_at": time.time(), "replies": [m.text for m in result.outbound],
            "error": result.error, "llm_errors": llm_errors}


def llm_turn(base_url: str, conversation: int, fail: bool = False) -> dict[str, Any]:
    """Run one turn; returns when it started/finished and what the customer would get."""
    started_at = time.time()
    if fail:
        raise RuntimeError("boom")
    turn = _turn(base_url, conversation)
    return _outcome(started_at, step(turn.flow, turn.state, turn.event, turn.services))


def busy_for(seconds: float) -> str:
    """A job that runs Python code for `seconds` (timeouts can interrupt it between bytecodes)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.02)
    return "done"


_working = {"now": 0, "most": 0}
_working_lock = __import__("threading").Lock()


def _work(seconds: float) -> None:
    with _working_lock:
        _working["now"] += 1
        _working["most"] = max(_working["most"], _working["now"])
    time.sleep(seconds)  # stands for CPU and database work: it keeps the thread's run slot
    with _working_lock:
        _working["now"] -= 1


def worked_at_once(reset: bool = False) -> int:
    """The most `slotted_turn` jobs of this process that were working (not waiting) at the same time."""
    most = _working["most"]
    if reset:
        _working["most"] = 0
    return most


def slotted_turn(base_url: str, conversation: int) -> dict[str, Any]:
    """Work, an LLM turn through the real provider, work again. The provider is wrapped as the pipeline
    wraps it (`ModelOutside`: the run slot is given up while the model answers; the provider itself knows
    nothing of slots)."""
    from connectors.pipeline.context import ModelOutside
    from connectors.pipeline.turns import execute_turn

    started_at = time.time()
    _work(0.03)
    result = execute_turn(_turn(base_url, conversation, ModelOutside))  # type: ignore[arg-type]  # a PreparedTurn's fields
    _work(0.03)
    return _outcome(started_at, result)
