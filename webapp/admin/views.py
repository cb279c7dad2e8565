"""Staff views. Secrets are never displayed: credentials show as masked and can only be replaced."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual, IntEqualFilter
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from wtforms import PasswordField, SelectField
from wtforms.validators import Optional

from connectors.runtime.jobs import retry_events
from webapp.services.flows import template_problems

from ..extensions import db
from ..inputs import parse_db_int, problem, unstorable
from ..models import PRIORITIES, AuditEntry
from ..services.audit import ACTIONS, changed_fields, record
from ..services.channels import ChannelSetupError, add_channel, record_change
from ..services.flow_channels import channel_type_choices
from .stats import staff_stats


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
        """Cheap numbers only (admin/stats.py): no COUNT(*) over a million leads on every visit."""
        return self.render("admin/staff_index.html", stats=staff_stats())


def _staff_email() -> str:
    return str(current_user.email)


def _tenant_id_of(model: Any) -> int | None:
    """The tenant a user or channel belongs to as the form set it: the relationship (the foreign key column
    is only written at the flush)."""
    return model.tenant.id if model.tenant is not None else model.tenant_id


class StaffModelView(StaffOnly, ModelView):
    """The base of every list: no COUNT(*) of the whole table per page view (`simple_list_pager`: "next"
    and "previous" only) and newest first by id, an order the primary key serves without a sort."""

    form_base_class = AdminForm
    page_size = 50
    can_view_details = True
    simple_list_pager = True
    column_default_sort: Any = ("id", True)

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
    """Every change staff make to a tenant is in the audit log, in the same transaction: a plan change
    (from/to codes), a suspension or reactivation (status from/to), any other edit (the fields' names),
    a creation and a deletion."""

    column_list = ("id", "name", "slug", "plan", "language", "status", "created_at")
    column_searchable_list = ("name", "slug")
    column_filters = ("status", "language")
    form_columns = ("name", "slug", "plan", "language", "timezone", "status", "profile", "settings")

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        super().on_model_change(form, model, is_created)
        from sqlalchemy import inspect

        if is_created:
            db.session.flush()  # the new tenant's id, which the entry names
            record("tenant_created", tenant_id=model.id, actor=_staff_email(), staff=True, target=model.name,
                   details={"plan": model.plan.code if model.plan else None, "slug": model.slug})
            return
        state = inspect(model)
        plan = state.attrs.plan.history
        if plan.has_changes():
            old = plan.deleted[0].code if plan.deleted and plan.deleted[0] is not None else None
            new = plan.added[0].code if plan.added and plan.added[0] is not None else None
            record("plan_changed", tenant_id=model.id, actor=_staff_email(), staff=True, target=model.name,
                   details={"from": old, "to": new})
        status = state.attrs.status.history
        others = [f for f in changed_fields(model) if f not in ("plan", "plan_id", "status")]
        if status.has_changes():
            old_status = status.deleted[0] if status.deleted else None
            if model.status == "active" or old_status == "active":
                record("tenant_reactivated" if model.status == "active" else "tenant_suspended",
                       tenant_id=model.id, actor=_staff_email(), staff=True, target=model.name,
                       details={"from": old_status, "to": model.status})
            else:
                others.append("status")
        if others:
            record("tenant_edited", tenant_id=model.id, actor=_staff_email(), staff=True, target=model.name,
                   details={"fields": sorted(others)})

    def on_model_delete(self, model: Any) -> None:
        """The entry names the tenant but points at none: the deletion cascades to the tenant's entries."""
        super().on_model_delete(model)
        record("tenant_deleted", tenant_id=None, actor=_staff_email(), staff=True, target=model.name,
               details={"tenant_id": model.id, "slug": model.slug})


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
        """Audited: a creation (email, role) or the names of the fields an edit changed; a new password is
        noted as "password", never its value nor its hash."""
        super().on_model_change(form, model, is_created)
        if form.new_password.data:
            model.set_password(form.new_password.data)
        elif is_created:
            raise ValueError("A new user needs a password.")
        if is_created:
            record("user_created", tenant_id=_tenant_id_of(model),
                   actor=_staff_email(), staff=True, target=model.email, details={"role": model.role})
            return
        fields = changed_fields(model, skip=("password_hash", "session_version"))
        if form.new_password.data:
            fields.append("password")
        if fields:
            details: dict[str, Any] = {"fields": sorted(set(fields) - {"tenant_id"})}
            if "role" in fields:
                from sqlalchemy import inspect

                old_role = inspect(model).attrs.role.history.deleted
                details["role"] = {"from": old_role[0] if old_role else None, "to": model.role}
            record("user_edited", tenant_id=_tenant_id_of(model),
                   actor=_staff_email(), staff=True, target=model.email, details=details)

    def on_model_delete(self, model: Any) -> None:
        super().on_model_delete(model)
        record("user_deleted", tenant_id=model.tenant_id, actor=_staff_email(), staff=True, target=model.email,
               details={"role": model.role})


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
        """An edit is audited with the names of the fields it changed ("token"/"secret" for replaced
        credentials, never their values); a new token is also a reconnect, noted like the tenant's own."""
        super().on_model_change(form, model, is_created)
        fields = changed_fields(model, skip=("credentials",))
        creds = dict(model.credentials or {})
        if form.new_token.data:
            creds.pop("access_token", None)
            creds["token"] = form.new_token.data
            fields.append("token")
            if not is_created:
                record_change(model, "reconnected", f"staff:{current_user.email}")
        if form.new_secret.data:
            creds["secret"] = form.new_secret.data
            fields.append("secret")
        model.credentials = creds
        if not is_created and fields:
            record("channel_edited", tenant_id=_tenant_id_of(model),
                   actor=_staff_email(), staff=True, target=f"{model.type} #{model.id} {model.name or ''}".strip(),
                   details={"channel_id": model.id, "fields": sorted(set(fields) - {"tenant_id"})})

    def on_model_delete(self, model: Any) -> None:
        """Deleting the row (rather than the tenant's "remove", which keeps it) is audited as a removal."""
        super().on_model_delete(model)
        record("channel_removed", tenant_id=model.tenant_id, actor=_staff_email(), staff=True,
               target=f"{model.type} #{model.id} {model.name or ''}".strip(),
               details={"channel_id": model.id, "type": model.type, "deleted": True})


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

    @action("retry", "Retry", "Re-enqueue the selected events?")
    def action_retry(self, ids: list[str]) -> None:
        count = retry_events([int(i) for i in ids])
        flash(f"{count} event(s) re-enqueued.", "success")


class LeadView(StaffModelView):
    can_create = False
    column_list = ("id", "tenant_id", "source_channel", "status", "fields", "created_at")
    column_filters = ("status", "source_channel")
    form_columns = ("status", "note")


class StorableIntFilter(IntEqualFilter):
    """An id filter that ignores what is no storable id (Flask-Admin then drops the filter) instead of a
    database error on PostgreSQL's integer range."""

    def validate(self, value: Any) -> bool:
        return parse_db_int(str(value)) is not None


class AuditView(StaffModelView):
    """The whole audit log, read-only, newest first; filters by tenant (`ix_audit_tenant_id` serves them
    with the id order), action, actor and staff/tenant entries."""

    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("id", "created_at", "tenant_id", "action", "actor", "staff", "target", "details", "ip")
    column_filters = (
        StorableIntFilter(AuditEntry.tenant_id, "Tenant id"),
        FilterEqual(AuditEntry.action, "Action", options=[(a, a) for a in ACTIONS]),
        FilterEqual(AuditEntry.actor, "Actor"),
        BooleanEqualFilter(AuditEntry.staff, "By staff"),
    )
