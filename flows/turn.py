"""The values that go into and come out of one conversation turn.

They are plain dataclasses with `to_dict()` so the pipeline can persist them and the simulator can return
them as JSON; the engine never sends or stores anything itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

EventKind = Literal["dm", "comment", "message", "webchat", "timeout", "handback"]
OutboundKind = Literal["reply", "comment_reply", "private_reply"]
EffectType = Literal[
    "lead", "notify", "handoff", "schedule_follow_up", "cancel_follow_up", "llm_usage", "http_error"
]

EVENT_KINDS: tuple[str, ...] = ("dm", "comment", "message", "webchat", "timeout", "handback")


@dataclass(slots=True)
class TurnEvent:
    """One inbound thing the flow reacts to: a message, a comment, or a follow-up timer firing."""

    kind: EventKind
    #: The channel type name ("telegram", "test" in the simulator...): any string, so a new channel
    #: needs no change here; the caller decides which names exist (`validate(channels=...)`).
    channel: str
    text: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "channel": self.channel,
            "text": self.text,
            "meta": dict(self.meta),
            "contact": dict(self.contact),
            "at": self.at.isoformat(),
        }


@dataclass(slots=True)
class OutboundMessage:
    """A message the caller should send; `comment_reply`/`private_reply` carry `meta.comment_id`."""

    text: str
    buttons: list[str] = field(default_factory=list)
    kind: OutboundKind = "reply"
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": list(self.buttons), "kind": self.kind, "meta": dict(self.meta)}


@dataclass(slots=True)
class Effect:
    """A side effect the caller performs after persisting the turn (lead, notification, timer...)."""

    type: EffectType
    payload: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "payload": dict(self.payload)}


@dataclass(slots=True)
class StepResult:
    """Everything one `step` produced; `state` is the new state to store for the conversation."""

    outbound: list[OutboundMessage]
    state: dict[str, Any]
    effects: list[Effect]
    trace: list[dict[str, Any]]
    finished: bool
    error: str | None = None
    #: True when `state` is the conversation's state as it was before this event, not one this flow wrote
    #: (a comment answered beside a pending question, see `engine.step`): the caller keeps the conversation
    #: on the flow version it was on.
    state_kept: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "outbound": [m.to_dict() for m in self.outbound],
            "state": self.state,
            "effects": [e.to_dict() for e in self.effects],
            "trace": self.trace,
            "finished": self.finished,
            "error": self.error,
            "state_kept": self.state_kept,
        }
