"""`trigger`: where a conversation enters a flow, and what decides that this flow should answer."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from rapidfuzz import fuzz

from flows import phrases
from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, ChannelName, form
from flows.turn import TurnEvent

KIND_CHOICES = ["dm", "comment", "message", "webchat"]
MATCH_CHOICES = ["exact", "contains", "fuzzy"]


class TriggerSchema(DataSchema):
    channels = fields.List(
        ChannelName(extra=[("any", N_("Any channel"))]), load_default=["any"], metadata=form(N_("Channels"))
    )
    kinds = fields.List(
        fields.String(validate=validate.OneOf(KIND_CHOICES)),
        load_default=list,
        metadata=form(
            N_("Event kinds"),
            help=N_("Empty means any kind of message; a comment only if a Reply to comment node follows."),
        ),
    )
    keywords = fields.List(
        fields.String(validate=validate.Length(min=1)),
        load_default=list,
        metadata=form(N_("Keywords"), help=N_("Empty means any text.")),
    )
    match = fields.String(
        validate=validate.OneOf(MATCH_CHOICES), load_default="contains", metadata=form(N_("Keyword match"))
    )
    fuzzy_threshold = fields.Float(
        validate=validate.Range(min=50, max=100),
        load_default=85.0,
        metadata=form(
            N_("Fuzzy threshold (50-100)"), help=N_("Similarity needed in fuzzy mode; typos pass above it.")
        ),
    )


class Trigger(Node):
    """Entry point. Its filters (channel, event kind, keywords) are used by `select.choose_flow`."""

    type = "trigger"
    label = N_("Trigger")
    description = N_("Starts the flow when a message or comment matches the channel, kind and keywords.")
    category = "start"
    ports = ("out",)
    schema = TriggerSchema

    __slots__ = ("_keywords",)

    def setup(self) -> None:
        self._keywords = tuple(k.casefold().strip() for k in self.data.get("keywords", ()))

    @property
    def has_keywords(self) -> bool:
        return bool(self._keywords)

    def matches(self, event: TurnEvent) -> tuple[bool, str]:
        """Whether `event` passes this trigger's filters, with a human reason for the trace."""
        channels = self.data.get("channels") or ["any"]
        if "any" not in channels and event.channel not in channels:
            return False, f"channel {event.channel} not in {', '.join(channels)}"
        kinds = self.data.get("kinds") or []
        if kinds and event.kind not in kinds:
            return False, f"event kind {event.kind} not in {', '.join(kinds)}"
        if not self._keywords:
            return True, "trigger accepts any text"
        text = " ".join(event.text.casefold().split())
        mode = self.data.get("match", "contains")
        for keyword in self._keywords:
            if self._keyword_hit(mode, keyword, text):
                return True, f"keyword '{keyword}' matched ({mode})"
        return False, f"no keyword matched ({mode})"

    def _keyword_hit(self, mode: str, keyword: str, text: str) -> bool:
        if mode == "exact":
            return text == keyword
        if mode == "contains":
            return phrases.contains(text, keyword)
        threshold = float(self.data.get("fuzzy_threshold", 85.0))
        return fuzz.partial_ratio(keyword, text) >= threshold or fuzz.ratio(keyword, text) >= threshold

    def run(self, rt: Runtime) -> Result:
        return Result(port="out")

    def describe_filters(self) -> dict[str, Any]:
        return {k: self.data.get(k) for k in ("channels", "kinds", "keywords", "match")}
