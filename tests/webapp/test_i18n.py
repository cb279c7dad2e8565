"""Every UI string has a Russian translation (an untranslated string would show English to a Russian user)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "webapp/translations/ru/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}


def test_russian_catalog_is_complete():
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="ru")
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []


def test_every_string_in_the_code_is_in_the_catalog():
    with CATALOG.open("rb") as fh:
        known = {m.id for m in read_po(fh, locale="ru") if m.id}
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    found = {msg for _f, _l, msg, _c, _x in extract_from_dir(str(ROOT / "webapp"), method_map, keywords=KEYWORDS)
             if isinstance(msg, str)}
    assert sorted(found - known) == [], "run pybabel extract/update and translate the new strings"
