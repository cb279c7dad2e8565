"""The template library in Russian and English (#19): every template and every platform prompt layer ships in
both languages, each as its own file with a `language` field (templates with the same graph); at least six
niches besides "general"; every document valid; the Russian documents speak Russian and walk end to end."""

from __future__ import annotations

import json
import re

import pytest

import flows.templates
from flows import validate
from flows.services import FakeLLM, offline_services
from flows.simulator import simulate
from flows.templates import (
    DIRECTORY,
    LANGUAGES,
    LAYERS_DIRECTORY,
    is_template_file,
    list_layers,
    list_templates,
    load_template,
    localized_key,
    split_key,
)
from tests.helpers.catalog import gettext

CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
TEXT_FIELDS = ("text", "public_text", "private_text", "prompt", "retry_text")
PROFILE = {"offer": "Скидка 20% на первый визит", "prices": "от 1500 ₽", "address": "ул. Ленина, 5",
           "hours": "9:00–20:00", "faq": [{"q": "Во сколько вы работаете?", "a": "Каждый день 9:00–20:00."}]}


def files() -> list[tuple[str, dict]]:
    return [(p.name, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(DIRECTORY.glob("*.json"))]


def layer_files() -> list[tuple[str, dict]]:
    return [(p.name, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(LAYERS_DIRECTORY.glob("*.json"))]


def graph(document: dict) -> tuple:
    nodes = sorted((n["id"], n["type"], n["position"]["x"], n["position"]["y"]) for n in document["nodes"])
    edges = sorted((e["source"], e.get("sourceHandle"), e["target"]) for e in document["edges"])
    return nodes, edges


def replies(turn: dict) -> list[str]:
    return [r["text"] for r in turn["replies"]]


def test_the_library_has_seven_niches_each_in_english_and_russian():
    templates = list_templates()
    by_niche: dict[str, set[str]] = {}
    for t in templates:
        by_niche.setdefault(t["niche"], set()).add(t["language"])
    assert "general" in by_niche and len(by_niche) >= 7, sorted(by_niche)
    assert all(languages == set(LANGUAGES) for languages in by_niche.values()), by_niche
    assert {t["language"] for t in list_templates("ru")} == {"ru"}
    assert len(list_templates("en")) == len(list_templates("ru")) == len(templates) // 2


@pytest.mark.parametrize(("file_name", "data"), files(), ids=[name for name, _ in files()])
def test_every_file_names_its_language_and_key(file_name, data):
    assert is_template_file(data) and data["kind"] == "scenario"
    assert data["language"] in LANGUAGES
    stem, _, rest = file_name.removesuffix(".json").partition(".")
    assert (rest or "en") == data["language"], "a Russian file is <key>.ru.json"
    assert data["key"] == localized_key(stem, data["language"])
    assert split_key(data["key"]) == (stem, data["language"])
    assert data["name"] and data["description"] and data["niche"]
    assert data["document"]["name"] == data["name"]


@pytest.mark.parametrize(("file_name", "data"), layer_files(), ids=[name for name, _ in layer_files()])
def test_every_layer_file_names_its_language_and_bare_key(file_name, data):
    assert set(data) == {"kind", "key", "language", "name", "text"}
    assert data["kind"] in ("platform", "niche") and data["language"] in LANGUAGES
    stem, _, rest = file_name.removesuffix(".json").partition(".")
    assert (rest or "en") == data["language"], "a Russian layer is layers/<key>.ru.json"
    assert data["key"] == stem and split_key(stem) == (stem, "en")
    assert data["name"].strip() and data["text"].strip()
    if data["language"] == "ru":
        assert CYRILLIC.search(data["name"]) and CYRILLIC.search(data["text"])


def test_every_prompt_layer_ships_in_english_and_russian():
    layers = list_layers()
    assert len(layers) == len(layer_files())
    languages: dict[tuple[str, str], set[str]] = {}
    for layer in layers:
        languages.setdefault((layer["kind"], layer["key"]), set()).add(layer["language"])
    assert ("platform", "base") in languages and len(languages) >= 7, sorted(languages)
    assert all(found == set(LANGUAGES) for found in languages.values()), languages
    assert {layer["language"] for layer in list_layers("ru")} == {"ru"}
    assert [layer["key"] for layer in list_layers("en")] == [layer["key"] for layer in list_layers("ru")]
    kinds = [layer["kind"] for layer in layers]
    assert kinds == sorted(kinds, key=lambda kind: kind != "platform"), "platform layers come first"


@pytest.fixture
def layers_folder(tmp_path, monkeypatch):
    """An empty layers folder in place of the shipped one; the shipped files are read again afterwards."""
    monkeypatch.setattr(flows.templates, "LAYERS_DIRECTORY", tmp_path)
    flows.templates._layers.cache_clear()
    yield tmp_path
    flows.templates._layers.cache_clear()


@pytest.mark.parametrize(("file_name", "content", "problem"), [
    ("beauty.ru.json", {"kind": "niche", "key": "beauty", "language": "ru", "name": "Красота"}, "has no text"),
    ("beauty.json", {"kind": "tenant", "key": "beauty", "language": "en", "name": "B", "text": "T"}, "has kind"),
    ("beauty.json", {"kind": "niche", "key": "beauty", "language": "de", "name": "B", "text": "T"}, "language"),
    ("beauty.json", {"kind": "niche", "key": "beauty", "language": "ru", "name": "B", "text": "T"}, "beauty.ru.json"),
    ("beauty_ru.ru.json", {"kind": "niche", "key": "beauty_ru", "language": "ru", "name": "B", "text": "T"},
     "bare key"),
    ("beauty.json", "{not json", "not valid JSON"),
])
def test_a_malformed_layer_file_is_refused_naming_the_file(layers_folder, file_name, content, problem):
    text = content if isinstance(content, str) else json.dumps(content)
    (layers_folder / file_name).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=problem) as raised:
        list_layers()
    assert file_name in str(raised.value)


@pytest.mark.parametrize("key", [t["key"] for t in list_templates()])
def test_every_template_is_valid(key):
    assert validate(load_template(key)) == []


@pytest.mark.parametrize("key", [t["key"] for t in list_templates("en")])
def test_each_english_template_has_a_russian_twin_with_the_same_graph_in_russian(key):
    english, russian = load_template(key), load_template(f"{key}_ru")
    assert graph(russian) == graph(english)
    ru_summary = next(t for t in list_templates("ru") if t["key"] == f"{key}_ru")
    en_summary = next(t for t in list_templates("en") if t["key"] == key)
    assert ru_summary["niche"] == en_summary["niche"] and CYRILLIC.search(ru_summary["name"])
    english_nodes = {n["id"]: n for n in english["nodes"]}
    for node in russian["nodes"]:
        for field in TEXT_FIELDS:
            value = node["data"].get(field)
            if value and re.sub(r"\{\{[^}]*\}\}", "", value).strip(" \n:.,!?()@—-"):
                assert CYRILLIC.search(value), (node["id"], field, value)
        for choice in node["data"].get("choices", []):
            assert CYRILLIC.search(choice), (node["id"], choice)
        if english_nodes[node["id"]]["data"] == node["data"]:  # unchanged: then it has nothing to say
            assert not any(node["data"].get(f) for f in TEXT_FIELDS), f"{node['id']} is not translated"


def test_keys_name_their_language():
    assert split_key("lead_capture") == ("lead_capture", "en")
    assert split_key("lead_capture_ru") == ("lead_capture", "ru")
    assert split_key("_ru") == ("_ru", "en")
    assert localized_key("lead_capture", "ru") == "lead_capture_ru"
    assert localized_key("lead_capture_ru", "en") == "lead_capture"
    assert localized_key("lead_capture", "de") == "lead_capture"  # an unknown language: English
    assert not is_template_file(load_template("lead_capture"))  # a bare document is no wrapper


def test_russian_lead_capture_walks_through_in_russian_with_a_wrong_phone():
    result = simulate(load_template("lead_capture_ru"), channel="telegram", kind="message",
                      services=offline_services(language="ru", profile=PROFILE, llm=FakeLLM(), translate=gettext("ru")),
                      messages=["Привет", "Анна", "12345", "+7 912 345 67 89", "да"])
    turns = result["turns"]
    assert replies(turns[0])[0].startswith("Здравствуйте!") and replies(turns[0])[1] == "Как вас зовут?"
    assert replies(turns[1]) == ["По какому номеру телефона с вами удобнее связаться?"]
    assert CYRILLIC.search(replies(turns[2])[0])  # the re-ask in the tenant's language
    assert replies(turns[3]) == ["Анна, мы позвоним вам по номеру +79123456789. Всё верно?"]
    assert replies(turns[4]) == ["Спасибо, Анна! Мы скоро вам позвоним."]
    assert [e["type"] for e in result["effects"]] == ["lead", "notify"]
    assert result["effects"][0]["payload"]["fields"] == {"name": "Анна", "phone": "+79123456789"}
    assert result["effects"][1]["payload"]["text"].startswith("Новая заявка: Анна")


def test_russian_online_store_routes_by_the_russian_menu():
    result = simulate(load_template("online_store_lead_ru"),
                      services=offline_services(language="ru", profile=PROFILE, llm=FakeLLM(), translate=gettext("ru")),
                      messages=["Здравствуйте", "оформить заказ", "Кроссовки, 42 размер", "+7 912 345 67 89",
                                "anna@example.com"])
    assert replies(result["turns"][1]) == ["Какой товар вы хотите заказать? Напишите название или пришлите ссылку."]
    assert result["effects"][0]["payload"]["fields"]["product"] == "Кроссовки, 42 размер"


@pytest.mark.parametrize("key", ["course_enrollment", "cafe_table_booking", "clinic_appointment"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_new_niche_templates_save_a_lead(key, language):
    answers = {
        "course_enrollment": {"en": ["hi", "English", "Beginner", "Online", "Anna", "+7 912 345 67 89", "a@b.co"],
                              "ru": ["привет", "Дизайн", "Средний", "Очно", "Анна", "+7 912 345 67 89", "a@b.co"]},
        "cafe_table_booking": {"en": ["hi", "4", "Saturday 19:30", "Anna", "+7 912 345 67 89"],
                               "ru": ["привет", "4", "суббота 19:30", "Анна", "+7 912 345 67 89"]},
        "clinic_appointment": {"en": ["hi", "Dentist", "First visit", "Monday 10:00", "Anna Smith",
                                      "+7 912 345 67 89"],
                               "ru": ["привет", "Стоматолог", "Первичный", "понедельник 10:00", "Анна Смирнова",
                                      "+7 912 345 67 89"]},
    }[key][language]
    result = simulate(load_template(localized_key(key, language)),
                      services=offline_services(language=language, profile=PROFILE, llm=FakeLLM()),
                      messages=answers)
    assert [e["type"] for e in result["effects"]] == ["lead", "notify"], result["turns"][-1]
    assert result["effects"][0]["payload"]["fields"]["phone"] == "+79123456789"
