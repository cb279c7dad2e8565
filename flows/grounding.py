"""Grounded answers: a model's reply may state only the prices, times, addresses and numbers it was given.

The guardrails in every prompt (flows/prompt.py) tell the model never to invent facts; this module checks
that it obeyed, after the fact, without a second model call. A reply's concrete claims — an amount with a
currency, a percentage, a clock time, a street address, a phone-like number — must each appear in the
grounding texts the model was given (the business profile, prices, FAQ, prompt layers and step prompt:
the system message). A reply with a claim found nowhere there is not sent: the customer gets "I don't know
that for sure — shall I call a person?" in the tenant's language with a quick reply that asks for one (a
handoff phrase, flows/handoff.py), because a wrong price or opening hour costs the business more than an
honest "I don't know".

Each kind is grounded only by its own kind, so a number never backs a claim of another sort: "20%" grounds
no "20 EUR" (nor "20 EUR" a "20% off"), a clock time or house number no price, a house number only next to
its street's name. The one exception is a phone number the customer wrote themselves, which the bot may
repeat back ("we'll call you at…"); nothing else the customer wrote is a source ("is it 20 EUR?" does not
make 20 EUR a price). Dashes of every kind are one "-", so "10–12 EUR" is a range with both ends checked;
dates ("12.05.2026", "2026-05-12", "12/05/2026") are neither phones nor times.

Why numbers and not meaning: a price the model made up is a number that is nowhere in the sources, which
a regular expression finds reliably in any language; judging whether a sentence "is supported" needs a
model, which is what failed in the first place. Claims without digits (a service that does not exist) are
left to the prompt's rules, and so are dates. Pure Python: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flows import i18n
from flows.handoff import asks_for_human, default_keywords
from flows.services import Context
from flows.turn import OutboundMessage

_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))
_NUMBER = r"\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_TO = r"\s?-\s?"
_CURRENCY = (
    r"(?:[$€£₽₴₸¥]|\b(?:eur|euro|euros|usd|dollars?|gbp|pounds?|rub|rur|uah|kzt|byn|руб\w*|р\.|евро|"
    r"доллар\w*|грн|гривен\w*|гривн\w*|тенге|сум\w*|фунт\w*)(?!\w))"
)
_MONEY = re.compile(
    rf"{_CURRENCY}\s?(?P<a>{_NUMBER})(?:(?:-|{_TO}(?={_CURRENCY})){_CURRENCY}?\s?(?P<b>{_NUMBER}))?"
    rf"|(?<![\d:.,])(?P<c>{_NUMBER})(?:{_TO}(?P<d>{_NUMBER}))?\s?{_CURRENCY}",
    re.IGNORECASE,
)
_PERCENT = re.compile(
    rf"(?<![\d:.,])(?:(?P<a>{_NUMBER}){_TO})?(?P<b>{_NUMBER})\s?(?:%|(?:percent|per cent|процент\w*)(?!\w))",
    re.IGNORECASE,
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_DATE = re.compile(
    rf"(?<![\d./-])(?:\d{{4}}-{_DAY}-{_DAY}|{_DAY}(?P<s>[./-]){_DAY}(?P=s)\d{{4}}|{_DAY}(?P<t>[./]){_DAY}(?P=t)\d\d)"
    r"(?![\d]|[./-]\d)"
)
_AP = r"(?:\s?(?P<ap>[ap](?:\.m\.|m))(?!\w))?"
_CLOCK = re.compile(rf"(?<![\d:.,])(?P<h>[01]?\d|2[0-4])(?P<sep>[:.])(?P<m>[0-5]\d)(?![\d:]|[.,]\d){_AP}",
                    re.IGNORECASE)
_AMPM = re.compile(r"(?<![\d:.,])(?P<h>1[0-2]|0?[1-9])\s?(?P<ap>[ap](?:\.m\.|m))(?!\w)", re.IGNORECASE)
_TIME_WORD = re.compile(r"\b(?:at|from|until|till|to|by|before|after|в|во|с|со|до|к|после)\s+$", re.IGNORECASE)
_PHONE = re.compile(r"\+?\d[\d ()\-\u00a0]{5,}\d")
_RANGE = re.compile(r"(\d+)\s?-\s?(\d+)")
_GROUPED = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+")
_DIGITS = re.compile(r"\d+")
_EN_STREET = re.compile(
    r"\b(?P<no>\d{1,5}[a-z]?)\s+(?P<name>(?:[A-Z][\w'-]*\s+){1,3})(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|"
    r"Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Dr\.?|Square|Sq\.?|Way|Place|Pl\.?|Parkway|Highway)(?!\w)"
)
_RU_STREET = re.compile(
    r"(?:\bул\.?|\bулиц\w*|\bпр-т|\bпроспект\w*|\bпер\.|\bпереул\w*|\bбульвар\w*|\bб-р|\bшоссе|\bнаб\.|"
    r"\bнабережн\w*|\bпл\.|\bплощад\w*)\s+(?P<name>[А-ЯЁA-Z][\w-]*(?:\s+[А-ЯЁA-Z][\w-]*)?),?\s*(?:д\.?\s*)?"
    r"(?P<no>\d{1,4}[а-яa-z]?)(?!\d)"
)
# What may stand between a street's name and its house number in the sources ("Main Street 3",
# "ул. Ленина, д. 7"): punctuation and street or house words, never another number or word.
_STREET_GAP = (
    r"(?:[\s,.#№]|(?<!\w)(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|square|sq|way|place|"
    r"pl|parkway|highway|no|house|ул|улиц\w*|пр-т|проспект\w*|пер|переул\w*|бульвар\w*|б-р|шоссе|наб|"
    r"набережн\w*|площад\w*|д|дом)(?!\w))*"
)


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


_GONE = "\x00"  # what a claim or date is blanked with: no pattern reads a number across it


@dataclass(slots=True, frozen=True)
class _Claim:
    """One concrete statement in a text: its kind, where it is written, and what must back it — values for
    "amount" and "percent", minutes for "time", (house number, street name) for "address", digits for
    "phone"."""

    kind: str
    start: int
    end: int
    keys: tuple


def _minutes(hour: str, minute: str, ampm: str | None) -> int:
    h = int(hour) % 24
    if ampm:
        pm = ampm.lower().startswith("p")
        h = h % 12 + (12 if pm else 0)
    return h * 60 + int(minute)


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = _GONE * (end - start)
    return "".join(chars)


def _scan(text: str, *, strict: bool) -> tuple[list[_Claim], str]:
    """The claims written in `text` (its dashes already "-"), in the order they are written, and the text
    with them and its dates blanked out; each span is one claim of the first kind that reads it (a range
    "10-12 EUR" is an amount, not a phone).

    A clock time with a colon is always a time. A dotted one ("12.05") is as often a date: in a reply
    (`strict`) it is a time only after a time word ("at", "from", "until", "в", "с", "до"…), before am/pm or
    right after another time and a dash ("с 9.00-18.00"); in the sources it is always both a time and a
    number ("9.00-18.00" hours, "12.50" a price), since grounding a little too much costs nothing there."""
    claims: list[_Claim] = []
    text = _DATE.sub(lambda m: _GONE * len(m.group(0)), text)

    def add(kind: str, match: re.Match[str], *keys: object) -> None:
        claims.append(_Claim(kind, match.start(), match.end(), keys))

    def unclaimed(pattern: re.Pattern[str]) -> list[re.Match[str]]:
        nonlocal text
        text = _blank(text, ((c.start, c.end) for c in claims))
        return list(pattern.finditer(text))

    for m in unclaimed(_MONEY):
        add("amount", m, *(_value(v) for v in m.group("a", "b", "c", "d") if v))
    for m in unclaimed(_PERCENT):
        add("percent", m, *(_value(v) for v in m.group("a", "b") if v))
    for pattern in (_EN_STREET, _RU_STREET):
        for m in unclaimed(pattern):
            add("address", m, _fold(m.group("no")), _fold(m.group("name")))
    last = -1
    for m in unclaimed(_CLOCK):
        dotted = m.group("sep") == "."
        if strict and dotted and not (m.group("ap") or _TIME_WORD.search(text, max(0, m.start() - 10), m.start())
                                      or (last >= 0 and re.fullmatch(_TO, text[last:m.start()]))):
            continue
        add("time", m, _minutes(m.group("h"), m.group("m"), m.group("ap")))
        if dotted and not strict:
            add("amount", m, _value(f"{m.group('h')}.{m.group('m')}"))
        last = m.end()
    for m in unclaimed(_AMPM):
        add("time", m, _minutes(m.group("h"), "0", m.group("ap")))
    for m in unclaimed(_PHONE):
        digits = re.sub(r"\D", "", m.group(0))
        bare_range = _RANGE.fullmatch(m.group(0))
        if len(digits) >= 7 and not (bare_range and int(bare_range[1]) < int(bare_range[2])):
            add("phone", m, digits)
            if not strict and _GROUPED.fullmatch(m.group(0)):  # "2-room flat — 1 500 000" in a price list
                add("amount", m, _value(m.group(0)))
    return sorted(claims, key=lambda c: c.start), _blank(text, ((c.start, c.end) for c in claims))


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


@dataclass(slots=True)
class _Facts:
    """What the sources back, kind by kind, and the digits of the phone numbers they (or the customer) wrote."""

    amounts: set[float | None]
    percents: set[float | None]
    times: set[int]
    text: str
    digits: str

    @classmethod
    def of(cls, sources: Iterable[str], customer: Iterable[str]) -> _Facts:
        """Amounts are every number the sources write that is not a percentage, time, date, house number or
        phone, with or without a currency ("30 EUR" grounds "€30.00"); the customer's texts add phone digits
        only."""
        text = "\n".join(s for s in sources if s).translate(_DASHES)
        claims, rest = _scan(text, strict=False)
        def keys(kind: str) -> set:
            return {key for c in claims if c.kind == kind for key in c.keys}

        bare = {_value(m.group(0)) for m in re.finditer(_NUMBER, rest)}
        phones = "\n".join([text, *customer]).translate(_DASHES)
        digits = "|".join(_DIGITS.findall(re.sub(r"[ ()\-\u00a0]", "", phones)))
        return cls(keys("amount") | bare, keys("percent"), keys("time"), _fold(text), digits)

    def back(self, claim: _Claim) -> bool:
        """Whether the sources state `claim`, as a fact of its own kind (every end of a range)."""
        if claim.kind == "amount":
            return all(key is not None and key in self.amounts for key in claim.keys)
        if claim.kind == "percent":
            return all(key is not None and key in self.percents for key in claim.keys)
        if claim.kind == "time":
            return claim.keys[0] in self.times
        if claim.kind == "phone":
            return claim.keys[0] in self.digits
        return self._has_address(*claim.keys)

    def _has_address(self, number: str, name: str) -> bool:
        """The house number next to the street's name (either order, only street words and punctuation
        between): "15 Main Street" is not in "Main Street 3 … 15 EUR"."""
        no = rf"(?<!\d){re.escape(number)}(?!\w)"
        street = r"(?<!\w)" + r"\w*\W+".join(re.escape(word[:5]) for word in name.split()) + r"\w*"
        return re.search(rf"{no}{_STREET_GAP}{street}|{street}{_STREET_GAP}{no}", self.text) is not None


def check(reply: str, sources: Iterable[str], customer: Iterable[str] = ()) -> Check:
    """The reply's prices, percentages, times, addresses and phone numbers that no source contains. The
    `customer`'s own texts (`customer_texts`) back phone numbers only: the bot may repeat the customer's
    number back to them, but "is it 20 EUR?" does not make 20 EUR a price."""
    facts = _Facts.of(sources, customer)
    out: list[str] = []
    for claim in _scan(reply.translate(_DASHES), strict=True)[0]:
        text = " ".join(reply[claim.start:claim.end].split())
        if not facts.back(claim) and text not in out:
            out.append(text)
    return Check(out)


def system_sources(messages: Sequence[dict]) -> list[str]:
    """The grounding texts a model was given: its system message(s) — business profile, prices, the FAQ
    entries picked for this message, prompt layers and the step's instructions (flows/prompt.py). The
    customer's own messages are not sources: "is it 20 EUR?" does not make 20 EUR a price (they back only
    phone numbers, `customer_texts`)."""
    return [str(m.get("content") or "") for m in messages if m.get("role") == "system"]


def customer_texts(messages: Sequence[dict]) -> list[str]:
    """What the customer wrote in the conversation the model saw (its user messages): they back a phone
    number the bot repeats back to the customer ("we'll call you at…") and nothing else (`check`)."""
    return [str(m.get("content") or "") for m in messages if m.get("role") == "user"]


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


def grounded_reply(text: str, sources: Sequence[str], context: Context, warnings: list[str],
                   customer: Sequence[str] = ()) -> OutboundMessage:
    """`text` as a message if its claims are in `sources` (its phone numbers may also be the `customer`'s
    own); else the "I don't know — shall I call a person?" message with a quick reply that hands off, and a
    trace warning naming the claims that were not found."""
    result = check(text, sources, customer)
    if result.grounded:
        return OutboundMessage(text)
    warnings.append("the model's reply was replaced: not in the business profile, prices or FAQ: "
                    + ", ".join(repr(c) for c in result.unsupported))
    return OutboundMessage(unknown_text(context), [offer_button(context)])
