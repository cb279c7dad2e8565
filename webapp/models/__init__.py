"""All models, importable from one place (Alembic autogenerate and Flask-Admin read them here)."""

from .channel import Channel, ChannelChange
from .conversation import Contact, Conversation, Message
from .crm import LEAD_STATUSES, FollowUp, Lead, Notification, NotificationDelivery
from .flow import Flow, FlowTemplate, FlowVersion, PromptLayer, TestConversation
from .inbox import InboundEvent, WebhookDelivery
from .tenant import LANGUAGES, PRIORITIES, Plan, Tenant, User
from .usage import UsageCounter, month_key

TENANT_MODELS = (Channel, ChannelChange, Contact, Conversation, Message, Lead, Notification, NotificationDelivery,
                 FollowUp, Flow, FlowVersion, TestConversation, InboundEvent, UsageCounter)

__all__ = [
    "LANGUAGES", "LEAD_STATUSES", "PRIORITIES", "TENANT_MODELS", "Channel", "ChannelChange", "Contact",
    "Conversation", "Flow", "FlowTemplate", "FlowVersion", "FollowUp", "InboundEvent", "Lead", "Message",
    "Notification", "NotificationDelivery", "Plan", "PromptLayer", "Tenant", "TestConversation", "UsageCounter",
    "User", "WebhookDelivery",
    "month_key",
]
