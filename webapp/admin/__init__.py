"""Flask-Admin panel for staff at /admin; access is enforced once, in StaffOnly."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from ..extensions import db
from ..models import AuditEntry, FlowTemplate, InboundEvent, Lead, Plan, PromptLayer, Tenant, User
from ..models import Channel as ChannelModel
from .views import (
    AuditView,
    ChannelView,
    EventView,
    LeadView,
    PlanView,
    PromptLayerView,
    StaffIndex,
    TemplateView,
    TenantView,
    UserView,
)


def init_admin(app: Flask) -> Admin:
    admin = Admin(app, name="TemoWeb staff", index_view=StaffIndex(url="/admin"),
                  theme=Bootstrap4Theme(swatch="default"))
    admin.add_view(TenantView(Tenant, db.session, name="Tenants"))
    admin.add_view(PlanView(Plan, db.session, name="Plans"))
    admin.add_view(UserView(User, db.session, name="Users"))
    admin.add_view(ChannelView(ChannelModel, db.session, name="Channels"))
    admin.add_view(TemplateView(FlowTemplate, db.session, name="Templates", category="Library"))
    admin.add_view(PromptLayerView(PromptLayer, db.session, name="Prompt layers", category="Library"))
    admin.add_view(EventView(InboundEvent, db.session, name="Inbound events", category="Pipeline"))
    admin.add_view(LeadView(Lead, db.session, name="Leads", category="Pipeline"))
    admin.add_view(AuditView(AuditEntry, db.session, name="Audit log"))
    return admin
