"""`message`: send a text (with `{{variables}}`) and optional quick-reply buttons, then continue."""

from __future__ import annotations

from marshmallow import fields, validate

from flows.nodes.base import DataSchema, Node, Result, Runtime, spec
from flows.registry import register
from flows.turn import OutboundMessage


class MessageSchema(DataSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    buttons = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        load_default=list,
        validate=validate.Length(max=10),
    )


@register
class Message(Node):
    """Says something. It does not wait: the flow continues to the next node in the same turn."""

    type = "message"
    label = "Message"
    description = "Send a text with {{variables}} and optional quick-reply buttons."
    category = "messages"
    schema = MessageSchema
    fields = [
        spec("text", "Text", "textarea", required=True, help="Use {{name}} or {{profile.offer}} for values."),
        spec("buttons", "Quick-reply buttons", "list", default=[], help="Up to 10 short labels."),
    ]

    def run(self, rt: Runtime) -> Result:
        buttons = [rt.render(b) for b in self.data.get("buttons", ())]
        return Result(port="out", replies=[OutboundMessage(rt.render(self.data["text"]), buttons)])
