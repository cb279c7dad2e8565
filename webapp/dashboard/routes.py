"""Tenant back-office pages. Every lookup goes through webapp.tenancy (scoped / get_scoped_or_404)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func

from connectors.channels.registry import connector_types
from webapp.connect.registry import connect_pages
from webapp.services import audit, crm_depth, id_pages, lead_fields, lead_list
from webapp.services import lead_detail as lead_service
from webapp.services.channels import REMOVED, channel_room
from webapp.services.errors import Refused
from webapp.services.exporting import export_chunks
from webapp.services.handoff import hand_back, take_over
from webapp.services.lead_fields import LeadFieldError
from webapp.services.onboarding import all_done, checklist

from ..extensions import db
from ..models import (
    LEAD_STATUSES,
    Channel,
    Conversation,
    Flow,
    InboundEvent,
    Lead,
    Notification,
    UsageCounter,
    month_key,
)
from ..plans import limit_of
from ..tenancy import current_tenant, current_tenant_id, get_scoped_or_404, scoped
from .access import conversation_worker_required, is_owner, owner_required, tenant_member_required
from .blueprint import bp
from .conversation_routes import render_conversation
from .inbox import mark_read
from .media import media_entries
from .pipeline_routes import render_channel

NOTIFICATIONS_PAGE = 50


@bp.get("/")
@tenant_member_required
def home():  # type: ignore[no-untyped-def]
    tenant = current_tenant()
    usage = db.session.scalar(scoped(UsageCounter).where(UsageCounter.month == month_key()))
    used = (usage.messages_in + usage.messages_out) if usage else 0
    cap = limit_of(tenant, "monthly_messages")
    counts = {
        "channels": db.session.scalar(scoped(Channel).with_only_columns(func.count())),
        # Both within the plan's CRM history depth, like the lists they lead to.
        "conversations": db.session.scalar(crm_depth.only_visible(
            scoped(Conversation).with_only_columns(func.count()), Conversation.updated_at, tenant)),
        "leads": db.session.scalar(crm_depth.only_visible(
            scoped(Lead).with_only_columns(func.count()), Lead.created_at, tenant)),
    }
    recent_leads = lead_list.page(tenant.id, lead_list.LeadFilters(), size=5).rows
    # The set-up checklist and the failed events lead to the owner's pages: an operator sees neither.
    owner = is_owner(current_user)
    failed_events = db.session.scalar(scoped(InboundEvent).where(InboundEvent.status == "failed")
                                      .with_only_columns(func.count())) if owner else 0
    steps = checklist(tenant) if owner else []
    # Once every step is ticked the list folds into one line; ?checklist=1 shows it again.
    live = all_done(steps)
    return render_template("dashboard/home.html", tenant=tenant, used=used, cap=cap, counts=counts,
                           recent_leads=recent_leads, failed_events=failed_events,
                           over_limit=cap is not None and used >= cap, steps=steps, live=live, owner=owner,
                           show_checklist=owner and (not live or request.args.get("checklist") == "1"))


@bp.get("/channels")
@owner_required
def channels():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(scoped(Channel).where(Channel.status != REMOVED).order_by(Channel.id)).all()
    used, cap = channel_room(current_tenant())
    return render_template("dashboard/channels.html", channels=rows, connect_pages=connect_pages(), used=used,
                           cap=cap)


@bp.get("/channels/<int:channel_id>")
@owner_required
def channel_detail(channel_id: int):  # type: ignore[no-untyped-def]
    return render_channel(get_scoped_or_404(Channel, channel_id))


@bp.get("/conversations")
@tenant_member_required
def conversations():  # type: ignore[no-untyped-def]
    """The old list is the inbox now (webapp/dashboard/inbox_routes.py); old links and bookmarks land there
    with their query arguments."""
    return redirect(url_for(".inbox_page", **request.args.to_dict(flat=False)))


@bp.get("/conversations/<int:conversation_id>")
@tenant_member_required
def conversation_detail(conversation_id: int):  # type: ignore[no-untyped-def]
    """Opening the conversation reads it (the inbox's unread count) and shows its page
    (conversation_routes.py: the transcript, who owns it, the reply form with the channel's window rules)."""
    conv = get_scoped_or_404(Conversation, conversation_id)
    tenant = current_tenant()
    if not crm_depth.is_visible(tenant, conv.updated_at):  # hidden like the inbox hides it, not deleted
        return render_template("error.html", code=403, message=_(
            "This conversation is older than your plan's CRM history: your plan shows the last %(days)s days. "
            "It is kept, not deleted: a plan with a longer history shows it again.",
            days=crm_depth.history_days(tenant))), 403
    mark_read(conv)
    db.session.commit()
    return render_conversation(conv)


@bp.post("/conversations/<int:conversation_id>/bot")
@conversation_worker_required
def toggle_bot(conversation_id: int):  # type: ignore[no-untyped-def]
    """The old "Pause bot" / "Resume bot" switch: a take over / a hand back (webapp/services/handoff.py)."""
    conv = get_scoped_or_404(Conversation, conversation_id)
    try:
        if request.form.get("paused") == "1":
            take_over(conv, current_user.email)
        else:
            hand_back(conv)
    except Refused as exc:
        db.session.rollback()
        flash(str(exc.message), "warning")
        return redirect(url_for(".conversation_detail", conversation_id=conv.id))
    flash(_("Bot paused for this conversation.") if conv.bot_paused else _("Bot resumed."), "success")
    return redirect(url_for(".conversation_detail", conversation_id=conv.id))


@bp.get("/leads")
@tenant_member_required
def leads():  # type: ignore[no-untyped-def]
    """The leads list: search and filters in the query, keyset pages (webapp/services/lead_list.py)."""
    tenant_id = current_tenant_id()
    after = request.args.get("after") or None
    try:
        filters = lead_list.LeadFilters.from_args(request.args)
    except lead_list.LeadListError:
        abort(400, _("Unknown filter: check the dates (YYYY-MM-DD) and the flow."))
    try:
        result = lead_list.page(tenant_id, filters, after)
    except lead_list.LeadListError:
        abort(400, _("This page link is not valid any more: open the leads list again."))
    args = filters.as_args()
    flows = db.session.execute(scoped(Flow, tenant_id).with_only_columns(Flow.id, Flow.name)
                               .order_by(Flow.position, Flow.id)).all()
    return render_template(
        "dashboard/leads.html", leads=result.rows, statuses=LEAD_STATUSES, status=filters.status,
        filters=filters, flows=flows, channels=connector_types(),
        status_url=lambda s: url_for(".leads", **{**args, "status": s}) if s else url_for(
            ".leads", **{k: v for k, v in args.items() if k != "status"}),
        older_url=url_for(".leads", **args, after=result.next_cursor) if result.next_cursor else None,
        first_page_url=url_for(".leads", **args) if after else None,
        csv_url=url_for(".leads_csv", **args), json_url=url_for(".leads_json", **args),
        can_export=is_owner(current_user))


@bp.app_template_global("crm_history_days")
def crm_history_days() -> int | None:
    """The signed-in tenant's CRM history depth in days (None: unlimited), for the notice of the lists it
    cuts (templates/dashboard/_crm_depth.html)."""
    return crm_depth.history_days(current_tenant_id())


@bp.get("/leads.json", endpoint="leads_json")
@bp.get("/leads.csv")
@owner_required
def leads_csv():  # type: ignore[no-untyped-def]
    """The filtered list as CSV (`/leads.csv`) or JSON (`/leads.json`, endpoint `leads_json`), streamed: Core
    rows in keyset batches, written as they come, so a tenant with 100k leads never has them all in memory
    (the old export built one string of ORM objects)."""
    fmt = "json" if request.endpoint == "dashboard.leads_json" else "csv"
    try:
        filters = lead_list.LeadFilters.from_args(request.args)
    except lead_list.LeadListError:
        abort(400, _("Unknown filter: check the dates (YYYY-MM-DD) and the flow."))
    chunks = export_chunks(current_tenant(), filters, fmt)  # with the custom field columns, cut to the CRM depth
    audit.record_now("export", tenant_id=current_tenant_id(), target=f"leads.{fmt}", details=filters.as_args())
    return Response(stream_with_context(chunks),
                    mimetype="application/json" if fmt == "json" else "text/csv",
                    headers={"Content-Disposition": f"attachment; filename=leads.{fmt}"})


def _render_lead(lead: Lead, status: int = 200, field_errors: dict[str, str] | None = None,
                 typed: dict[str, str] | None = None) -> Any:
    """The lead page: its fields, the status and note forms, the custom fields form (plan feature), the
    timeline newest first and the whole conversation, both in keyset pages ("earlier" links)."""
    tenant = current_tenant()
    try:
        messages = lead_service.conversation_page(lead, request.args.get("messages_before") or None)
        history = lead_service.timeline(lead, request.args.get("timeline_before") or None)
    except ValueError:
        abort(400, _("This page link is not valid any more: open the lead again."))
    return render_template(
        "dashboard/lead.html", lead=lead, statuses=LEAD_STATUSES, messages=messages, timeline=history,
        media={m.id: media_entries(m.payload) for m in messages.messages},
        custom=lead_service.custom_values(tenant, lead), custom_allowed=lead_fields.allowed(tenant),
        field_errors=field_errors or {}, typed=typed or {},
        field_labels={d.key: d.label for d in lead_fields.definitions(tenant)},
        can_define_fields=is_owner(current_user),
        earlier_url=url_for(".lead_detail", lead_id=lead.id, messages_before=messages.earlier)
        if messages.earlier else None,
        older_timeline_url=url_for(".lead_detail", lead_id=lead.id, timeline_before=history.older)
        if history.older else None), status


def _visible_lead_or_refusal(lead_id: int) -> tuple[Lead | None, Any]:
    """The tenant's lead (another tenant's: 404), or the page saying it is older than the plan's CRM
    history (403): hidden, not deleted, so an upgrade shows it again."""
    lead = get_scoped_or_404(Lead, lead_id)
    tenant = current_tenant()
    if crm_depth.is_visible(tenant, lead.created_at):
        return lead, None
    return None, (render_template("dashboard/lead.html", lead=None, beyond_history=True,
                                  history_days=crm_depth.history_days(tenant)), 403)


@bp.route("/leads/<int:lead_id>", methods=["GET", "POST"])
@tenant_member_required
def lead_detail(lead_id: int):  # type: ignore[no-untyped-def]
    """The lead page; a POST changes the status and/or adds a note (each a line of the timeline)."""
    lead, refusal = _visible_lead_or_refusal(lead_id)
    if lead is None:
        return refusal
    if request.method == "GET":
        return _render_lead(lead)
    status = request.form.get("status") or ""
    note = request.form.get("note") or ""
    try:
        changed = bool(status) and lead_service.change_status(lead, status, current_user.email) is not None
        noted = bool(note.strip()) and lead_service.add_note(lead, note, current_user.email) is not None
    except Refused as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_lead(get_scoped_or_404(Lead, lead_id), 400)
    db.session.commit()
    flash(_("Lead updated.") if changed or noted else _("Nothing to save."), "success" if changed or noted
          else "info")
    return redirect(url_for(".lead_detail", lead_id=lead.id))


@bp.post("/leads/<int:lead_id>/fields")
@tenant_member_required
def lead_custom_fields(lead_id: int):  # type: ignore[no-untyped-def]
    """Save the lead's custom fields (plan feature `custom_fields`); a value that does not fit its field's
    type is a form error, a plan without the feature a 403 that says so."""
    lead, refusal = _visible_lead_or_refusal(lead_id)
    if lead is None:
        return refusal
    tenant = current_tenant()
    if not lead_fields.allowed(tenant):
        abort(403, _("Custom lead fields are a feature of the Business and Pro plans: upgrade to use them."))
    typed = {key[len(lead_fields.FORM_PREFIX):]: value for key, value in request.form.items()
             if key.startswith(lead_fields.FORM_PREFIX)}
    try:
        events = lead_service.set_custom(tenant, lead, typed, current_user.email)
    except LeadFieldError as exc:
        db.session.rollback()
        return _render_lead(get_scoped_or_404(Lead, lead_id), 400, field_errors=exc.errors, typed=typed)
    except Refused as exc:
        db.session.rollback()
        abort(exc.status, exc.message)
    db.session.commit()
    flash(_("Fields saved.") if events else _("Nothing to save."), "success" if events else "info")
    return redirect(url_for(".lead_detail", lead_id=lead.id))


@bp.get("/flows")
@owner_required
def flows():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(scoped(Flow).order_by(Flow.position, Flow.id)).all()
    return render_template("dashboard/flows.html", flows=rows, tenant=current_tenant())


@bp.get("/notifications")
@tenant_member_required
def notifications():  # type: ignore[no-untyped-def]
    """Newest first in keyset pages of `ix_notification_tenant_id (tenant_id, id)`: every notification can
    be reached with "Older" (the old list stopped at the newest 200)."""
    after = request.args.get("after") or None
    try:
        # Within the plan's CRM history: a lead's notification carries the lead's values.
        visible = crm_depth.only_visible(scoped(Notification), Notification.created_at, current_tenant_id())
        result = id_pages.page(visible, Notification, after, NOTIFICATIONS_PAGE)
    except ValueError:
        abort(400, _("This page link is not valid any more: open the notifications again."))
    return render_template(
        "dashboard/notifications.html", notifications=result.rows,
        older_url=url_for(".notifications", after=result.next_cursor) if result.next_cursor else None,
        first_page_url=url_for(".notifications") if after else None)


@bp.post("/notifications/<int:notification_id>/read")
@tenant_member_required
def notification_read(notification_id: int):  # type: ignore[no-untyped-def]
    note = get_scoped_or_404(Notification, notification_id)
    note.status = "read"
    db.session.commit()
    return redirect(url_for(".notifications"))
