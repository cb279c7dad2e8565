"""The product's compiled Babel catalogs for engine tests: the gettext a real turn is given for a language
(`Context.translate`; the pipeline gets it through Flask-Babel in webapp/services/bot_texts.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import Translations

from flows.i18n import Translate

TRANSLATIONS = Path(__file__).resolve().parents[2] / "webapp" / "translations"


@cache
def gettext(language: str) -> Translate:
    """The catalog's gettext for `language` (`make translations` compiles the catalogs before the tests)."""
    return Translations.load(str(TRANSLATIONS), [language]).gettext
