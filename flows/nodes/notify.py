"""`notify`: alert the business (dashboard/email/Telegram — the caller decides how)."""

from __future__ import annotations

from marshmallow import fields, validate

from flows.nodes.base import DataSchema, Node, Result, Runtime, spec
from flows.registry import register
from flows.turn import Effect


class NotifySchema(DataSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))


@register
class Notify(Node):
    """Emits a `notify` effect with the rendered text; the customer sees nothing."""

    type = "notify"
    label = "Notify team"
    description = "Send a notification to the business team."
    category = "crm"
    schema = NotifySchema
    fields = [spec("text", "Notification text", "textarea", required=True, help="e.g. New lead {{name}} {{phone}}")]

    def run(self, rt: Runtime) -> Result:
        return Result(port="out", effects=[Effect("notify", {"text": rt.render(self.data["text"])})])
