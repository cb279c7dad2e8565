"""`handoff`: pause the bot for this conversation and call a human."""

from __future__ import annotations

from marshmallow import fields, validate

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form
from flows.turn import Effect, OutboundMessage


class HandoffSchema(DataSchema):
    text = fields.String(
        load_default="",
        validate=validate.Length(max=2000),
        metadata=form(
            N_("Message to the customer"),
            "textarea",
            help=N_("Empty uses the built-in text in the tenant's language."),
        ),
    )
    silent = fields.Boolean(load_default=False, metadata=form(N_("Send no message")))
    reason = fields.String(load_default="", metadata=form(N_("Reason (for the manager)")))


class Handoff(Node):
    """Emits `handoff`; the engine marks the state paused so later messages wait for the manager. Its `out`
    port is where the bot goes on once a person hands the conversation back (flows.engine: `handback`)."""

    type = "handoff"
    label = N_("Hand off to a human")
    description = N_("Pause the bot in this conversation and alert a manager.")
    category = "crm"
    ports = ("out",)
    schema = HandoffSchema

    def run(self, rt: Runtime) -> Result:
        replies = []
        if not self.data.get("silent"):
            text = self.data.get("text")
            replies.append(OutboundMessage(rt.render(text) if text else rt.text("handoff")))
        payload = {"reason": rt.render(self.data.get("reason") or ""), "last_message": rt.event.text}
        return Result(replies=replies, effects=[Effect("handoff", payload)], pause=True)
