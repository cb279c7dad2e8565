"""The library in the web app (#19): every template valid for the app's channels, the gallery (API and flows
page) filtered by language (the tenant's by default, the other on request), seeding in the tenant's language,
and the platform prompt layers in both languages, a tenant getting those of its own."""

from __future__ import annotations

from typing import Any

import pytest

from flows.templates import LANGUAGES, list_layers, list_templates, localized_key, split_key
from tests.helpers.web import login


@pytest.mark.parametrize("key", [t["key"] for t in list_templates()])
def test_every_template_passes_the_apps_validation(app, key):
    from webapp.services.flows import problems_of, template_document

    with app.app_context():
        assert problems_of(template_document(key)) == []


def signed_in(client: Any, tenant: Any) -> Any:
    assert login(client, tenant.owner_email, tenant.owner_password).status_code == 302
    return client


def test_the_gallery_api_lists_the_tenants_language_by_default_and_the_other_on_request(client, make_tenant, db):
    signed_in(client, make_tenant("Salon", language="ru"))
    default = client.get("/api/templates").get_json()
    assert default["language"] == "ru"
    assert {t["language"] for t in default["templates"]} == {"ru"}
    assert "lead_capture_ru" in {t["key"] for t in default["templates"]}
    english = client.get("/api/templates?language=en").get_json()
    assert english["language"] == "en" and {t["language"] for t in english["templates"]} == {"en"}
    assert {t["key"] for t in english["templates"]} == {t["key"] for t in list_templates("en")}
    everything = client.get("/api/templates?language=all").get_json()
    assert len(everything["templates"]) == len(list_templates()) and everything["language"] == "all"
    bad = client.get("/api/templates?language=de")
    assert bad.status_code == 400 and "language" in bad.get_json()["error"]


def test_the_gallery_api_shows_an_english_tenant_english_templates(client, tenant, db):
    signed_in(client, tenant)
    listed = client.get("/api/templates").get_json()["templates"]
    assert {t["language"] for t in listed} == {"en"} and "lead_capture" in {t["key"] for t in listed}


def test_the_flows_page_picker_switches_language(client, tenant, db):
    signed_in(client, tenant)
    page = client.get("/flows").get_data(as_text=True)
    assert 'value="lead_capture"' in page and 'value="lead_capture_ru"' not in page
    assert "template_language=ru" in page  # the switch to the other language
    russian = client.get("/flows?template_language=ru").get_data(as_text=True)
    assert 'value="lead_capture_ru"' in russian and 'value="lead_capture"' not in russian
    assert "Сбор заявки" in russian and "template_language=en" in russian
    odd = client.get("/flows?template_language=xx")  # a hand-edited link: the tenant's language, no error
    assert odd.status_code == 200 and 'value="lead_capture"' in odd.get_data(as_text=True)


def test_creating_from_a_russian_template_copies_the_russian_document(client, tenant, db):
    from webapp.models import Flow
    from webapp.services.flowops import create_for_tenant

    flow = create_for_tenant(tenant, None, "beauty_salon_booking_ru")
    db.session.commit()
    assert db.session.get(Flow, flow.id).name == "Запись в салон красоты"


def test_seeding_uses_the_tenants_language(make_tenant, db):
    from webapp.services.flows import seed_templates_for, template_key_for

    ru, en = make_tenant("Салон", language="ru"), make_tenant("Salon")
    [ru_flow] = seed_templates_for(ru, ["lead_capture"], publish_now=True)
    [en_flow] = seed_templates_for(en, ["lead_capture"], publish_now=True)
    assert ru_flow.name == "Сбор заявки" and en_flow.name == "Lead capture"
    assert ru_flow.published_version.document["nodes"][1]["data"]["text"].startswith("Здравствуйте")
    assert template_key_for("lead_capture_ru", "en") == "lead_capture_ru"  # a key naming its language is kept
    assert template_key_for("no_such_template", "ru") == "no_such_template"


