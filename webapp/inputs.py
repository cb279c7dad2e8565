"""Input the database cannot hold is refused where it enters, once for the whole app.

PostgreSQL rejects a NUL (U+0000) in text and jsonb, and psycopg cannot even encode a lone UTF-16
surrogate (U+D800–U+DFFF, which JSON's `\\ud800` escapes and undecodable bytes in argv produce); jsonb has
no NaN or Infinity (which Python's JSON decoder accepts); a PostgreSQL `integer` holds at most 2**31-1.
Left to the views, each such value is a 500 somewhere deep in a commit. So:

- every request outside the signed webhooks has its query arguments, URL values, form fields and JSON body
  (keys and values at any depth, numbers too) checked before any view runs: a 400 with a message (the
  error page for people, `{"error"}` for the API and the web chat);
- `<int:...>` URL values beyond the database's integer range match no route (404);
- every text option of the operator CLI is checked the same way, and its integer options get the
  database's range (a usage error, exit 2).

The signed webhooks (`/webhooks/*`) are exempt: a 400 makes Meta and Telegram redeliver the same body
for days, so the pipeline cleans their text instead.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import click
from flask import Flask, abort, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, Map, ValidationError

from connectors.channels.events import UNSTORABLE  # one rule: the webhooks' pipeline cleans what this refuses

from .services.errors import Refused

DB_INT_MAX = 2**31 - 1  # ids and version numbers are PostgreSQL `integer` columns
DB_INT_MIN = -(2**31)
MAX_DEPTH = 40
EXEMPT_BLUEPRINTS = frozenset({"webhooks"})
FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def unstorable(value: Any, where: str = "") -> tuple[str, str | float] | None:
    """The first thing in `value` (itself, a dict key or value, a list item, at any depth) the database
    cannot store: `(where it is, the bad character or the non-finite number)`, else None. Iterative, so a
    deeply nested value cannot overflow the stack."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            found = UNSTORABLE.search(item)
            if found:
                return path, found.group()
        elif isinstance(item, float):
            if not math.isfinite(item):
                return path, item
        elif isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, path))
                stack.append((child, f"{path}.{key}" if path else str(key)))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
    return None


def char_name(char: str) -> str:
    return f"U+{ord(char):04X}"


def problem(where: str, bad: str | float) -> str:
    """What `unstorable` found, in words (English: for the API and the CLI)."""
    if isinstance(bad, float):
        return f"“{where}” is {json.dumps(bad)}, a number that cannot be stored: use a finite number."
    return (f"“{where}” contains {char_name(bad)}, a character that cannot be stored (a NUL or an unpaired "
            "surrogate): remove it and try again.")


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Deep nesting would crash validation, storage or serialisation later (RecursionError); iterative,
    as a recursive check would itself overflow."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def in_db_range(value: int) -> bool:
    return DB_INT_MIN <= value <= DB_INT_MAX


def parse_db_int(text: str) -> int | None:
    """An integer the database can compare with its `integer` columns, from URL or query text (ASCII
    digits, optionally signed); None for anything else. Length is checked first: `int()` of thousands of
    digits is refused by Python itself with a ValueError."""
    text = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,11}", text):
        return None
    number = int(text)
    return number if in_db_range(number) else None


def _refuse(where: str, bad: str | float) -> None:
    where = UNSTORABLE.sub("\ufffd", where)[:120] or _("the request body")
    if isinstance(bad, float):
        abort(400, description=_("“%(where)s” is %(value)s, a number that cannot be stored: use a finite "
                                 "number.", where=where, value=json.dumps(bad)))
    abort(400, description=_("“%(where)s” contains %(char)s, a character that cannot be stored (a NUL or an "
                             "unpaired surrogate): remove it and try again.", where=where, char=char_name(bad)))


def _json_body(raw: bytes) -> Any:
    """The body as JSON whatever its content type (the web chat route parses any body as JSON); None when
    there is none or it is not JSON: the view answers that."""
    try:
        if request.is_json:
            return request.get_json(silent=True)  # cached for the view
        return json.loads(raw) if raw.lstrip()[:1] in (b"{", b"[", b'"') else None
    except ValueError:
        return None
    except RecursionError:
        abort(400, description=_("The JSON is nested too deeply."))


def check_request() -> None:
    """Before any view: query arguments, URL values, form fields and the JSON body (see the module doc).
    A request that matched no route is left to its 404/405."""
    if request.routing_exception is not None or request.blueprint in EXEMPT_BLUEPRINTS:
        return
    raw = request.get_data(cache=True)  # read before the form is parsed, so a view can still have both
    pairs: list[tuple[str, Any]] = [*request.args.items(multi=True), *(request.view_args or {}).items()]
    if request.mimetype in FORM_TYPES:
        pairs += request.form.items(multi=True)
    for key, value in pairs:
        found = unstorable(key, key) or unstorable(value, key)
        if found:
            _refuse(*found)
    found = unstorable(_json_body(raw))
    if found:
        _refuse(*found)


class DbIntConverter(IntegerConverter):
    """`<int:...>` for values the database can hold: an id beyond its integer range cannot name a row,
    so the URL matches no route (404) instead of reaching a query that overflows (500)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = DB_INT_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> Any:
        if len(value.lstrip("+-")) > len(str(DB_INT_MAX)):
            raise ValidationError()  # int() itself refuses >4300 digits with a ValueError (a 500)
        return super().to_python(value)


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: a rule takes its converter when it is added."""
    app.url_map.converters["int"] = DbIntConverter
    app.before_request(check_request)


# ---- the operator CLI ----

class StorableText(click.ParamType):
    """click's plain string type plus the database's text rule; the CLI's every text option gets it."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        value = click.STRING.convert(value, param, ctx)
        found = UNSTORABLE.search(value)
        if found:
            self.fail(f"contains {char_name(found.group())}, a character that cannot be stored (a NUL or an unpaired "
                      "surrogate, e.g. from bytes that are not UTF-8)", param, ctx)
        return value


STORABLE_TEXT = StorableText()
DB_INT = click.IntRange(DB_INT_MIN, DB_INT_MAX)


def guard_cli(group: click.Command) -> None:
    """Give every plain text option and argument of `group`'s commands (at any depth) the text check and
    every plain integer one the database's range, so a command added later is covered by itself."""
    stack = [group]
    while stack:
        command = stack.pop()
        for param in command.params:
            if type(param.type) is click.types.StringParamType:
                param.type = STORABLE_TEXT
            elif type(param.type) is click.types.IntParamType:
                param.type = DB_INT
        if isinstance(command, click.Group):
            stack.extend(command.commands.values())


def int_of(value: Any, what: str) -> int:
    """An integer from JSON or a query string, within the range of the database's integer columns (a
    larger one cannot name a row and would overflow the query); bools are refused (True is not version 1)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not in_db_range(value):
            raise Refused(f"{what} is out of range.")
        return value
    if isinstance(value, str):
        number = parse_db_int(value)
        if number is not None:
            return number
        if re.fullmatch(r"\s*[+-]?[0-9]+\s*", value):
            raise Refused(f"{what} is out of range.")
    raise Refused(f"{what} must be an integer.")


def like_pattern(term: str) -> str:
    """`%term%` for LIKE/ILIKE with the term's own `%`, `_` and `\\` escaped (use with escape="\\"): a search
    for "50%" finds "50%", not everything that starts with "50"."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def parse_row_id(text: str | None) -> int | None:
    """A row id as a form or query sends it: ASCII digits, within the column's range, above zero; else None."""
    text = (text or "").strip()
    found = parse_db_int(text) if text.isdigit() else None
    return found if found is not None and found > 0 else None

