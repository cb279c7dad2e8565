"""`comment_reply`: answer an Instagram comment publicly and send the commenter one private DM.

Meta allows exactly one private reply per comment, so the node emits at most one `private_reply`; both
messages carry `meta.comment_id` from the event for the connector.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from flows.nodes.base import DataSchema, Node, Result, Runtime, spec
from flows.registry import register
from flows.turn import OutboundMessage


class CommentReplySchema(DataSchema):
    public_text = fields.String(load_default="", validate=validate.Length(max=2000))
    private_text = fields.String(load_default="", validate=validate.Length(max=1000))
    buttons = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)

    @validates_schema
    def _some_text(self, data: dict, **_: object) -> None:
        if not data.get("public_text") and not data.get("private_text"):
            raise ValidationError("set a public reply, a private message or both", "public_text")


@register
class CommentReply(Node):
    """On a comment event: public reply + private DM. On any other event it is skipped with a warning."""

    type = "comment_reply"
    label = "Reply to comment"
    description = "Reply publicly under the comment and send the author one private message."
    category = "messages"
    schema = CommentReplySchema
    fields = [
        spec("public_text", "Public reply", "textarea", default="", help="Shown under the post."),
        spec("private_text", "Private message", "textarea", default="", help="Sent once to the commenter's DM."),
        spec("buttons", "Buttons on the private message", "list", default=[]),
    ]

    def run(self, rt: Runtime) -> Result:
        event = rt.event
        if event.kind != "comment":
            return Result(port="out", warnings=[f"not a comment event ({event.kind}); comment reply skipped"])
        comment_id = event.meta.get("comment_id")
        if not comment_id:
            return Result(port="out", warnings=["comment event without meta.comment_id; reply skipped"])
        meta = {"comment_id": comment_id}
        if event.meta.get("post_id"):
            meta["post_id"] = event.meta["post_id"]
        out = Result(port="out")
        if self.data.get("public_text"):
            out.replies.append(OutboundMessage(rt.render(self.data["public_text"]), [], "comment_reply", meta))
        if self.data.get("private_text"):
            buttons = [rt.render(b) for b in self.data.get("buttons", ())]
            out.replies.append(
                OutboundMessage(rt.render(self.data["private_text"]), buttons, "private_reply", dict(meta))
            )
        return out
