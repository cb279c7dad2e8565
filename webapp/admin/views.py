"""Staff views. Secrets are never displayed: credentials show as masked and can only be replaced."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from wtforms import PasswordField, SelectField
from wtforms.validators import Optional

from connectors.runtime.jobs import retry_events
from webapp.services.flows import template_problems

from ..extensions import db
from ..inputs import parse_db_int, problem, unstorable
from ..models import PRIORITIES, Channel, InboundEvent, Lead, Tenant
from ..services.channels import ChannelSetupError, add_channel, record_change
from ..services.flow_channels import channel_type_choices


class AdminForm(FlaskForm):
    """Flask-WTF's CSRF token (the one CSRFProtect checks on every POST) plus the `_obj` attribute that
    Flask-Admin's unique-value validator uses to recognise the record being edited."""

    def __init__(self, formdata: Any = _Auto, obj: Any = None, prefix: str = "", **kwargs: Any) -> None:
        self._obj = obj
        super().__init__(formdata=formdata, obj=obj, prefix=prefix, **kwargs)


def _is_staff() -> bool:
    return bool(current_user.is_authenticated and current_user.is_active and current_user.is_staff)


class StaffOnly:
    """Mixed into every admin view: anonymous users go to the login page, members get 403."""

    def is_accessible(self) -> bool:
        return _is_staff()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)


class StaffIndex(StaffOnly, AdminIndexView):
    @expose("/")
    def index(self) -> Any:
        from sqlalchemy import func, select


        stats = {
            "tenants": db.session.scalar(select(func.count()).select_from(Tenant)),
            "channels": db.session.scalar(select(func.count()).select_from(Channel)),
            "leads": db.session.scalar(select(func.count()).select_from(Lead)),
            "failed_events": db.session.scalar(
                select(func.count()).select_from(InboundEvent).where(InboundEvent.status == "failed")),
        }
        return self.render("admin/staff_index.html", stats=stats)


class StaffModelView(StaffOnly, ModelView):
    form_base_class = AdminForm
    page_size = 50
    can_view_details = True

    def get_one(self, id: Any) -> Any:  # noqa: A002 - Flask-Admin's name
        """An `?id=` that is no storable id is no record (Flask-Admin then says so) instead of a database error."""
        return super().get_one(id) if parse_db_int(str(id)) is not None else None

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        """JSON fields are typed as text, so `\u0000` in them passes the request check and is a NUL once
        parsed: refused here as a form error (Flask-Admin shows a ValidationError and saves nothing)."""
        from wtforms.validators import ValidationError


        found = unstorable(form.data)
        if found is not None:
            raise ValidationError(problem(*found))
        super().on_model_change(form, model, is_created)


class TenantView(StaffModelView):
    column_list = ("id", "name", "slug", "plan", "language", "status", "created_at")
    column_searchable_list = ("name", "slug")
    column_filters = ("status", "language")
    form_columns = ("name", "slug", "plan", "language", "timezone", "status", "profile", "settings")


class PlanView(StaffModelView):
    column_list = ("code", "name", "priority", "features", "limits", "llm_model")
    form_columns = ("code", "name", "priority", "features", "limits", "llm_model")
    form_overrides = {"priority": SelectField}
    form_args = {"priority": {"choices": [(p, p) for p in PRIORITIES]}}
    can_delete = False


class UserView(StaffModelView):
    column_list = ("id", "email", "tenant", "role", "active", "last_login_at")
    column_exclude_list = ("password_hash",)
    column_details_exclude_list = ("password_hash",)
    column_searchable_list = ("email",)
    form_columns = ("email", "tenant", "role", "active", "language", "new_password")
    form_overrides = {"role": SelectField}
    form_args = {"role": {"choices": [("owner", "owner"), ("member", "member"), ("staff", "staff")]}}
    form_extra_fields = {"new_password": PasswordField("New password", validators=[Optional()])}

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        super().on_model_change(form, model, is_created)
        if form.new_password.data:
            model.set_password(form.new_password.data)
        elif is_created:
            raise ValueError("A new user needs a password.")


