"""The onboarding checklist on the dashboard home: each step ticked from what the tenant's data really shows.

Nothing here writes or keeps a "done" flag: a flag would drift from the truth (a channel removed, a flow
unpublished), so every tick is recomputed from the rows that prove it. Every query is scoped to the tenant
through :func:`webapp.tenancy.scoped` with the tenant's id, so one tenant's state never ticks another's list.

The manual Meta steps (docs/02-what-is-manual.md) are attached as notes to the step where they block the
tenant, and only for channels the tenant has (active or still being connected). They are keyed by the Meta
webhook object a connector declares (``meta_object``), asked of the channel registry: no channel type list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, exists, select
from sqlalchemy.orm import aliased

from connectors.channels.registry import UnknownConnectorError, get_connector

from ..extensions import db
from ..models import Channel, Contact, Conversation, Flow, InboundEvent, Message, Tenant, TestConversation
from ..tenancy import scoped
from .channels import REMOVED

#: Outbound delivery states that mean the customer got the reply (the channel confirmed it, or more).
DELIVERED = ("sent", "delivered", "read")

#: What a tenant must do by hand in Meta, per step, for channels whose connector parses this Meta webhook
#: object; ``"*"`` applies to every Meta channel. Lazy texts: translated when the page renders them.
_MANUAL: dict[str, dict[str, tuple[object, ...]]] = {
    "channels": {
        "*": (_l("In Meta Business Manager, give the platform a role on your business and assign it the assets "
                 "the bot uses (the Facebook Page, Instagram account or WhatsApp Business Account)."),),
        "instagram": (_l("Instagram: the account must be professional (Business or Creator) and public; in the "
                         "Instagram app open Settings → Messages and story replies → Message controls and turn on "
                         "\"Allow access to messages\"."),),
        "whatsapp_business_account": (_l("WhatsApp: register and verify the phone number for the Cloud API in "
                                         "Business Manager, and add a payment method for business-initiated "
                                         "conversations."),),
    },
    "webhooks": {
        "*": (_l("Until Meta's App Review grants the app Advanced Access and it is switched to Live, only people "
                 "with a role on the app generate webhooks: write to the bot from such an account."),),
    },
    "live": {
        "*": (_l("Verify your business and your website's domain in Business Manager: verified businesses get "
                 "higher messaging limits."),),
        "whatsapp_business_account": (_l("WhatsApp: to write after the 24-hour customer-service window, get "
                                         "message templates approved and set one on the channel."),),
    },
}


@dataclass(frozen=True)
class Step:
    """One line of the checklist: what to do, whether the data shows it done, where to do it, and the manual
    Meta steps that must happen outside the platform for it."""

    key: str
    title: str
    hint: str
    done: bool
    link: str | None
    notes: list[str] = field(default_factory=list)


def _meta_objects(channels: list[Channel]) -> set[str]:
    """The Meta webhook objects of the tenant's channels (none for Telegram or the website chat)."""
    found: set[str] = set()
    for channel in channels:
        try:
            meta_object = get_connector(channel.type).meta_object
        except UnknownConnectorError:  # a channel of a type no longer registered
            continue
        if meta_object:
            found.add(meta_object)
    return found


def _notes(step: str, meta_objects: set[str]) -> list[str]:
    """The manual steps for this step and these Meta objects: the general Meta ones first."""
    if not meta_objects:
        return []
    table = _MANUAL.get(step, {})
    texts = list(table.get("*", ()))
    for meta_object in sorted(meta_objects):
        texts.extend(table.get(meta_object, ()))
    return [str(text) for text in texts]


def _profile_done(tenant: Tenant) -> bool:
    """A name and enough facts for the bot to answer: the niche and one of address, hours or an FAQ entry."""
    profile = tenant.profile or {}

    def filled(key: str) -> bool:
        value = profile.get(key)
        return bool(value.strip()) if isinstance(value, str) else bool(value)

    return bool((tenant.name or "").strip()) and filled("niche") and any(
        filled(key) for key in ("address", "hours", "faq"))


def _receives_without_setup(channel: Channel) -> bool:
    """The website chat: the widget posts to our own endpoint and fetches replies, nothing to register."""
    try:
        return not get_connector(channel.type).pushes_replies
    except UnknownConnectorError:
        return False


def _webhook_checked(channel: Channel, tenant_id: int) -> bool:
    """An event arrived on the channel, or its set-up registered the webhook (Telegram's setWebhook and the
    Meta connect pages' subscription store ``webhook_state.ok``), or it needs no webhook at all (the website
    chat)."""
    if (channel.webhook_state or {}).get("ok") or _receives_without_setup(channel):
        return True
    return db.session.scalar(scoped(InboundEvent, tenant_id).where(InboundEvent.channel_id == channel.id)
                             .with_only_columns(InboundEvent.id).limit(1)) is not None


