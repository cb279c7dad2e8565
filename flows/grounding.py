"""Grounded answers: a model's reply may state only the prices, times, addresses and numbers it was given.

The guardrails in every prompt (flows/prompt.py) tell the model never to invent facts; this module checks
that it obeyed, after the fact, without a second model call. A reply's concrete claims — an amount with a
currency, a percentage, a clock time, a street address, a phone-like number — must each appear in the
grounding texts the model was given (the business profile, prices, FAQ, prompt layers and step prompt:
the system message). A reply with a claim found nowhere there is not sent: the customer gets "I don't know
that for sure — shall I call a person?" in the tenant's language with a quick reply that asks for one (a
handoff phrase, flows/handoff.py), because a wrong price or opening hour costs the business more than an
honest "I don't know".

Why numbers and not meaning: a price the model made up is a number that is nowhere in the sources, which
a regular expression finds reliably in any language; judging whether a sentence "is supported" needs a
model, which is what failed in the first place. Claims without digits (a service that does not exist) are
left to the prompt's rules. Pure Python: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flows import i18n
from flows.handoff import asks_for_human, default_keywords
from flows.services import Context
from flows.turn import OutboundMessage

_NUMBER = r"\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_CURRENCY = (
    r"(?:[$€£₽₴₸¥]|\b(?:eur|euro|euros|usd|dollars?|gbp|pounds?|rub|rur|uah|kzt|byn|руб\w*|р\.|евро|"
    r"доллар\w*|грн|гривен\w*|гривн\w*|тенге|сум\w*|фунт\w*)(?!\w))"
)
_MONEY = re.compile(
    rf"(?:{_CURRENCY}\s?(?P<after>{_NUMBER}))|(?:(?P<before>{_NUMBER})\s?{_CURRENCY})", re.IGNORECASE
)
_PERCENT = re.compile(rf"(?P<value>{_NUMBER})\s?%")
_CLOCK = re.compile(r"(?<![\d:])(?P<h>[01]?\d|2[0-4])[:.](?P<m>[0-5]\d)(?![\d:])(?:\s?(?P<ap>[ap](?:\.m\.|m)))?",
                    re.IGNORECASE)
_AMPM = re.compile(r"(?<![\d:.,])(?P<h>1[0-2]|0?[1-9])\s?(?P<ap>[ap](?:\.m\.|m))(?!\w)", re.IGNORECASE)
_PHONE = re.compile(r"\+?\d[\d ()\-\u00a0]{5,}\d")
_EN_STREET = re.compile(
    r"\b(?P<no>\d{1,5}[a-z]?)\s+(?P<name>(?:[A-Z][\w'-]*\s+){1,3})(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|"
    r"Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Dr\.?|Square|Sq\.?|Way|Place|Pl\.?|Parkway|Highway)(?!\w)"
)
_RU_STREET = re.compile(
    r"(?:\bул\.?|\bулиц\w*|\bпр-т|\bпроспект\w*|\bпер\.|\bпереул\w*|\bбульвар\w*|\bб-р|\bшоссе|\bнаб\.|"
    r"\bнабережн\w*|\bпл\.|\bплощад\w*)\s+(?P<name>[А-ЯЁA-Z][\w-]*(?:\s+[А-ЯЁA-Z][\w-]*)?),?\s*(?:д\.?\s*)?"
    r"(?P<no>\d{1,4}[а-яa-z]?)(?!\d)"
)
_DIGITS = re.compile(r"\d+")
_COLON_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")


@dataclass(slots=True)
class Check:
    """The claims of one reply that the sources do not contain (empty: the reply is grounded)."""

    unsupported: list[str] = field(default_factory=list)

    @property
    def grounded(self) -> bool:
        return not self.unsupported


def _value(raw: str) -> float | None:
    """"1 500" / "1,500" / "1.500" → 1500; "30.50" / "30,5" → 30.5 (a group of three digits after a
    separator is thousands, one or two digits are decimals)."""
    text = raw.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if re.fullmatch(r"\d{1,3}(?:[ .,]\d{3})+", text):
        text = re.sub(r"[ .,]", "", text)
    else:
        match = re.fullmatch(r"(\d{1,3}(?:[ .,]\d{3})+)([.,]\d{1,2})", text)
        if match:
            text = re.sub(r"[ .,]", "", match.group(1)) + "." + match.group(2)[1:]
        text = text.replace(" ", "").replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _long_phone(match: re.Match[str]) -> str:
    return " " if len(re.sub(r"\D", "", match.group(0))) >= 9 else match.group(0)


def _numbers(text: str) -> set[float]:
    """Every number written in `text`, as values (so "30 EUR" in the profile grounds "€30.00"), except the
    numbers of clock times, street addresses and phone numbers: "20:00" grounds no "20%", and the house number
    of "12 Main Street" no "12 EUR"."""
    for pattern in (_EN_STREET, _RU_STREET):
        text = pattern.sub(" ", text)
    text = _PHONE.sub(_long_phone, _COLON_TIME.sub(" ", text))
    found: set[float] = set()
    for match in re.finditer(_NUMBER, text):
        value = _value(match.group(0))
        if value is not None:
            found.add(value)
    return found


def _minutes(hour: str, minute: str, ampm: str | None) -> int:
    h = int(hour) % 24
    if ampm:
        pm = ampm.lower().startswith("p")
        h = h % 12 + (12 if pm else 0)
    return h * 60 + int(minute)


def _times(text: str) -> set[int]:
    """Clock times in `text` as minutes after midnight ("8 pm" and "20:00" are one time)."""
    found = {_minutes(m.group("h"), m.group("m"), m.group("ap")) for m in _CLOCK.finditer(text)}
    found |= {_minutes(m.group("h"), "0", m.group("ap")) for m in _AMPM.finditer(text)}
    return found


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def check(reply: str, sources: Iterable[str]) -> Check:
    """The reply's prices, percentages, times, addresses and phone numbers that no source contains."""
    source_text = "\n".join(s for s in sources if s)
    numbers = _numbers(source_text)
    times = _times(source_text)
    folded = _fold(source_text)
    digits = "|".join(_DIGITS.findall(re.sub(r"[ ()\-\u00a0]", "", source_text)))
    out: list[str] = []

    def claim(text: str) -> None:
        text = " ".join(text.split())
        if text not in out:
            out.append(text)

    for match in _MONEY.finditer(reply):
        value = _value(match.group("after") or match.group("before"))
        if value is None or value not in numbers:
            claim(match.group(0))
    for match in _PERCENT.finditer(reply):
        value = _value(match.group("value"))
        if value is None or value not in numbers:
            claim(match.group(0))
    for match in _CLOCK.finditer(reply):
        if _minutes(match.group("h"), match.group("m"), match.group("ap")) not in times:
            claim(match.group(0))
    for match in _AMPM.finditer(reply):
        if _minutes(match.group("h"), "0", match.group("ap")) not in times:
            claim(match.group(0))
    for pattern in (_EN_STREET, _RU_STREET):
        for match in pattern.finditer(reply):
            name = _fold(match.group("name")).split()
            number_ok = re.search(rf"(?<!\d){re.escape(match.group('no').casefold())}(?!\d)", folded)
            if not number_ok or not all(word[:5] in folded for word in name):
                claim(match.group(0))
    for match in _PHONE.finditer(reply):
        number = re.sub(r"\D", "", match.group(0))
        if len(number) >= 7 and number not in digits:
            claim(match.group(0))
    return Check(out)


