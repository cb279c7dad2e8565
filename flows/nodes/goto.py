"""`goto`: jump to another node without drawing a long edge across the canvas."""

from __future__ import annotations

from marshmallow import fields, validate

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form


class GotoSchema(DataSchema):
    target = fields.String(required=True, validate=validate.Length(min=1), metadata=form(N_("Target node id")))


class Goto(Node):
    """Continues at `target`; validation checks the target exists and counts it for loops/reachability."""

    type = "goto"
    label = N_("Go to")
    description = N_("Jump to another node by id.")
    category = "logic"
    ports = ()
    schema = GotoSchema

    def jump_targets(self) -> tuple[str, ...]:
        return (self.data["target"],)

    def run(self, rt: Runtime) -> Result:
        return Result(jump=self.data["target"])
