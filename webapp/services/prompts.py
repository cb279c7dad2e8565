"""The prompt layers the platform ships: a base layer for every tenant and a niche layer per niche of the
template library. They are data, like plans: `ensure_default_layers()` adds the missing ones (`flask
layers seed`, `flask demo seed`) and never touches a layer staff already have, edited or switched off;
staff edit them in /admin (each save is a new version). To retire a shipped layer, switch it off rather
than delete it: a deleted one counts as missing and comes back with the next seed. A niche layer reaches
a tenant whose profile niche contains its key's words ("Beauty salon" gets `beauty`:
webapp.services.simulation.niche_matches).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import PromptLayer

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
