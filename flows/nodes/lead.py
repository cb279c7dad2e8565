"""`lead`: hand the collected variables to the CRM as a lead (the caller saves it, tenant-scoped)."""

from __future__ import annotations

from marshmallow import fields, validate

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form
from flows.templating import Missing
from flows.turn import Effect

NAME = validate.Regexp(r"^[A-Za-z_][\w.]*$", error="must be a variable name")


class LeadSchema(DataSchema):
    required = fields.List(
        fields.String(validate=NAME),
        load_default=list,
        metadata=form(N_("Required fields"), help=N_("Variables that must be filled, e.g. phone.")),
    )
    fields_ = fields.List(
        fields.String(validate=NAME),
        data_key="fields",
        attribute="fields",
        load_default=list,
        metadata=form(N_("Extra fields"), help=N_("Other variables to store with the lead.")),
    )
    source = fields.String(
        load_default="", metadata=form(N_("Source label"), help=N_("e.g. instagram comment campaign"))
    )


class Lead(Node):
    """Emits a `lead` effect with the listed fields; a missing required field goes to `invalid`."""

    type = "lead"
    label = N_("Save lead")
    description = N_("Save a lead from collected variables (name, phone, ...).")
    category = "crm"
    ports = ("saved", "invalid")
    schema = LeadSchema

    def reads(self) -> set[str]:
        return set(self.data.get("required", ())) | set(self.data.get("fields", ())) | super().reads()

    def run(self, rt: Runtime) -> Result:
        values: dict[str, object] = {}
        missing: list[str] = []
        for name in [*self.data.get("required", ()), *self.data.get("fields", ())]:
            value = rt.lookup(name)
            if value is Missing or value in (None, ""):
                if name in self.data.get("required", ()):
                    missing.append(name)
                continue
            values[name] = value
        if missing:
            return Result(port="invalid", warnings=[f"lead not saved: missing {', '.join(missing)}"])
        payload = {
            "fields": values,
            "source": rt.render(self.data.get("source") or ""),
            "channel": rt.channel,
        }
        return Result(port="saved", effects=[Effect("lead", payload)])
