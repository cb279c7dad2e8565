"""`faq`: answer from the tenant's FAQ by similarity (no LLM needed)."""

from __future__ import annotations

from marshmallow import fields, validate

from flows import faq
from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form
from flows.text_limits import fit_text
from flows.turn import OutboundMessage


class FaqSchema(DataSchema):
    query = fields.String(
        load_default="",
        validate=validate.Length(max=2000),
        metadata=form(N_("Question to look up"), help=N_("Empty means the customer's last message.")),
    )
    threshold = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=100),
        metadata=form(N_("Match threshold (0-100)"), help=N_("Empty uses the built-in threshold.")),
    )
    reply = fields.Boolean(load_default=True, metadata=form(N_("Send the answer")))
    variable = fields.String(
        load_default="",
        validate=validate.Regexp(r"^([A-Za-z_]\w*)?$"),
        metadata=form(N_("Save answer as"), help=N_("Optional variable for the answer.")),
    )


class Faq(Node):
    """Looks the message up in the FAQ; `answered` sends the answer, `no_match` lets the flow decide."""

    type = "faq"
    label = N_("FAQ answer")
    description = N_("Answer from the business FAQ when a question matches closely enough.")
    category = "ai"
    ports = ("answered", "no_match")
    schema = FaqSchema

    def writes(self) -> set[str]:
        return {self.data["variable"]} if self.data.get("variable") else set()

    def run(self, rt: Runtime) -> Result:
        query = rt.render(self.data["query"]) if self.data.get("query") else rt.event.text
        hit = faq.best_answer(query, rt.services.faq_entries(), self.data.get("threshold"))
        if hit is None:
            return Result(port="no_match")
        entry, score = hit
        answer = str(entry.get("a") or "")
        out = Result(port="answered", warnings=[f"FAQ matched '{entry.get('q', '')}' (score {score:.0f})"])
        if self.data.get("variable"):
            out.set_vars[self.data["variable"]] = answer
        if self.data.get("reply", True):
            out.replies.append(OutboundMessage(fit_text(answer, rt.services.context.text_limit)))
        return out
