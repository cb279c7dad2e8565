"""The prompt layers the platform ships: a base layer for every tenant and a niche layer per niche of the
template library. They are data, like plans: `ensure_default_layers()` adds the missing ones (`flask
layers seed`, `flask demo seed`) and never touches a layer staff already have, edited or switched off;
staff edit them in /admin (each save is a new version). To retire a shipped layer, switch it off rather
than delete it: a deleted one counts as missing and comes back with the next seed. A niche layer reaches
a tenant whose profile niche contains its key's words ("Beauty salon" gets `beauty`:
niche_matches below).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import PromptLayer, Tenant

DEFAULT_LAYERS: tuple[dict[str, Any], ...] = (
    {"kind": "platform", "key": "base", "name": "Platform base", "position": 0, "text": (
        "You are the virtual assistant of a small business and answer its customers in direct messages. "
        "Be warm, brief and concrete: one to three short sentences and one question at a time. Use the "
        "business's own facts given below; when something is not there (a price, a free slot, a policy), "
        "say that a manager will confirm it instead of guessing. Never promise discounts, bookings or "
        "deliveries the business has not described. Lead to the next useful step: a booking, an order, or "
        "the customer's contact details for a manager.")},
    {"kind": "niche", "key": "beauty", "name": "Beauty and wellness", "position": 10, "text": (
        "Customers ask about services, prices, free times and the specialists. Suggest a concrete service "
        "and ask for the preferred day and time; say how long a service takes when the profile gives it. "
        "Give no medical or skin-care diagnosis: for allergies, skin conditions or pregnancy, suggest a "
        "consultation with the specialist first.")},
    {"kind": "niche", "key": "real_estate", "name": "Real estate", "position": 10, "text": (
        "Customers ask about properties, prices, districts and viewings. First find out what matters: buy "
        "or rent, budget, district, number of rooms, moving date. Offer a viewing or a call with an agent. "
        "Never say a property is available or quote a final price unless the profile says so: availability "
        "changes every day.")},
    {"kind": "niche", "key": "retail", "name": "Online store", "position": 10, "text": (
        "Customers ask about products, sizes, stock, delivery and returns. Help them choose (size, colour, "
        "budget), give the delivery and return terms from the profile, and offer to take the order or pass "
        "it to a manager. Do not confirm stock or delivery dates the profile does not give.")},
    {"kind": "niche", "key": "services", "name": "Services and appointments", "position": 10, "text": (
        "Customers want to book a service or get a quote. Ask what they need, where and when; give prices "
        "only as the profile states them (\"from ...\"); offer the nearest next step: a booking, a call "
        "back, or a visit by a specialist.")},
)


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
        db.session.add(PromptLayer(tenant_id=None, version=1, active=True, **spec))
        added.append(name)
    db.session.commit()  # the turn-side layer cache is cleared by PromptLayer's insert events
    return {"added": added, "kept": kept}


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^\w]+|_", text.lower()) if t]


def niche_matches(key: str, niche: str) -> bool:
    """A niche layer's key ("beauty", "real_estate") matches a free-text niche when its words appear in
    it in order: "Beauty salon" gets `beauty`, "Real estate agency" gets `real_estate`."""
    want, have = _tokens(key), _tokens(niche)
    return bool(want) and any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1))


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
    tenant's niche (so a beauty salon gets the `beauty` library layer)."""
    niche = str((tenant.profile or {}).get("niche") or "")
    rows = db.session.scalars(select(PromptLayer).where(PromptLayer.tenant_id.is_(None), PromptLayer.active))
    return latest_layers([r for r in rows if r.kind != "niche" or niche_matches(r.key, niche)])


def tenant_layers(tenant: Tenant) -> list[PromptLayer]:
    rows = db.session.scalars(select(PromptLayer).where(PromptLayer.tenant_id == tenant.id,
                                                        PromptLayer.active)).all()
    return latest_layers(list(rows))


def layer_dicts(tenant: Tenant) -> list[dict[str, Any]]:
    """What `flows.prompt` reads: kind (platform → niche → tenant order), name, text."""
    return [{"kind": r.kind if r.tenant_id is None else "tenant", "key": r.key, "name": r.name or r.key,
             "text": r.text}
            for r in [*platform_layers(tenant), *tenant_layers(tenant)]]
