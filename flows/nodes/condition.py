"""`condition`: branch on variables, message keywords, the kind of message (text, photo, voice note...), the
channel or time of day; first matching rule wins."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import ValidationError, fields, validate, validates_schema

from flows import phrases
from flows.media import CONTENT_KINDS, content_of
from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, ChannelName, form
from flows.templating import Missing, to_text
from flows.validators import MAX_REGEX_INPUT, compile_pattern

RULE_KINDS = ["variable", "keywords", "content", "channel", "time"]
OPS = ["equals", "not_equals", "contains", "regex", "empty", "not_empty", "greater", "less"]
HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="must be HH:MM")
PORT_ID = validate.Regexp(r"^[A-Za-z0-9_\-]+$", error="must use letters, digits, _ or -")


class RuleSchema(DataSchema):
    id = fields.String(
        required=True,
        validate=[PORT_ID, validate.NoneOf(["else"], error="'else' is reserved")],
        metadata=form(N_("Port id")),
    )
    kind = fields.String(load_default="variable", validate=validate.OneOf(RULE_KINDS), metadata=form(N_("Check")))
    variable = fields.String(load_default="", metadata=form(N_("Variable")))
    op = fields.String(load_default="equals", validate=validate.OneOf(OPS), metadata=form(N_("Operator")))
    value = fields.String(load_default="", metadata=form(N_("Value")))
    keywords = fields.List(
        fields.String(validate=validate.Length(min=1)), load_default=list, metadata=form(N_("Keywords"))
    )
    contents = fields.List(
        fields.String(validate=validate.OneOf(CONTENT_KINDS)),
        load_default=list,
        metadata=form(N_("Message kinds"), help=N_("For 'content': text, image, audio, video, sticker, file, "
                                                   "location or other (a shared post, a contact card...).")),
    )
    channels = fields.List(ChannelName(), load_default=list, metadata=form(N_("Channels")))
    start = fields.String(load_default="09:00", validate=HHMM, metadata=form(N_("From (HH:MM)")))
    end = fields.String(load_default="18:00", validate=HHMM, metadata=form(N_("To (HH:MM)")))
    days = fields.List(
        fields.Integer(validate=validate.Range(min=0, max=6)),
        load_default=list,
        metadata=form(N_("Weekdays (0=Mon)")),
    )

    @validates_schema
    def _check(self, data: dict, **_: object) -> None:
        kind = data.get("kind", "variable")
        if kind == "variable" and not data.get("variable"):
            raise ValidationError("a variable rule needs a variable name", "variable")
        if kind == "keywords" and not data.get("keywords"):
            raise ValidationError("a keywords rule needs keywords", "keywords")
        if kind == "content" and not data.get("contents"):
            raise ValidationError("a content rule needs message kinds", "contents")
        if kind == "channel" and not data.get("channels"):
            raise ValidationError("a channel rule needs channels", "channels")
        if kind == "variable" and data.get("op") == "regex":
            try:
                compile_pattern(data.get("value", ""))
            except ValueError as exc:
                raise ValidationError(str(exc), "value") from exc


class ConditionSchema(DataSchema):
    rules = fields.List(
        fields.Nested(RuleSchema),
        required=True,
        validate=validate.Length(min=1),
        metadata=form(
            N_("Rules"),
            help=N_("Checked in order; each rule id becomes an output port, plus 'else'."),
            default=[{"id": "yes", "kind": "keywords", "keywords": ["yes"]}],
        ),
    )

    @validates_schema
    def _unique(self, data: dict, **_: object) -> None:
        ids = [r["id"] for r in data.get("rules", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("rule ids must be unique", "rules")


def _number(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        return None


class Condition(Node):
    """Each rule is an output port named by its id; nothing matching goes to `else`."""

    type = "condition"
    label = N_("Condition")
    description = N_("Branch on a variable, keywords in the message, the kind of message (text, photo, voice "
                     "note...), the channel or the time of day.")
    category = "logic"
    ports = ("else",)
    dynamic_ports = {"field": "rules", "key": "id"}
    schema = ConditionSchema

    __slots__ = ("_rules",)

    def setup(self) -> None:
        rules = []
        for rule in self.data["rules"]:
            compiled = dict(rule)
            compiled["keywords"] = tuple(k.casefold() for k in rule.get("keywords", ()))
            if rule.get("kind") == "variable" and rule.get("op") == "regex":
                compiled["_re"] = re.compile(rule.get("value", ""), re.IGNORECASE)
            rules.append(compiled)
        self._rules = tuple(rules)

    @property
    def reads_content(self) -> bool:
        """A rule on the message kind: this flow answers photos, voice notes... itself (flows/media.py)."""
        return any(r.get("kind") == "content" for r in self._rules)

    def output_ports(self) -> tuple[str, ...]:
        return tuple(r["id"] for r in self.data["rules"]) + ("else",)

    def reads(self) -> set[str]:
        found = super().reads()
        found.update(r["variable"] for r in self.data["rules"] if r.get("kind") == "variable")
        return found

    def run(self, rt: Runtime) -> Result:
        for rule in self._rules:
            if self._test(rule, rt):
                return Result(port=rule["id"])
        return Result(port="else")

    def _test(self, rule: dict[str, Any], rt: Runtime) -> bool:
        kind = rule["kind"]
        if kind == "keywords":
            return any(phrases.contains(rt.event.text, k) for k in rule["keywords"])
        if kind == "content":
            return content_of(rt.event) in rule["contents"]
        if kind == "channel":
            return rt.channel in rule["channels"]
        if kind == "time":
            return self._in_window(rule, rt)
        value = rt.lookup(rule["variable"])
        if value is Missing:
            value = None
        return self._compare(rule, value, rt)

    @staticmethod
    def _compare(rule: dict[str, Any], value: Any, rt: Runtime) -> bool:
        op = rule["op"]
        text = to_text(value).strip()
        if op == "empty":
            return not text
        if op == "not_empty":
            return bool(text)
        expected = rt.render(rule.get("value", "")).strip()
        if op == "equals":
            return text.casefold() == expected.casefold()
        if op == "not_equals":
            return text.casefold() != expected.casefold()
        if op == "contains":
            return expected.casefold() in text.casefold()
        if op == "regex":
            return rule["_re"].search(text[:MAX_REGEX_INPUT]) is not None
        left, right = _number(value), _number(expected)
        if left is None or right is None:
            rt.warnings.append(f"rule {rule['id']}: cannot compare '{text}' and '{expected}' as numbers")
            return False
        return left > right if op == "greater" else left < right

    @staticmethod
    def _in_window(rule: dict[str, Any], rt: Runtime) -> bool:
        now: datetime = rt.services.clock.now()
        zone = rt.services.context.timezone
        if zone:
            try:
                now = now.astimezone(ZoneInfo(zone))
            except (ZoneInfoNotFoundError, ValueError):
                rt.warnings.append(f"unknown timezone '{zone}', using the clock's own")
        if rule.get("days") and now.weekday() not in rule["days"]:
            return False
        start, end = time.fromisoformat(rule["start"]), time.fromisoformat(rule["end"])
        current = now.time().replace(tzinfo=None)
        if start <= end:
            return start <= current < end
        return current >= start or current < end
