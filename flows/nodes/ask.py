"""`ask`: ask a question, wait for the answer, validate it and store it in a variable."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form
from flows.questions import answer_in_form, looks_like_question
from flows.turn import OutboundMessage
from flows.validators import KINDS, PHONE_REGIONS, check, compile_pattern

VARIABLE = validate.Regexp(r"^[A-Za-z_]\w*$", error="must be a variable name (letters, digits, _)")


class AskSchema(DataSchema):
    text = fields.String(
        load_default="",
        validate=validate.Length(max=4000),
        metadata=form(N_("Question"), "textarea", help=N_("Leave empty to just wait for the next message.")),
    )
    variable = fields.String(
        required=True, validate=VARIABLE, metadata=form(N_("Save answer as"), help=N_("e.g. phone"))
    )
    validate_ = fields.String(
        data_key="validate",
        attribute="validate",
        load_default="text",
        validate=validate.OneOf(KINDS),
        metadata=form(N_("Validate as")),
    )
    choices = fields.List(
        fields.String(validate=validate.Length(min=1)),
        load_default=list,
        metadata=form(N_("Choices"), help=N_("For 'choice': allowed answers (shown as buttons).")),
    )
    pattern = fields.String(
        load_default="", metadata=form(N_("Regex pattern"), help=N_("For 'regex': the whole answer must match."))
    )
    region = fields.String(
        load_default="",
        validate=validate.OneOf(["", *PHONE_REGIONS], error="must be a two-letter country code such as US or RU"),
        metadata=form(
            N_("Default phone region"),
            "text",
            help=N_("Two-letter country code for numbers without +, e.g. RU or US."),
        ),
    )
    max_retries = fields.Integer(
        load_default=2, validate=validate.Range(min=0, max=10), metadata=form(N_("Re-ask times"))
    )
    retry_text = fields.String(
        load_default="",
        metadata=form(N_("Re-ask text"), "textarea", help=N_("Empty uses the built-in text in the tenant's language.")),
    )
    buttons = fields.List(
        fields.String(validate=validate.Length(min=1)), load_default=list, metadata=form(N_("Quick-reply buttons"))
    )
    answer_questions = fields.Boolean(
        load_default=True,
        metadata=form(
            N_("Answer questions in between"),
            help=N_("A question the FAQ (or the AI) can answer gets its answer and this question is asked "
                    "again; it does not count as a failed attempt."),
        ),
    )

    @validates_schema
    def _check(self, data: dict, **_: object) -> None:
        if data.get("validate") == "choice" and not data.get("choices"):
            raise ValidationError("choice validation needs at least one choice", "choices")
        if data.get("validate") == "regex":
            if not data.get("pattern"):
                raise ValidationError("regex validation needs a pattern", "pattern")
            try:
                compile_pattern(data["pattern"])
            except ValueError as exc:
                raise ValidationError(str(exc), "pattern") from exc


def _reads_as_question(kind: str, text: str | None) -> bool:
    """Whether an answer that passed a lenient validation (free text, a name) is rather a question: "How
    much is a haircut?" is a valid `text` answer and, without its "?", a valid `name`. A question word
    first counts for free text; for a name it takes a "?" or three words ("how much is it"), so "Will"
    stays a name. Strict kinds (phone, email, ...) refuse questions by themselves."""
    text = (text or "").strip()
    if kind == "text":
        return looks_like_question(text)
    if kind == "name":
        return "?" in text or (len(text.split()) >= 3 and looks_like_question(text))
    return False


class Ask(Node):
    """Waits for the user's reply. Invalid answers are re-asked `max_retries` times, then `failed`.

    An invalid answer that is a question the business can answer (`answer_questions`, on by default:
    flows/questions.py) gets its answer and the question again, and is not counted as a failed attempt; so
    does a free-text or name answer that reads like one (`_reads_as_question`) — if nothing answers it, free
    text is taken as the answer and a name is asked again:
    the precedence is a request for a person, keyword triggers (both in `engine.step`), then such an
    answer, then this node's validation and re-ask.

    An empty question just waits for the next message (useful to loop a FAQ/LLM conversation).
    """

    type = "ask"
    label = N_("Ask")
    description = N_("Ask a question, validate the answer (phone, email, ...) and save it in a variable.")
    category = "messages"
    ports = ("ok", "failed")
    waits = True
    schema = AskSchema

    __slots__ = ("_pattern",)

    def setup(self) -> None:
        pattern = self.data.get("pattern")
        self._pattern = compile_pattern(pattern) if pattern and self.data.get("validate") == "regex" else None

    @property
    def uses(self) -> frozenset[str]:  # type: ignore[override]
        """The tenant's model, where it has one, judges whether a failed answer is a question its facts answer
        (flows/questions.py), in any flow, not only in flows with an `llm` node."""
        return frozenset({"llm"}) if self.data.get("answer_questions", True) else frozenset()

    def writes(self) -> set[str]:
        return {self.data["variable"]}

    def _question(self, rt: Runtime, text: str) -> OutboundMessage:
        buttons = list(self.data.get("buttons") or ())
        if not buttons and self.data.get("validate") == "choice":
            buttons = list(self.data["choices"])
        return OutboundMessage(text, [rt.render(b) for b in buttons])

    def run(self, rt: Runtime) -> Result:
        rt.retries.pop(self.id, None)
        text = self.data.get("text") or ""
        replies = [self._question(rt, rt.render(text))] if text else []
        return Result(replies=replies, wait=True)

    def resume(self, rt: Runtime) -> Result:
        kind = self.data.get("validate", "text")
        region = self.data.get("region") or rt.services.context.phone_region
        ok, value = check(
            kind, rt.event.text, choices=self.data.get("choices", ()), pattern=self._pattern, region=region
        )
        answers_questions = self.data.get("answer_questions", True)
        if ok and not (answers_questions and self.data.get("text") and _reads_as_question(kind, rt.event.text)):
            rt.retries.pop(self.id, None)
            return Result(port="ok", set_vars={self.data["variable"]: value})
        if answers_questions:
            asked = rt.render(self.data.get("text") or "")
            judged = answer_in_form(rt, self.id, asked)
            if judged.answer is not None:
                replies = [judged.answer, *([self._question(rt, asked)] if asked else [])]
                return Result(replies=replies, wait=True, effects=judged.effects, prompt=judged.prompt,
                              warnings=[*judged.warnings, f"{judged.note}; question asked again, "
                                        "not counted as a failed attempt"])
            if ok and kind != "name":  # free text that reads like a question nobody could answer: an answer
                rt.retries.pop(self.id, None)
                return Result(port="ok", set_vars={self.data["variable"]: value}, effects=judged.effects,
                              prompt=judged.prompt, warnings=judged.warnings)
            question_effects, question_warnings, prompt = judged.effects, judged.warnings, judged.prompt
        else:
            question_effects, question_warnings, prompt = [], [], None
        tries = rt.retries.get(self.id, 0) + 1
        if tries > self.data.get("max_retries", 2):
            rt.retries.pop(self.id, None)
            return Result(port="failed", effects=question_effects, prompt=prompt,
                          warnings=[*question_warnings, f"answer invalid as {kind}; retries exhausted"])
        rt.retries[self.id] = tries
        custom = self.data.get("retry_text")
        text = (
            rt.render(custom) if custom else rt.text(f"reask.{kind}", choices=", ".join(self.data.get("choices", ())))
        )
        return Result(
            replies=[self._question(rt, text)],
            wait=True,
            effects=question_effects,
            prompt=prompt,
            warnings=[*question_warnings,
                      f"answer invalid as {kind}; re-asked ({tries}/{self.data.get('max_retries', 2)})"],
        )