def _contact_on(channel: Channel, tenant_id: int, *, test_account: bool) -> Select[Any] | None:
    """Contacts of the channel that are (or are not) the tenant's own test account set on the channel."""
    recipient = str((channel.settings or {}).get("test_recipient") or "")
    query = scoped(Contact, tenant_id).where(Contact.channel_id == channel.id)
    if test_account:
        return query.where(Contact.external_user_id == recipient) if recipient else None
    return query.where(Contact.external_user_id != recipient) if recipient else query


def _tested(channels: list[Channel], tenant_id: int) -> bool:
    """No run of the simulator or "Send test" is stored; what is: saved test conversations ("Check replies"
    cases, saved from the Send test chat), a conversation with the tenant's own test account on a channel,
    or a conversation on the website chat (its demo page is where owners try it)."""
    if db.session.scalar(scoped(TestConversation, tenant_id).with_only_columns(TestConversation.id)
                         .limit(1)) is not None:
        return True
    for channel in channels:
        # Any conversation on the website chat: one row of ix_conversation_channel_id (a "contact of the
        # channel IN (...)" subquery read every contact of a big tenant's chat).
        conversations = scoped(Conversation, tenant_id).where(Conversation.channel_id == channel.id)
        if not _receives_without_setup(channel):
            contacts = _contact_on(channel, tenant_id, test_account=True)
            if contacts is None:
                continue
            own = contacts.with_only_columns(Contact.id).subquery()
            conversations = conversations.where(Conversation.contact_id.in_(select(own.c.id)))
        if db.session.scalar(conversations.with_only_columns(Conversation.id).limit(1)) is not None:
            return True
    return False


def _live(channels: list[Channel], tenant_id: int) -> bool:
    """A reply delivered to a real customer: an outbound message the channel confirmed, in a conversation
    with someone other than the channel's test account."""
    conv = aliased(Conversation)
    for channel in channels:
        customers = _contact_on(channel, tenant_id, test_account=False)
        if customers is None:
            continue
        ids = customers.with_only_columns(Contact.id).subquery()
        found = db.session.scalar(
            scoped(Message, tenant_id).where(
                Message.channel_id == channel.id, Message.direction == "out",
                Message.delivery_status.in_(DELIVERED),
                exists().where(conv.id == Message.conversation_id, conv.contact_id.in_(select(ids.c.id))))
            .with_only_columns(Message.id).limit(1))
        if found is not None:
            return True
    return False


def checklist(tenant: Tenant) -> list[Step]:
    """The steps in the order a new tenant takes them, each ticked from the tenant's rows (pure reads)."""
    tid = tenant.id
    channels = list(db.session.scalars(scoped(Channel, tid).where(Channel.status != REMOVED).order_by(Channel.id)))
    active = [c for c in channels if c.status == "active"]
    metas = _meta_objects(channels)
    published = db.session.scalar(scoped(Flow, tid).where(Flow.published_version_id.is_not(None))
                                  .with_only_columns(Flow.id).limit(1))
    any_flow = published or db.session.scalar(scoped(Flow, tid).order_by(Flow.position, Flow.id)
                                              .with_only_columns(Flow.id).limit(1))
    test_link = url_for("editor.edit", flow_id=any_flow) if any_flow else url_for("dashboard.flows")
    checked = {c.id: _webhook_checked(c, tid) for c in channels}
    heard = bool(active) and all(checked[c.id] for c in active)
    live = _live(channels, tid)
    # A channel's manual Meta set-up (roles, message access, number registration, App Review) is what keeps
    # its events from arriving, so its notes stay until the channel has been heard from, whatever its status
    # (one still being connected or needing reconnection counts too).
    unheard = _meta_objects([c for c in channels if not checked[c.id]])
    return [
        Step("plan", _("Plan"), _("You are on the %(plan)s plan; staff change plans on request.",
                                  plan=tenant.plan.name if tenant.plan else "-"),
             tenant.plan is not None, None),
        Step("profile", _("Business profile"),
             _("Fill in the niche and the address, opening hours or FAQ: the bot answers from them."),
             _profile_done(tenant), url_for("settings.profile")),
        Step("channels", _("Connect channels"), _("Connect at least one channel where customers write to you."),
             bool(active), url_for("dashboard.channels"), _notes("channels", unheard)),
        Step("webhooks", _("Check webhooks"),
             _("Every connected channel has received a message, or its webhook was set when it was connected."),
             heard, url_for("dashboard.events"), _notes("webhooks", unheard)),
        Step("template", _("Pick a template"),
             _("Start a flow from the template library (Flows → New flow), adapt it and publish it."),
             published is not None, url_for("dashboard.flows")),
        Step("test", _("Test"),
             _("Try the flow in the editor with \"Send test\", \"Simulate comment\" and \"Check replies\" "
               "(save a test conversation), or write to the bot from your own test account."),
             _tested(channels, tid), test_link),
        Step("live", _("Go live"), _("The bot has answered a real customer on one of your channels."),
             live, url_for("dashboard.inbox_page"), [] if live else _notes("live", metas)),
    ]


def all_done(steps: list[Step]) -> bool:
    """Every step ticked: the home page folds the list into one "You are live" line."""
    return all(step.done for step in steps)
