"""A customer asking for a person, and the bot taking the conversation back afterwards.

Pure helpers for the engine (flows/engine.py): the default phrases per language (a tenant may replace them
in Settings → Handoff), matching a message against them, and where the bot goes on when a person hands the
conversation back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flows import phrases

#: Phrases with which a customer asks for a person, per tenant language. A phrase matches at the start of
#: a word and may go on (so "оператор" also finds "оператора", "human" finds "humans"); kept specific, since
#: a match interrupts whatever the bot was doing.
DEFAULT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "en": ("human", "operator", "real person", "live agent", "talk to a person", "speak to a person",
           "talk to someone", "manager"),
    "ru": ("оператор", "менеджер", "живой человек", "живого человека", "позовите человека",
           "с человеком", "консультант"),
}
MAX_KEYWORDS = 50
MAX_KEYWORD_LENGTH = 60


def default_keywords(language: str | None) -> tuple[str, ...]:
    """The language's defaults (English for a language without its own)."""
    return DEFAULT_KEYWORDS.get(language or "en", DEFAULT_KEYWORDS["en"])


def parse_keywords(text: str) -> tuple[str, ...]:
    """One phrase per line or comma (the Settings form's field), normalised, empty and repeated ones
    dropped, at most MAX_KEYWORDS of MAX_KEYWORD_LENGTH characters."""
    seen: dict[str, None] = {}
    for part in re.split(r"[\n,]", text or ""):
        phrase = " ".join(part.split()).casefold()[:MAX_KEYWORD_LENGTH]
        if phrase:
            seen.setdefault(phrase, None)
    return tuple(seen)[:MAX_KEYWORDS]


def asks_for_human(text: str, keywords: Iterable[str]) -> str | None:
    """The first phrase `text` contains (at a word start: flows/phrases.py), else None."""
    said = phrases.normalise(text)
    if not said:
        return None
    for phrase in keywords:
        if phrases.contains(said, str(phrase)):
            return " ".join(str(phrase).split()).casefold()
    return None
