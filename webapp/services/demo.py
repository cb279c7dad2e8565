"""The demo tenant `make run` shows: a beauty studio with a web chat, published flows, an owner and staff.

Its default flow is the "AI assistant" template (first in the tenant's order, so its catch-all trigger is the
one a new conversation starts at): with no model configured it answers from the FAQ below, and it takes a
booking when the customer asks for one. "Lead capture" and the Instagram comment flow are published beside it.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Channel, Flow, Tenant, User
from webapp.plans import ensure_default_plans
from webapp.services.channels import add_channel
from webapp.services.flows import seed_templates_for
from webapp.services.prompts import ensure_default_layers
from webapp.services.tenants import create_tenant

DEMO_TENANT = "Demo Beauty Studio"
DEMO_OWNER = ("owner@demo.example.com", "demo-owner-123")
DEMO_STAFF = ("staff@demo.example.com", "demo-staff-123")
#: The templates the demo publishes; the first is its default flow.
DEMO_FLOWS = ("ai_assistant", "lead_capture", "instagram_comment_to_dm")

DEMO_PROFILE = {
    "niche": "beauty salon",
    "offer": "Haircuts, colouring and manicure in the city centre; 10% off the first visit",
    "prices": "Haircut from 30 EUR; colouring from 60 EUR; manicure 25 EUR",
    "address": "12 Main Street, Riga",
    "hours": "Mon–Sat 10:00–20:00",
    "tone": "friendly",
    "faq": [
        {"q": "What are your opening hours?", "a": "We are open Monday to Saturday, 10:00–20:00."},
        {"q": "How much does a haircut cost?", "a": "A haircut starts at 30 EUR."},
        {"q": "Where are you located?", "a": "12 Main Street, Riga — next to the central park."},
        {"q": "Сколько стоит стрижка?", "a": "Стрижка — от 30 евро."},
        {"q": "Какой у вас график работы?", "a": "Мы работаем с понедельника по субботу, 10:00–20:00."},
    ],
}


def seed_demo() -> dict[str, object]:
    """Idempotent: safe to run on every `make run`."""
    ensure_default_plans()
    ensure_default_layers()
    tenant = db.session.scalar(select(Tenant).where(Tenant.name == DEMO_TENANT))
    if tenant is None:
        tenant = create_tenant(DEMO_TENANT, "PRO", "en", slug="demo")
        tenant.profile = DEMO_PROFILE
        db.session.commit()
    for email, password, staff in ((DEMO_OWNER[0], DEMO_OWNER[1], False), (DEMO_STAFF[0], DEMO_STAFF[1], True)):
        if db.session.scalar(select(User).where(User.email == email)) is None:
            user = User(email=email, tenant_id=None if staff else tenant.id, role="staff" if staff else "owner")
            user.set_password(password)
            db.session.add(user)
    db.session.commit()
    webchat = db.session.scalar(select(Channel).where(Channel.tenant_id == tenant.id, Channel.type == "webchat"))
    if webchat is None:
        webchat = add_channel(tenant, "webchat", name="Website chat")
    had = set(db.session.scalars(select(Flow.id).where(Flow.tenant_id == tenant.id)))
    flows = seed_templates_for(tenant, list(DEMO_FLOWS), publish_now=True)
    assistant = flows[0]
    if assistant.id not in had:  # a new demo, or one seeded before the assistant shipped: it answers now
        lowest = db.session.scalar(select(func.min(Flow.position))
                                   .where(Flow.tenant_id == tenant.id, Flow.id != assistant.id))
        assistant.position = (lowest or 0) - 1  # new conversations start at the first catch-all
        tenant.default_flow_id = assistant.id
        db.session.commit()
    base = current_app.config["PUBLIC_BASE_URL"]
    return {"tenant": {"id": tenant.id, "name": tenant.name},
            "owner": {"email": DEMO_OWNER[0], "password": DEMO_OWNER[1], "login": f"{base}/login"},
            "staff": {"email": DEMO_STAFF[0], "password": DEMO_STAFF[1], "admin": f"{base}/admin"},
            "webchat_demo": f"{base}/webchat/demo/{webchat.public_key}",
            "flows": [{"id": f.id, "name": f.name} for f in flows]}
