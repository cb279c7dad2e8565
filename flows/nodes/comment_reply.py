"""`comment_reply`: answer an Instagram comment publicly and send the commenter one private DM.

Meta allows exactly one private reply per comment, so the node emits at most one `private_reply`; both
messages carry `meta.comment_id` from the event for the connector.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form
from flows.turn import OutboundMessage


class CommentReplySchema(DataSchema):
    public_text = fields.String(
        load_default="",
        validate=validate.Length(max=2000),
        metadata=form(N_("Public reply"), "textarea", help=N_("Shown under the post.")),
    )
    private_text = fields.String(
        load_default="",
        validate=validate.Length(max=1000),
        metadata=form(N_("Private message"), "textarea", help=N_("Sent once to the commenter's DM.")),
    )
    buttons = fields.List(
        fields.String(validate=validate.Length(min=1)),
        load_default=list,
        metadata=form(N_("Buttons on the private message")),
    )

    @validates_schema
    def _some_text(self, data: dict, **_: object) -> None:
        if not data.get("public_text") and not data.get("private_text"):
            raise ValidationError("set a public reply, a private message or both", "public_text")


class CommentReply(Node):
    """On a comment event: public reply + private DM. On any other event it is skipped with a warning."""

    type = "comment_reply"
    label = N_("Reply to comment")
    description = N_("Reply publicly under the comment and send the author one private message.")
    category = "messages"
    schema = CommentReplySchema

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
