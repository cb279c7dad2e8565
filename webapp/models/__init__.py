"""All models, importable from one place (Alembic autogenerate and Flask-Admin read them here)."""

from .channel import Channel, ChannelChange
from .conversation import Contact, Conversation, Message
from .crm import LEAD_EVENT_KINDS, LEAD_STATUSES, FollowUp, Lead, LeadEvent, Notification, NotificationDelivery
from .flow import Flow, FlowTemplate, FlowVersion, PromptLayer, TestConversation
from .inbox import InboundEvent, WebhookDelivery
from .people import LINK_RULES, LINK_STATES, Person, PersonLink
from .team import MEMBER_ROLES, AuditEntry, Invitation
from .tenant import LANGUAGES, PRIORITIES, Plan, Tenant, User
from .usage import UsageCounter, month_key

TENANT_MODELS = (Channel, ChannelChange, Contact, Conversation, Message, Lead, LeadEvent, Notification,
                 NotificationDelivery, FollowUp, Flow, FlowVersion, TestConversation, InboundEvent, UsageCounter,
                 Person, PersonLink)

__all__ = [
    "LANGUAGES", "LEAD_EVENT_KINDS", "LEAD_STATUSES", "LINK_RULES", "LINK_STATES", "MEMBER_ROLES", "PRIORITIES",
    "TENANT_MODELS", "AuditEntry", "Channel", "ChannelChange", "Contact", "Conversation", "Flow", "FlowTemplate",
    "FlowVersion", "FollowUp", "InboundEvent", "Invitation", "Lead", "LeadEvent", "Message", "Notification",
    "NotificationDelivery", "Person", "PersonLink", "Plan", "PromptLayer", "Tenant", "TestConversation",
    "UsageCounter", "User", "WebhookDelivery",
    "month_key",
]
