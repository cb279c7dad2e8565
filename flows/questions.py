"""A question asked in the middle of a form: answer it, then the form asks its own question again.

A customer asked for their phone number often answers "how much is a haircut?" first. Treating that as an
invalid phone number (and counting it as a failed attempt) loses leads, so an `ask` node whose answer
fails validation asks this module whether the message is a question the business can answer:

* offline, a confident FAQ match (flows/faq.py, the same threshold as the `faq` node) is the answer;
* with a model (`services.llm`: the tenant's, given to every flow with such an `ask` node) and a message
  that looks like a question (`looks_like_question`: no model call for a mistyped phone number), the model
  judges: it says whether the message is a question its facts answer and writes the answer, which must pass
  the grounding check (flows/grounding.py) like every model reply.

None means "not a question we can answer": the node's own validation and re-ask apply. Pure: every outside
call goes through `rt.services`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flows import faq
from flows.grounding import customer_texts, grounded_reply, system_sources
from flows.nodes.base import Runtime
from flows.prompt import build_messages
from flows.text_limits import fit_text
from flows.turn import Effect, OutboundMessage

JUDGE_MAX_TOKENS = 300
JUDGE_CONTEXT_TOKENS = 2500

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "is_question": {
            "type": "boolean",
            "description": "True only if the customer's message is a question that the facts above answer.",
        },
        "reply": {"type": "string", "description": "The short answer to send, or an empty string."},
    },
    "required": ["is_question", "reply"],
    "additionalProperties": False,
}

JUDGE_PROMPT = (
    "The customer is filling in a form and was asked: \"{asked}\". Their message is not a valid answer to it. "
    "Decide whether the message is a question about the business (prices, services, address, opening hours, "
    "booking, delivery...) that the business profile or FAQ above answers. If it is, set is_question to true "
    "and write a short answer in reply, using only the facts above; do not repeat the form's question (the "
    "bot asks it again after your answer). Otherwise set is_question to false and reply to an empty string."
)


@dataclass(slots=True)
class Judgement:
    """What asking produced: the answer to send before the form's question (None: not a question we can
    answer), and, when the model was asked, its usage (counted either way), prompt and trace notes."""

    answer: OutboundMessage | None = None
    note: str = ""
    effects: list[Effect] = field(default_factory=list)
    prompt: list[dict] | None = None
    warnings: list[str] = field(default_factory=list)


def answer_in_form(rt: Runtime, node_id: str, asked: str) -> Judgement:
    """A confident FAQ answer first (no model call, the business's own words); else the model's
    judgement when the turn has a model; else nothing."""
    services = rt.services
    text = rt.event.text or ""
    if not text.strip():
        return Judgement()
    hit = faq.best_answer(text, services.faq_entries())
    if hit is not None:
        entry, score = hit
        return Judgement(OutboundMessage(fit_text(str(entry.get("a") or ""), services.context.text_limit)),
                         f"a question inside the form: answered from the FAQ ('{entry.get('q', '')}', "
                         f"score {score:.0f})")
    if services.llm is None or not looks_like_question(text):
        return Judgement()
    return _judge_with_model(rt, node_id, asked)


_QUESTION_WORDS = frozenset({
    "how", "what", "what's", "whats", "where", "where's", "when", "which", "who", "why", "do", "does", "did",
    "can", "could", "is", "are", "will", "would", "should", "may", "have", "has", "any", "как", "какой",
    "какая", "какое", "какие", "каков", "сколько", "где", "когда", "куда", "откуда", "почему", "зачем",
    "что", "чем", "кто", "можно", "есть", "ли", "а", "вы", "у",
})


def looks_like_question(text: str) -> bool:
    """A question mark, or a question word first ("how much…", "сколько стоит…"): only then is the model
    asked, so a mistyped phone number never costs a model call."""
    words = text.strip().casefold().split()
    return "?" in text or bool(words and words[0].strip(",.!:;") in _QUESTION_WORDS)


def _judge_with_model(rt: Runtime, node_id: str, asked: str) -> Judgement:
    services = rt.services
    ctx = services.context
    messages = build_messages(
        layers=ctx.prompt_layers,
        profile=ctx.profile,
        node_prompt=JUDGE_PROMPT.format(asked=" ".join(asked.split())[:500]),
        history=rt.history,
        user_message=rt.event.text,
        language=ctx.language,
        channel_style=ctx.channel_style,
        faq_entries=services.faq_entries(),
        context_tokens=JUDGE_CONTEXT_TOKENS,
    )
    assert services.llm is not None
    result = services.llm.complete(messages, max_tokens=JUDGE_MAX_TOKENS, response_schema=JUDGE_SCHEMA)
    judgement = Judgement(effects=[Effect("llm_usage", {
        "node_id": node_id, "model": result.model, "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens})], prompt=messages)
    data = result.data or {}
    reply = str(data.get("reply") or "").strip()
    if result.error:
        judgement.warnings.append(f"asked the model whether this is a question: {result.error}")
    elif data.get("is_question") is not True or not reply:
        judgement.warnings.append("the model judged the message not a question the business can answer")
    else:
        judgement.answer = grounded_reply(fit_text(reply, ctx.text_limit), system_sources(messages), ctx,
                                          judgement.warnings, customer_texts(messages))
        judgement.note = "a question inside the form: the model answered it"
    return judgement
