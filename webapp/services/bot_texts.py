"""The engine's own texts (flows/i18n.py: re-asks, fallbacks, the handoff and media replies) in a tenant's
language, from the same Babel catalogs as the rest of the product.

`flows` is pure Python and never reads a catalog; whoever builds a turn's `Context` (the pipeline, the
simulator) or shows such a text on a page asks here for the language's `gettext` and passes it on.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask_babel import force_locale, get_translations

from flows import i18n


def translator(language: str | None) -> i18n.Translate:
    """The catalog's gettext for `language` (the English texts for a language without a catalog, or not a
    language at all). Outside an application context Flask-Babel has no catalogs: English too."""
    try:
        Locale.parse(language or "en")
    except (UnknownLocaleError, ValueError, TypeError):
        language = "en"
    with force_locale(language or "en"):
        return get_translations().gettext


def text(key: str, language: str | None, **values: str) -> str:
    """The engine's text `key` as the bot says it in `language`."""
    return i18n.text(key, translator(language), **values)
