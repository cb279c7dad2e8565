"""`llm`: a reply written by the tenant's LLM from prompt layers + this node's prompt + history.

Optionally extracts structured fields (name, phone...) validated exactly like `ask`. A reply that states a
price, time, address or number the prompt did not contain is replaced by "I don't know, shall I call a
person?" (flows/grounding.py). Without a provider
(offline mode) or when the call fails, it answers from the FAQ, the tenant's fallback text or a system
"a manager will reply soon" text, and leaves through `fallback` so the scenario can hand off; with
`fallback_reply` off it says nothing and leaves the next step to the `fallback` branch (the AI assistant's
booking step: a model reads the name and phone from the message, without one the questions ask for them).
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates

from flows import faq
from flows.grounding import customer_texts, grounded_reply, system_sources
from flows.nodes.ask import VARIABLE
from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form
from flows.prompt import build_messages, extraction_schema
from flows.text_limits import fit_text
from flows.turn import Effect, OutboundMessage
from flows.validators import KINDS, check

EXTRACT_KINDS = [k for k in KINDS if k != "regex"]


class ExtractSchema(DataSchema):
    variable = fields.String(required=True, validate=VARIABLE, metadata=form(N_("Variable")))
    validate_ = fields.String(
        data_key="validate",
        attribute="validate",
        load_default="text",
        validate=validate.OneOf(EXTRACT_KINDS),
        metadata=form(N_("Validate as")),
    )
    description = fields.String(load_default="", metadata=form(N_("Description")))
    choices = fields.List(fields.String(), load_default=list, metadata=form(N_("Choices")))


class LLMSchema(DataSchema):
    prompt = fields.String(
        load_default="",
        validate=validate.Length(max=8000),
        metadata=form(
            N_("Instructions for this step"),
            "textarea",
            help=N_("e.g. Answer questions about prices and suggest booking."),
        ),
    )
    max_tokens = fields.Integer(
        load_default=400, validate=validate.Range(min=16, max=4000), metadata=form(N_("Max reply tokens"))
    )
    use_faq = fields.Boolean(load_default=True, metadata=form(N_("Use the FAQ in the prompt")))
    extract = fields.List(
        fields.Nested(ExtractSchema),
        load_default=list,
        metadata=form(
            N_("Extract fields"), help=N_("Fields the AI should pick out of the message, validated like Ask.")
        ),
    )
    fallback_reply = fields.Boolean(
        load_default=True,
        metadata=form(
            N_("Reply when the AI is unavailable"),
            help=N_("Off: without a model (or when it fails) nothing is sent here and the flow goes on at "
                    "'fallback', e.g. to questions."),
        ),
    )
    context_tokens = fields.Integer(
        load_default=3000,
        validate=validate.Range(min=200, max=32000),
        metadata=form(N_("Context budget (tokens)")),
    )

    @validates("extract")
    def _unique(self, value: list, **_: object) -> None:
        names = [e["variable"] for e in value]
        if len(names) != len(set(names)) or "reply" in names:
            raise ValidationError("extracted variables must be unique and not named 'reply'")


class LLMNode(Node):
    """Calls `services.llm`; emits an `llm_usage` effect; `ok` on success, `fallback` otherwise."""

    type = "llm"
    uses = frozenset({"llm"})
    label = N_("AI reply")
    description = N_("Reply with the AI using the business profile, prompt layers and this prompt.")
    category = "ai"
    ports = ("ok", "fallback")
    schema = LLMSchema

    __slots__ = ("_schema",)

    def setup(self) -> None:
        extract = self.data.get("extract") or []
        self._schema = extraction_schema(extract) if extract else None

    def writes(self) -> set[str]:
        return {e["variable"] for e in self.data.get("extract") or ()}

    def run(self, rt: Runtime) -> Result:
        services = rt.services
        if services.llm is None:
            return self._fallback(rt, "no LLM provider configured (offline mode)")
        ctx = services.context
        messages = build_messages(
            layers=ctx.prompt_layers,
            profile=ctx.profile,
            node_prompt=rt.render(self.data.get("prompt") or ""),
            history=rt.history,
            user_message=rt.event.text,
            language=ctx.language,
            channel_style=ctx.channel_style,
            faq_entries=services.faq_entries() if self.data.get("use_faq", True) else None,
            context_tokens=self.data.get("context_tokens", 3000),
        )
        result = services.llm.complete(
            messages, max_tokens=self.data.get("max_tokens", 400), response_schema=self._schema
        )
        usage = Effect(
            "llm_usage",
            {
                "node_id": self.id,
                "model": result.model,
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
            },
        )
        if result.error:
            out = self._fallback(rt, f"LLM error: {result.error}")
            out.effects.insert(0, usage)
            out.prompt = messages
            return out
        data = result.data or {}
        text = result.text or str(data.get("reply") or "")
        if self._schema is not None and data.get("reply"):
            text = str(data["reply"])
        out = Result(port="ok", effects=[usage], prompt=messages)
        self._extract(data, rt, out)
        text = fit_text(text, rt.services.context.text_limit)
        if text.strip():
            out.replies.append(grounded_reply(text, system_sources(messages), rt.services.context, out.warnings,
                                              customer_texts(messages)))
        else:
            out.warnings.append("the LLM returned an empty reply")
        return out

    def _extract(self, data: dict[str, Any], rt: Runtime, out: Result) -> None:
        region = rt.services.context.phone_region
        for item in self.data.get("extract") or ():
            raw = data.get(item["variable"])
            if raw is None or raw == "":
                continue
            ok, value = check(item["validate"], str(raw), choices=item.get("choices", ()), region=region)
            if ok:
                out.set_vars[item["variable"]] = value
            else:
                out.warnings.append(f"extracted {item['variable']}={raw!r} is not a valid {item['validate']}")

    def _fallback(self, rt: Runtime, reason: str) -> Result:
        if not self.data.get("fallback_reply", True):  # the flow's `fallback` branch says what comes next
            return Result(port="fallback", warnings=[f"{reason}; no reply here (fallback_reply off)"])
        services = rt.services
        hit = faq.best_answer(rt.event.text, services.faq_entries()) if rt.event.text else None
        if hit is not None:
            text, source = str(hit[0].get("a") or ""), f"FAQ answer (score {hit[1]:.0f})"
        elif services.context.fallback_text:
            text, source = rt.render(services.context.fallback_text), "tenant fallback text"
        else:
            text, source = rt.text("fallback"), "system fallback text"
        text = fit_text(text, rt.services.context.text_limit)
        return Result(port="fallback", replies=[OutboundMessage(text)], warnings=[f"{reason}; replied with {source}"])
