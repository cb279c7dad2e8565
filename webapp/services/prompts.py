"""The prompt layers the platform ships: a base layer for every tenant and a niche layer per niche of the
template library. They are data files (flows/templates/layers/, read by `flows.templates.list_layers`), like
the scenario templates beside them: `ensure_default_layers()` adds the missing ones as rows (`flask layers
seed`, `flask demo seed`) and never touches a layer staff already have, edited or switched off; staff edit
the rows in /admin (each save is a new version), so editing a file changes only what the next seed adds. To
retire a shipped layer, switch it off rather than delete it: a deleted one counts as missing and comes back
with the next seed. A niche layer reaches a tenant whose profile niche contains its key's words ("Beauty
salon" gets `beauty`: niche_matches below).

Every layer ships in English and Russian, each as its own file with a `language` field (`beauty.json`,
`beauty.ru.json`); the stored key names the language (`base`, `base_ru`: the rows have no language column,
and the English keys stay the ones existing rows have), and a tenant gets the layers of its language
(`platform_layers`).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from flows.templates import DEFAULT_LANGUAGE, LANGUAGES, list_layers, localized_key, split_key
from webapp.extensions import db
from webapp.models import PromptLayer, Tenant


def _layer(kind: str, key: str, language: str, name: str, text: str) -> dict[str, Any]:
    """One shipped layer in one language; its stored key names the language (`beauty_ru`), English keeps
    the bare key the layers have always had (`beauty`), so rows staff already edited stay theirs."""
    return {"kind": kind, "key": localized_key(key, language), "language": language, "name": name,
            "position": 0 if kind == "platform" else 10, "text": text}


DEFAULT_LAYERS: tuple[dict[str, Any], ...] = tuple(
    _layer(spec["kind"], spec["key"], spec["language"], spec["name"], spec["text"]) for spec in list_layers())

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
