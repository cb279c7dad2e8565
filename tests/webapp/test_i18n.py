"""Every UI string has a Russian translation (an untranslated string would show English to a Russian user)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "webapp/translations/ru/LC_MESSAGES/messages.po"
#: What `make messages` passes to `pybabel extract` (babel's defaults include `_`, `gettext`, `N_`...).
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2), "N_": None}


def _catalog() -> dict[str, str]:
    with CATALOG.open("rb") as fh:
        return {m.id: m.string for m in read_po(fh, locale="ru") if m.id and not m.fuzzy}


def _extracted() -> set[str]:
    """Every text `make messages` extracts, with babel.cfg's own map (so a directory left out of it shows)."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    return {msg for _f, _l, msg, _c, _x in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)
            if isinstance(msg, str)}


def test_russian_catalog_is_complete():
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="ru")
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []


def test_every_string_in_the_code_is_in_the_catalog():
    found = _extracted()
    assert sorted(found - set(_catalog())) == [], "run `make messages` and translate the new strings"


def _node_texts(channels=()) -> list[str]:
    """Every text `GET /api/node-types` translates: what node_types() hands its `translate`."""
    import flows

    seen: list[str] = []
    flows.node_types(channels=channels, translate=lambda text: seen.append(text) or text)
    return seen


def test_every_node_type_text_is_marked_for_extraction_and_translated():
    """Node types declare their texts in their own modules, marked N_; nothing lists them elsewhere."""
    texts = set(_node_texts())
    assert {"Ask", "Save answer as", "e.g. phone", "Any channel", "Port id"} <= texts
    with (ROOT / "babel.cfg").open() as fh:
        method_map, _options = parse_mapping_cfg(fh)
    assert ("flows/nodes/**.py", "python") in method_map
    marked = {msg for _f, _l, msg, _c, _x in extract_from_dir(str(ROOT / "flows/nodes"), [("**.py", "python")],
                                                              keywords={"N_": None}) if isinstance(msg, str)}
    assert sorted(texts - marked) == [], "mark these node texts with N_() in their module"
    catalog = _catalog()
    assert sorted(t for t in texts if not catalog.get(t)) == []


def test_node_types_come_in_the_users_language(member_client):
    from tests.helpers.web import csrf_token

    english = member_client.get("/api/node-types").get_json()["node_types"]
    assert any(t["label"] == "Ask" for t in english)
    member_client.post("/language", data={"language": "ru", "csrf_token": csrf_token(member_client)})
    russian = member_client.get("/api/node-types").get_json()["node_types"]
    ask = next(t for t in russian if t["type"] == "ask")
    assert ask["label"] == "Вопрос" and ask["fields"][0]["label"] == "Вопрос"
    assert [t["type"] for t in russian] == [t["type"] for t in english]
    shown = {t[k] for t in russian for k in ("label", "description")}
    shown |= {f[k] for t in russian for f in t["fields"] for k in ("label", "help")}
    assert set(_node_texts()) & shown <= {"URL", ""}  # nothing left in English
    trigger = next(t for t in russian if t["type"] == "trigger")
    channels = next(f for f in trigger["fields"] if f["name"] == "channels")
    assert channels["choices"][0] == ["any", "Любой канал"] and ["webchat", "Чат на сайте"] in channels["choices"]
    english_ask = next(t for t in english if t["type"] == "ask")
    assert [f["choices"] for f in ask["fields"]] == [f["choices"] for f in english_ask["fields"]]  # values, not texts


def test_every_editor_text_is_extracted_and_translated():
    """The editor bundle's own texts (webapp/editor/ui/src/i18n.js, marked `_()`) go through pybabel like every
    other text and are translated once, in messages.po, placeholders kept; the editor page hands the bundle
    exactly these (webapp/editor/messages.py)."""
    import re

    from babel.messages.frontend import parse_mapping_cfg

    from webapp.editor.messages import msgids

    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    scripts = [(pattern, method) for pattern, method in method_map if method == "javascript"]
    extracted = {msg for _f, _l, msg, _c, _x in extract_from_dir(str(ROOT), scripts, options_map)
                 if isinstance(msg, str)}
    texts = set(msgids())
    assert {"Publish", "Could not load the flow: {error}"} <= texts
    assert sorted(texts - extracted) == [], "babel.cfg must map webapp/editor/ui/src/i18n.js to `javascript`"
    with CATALOG.open("rb") as fh:
        russian = {m.id: m.string for m in read_po(fh, locale="ru") if m.id and not m.fuzzy}
    assert sorted(t for t in texts if not russian.get(t)) == [], "translate these editor texts in messages.po"
    braces = re.compile(r"\{\w+\}")
    assert [t for t in texts if sorted(braces.findall(t)) != sorted(braces.findall(russian[t]))] == []


def test_the_bots_own_texts_come_from_the_catalogs_in_the_tenants_language(app):
    """Re-asks, fallbacks and the handoff and media replies (flows/i18n.py) are extracted like every UI text
    and said in the tenant's language; a language without a catalog, or not a language, says English."""
    from flows import i18n
    from webapp.services import bot_texts

    catalog = _catalog()
    assert all(catalog.get(msgid) for msgid in i18n.TEXTS.values())
    with app.app_context():
        assert bot_texts.text("reask.choice", "ru", choices="да, нет") == \
            "Пожалуйста, выберите один из вариантов: да, нет."
        assert bot_texts.text("handoff", "ru") == catalog[i18n.TEXTS["handoff"]]
        for other in ("en", "de", "xx-not-a-language", "", None):
            assert bot_texts.text("reask.number", other) == "Please send a number."
    assert bot_texts.text("handoff", "ru") == i18n.TEXTS["handoff"]  # no app, no catalogs: English
