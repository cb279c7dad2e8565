"""Non-text messages (photos, voice notes, stickers, files, videos, locations) in a turn.

The channels store each attachment in one shape (connectors/channels/events.py, `media_item`) and the
pipeline tells the engine what the message is in ``TurnEvent.meta["content"]`` (one of `CONTENT_KINDS`;
absent means text, as in the simulator and every timer). A flow reads it with a `condition` rule of kind
``content``. When a message has no text (no caption) and the flow has no such rule, or a question is waiting
for a typed answer, the engine does not run the flow with an empty message: it answers once with the
tenant's "I can read text only" text (`Context.media_text`, else the built-in text in the tenant's language)
and leaves the conversation where it was (a pending question stays pending, no attempt counted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flows import i18n
from flows.turn import OutboundMessage, StepResult, TurnEvent

if TYPE_CHECKING:
    from flows.compiler import Flow
    from flows.services import Services

#: Where the pipeline puts the message's kind in `TurnEvent.meta`.
CONTENT_KEY = "content"
#: The kinds of a non-text message (the channels' list: connectors/channels/events.MEDIA_KINDS).
MEDIA_KINDS: tuple[str, ...] = ("image", "audio", "video", "sticker", "file", "location", "other")
#: What a `condition` rule of kind ``content`` may ask for.
CONTENT_KINDS: tuple[str, ...] = ("text", *MEDIA_KINDS)
#: The event kinds that are a customer's message (not a comment, a timer or a hand-back).
MESSAGE_EVENTS = frozenset({"dm", "message", "webchat"})


def content_of(event: TurnEvent) -> str:
    """The message's kind: "text" unless the pipeline said otherwise."""
    kind = (event.meta or {}).get(CONTENT_KEY)
    return kind if kind in MEDIA_KINDS else "text"


def flow_reads_content(flow: Flow) -> bool:
    """Does any node of the flow branch on the message kind (a node says so with ``reads_content``)?"""
    return any(getattr(node, "reads_content", False) for node in flow.nodes.values())


def unanswerable(flow: Flow, state: dict[str, Any], event: TurnEvent) -> bool:
    """A message without text that the flow would otherwise take as an empty message: a question waits for
    a typed answer, or the flow has no rule on the message kind. With a caption it is a text message."""
    if event.kind not in MESSAGE_EVENTS or (event.text or "").strip() or content_of(event) == "text":
        return False
    waiting = state.get("waiting") or {}
    if waiting.get("node") in flow.nodes:
        return True
    return not flow_reads_content(flow)


def text_only_reply(state: dict[str, Any], event: TurnEvent, services: Services,
                    trace: list[dict[str, Any]]) -> StepResult:
    """One polite reply, nothing else changes (the state is the conversation's as it was)."""
    text = (services.context.media_text or "").strip() or i18n.text("media.text_only", services.context.translate)
    asked = (state.get("waiting") or {}).get("node")
    trace.append({"node_id": None, "type": "engine", "port": None, "vars_changed": {},
                  "warnings": [f"a {content_of(event)} message without text: answered with the text-only reply"
                               + (f", question {asked!r} stays pending" if asked else "")]})
    return StepResult([OutboundMessage(text)], state, [], trace, bool(state.get("finished")), state_kept=True)
