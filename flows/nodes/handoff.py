"""`handoff`: pause the bot for this conversation and call a human."""

from __future__ import annotations

from marshmallow import fields, validate

from flows.nodes.base import DataSchema, Node, Result, Runtime, spec
from flows.registry import register
from flows.turn import Effect, OutboundMessage


class HandoffSchema(DataSchema):
    text = fields.String(load_default="", validate=validate.Length(max=2000))
    silent = fields.Boolean(load_default=False)
    reason = fields.String(load_default="")


@register
class Handoff(Node):
    """Emits `handoff`; the engine marks the state paused so later messages wait for the manager."""

    type = "handoff"
    label = "Hand off to a human"
    description = "Pause the bot in this conversation and alert a manager."
    category = "crm"
    ports = ()
    schema = HandoffSchema
    fields = [
        spec(
            "text",
            "Message to the customer",
            "textarea",
            default="",
            help="Empty uses the built-in text in the tenant's language.",
        ),
        spec("silent", "Send no message", "bool", default=False),
        spec("reason", "Reason (for the manager)", "text", default=""),
    ]

    def run(self, rt: Runtime) -> Result:
        replies = []
        if not self.data.get("silent"):
            text = self.data.get("text")
            replies.append(OutboundMessage(rt.render(text) if text else rt.text("handoff")))
        payload = {"reason": rt.render(self.data.get("reason") or ""), "last_message": rt.event.text}
        return Result(replies=replies, effects=[Effect("handoff", payload)], pause=True)
