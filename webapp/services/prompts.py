"""The prompt layers the platform ships: a base layer for every tenant and a niche layer per niche of the
template library. They are data, like plans: `ensure_default_layers()` adds the missing ones (`flask
layers seed`, `flask demo seed`) and never touches a layer staff already have, edited or switched off;
staff edit them in /admin (each save is a new version). To retire a shipped layer, switch it off rather
than delete it: a deleted one counts as missing and comes back with the next seed. A niche layer reaches
a tenant whose profile niche contains its key's words ("Beauty salon" gets `beauty`:
niche_matches below).

Every layer ships in English and Russian, each as its own entry with a `language` field; the stored key
names the language (`base`, `base_ru`: the rows have no language column, and the English keys stay the
ones existing rows have), and a tenant gets the layers of its language (`platform_layers`).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from flows.templates import DEFAULT_LANGUAGE, LANGUAGES, localized_key, split_key
from webapp.extensions import db
from webapp.models import PromptLayer, Tenant


def _layer(kind: str, key: str, language: str, name: str, text: str) -> dict[str, Any]:
    """One shipped layer in one language; its stored key names the language (`beauty_ru`), English keeps
    the bare key the layers have always had (`beauty`), so rows staff already edited stay theirs."""
    return {"kind": kind, "key": localized_key(key, language), "language": language, "name": name,
            "position": 0 if kind == "platform" else 10, "text": text}


DEFAULT_LAYERS: tuple[dict[str, Any], ...] = (
    _layer("platform", "base", "en", "Platform base", (
        "You are the virtual assistant of a small business and answer its customers in direct messages. "
        "Be warm, brief and concrete: one to three short sentences and one question at a time. Use the "
        "business's own facts given below; when something is not there (a price, a free slot, a policy), "
        "say that a manager will confirm it instead of guessing. Never promise discounts, bookings or "
        "deliveries the business has not described. Lead to the next useful step: a booking, an order, or "
        "the customer's contact details for a manager.")),
    _layer("platform", "base", "ru", "Основа платформы", (
        "Ты — виртуальный помощник небольшого бизнеса и отвечаешь его клиентам в личных сообщениях. "
        "Пиши тепло, коротко и по делу: одно-три коротких предложения и один вопрос за раз. Опирайся только "
        "на сведения о бизнесе, приведённые ниже; если чего-то там нет (цены, свободного времени, правил), "
        "скажи, что это уточнит менеджер, и не додумывай. Не обещай скидок, записей и доставки, о которых "
        "бизнес не писал. Веди клиента к следующему полезному шагу: записи, заказу или контактам для "
        "менеджера. Обращайся к клиенту на «вы».")),
    _layer("niche", "beauty", "en", "Beauty and wellness", (
        "Customers ask about services, prices, free times and the specialists. Suggest a concrete service "
        "and ask for the preferred day and time; say how long a service takes when the profile gives it. "
        "Give no medical or skin-care diagnosis: for allergies, skin conditions or pregnancy, suggest a "
        "consultation with the specialist first.")),
    _layer("niche", "beauty", "ru", "Красота и уход", (
        "Клиенты спрашивают об услугах, ценах, свободном времени и мастерах. Предложи конкретную услугу и "
        "спроси удобные день и время; скажи, сколько длится процедура, если это есть в профиле. Не ставь "
        "диагнозов и не давай медицинских советов по уходу за кожей: при аллергии, проблемах с кожей или "
        "беременности предложи сначала консультацию мастера.")),
    _layer("niche", "real_estate", "en", "Real estate", (
        "Customers ask about properties, prices, districts and viewings. First find out what matters: buy "
        "or rent, budget, district, number of rooms, moving date. Offer a viewing or a call with an agent. "
        "Never say a property is available or quote a final price unless the profile says so: availability "
        "changes every day.")),
    _layer("niche", "real_estate", "ru", "Недвижимость", (
        "Клиенты спрашивают об объектах, ценах, районах и показах. Сначала выясни главное: купить или снять, "
        "бюджет, район, количество комнат, сроки переезда. Предложи показ или звонок агента. Не говори, что "
        "объект свободен, и не называй окончательную цену, если этого нет в профиле: наличие меняется "
        "каждый день.")),
    _layer("niche", "retail", "en", "Online store", (
        "Customers ask about products, sizes, stock, delivery and returns. Help them choose (size, colour, "
        "budget), give the delivery and return terms from the profile, and offer to take the order or pass "
        "it to a manager. Do not confirm stock or delivery dates the profile does not give.")),
    _layer("niche", "retail", "ru", "Интернет-магазин", (
        "Клиенты спрашивают о товарах, размерах, наличии, доставке и возврате. Помоги с выбором (размер, "
        "цвет, бюджет), назови условия доставки и возврата из профиля и предложи оформить заказ или "
        "передать его менеджеру. Не подтверждай наличие и сроки доставки, которых нет в профиле.")),
    _layer("niche", "services", "en", "Services and appointments", (
        "Customers want to book a service or get a quote. Ask what they need, where and when; give prices "
        "only as the profile states them (\"from ...\"); offer the nearest next step: a booking, a call "
        "back, or a visit by a specialist.")),
    _layer("niche", "services", "ru", "Услуги и запись", (
        "Клиенты хотят записаться на услугу или узнать стоимость работ. Спроси, что нужно сделать, где и "
        "когда; называй цены только так, как они указаны в профиле («от …»); предложи ближайший следующий "
        "шаг: запись, обратный звонок или выезд мастера.")),
    _layer("niche", "courses", "en", "Courses and education", (
        "Customers ask about courses, levels, schedules, formats (online or in class) and prices. Find out "
        "the subject, the student's level and goal, and who the student is (an adult or a child, and their "
        "age); suggest a suitable course and a trial lesson. Do not promise results, certificates or places "
        "in a group the profile does not mention.")),
    _layer("niche", "courses", "ru", "Курсы и обучение", (
        "Клиенты спрашивают о курсах, уровнях, расписании, формате (онлайн или очно) и стоимости. Выясни "
        "направление, уровень и цель ученика и кто будет учиться (взрослый или ребёнок, его возраст); "
        "предложи подходящий курс и пробное занятие. Не обещай результатов, сертификатов и мест в группе, "
        "о которых нет сведений в профиле.")),
    _layer("niche", "cafe", "en", "Cafés and restaurants", (
        "Customers ask about the menu, prices, opening hours, table reservations and delivery. For a "
        "reservation, ask for the day, time, number of guests and a name. Name only dishes, prices and "
        "offers the profile gives; for allergies and ingredients, suggest checking with the staff.")),
    _layer("niche", "cafe", "ru", "Кафе и рестораны", (
        "Клиенты спрашивают о меню, ценах, часах работы, бронировании столиков и доставке. Для брони "
        "уточни день, время, количество гостей и имя. Называй только те блюда, цены и акции, что есть в "
        "профиле; об аллергенах и составе блюд предложи уточнить у персонала.")),
    _layer("niche", "clinic", "en", "Clinics and medical centres", (
        "Patients ask about doctors, services, prices and appointments. Help them book: the specialist, a "
        "first visit or a follow-up, the preferred time and a phone number. Never diagnose, recommend "
        "medicines or judge how urgent symptoms are; for anything that sounds urgent, tell the patient to "
        "call the emergency number right away.")),
    _layer("niche", "clinic", "ru", "Клиники и медицинские центры", (
        "Пациенты спрашивают о врачах, услугах, ценах и записи на приём. Помоги записаться: специалист, "
        "первичный или повторный приём, удобное время и телефон. Не ставь диагнозов, не советуй лекарств и "
        "не оценивай, насколько срочны симптомы; если похоже на срочный случай, попроси сразу позвонить "
        "в экстренную службу.")),
)

# Words (stems) besides its key that tie a free-text niche to a niche layer, so "Салон красоты" or "Кофейня"
# get their layer like "Beauty salon" gets `beauty`. A stem matches a word it begins ("клиник" → "клиники").
NICHE_WORDS: dict[str, tuple[str, ...]] = {
    "beauty": ("красот", "парикмахер", "маникюр", "барбер", "barber", "hairdress", "nail"),
    "real_estate": ("недвижимост", "риелтор", "риэлтор", "realty", "realtor", "property", "properties"),
    "retail": ("магазин", "online store", "e commerce", "boutique", "бутик"),
    "services": ("услуг", "ремонт", "repair", "cleaning", "клининг"),
    "courses": ("курс", "course", "школ", "school", "обучени", "education", "training", "tutor", "репетитор"),
    "cafe": ("café", "coffee", "restaurant", "кафе", "кофейн", "ресторан", "пиццери", "pizzeria", "bakery", "пекарн"),
    "clinic": ("клиник", "медицин", "medical", "стоматолог", "dental", "dentist", "doctor", "врач"),
}


def ensure_default_layers() -> dict[str, list[str]]:
    """Add the default layers that have no row yet (any version, active or not); keep everything else."""
    existing = {(kind, key) for kind, key in db.session.execute(
        select(PromptLayer.kind, PromptLayer.key).where(PromptLayer.tenant_id.is_(None)))}
    added, kept = [], []
    for spec in DEFAULT_LAYERS:
        name = f"{spec['kind']}:{spec['key']}"
        if (spec["kind"], spec["key"]) in existing:
            kept.append(name)
            continue
        columns = {k: v for k, v in spec.items() if k != "language"}  # the key carries it (`split_key`)
        db.session.add(PromptLayer(tenant_id=None, version=1, active=True, **columns))
        added.append(name)
    db.session.commit()  # the turn-side layer cache is cleared by PromptLayer's insert events
    return {"added": added, "kept": kept}


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^\w]+|_", text.lower()) if t]


def _in_order(want: list[str], have: list[str], *, stems: bool) -> bool:
    def same(w: str, h: str) -> bool:
        return h.startswith(w) if stems else h == w

    return bool(want) and any(all(same(w, h) for w, h in zip(want, have[i:i + len(want)], strict=True))
                              for i in range(len(have) - len(want) + 1))


def niche_matches(key: str, niche: str) -> bool:
    """A niche layer's key ("beauty", "real_estate"; a language suffix such as `beauty_ru` aside) matches
    a free-text niche when its words appear in it in order: "Beauty salon" gets `beauty`, "Real estate
    agency" gets `real_estate`; so do the key's NICHE_WORDS, as stems ("Салон красоты" gets `beauty`)."""
    base = split_key(key)[0]
    have = _tokens(niche)
    return _in_order(_tokens(base), have, stems=False) or any(
        _in_order(_tokens(word), have, stems=True) for word in NICHE_WORDS.get(base, ()))