def test_the_demo_seeds_flows_in_its_tenants_language(app, db):
    from webapp.models import Tenant
    from webapp.services.demo import seed_demo

    result = seed_demo()
    tenant = db.session.get(Tenant, result["tenant"]["id"])
    assert result["flows"]
    assert {f["name"] for f in result["flows"]} <= {t["name"] for t in list_templates(tenant.language)}


def test_every_shipped_layer_exists_in_both_languages_and_covers_the_template_niches():
    from webapp.services.prompts import DEFAULT_LAYERS

    languages: dict[tuple[str, str], set[str]] = {}
    for spec in DEFAULT_LAYERS:
        base, language = split_key(spec["key"])
        assert language == spec["language"], spec["key"]
        assert spec["key"] == localized_key(base, spec["language"])
        languages.setdefault((spec["kind"], base), set()).add(language)
    assert all(found == set(LANGUAGES) for found in languages.values()), languages
    niches = {t["niche"] for t in list_templates()} - {"general"}
    assert niches <= {base for kind, base in languages if kind == "niche"}
    assert ("platform", "base") in languages


def test_the_shipped_layers_are_the_layer_files():
    from webapp.services.prompts import DEFAULT_LAYERS

    assert [{k: spec[k] for k in ("kind", "language", "name", "text")} | {"key": split_key(spec["key"])[0]}
            for spec in DEFAULT_LAYERS] == list_layers()
    assert [(spec["key"], spec["position"]) for spec in DEFAULT_LAYERS[:4]] == [
        ("base", 0), ("base_ru", 0), ("beauty", 10), ("beauty_ru", 10)]


def test_a_tenant_gets_the_prompt_layers_of_its_language(make_tenant, db):
    from webapp.models import PromptLayer
    from webapp.services.prompts import DEFAULT_LAYERS, ensure_default_layers, layer_dicts

    ensure_default_layers()
    texts = {spec["key"]: spec["text"] for spec in DEFAULT_LAYERS}
    ru, en = make_tenant("Салон", language="ru"), make_tenant("Salon")
    ru.profile, en.profile = {"niche": "Салон красоты"}, {"niche": "Beauty salon"}
    db.session.commit()
    assert [(d["kind"], d["key"]) for d in layer_dicts(ru)] == [("platform", "base_ru"), ("niche", "beauty_ru")]
    assert [d["text"] for d in layer_dicts(ru)] == [texts["base_ru"], texts["beauty_ru"]]
    assert [(d["kind"], d["key"]) for d in layer_dicts(en)] == [("platform", "base"), ("niche", "beauty")]
    # a layer staff wrote in English only still reaches a Russian tenant; one in Russian only never an English one
    db.session.add_all([
        PromptLayer(tenant_id=None, kind="niche", key="salon_extra", text="Mention the loyalty card.", position=20),
        PromptLayer(tenant_id=None, kind="niche", key="beauty_extra_ru", text="Скажите о карте.", position=20)])
    ru.profile = en.profile = {"niche": "Salon extra, beauty extra"}
    db.session.commit()
    assert {"salon_extra", "beauty_extra_ru"} <= {d["key"] for d in layer_dicts(ru)}
    assert "salon_extra" in [d["key"] for d in layer_dicts(en)]
    assert "beauty_extra_ru" not in [d["key"] for d in layer_dicts(en)]
    # a switched-off translation falls back to the English layer rather than to none
    db.session.query(PromptLayer).filter_by(key="base_ru").update({"active": False})
    db.session.commit()
    assert layer_dicts(ru)[0]["key"] == "base"


def test_russian_niche_words_pick_their_layer():
    from webapp.services.prompts import niche_matches

    assert niche_matches("beauty_ru", "Салон красоты") and niche_matches("cafe", "Кофейня у дома")
    assert niche_matches("clinic", "Сеть клиник") and niche_matches("courses", "Курсы английского")
    assert niche_matches("real_estate_ru", "Агентство недвижимости")
    assert not niche_matches("retail", "retailer") and not niche_matches("clinic", "Салон красоты")
