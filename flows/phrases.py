"""Matching a customer's words against a business's phrases (trigger keywords, condition keywords, the
phrases that ask for a person), one rule everywhere.

A phrase matches where a word starts and may go on: "price" finds "prices", "оператор" finds "оператора",
but "hi" does not find "this" and "art" does not find "start" (a plain substring test did, and a greeting
trigger fired on half the messages). Case, repeated spaces and "ё"/"е" do not matter. Pure Python.
"""

from __future__ import annotations

import re
from functools import lru_cache


def normalise(text: str | None) -> str:
    """Case-folded, "ё" as "е", single spaces."""
    return " ".join((text or "").casefold().replace("ё", "е").split())


@lru_cache(maxsize=1024)
def _pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(phrase))


def contains(text: str, phrase: str) -> bool:
    """Whether normalised `text` has normalised `phrase` at the start of a word; an empty phrase never
    matches."""
    phrase = normalise(phrase)
    return bool(phrase) and _pattern(phrase).search(normalise(text)) is not None
