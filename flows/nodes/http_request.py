"""`http_request`: call a tenant's own API (CRM, booking system) — only on plans with `integrations`.

The node renders the URL and JSON body from variables, asks `services.http` (never an HTTP library
directly) and copies values out of the JSON response into variables by dotted paths.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate, validates

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_, form
from flows.templating import Missing, dig, render_json
from flows.turn import Effect

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
URL = re.compile(r"^(https?://|\{\{)", re.IGNORECASE)


class HttpSchema(DataSchema):
    method = fields.String(load_default="POST", validate=validate.OneOf(METHODS), metadata=form(N_("Method")))
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata=form(N_("URL"), help=N_("May use {{variables}}.")),
    )
    body = fields.Raw(
        load_default=None, allow_none=True, metadata=form(N_("JSON body"), help=N_("Strings may use {{variables}}."))
    )
    headers = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=dict, metadata=form(N_("Headers"))
    )
    response = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Za-z_]\w*$")),
        values=fields.String(),
        load_default=dict,
        metadata=form(
            N_("Save from response"), help=N_("Variable → JSON path in the response, e.g. booking_id → data.id")
        ),
    )
    timeout = fields.Float(
        load_default=10.0, validate=validate.Range(min=0.5, max=30), metadata=form(N_("Timeout (seconds)"))
    )

    @validates("url")
    def _url(self, value: str, **_: object) -> None:
        if not URL.match(value):
            raise ValidationError("must start with http:// or https://")

    @validates("body")
    def _body(self, value: Any, **_: object) -> None:
        if value is not None and not isinstance(value, dict | list):
            raise ValidationError("must be a JSON object or list")


class HttpRequest(Node):
    """Ports: `ok` (2xx/3xx) and `error` (feature off, no client, network error or 4xx/5xx)."""

    type = "http_request"
    uses = frozenset({"http"})
    label = N_("HTTP request")
    description = N_("Call an external API and save values from its JSON response (Integrations plan).")
    category = "integrations"
    ports = ("ok", "error")
    schema = HttpSchema

    def writes(self) -> set[str]:
        return set(self.data.get("response") or {})

    def run(self, rt: Runtime) -> Result:
        services = rt.services
        if "integrations" not in services.context.features:
            return Result(port="error", warnings=["HTTP requests need the 'integrations' feature; skipped"])
        if services.http is None:
            return Result(port="error", warnings=["no HTTP client available; skipped"])
        missing: list[str] = []
        url = rt.render(self.data["url"])
        body = render_json(self.data.get("body"), rt.lookup, missing)
        headers = {k: rt.render(v) for k, v in (self.data.get("headers") or {}).items()}
        rt.warnings.extend(f"variable '{p}' is not set; rendered empty" for p in missing)
        method = self.data.get("method", "POST")
        result = services.http.request(
            method, url, json=body, headers=headers, timeout=float(self.data.get("timeout", 10.0))
        )
        if result.error or not 200 <= result.status < 400:
            problem = result.error or f"HTTP {result.status}"
            effect = Effect("http_error", {"node_id": self.id, "url": url, "status": result.status, "error": problem})
            return Result(port="error", effects=[effect], warnings=[f"{method} {url} failed: {problem}"])
        out = Result(port="ok")
        for variable, path in (self.data.get("response") or {}).items():
            value = dig(result.body, path.split(".")) if path else result.body
            if value is Missing:
                out.warnings.append(f"response has no '{path}' for {variable}")
            else:
                out.set_vars[variable] = value
        return out
