"""Answer validators shared by the `ask` node and `llm` extraction.

Each validator takes the raw answer and returns `(ok, value)`: the normalised value to store (a phone in
E.164, a lower-cased email domain, a number) or `None`. Libraries do the hard parts: `phonenumbers` for
phones, `email-validator` for addresses (without DNS lookups — nodes never do I/O).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

KINDS = ("text", "name", "phone", "email", "number", "choice", "regex")
MAX_INPUT = 2000
MAX_REGEX_INPUT = 300
PHONE_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
# A repeated group that itself repeats, e.g. (a+)+ or (\w*)*: exponential backtracking on a near-miss.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,\d*\})")
_NAME = re.compile(r"^[^\W\d_][^\W\d_' .\-]*(?:[' .\-]+[^\W\d_]+)*$")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a tenant's regex, refusing nested repetition: `re` has no timeout and one catastrophic
    pattern would stall a shared worker on every message. Raises ValueError with a human message."""
    if _NESTED_REPEAT.search(pattern):
        raise ValueError("the pattern repeats a group that already repeats (like (a+)+), which can hang; simplify it")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from exc


def check(
    kind: str,
    answer: str,
    *,
    choices: Sequence[str] = (),
    pattern: re.Pattern[str] | None = None,
    region: str | None = None,
) -> tuple[bool, Any]:
    """Validate `answer` as `kind`; returns (ok, normalised value)."""
    answer = (answer or "").strip()[:MAX_INPUT]
    if not answer:
        return False, None
    if kind == "text":
        return True, answer
    if kind == "name":
        return _name(answer)
    if kind == "phone":
        return _phone(answer, region)
    if kind == "email":
        return _email(answer)
    if kind == "number":
        return _number(answer)
    if kind == "choice":
        return _choice(answer, choices)
    if kind == "regex":
        ok = pattern is not None and len(answer) <= MAX_REGEX_INPUT and pattern.fullmatch(answer) is not None
        return (True, answer) if ok else (False, None)
    raise ValueError(f"unknown validator {kind!r}")


def _name(answer: str) -> tuple[bool, Any]:
    cleaned = " ".join(answer.split())
    if len(cleaned) > 80 or not _NAME.match(cleaned):
        return False, None
    return True, cleaned


def _phone(answer: str, region: str | None) -> tuple[bool, Any]:
    try:
        number = phonenumbers.parse(answer, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return False, None
    if not phonenumbers.is_valid_number(number):
        return False, None
    return True, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(answer: str) -> tuple[bool, Any]:
    try:
        result = validate_email(answer, check_deliverability=False)
    except EmailNotValidError:
        return False, None
    return True, result.normalized


def _number(answer: str) -> tuple[bool, Any]:
    cleaned = answer.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return False, None
    if value != value or value in (float("inf"), float("-inf")):
        return False, None
    return True, int(value) if value.is_integer() else value


def _choice(answer: str, choices: Sequence[str]) -> tuple[bool, Any]:
    folded = answer.casefold()
    for choice in choices:
        if choice.casefold() == folded:
            return True, choice
    if folded.isdigit() and 1 <= int(folded) <= len(choices):
        return True, choices[int(folded) - 1]
    return False, None
