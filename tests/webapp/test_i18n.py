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


def _texts(node_types):
    out = set()
    for value in node_types:
        if isinstance(value, dict):
            out |= {v for k, v in value.items() if k in ("label", "description", "help") and isinstance(v, str) and v}
            out |= _texts([v for v in value.values() if isinstance(v, (dict, list))])
        elif isinstance(value, list):
            out |= _texts(value)
    return out


def test_every_node_type_text_is_listed_for_translation(app):
    import flows
    from webapp.api.node_i18n import NODE_TEXTS

    with app.test_request_context():  # English: the msgids themselves
        listed = {str(t) for t in NODE_TEXTS}
    assert sorted(_texts(flows.node_types()) - listed) == []


def test_node_types_come_in_the_users_language(member_client):
    from tests.conftest import csrf_token

    english = member_client.get("/api/node-types").get_json()["node_types"]
    assert any(t["label"] == "Ask" for t in english)
    member_client.post("/language", data={"language": "ru", "csrf_token": csrf_token(member_client)})
    russian = member_client.get("/api/node-types").get_json()["node_types"]
    ask = next(t for t in russian if t["type"] == "ask")
    assert ask["label"] == "Вопрос" and ask["fields"][0]["label"] == "Вопрос"
    assert [t["type"] for t in russian] == [t["type"] for t in english]
