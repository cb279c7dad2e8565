"""Run a flow turn by turn without channels: the engine behind "Send test" and "Check replies".

Default services are offline fakes (fixed clock, deterministic fake LLM, recording HTTP), so a
simulation is repeatable and never reaches a provider or a tenant's API. A message "[timeout]" fires the
pending follow-up timer, so `follow_up` branches can be tested too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flows import load_flow
from flows.compiler import Flow
from flows.engine import step
from flows.services import FakeLLM, Services, offline_services
from flows.turn import TurnEvent

TIMEOUT_MESSAGE = "[timeout]"
TEST_CONTACT = {"username": "test_user"}


def _as_flow(flow: Flow | dict[str, Any]) -> Flow:
    if isinstance(flow, Flow):
        return flow
    return load_flow(flow)


def _events(
    message_kind: str, kind: str, messages: list[str], comment: dict[str, Any] | None
) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, text, meta) per turn: the comment first (if any), then each message."""
    turns: list[tuple[str, str, dict[str, Any]]] = []
    follow_kind = kind
    if comment is not None:
        meta = {"comment_id": str(comment.get("id") or "sim-comment-1")}
        if comment.get("post_id"):
            meta["post_id"] = str(comment["post_id"])
        turns.append(("comment", str(comment.get("text") or ""), meta))
    if follow_kind == "comment":
        follow_kind = message_kind
    for text in messages:
        turns.append(("timeout" if text == TIMEOUT_MESSAGE else follow_kind, text, {}))
    return turns


def simulate(
    flow: Flow | dict[str, Any],
    *,
    channel: str = "test",
    kind: str = "dm",
    message_kind: str = "message",
    messages: list[str] | None = None,
    comment: dict[str, Any] | None = None,
    services: Services | None = None,
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run every turn and return replies, traces, final variables, all effects and the final state.

    `flow` may be a compiled Flow or a document (compiled here; FlowError if it has errors).
    `message_kind`: the kind the channel's messages arrive as (the caller knows it from the channel
    registry): after a `comment`, the messages follow as that kind.
    """
    compiled = _as_flow(flow)
    services = services or offline_services(channel=channel, llm=FakeLLM(), features={"integrations"})
    clock_start = services.clock.now()
    turns: list[dict[str, Any]] = []
    effects: list[dict[str, Any]] = []
    for index, (event_kind, text, meta) in enumerate(_events(message_kind, kind, list(messages or []), comment)):
        if event_kind == "timeout":
            waiting = (state or {}).get("waiting") or {}
            meta = {"token": waiting.get("token")}
            text = ""
        at = clock_start + timedelta(seconds=index) if clock_start.tzinfo else datetime.now(UTC)
        event = TurnEvent(event_kind, channel, text, meta, dict(TEST_CONTACT, channel=channel), at)  # type: ignore[arg-type]
        result = step(compiled, state, event, services)
        state = result.state
        effects.extend(e.to_dict() for e in result.effects)
        turns.append(
            {
                "input": TIMEOUT_MESSAGE if event_kind == "timeout" else text,
                "kind": event_kind,
                "replies": [
                    {"text": m.text, "buttons": list(m.buttons), "kind": m.kind} for m in result.outbound
                ],
                "trace": result.trace,
                "error": result.error,
            }
        )
    return {
        "turns": turns,
        "variables": dict((state or {}).get("vars") or {}),
        "effects": effects,
        "state": state,
    }