def system_sources(messages: Sequence[dict]) -> list[str]:
    """The grounding texts a model was given: its system message(s) — business profile, prices, the FAQ
    entries picked for this message, prompt layers and the step's instructions (flows/prompt.py). The
    customer's own messages are not sources: "is it 20 EUR?" does not make 20 EUR a price."""
    return [str(m.get("content") or "") for m in messages if m.get("role") == "system"]


def offer_button(context: Context) -> str:
    """A quick reply that asks for a person: the built-in label if it contains one of the tenant's handoff
    phrases, else the first phrase itself (so pressing it always hands off)."""
    phrases = tuple(context.handoff_keywords) or default_keywords(context.language)
    label = i18n.text("grounding.button", context.translate)
    if asks_for_human(label, phrases):
        return label
    first = str(phrases[0]).strip() if phrases else label
    return first[:1].upper() + first[1:]


def unknown_text(context: Context) -> str:
    """What the bot says instead of a reply it could not back with the business's own facts."""
    return i18n.text("grounding.unknown", context.translate)


def grounded_reply(text: str, sources: Sequence[str], context: Context, warnings: list[str]) -> OutboundMessage:
    """`text` as a message if its claims are in `sources`; else the "I don't know — shall I call a person?"
    message with a quick reply that hands off, and a trace warning naming the claims that were not found."""
    result = check(text, sources)
    if result.grounded:
        return OutboundMessage(text)
    warnings.append("the model's reply was replaced: not in the business profile, prices or FAQ: "
                    + ", ".join(repr(c) for c in result.unsupported))
    return OutboundMessage(unknown_text(context), [offer_button(context)])
