"""`set_variable`: assign values (templates allowed) to conversation variables."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form

NAME = r"^[A-Za-z_]\w*$"


class SetVariableSchema(DataSchema):
    values = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        validate=validate.Length(min=1),
        metadata=form(N_("Variables"), help=N_("Variable name → value (templates allowed)."), default={}),
    )

    @validates("values")
    def _names(self, value: dict, **_: object) -> None:
        import re

        bad = [k for k in value if not re.match(NAME, k)]
        if bad:
            raise ValidationError(f"not a variable name: {', '.join(bad)}")


class SetVariable(Node):
    """Sets variables so later nodes (conditions, lead fields, texts) can use them."""

    type = "set_variable"
    label = N_("Set variable")
    description = N_("Set one or more variables; values may use {{other_variables}}.")
    category = "logic"
    schema = SetVariableSchema

    def writes(self) -> set[str]:
        return set(self.data["values"])

    def run(self, rt: Runtime) -> Result:
        return Result(port="out", set_vars={k: rt.render(v) for k, v in self.data["values"].items()})
