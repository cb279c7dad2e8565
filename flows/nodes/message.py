"""`message`: send a text (with `{{variables}}`) and optional quick-reply buttons, then continue."""

from __future__ import annotations

from marshmallow import fields, validate

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form
from flows.turn import OutboundMessage


class MessageSchema(DataSchema):
    text = fields.String(
        required=True,
        validate=validate.Length(min=1, max=4000),
        metadata=form(N_("Text"), "textarea", help=N_("Use {{name}} or {{profile.offer}} for values.")),
    )
    buttons = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        load_default=list,
        validate=validate.Length(max=10),
        metadata=form(N_("Quick-reply buttons"), help=N_("Up to 10 short labels.")),
    )


class Message(Node):
    """Says something. It does not wait: the flow continues to the next node in the same turn."""

    type = "message"
    label = N_("Message")
    description = N_("Send a text with {{variables}} and optional quick-reply buttons.")
    category = "messages"
    schema = MessageSchema

    def run(self, rt: Runtime) -> Result:
        buttons = [rt.render(b) for b in self.data.get("buttons", ())]
        return Result(port="out", replies=[OutboundMessage(rt.render(self.data["text"]), buttons)])