def latest_layers(rows: list[PromptLayer]) -> list[PromptLayer]:
    """Saving a layer adds a version row; only the newest active version of each layer counts."""
    newest: dict[tuple[Any, str, str], PromptLayer] = {}
    for row in rows:
        key = (row.tenant_id, row.kind, row.key)
        if key not in newest or row.version > newest[key].version:
            newest[key] = row
    return sorted(newest.values(), key=lambda r: (r.tenant_id is not None, r.position, r.id))


def platform_layers(tenant: Tenant) -> list[PromptLayer]:
    """Staff rows (tenant_id NULL): every `platform` layer, and the `niche` layers whose key matches the
    tenant's niche (so a beauty salon gets the `beauty` library layer), each in the tenant's language
    (`base_ru` for a Russian tenant, `base` for an English one). A layer staff wrote in English only (or
    whose translation is switched off) reaches the tenant in English rather than not at all."""
    niche = str((tenant.profile or {}).get("niche") or "")
    language = tenant.language if tenant.language in LANGUAGES else DEFAULT_LANGUAGE
    rows = db.session.scalars(select(PromptLayer).where(PromptLayer.tenant_id.is_(None), PromptLayer.active))
    chosen: dict[tuple[str, str], PromptLayer] = {}
    for row in latest_layers([r for r in rows if r.kind != "niche" or niche_matches(r.key, niche)]):
        base, written_in = split_key(row.key)
        if written_in == language or (written_in == DEFAULT_LANGUAGE and (row.kind, base) not in chosen):
            chosen[(row.kind, base)] = row
    return sorted(chosen.values(), key=lambda r: (r.position, r.id))


def tenant_layers(tenant: Tenant) -> list[PromptLayer]:
    rows = db.session.scalars(select(PromptLayer).where(PromptLayer.tenant_id == tenant.id,
                                                        PromptLayer.active)).all()
    return latest_layers(list(rows))


def layer_dicts(tenant: Tenant) -> list[dict[str, Any]]:
    """What `flows.prompt` reads: kind (platform → niche → tenant order), name, text."""
    return [{"kind": r.kind if r.tenant_id is None else "tenant", "key": r.key, "name": r.name or r.key,
             "text": r.text}
            for r in [*platform_layers(tenant), *tenant_layers(tenant)]]