def _masked(view: Any, context: Any, model: Any, name: str) -> str:
    creds = model.credentials or {}
    return ", ".join(f"{k}: ••••{str(v)[-2:] if len(str(v)) > 8 else ''}" for k, v in sorted(creds.items())) \
        or "—"


class ChannelView(StaffModelView):
    column_list = ("id", "tenant", "type", "name", "external_id", "status", "credentials", "created_at")
    column_details_list = ("id", "tenant", "type", "name", "external_id", "public_key", "status",
                           "status_reason", "credentials", "webhook_state", "settings", "token_expires_at")
    column_formatters = {"credentials": _masked}
    column_formatters_detail = {"credentials": _masked}
    column_filters = ("type", "status")
    form_columns = ("tenant", "type", "name", "external_id", "status", "settings", "new_token", "new_secret")
    form_overrides = {"type": SelectField}
    form_args = {"type": {"choices": channel_type_choices}}  # a callable: the registry's, read per form
    form_extra_fields = {
        "new_token": PasswordField("Replace access token", validators=[Optional()]),
        "new_secret": PasswordField("Replace secret", validators=[Optional()]),
    }

    def create_model(self, form: Any) -> Any:
        """A new channel goes through the one channel service, like the tenant's pages and `flask channel add`:
        the plan's channel limit, what the type needs, the type's set-up (Telegram: getMe and the webhook).
        A refusal is shown on the form page and nothing is stored."""
        found = unstorable(form.data)
        if found is not None:
            flash(problem(*found), "error")
            return False
        if form.tenant.data is None:
            flash("Choose the tenant the channel belongs to.", "error")
            return False
        settings = form.settings.data
        if settings is not None and not isinstance(settings, dict):
            flash("Settings must be a JSON object.", "error")
            return False
        try:
            channel = add_channel(form.tenant.data, form.type.data, external_id=form.external_id.data or None,
                                  token=form.new_token.data or None, secret=form.new_secret.data or None,
                                  name=(form.name.data or "").strip(), settings=settings,
                                  status=form.status.data or None, actor=f"staff:{current_user.email}")
        except ChannelSetupError as exc:
            flash(exc.message, "error")
            return False
        self.after_model_change(form, channel, True)
        return channel

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        super().on_model_change(form, model, is_created)
        creds = dict(model.credentials or {})
        if form.new_token.data:
            creds.pop("access_token", None)
            creds["token"] = form.new_token.data
            if not is_created:  # a new token by hand is a reconnect: noted like the tenant's own
                record_change(model, "reconnected", f"staff:{current_user.email}")
        if form.new_secret.data:
            creds["secret"] = form.new_secret.data
        model.credentials = creds


class TemplateView(StaffModelView):
    column_list = ("key", "name", "niche", "kind", "active")
    form_columns = ("key", "name", "niche", "kind", "description", "document", "active")

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        super().on_model_change(form, model, is_created)

        errors = [p for p in template_problems(model.document) if p["severity"] == "error"]
        if errors:
            raise ValueError("; ".join(p["message"] for p in errors[:5]))


class PromptLayerView(StaffModelView):
    column_list = ("id", "tenant_id", "kind", "key", "name", "version", "active")
    form_columns = ("kind", "key", "name", "text", "position", "active")


class EventView(StaffModelView):
    can_create = False
    can_edit = False
    column_list = ("id", "tenant_id", "channel_id", "kind", "status", "reason", "attempts", "error",
                   "created_at")
    column_filters = ("status", "kind")
    column_default_sort = ("id", True)

    @action("retry", "Retry", "Re-enqueue the selected events?")
    def action_retry(self, ids: list[str]) -> None:
        count = retry_events([int(i) for i in ids])
        flash(f"{count} event(s) re-enqueued.", "success")


class LeadView(StaffModelView):
    can_create = False
    column_list = ("id", "tenant_id", "source_channel", "status", "fields", "created_at")
    column_filters = ("status", "source_channel")
    form_columns = ("status", "note")
