"""`follow_up`: wait for a reply for a while; if none comes, continue on `timeout`.

The node asks the caller to schedule a timer (`schedule_follow_up` with a token). A reply first cancels it
(`cancel_follow_up`) and continues on `replied`; a `timeout` event carrying the same token continues on
`timeout`. A timeout with another token (stale: the conversation moved on) is ignored by the engine.
"""

from __future__ import annotations

from marshmallow import fields, validate

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form
from flows.turn import Effect, OutboundMessage

UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


class FollowUpSchema(DataSchema):
    delay = fields.Integer(
        required=True, validate=validate.Range(min=1, max=10_000), metadata=form(N_("Wait"), default=30)
    )
    unit = fields.String(load_default="minutes", validate=validate.OneOf(list(UNITS)), metadata=form(N_("Unit")))
    text = fields.String(
        load_default="", validate=validate.Length(max=2000), metadata=form(N_("Message now (optional)"), "textarea")
    )


class FollowUp(Node):
    """Waiting node with a timer; the token is unique per entry so old timers can't fire later."""

    type = "follow_up"
    label = N_("Follow up")
    description = N_("Wait for a reply; if none comes in time, continue on 'timeout'.")
    category = "messages"
    ports = ("replied", "timeout")
    waits = True
    schema = FollowUpSchema

    def delay_seconds(self) -> int:
        return int(self.data["delay"]) * UNITS[self.data.get("unit", "minutes")]

    def run(self, rt: Runtime) -> Result:
        token = f"{self.id}:{rt.turn}"
        replies = [OutboundMessage(rt.render(self.data["text"]))] if self.data.get("text") else []
        effect = Effect(
            "schedule_follow_up", {"delay_seconds": self.delay_seconds(), "token": token, "node_id": self.id}
        )
        return Result(replies=replies, effects=[effect], wait=True, wait_token=token)

    def resume(self, rt: Runtime) -> Result:
        if rt.event.kind == "timeout":
            return Result(port="timeout")
        cancel = Effect("cancel_follow_up", {"token": rt.wait_token or "", "node_id": self.id})
        return Result(port="replied", effects=[cancel])
