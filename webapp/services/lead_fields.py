"""Custom lead fields (plan feature `custom_fields`): their definitions and the values a lead may hold.

The owner defines fields in Settings → Lead fields; the definitions live in `tenant.settings["lead_fields"]`
as a list of `{"key", "label", "type", "options"}` (a configuration, like the tenant's other settings), the
values in `Lead.custom` keyed by the field's key. A value is checked against its definition here, so the lead
page, any future API and the export agree on what a "number" or a "date" is.

Whether the tenant may use them is `webapp.plans.has_feature(tenant, "custom_fields")`; without the feature
`definitions_in_use` is empty: no form, no export columns (the stored values stay, for an upgrade).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _

from ..models import Tenant
from ..plans import has_feature

FEATURE = "custom_fields"
SETTING = "lead_fields"
TYPES = ("text", "number", "date", "choice")
MAX_FIELDS = 30
MAX_OPTIONS = 50
MAX_LABEL = 80
MAX_OPTION = 80
MAX_TEXT = 500
#: The lead page's form names a field's input `custom-<key>` (a key may be any word, even "csrf_token").
FORM_PREFIX = "custom-"
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")


class LeadFieldError(ValueError):
    """A definition or value that cannot be used; `errors` maps a field (or key) to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class FieldDef:
    key: str
    label: str
    type: str
    options: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type}
        if self.type == "choice":
            data["options"] = list(self.options)
        return data


def allowed(tenant: Tenant) -> bool:
    return has_feature(tenant, FEATURE)


def definitions(tenant: Tenant) -> list[FieldDef]:
    """The stored definitions (whatever the plan); entries that are not well-formed are skipped."""
    out: list[FieldDef] = []
    for item in (tenant.settings or {}).get(SETTING) or []:
        if not isinstance(item, dict):
            continue
        key, label, kind = item.get("key"), item.get("label"), item.get("type")
        if not (isinstance(key, str) and KEY_RE.fullmatch(key) and isinstance(label, str) and kind in TYPES):
            continue
        options = tuple(str(o) for o in item.get("options") or [] if isinstance(o, str | int | float))
        out.append(FieldDef(key, label, kind, options if kind == "choice" else ()))
    return out


def definitions_in_use(tenant: Tenant) -> list[FieldDef]:
    """The definitions the tenant's plan lets it use now: none without the feature."""
    return definitions(tenant) if allowed(tenant) else []


def make_definition(key: str, label: str, kind: str, options_text: str = "") -> FieldDef:
    """A new definition from the settings form, or LeadFieldError naming the form field at fault."""
    key, label = (key or "").strip(), (label or "").strip()
    errors: dict[str, str] = {}
    if not KEY_RE.fullmatch(key):
        errors["key"] = _("Use 1–40 lowercase letters, digits and _, starting with a letter.")
    if not label or len(label) > MAX_LABEL:
        errors["label"] = _("A label of 1–%(n)d characters.", n=MAX_LABEL)
    if kind not in TYPES:
        errors["type"] = _("Unknown type.")
    options: tuple[str, ...] = ()
    if kind == "choice":
        options = tuple(dict.fromkeys(o.strip() for o in (options_text or "").splitlines() if o.strip()))
        if not options:
            errors["options"] = _("A choice needs at least one option, one per line.")
        elif len(options) > MAX_OPTIONS or any(len(o) > MAX_OPTION for o in options):
            errors["options"] = _("At most %(n)d options of up to %(m)d characters each.", n=MAX_OPTIONS,
                                  m=MAX_OPTION)
    if errors:
        raise LeadFieldError(errors)
    return FieldDef(key, label, kind, options)


def add_definition(tenant: Tenant, new: FieldDef) -> None:
    """Append `new` to the tenant's definitions (the caller commits)."""
    current = definitions(tenant)
    if any(d.key == new.key for d in current):
        raise LeadFieldError({"key": _("A field with this key exists already.")})
    if len(current) >= MAX_FIELDS:
        raise LeadFieldError({"key": _("At most %(n)d custom fields.", n=MAX_FIELDS)})
    _store(tenant, [*current, new])


def remove_definition(tenant: Tenant, key: str) -> bool:
    """Forget the definition of `key` (leads keep their stored values); False when there is none."""
    current = definitions(tenant)
    kept = [d for d in current if d.key != key]
    if len(kept) == len(current):
        return False
    _store(tenant, kept)
    return True


def _store(tenant: Tenant, defs: list[FieldDef]) -> None:
    tenant.settings = {**(tenant.settings or {}), SETTING: [d.as_dict() for d in defs]}


# -- values --------------------------------------------------------------------------------------------
def parse_value(definition: FieldDef, raw: str) -> Any:
    """The stored form of a value typed for `definition` (None: empty, the value is removed), or
    LeadFieldError keyed by the field's key."""
    text = (raw or "").strip()
    if not text:
        return None
    if definition.type == "text":
        if len(text) > MAX_TEXT:
            raise LeadFieldError({definition.key: _("At most %(n)d characters.", n=MAX_TEXT)})
        return text
    if definition.type == "number":
        return _number(definition.key, text)
    if definition.type == "date":
        try:
            if len(text) != 10:
                raise ValueError(text)
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise LeadFieldError({definition.key: _("Not a date: use YYYY-MM-DD.")}) from None
    if text not in definition.options:
        raise LeadFieldError({definition.key: _("Pick one of the options.")})
    return text


def _number(key: str, text: str) -> int | float:
    cleaned = text.replace(",", ".").replace(" ", "")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", cleaned) or len(cleaned) > 30:
        raise LeadFieldError({key: _("Not a number.")})
    value = float(cleaned)
    if not math.isfinite(value) or abs(value) > 1e15:
        raise LeadFieldError({key: _("Not a number.")})
    return int(value) if value.is_integer() and "." not in cleaned else value


def display(value: Any) -> str:
    """A stored value as the page and the export show it."""
    return "" if value is None else str(value)
