"""`notify`: alert the business (dashboard/email/Telegram — the caller decides how)."""

from __future__ import annotations

from marshmallow import fields, validate

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form
from flows.turn import Effect


class NotifySchema(DataSchema):
    text = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata=form(N_("Notification text"), "textarea", help=N_("e.g. New lead {{name}} {{phone}}")),
    )


class Notify(Node):
    """Emits a `notify` effect with the rendered text; the customer sees nothing."""

    type = "notify"
    label = N_("Notify team")
    description = N_("Send a notification to the business team.")
    category = "crm"
    schema = NotifySchema

    def run(self, rt: Runtime) -> Result:
        return Result(port="out", effects=[Effect("notify", {"text": rt.render(self.data["text"])})])
