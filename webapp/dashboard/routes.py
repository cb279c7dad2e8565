"""Tenant back-office pages. Every lookup goes through webapp.tenancy (scoped / get_scoped_or_404)."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func

from connectors.channels.registry import connector_types
from webapp.connect.registry import connect_pages
from webapp.services import lead_list
from webapp.services.channels import REMOVED, channel_room
from webapp.services.errors import Refused
from webapp.services.exporting import csv_chunks, json_chunks, lead_rows
from webapp.services.handoff import hand_back, take_over
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
from .access import tenant_member_required
from .blueprint import bp
from .conversation_routes import render_conversation
from .inbox import mark_read
from .pipeline_routes import render_channel


@bp.get("/")
@tenant_member_required
def home():  # type: ignore[no-untyped-def]
    tenant = current_tenant()
    usage = db.session.scalar(scoped(UsageCounter).where(UsageCounter.month == month_key()))
    used = (usage.messages_in + usage.messages_out) if usage else 0
    cap = limit_of(tenant, "monthly_messages")
    counts = {
        "channels": db.session.scalar(scoped(Channel).with_only_columns(func.count())),
        "conversations": db.session.scalar(scoped(Conversation).with_only_columns(func.count())),
        "leads": db.session.scalar(scoped(Lead).with_only_columns(func.count())),
    }
    recent_leads = db.session.scalars(scoped(Lead).order_by(Lead.id.desc()).limit(5)).all()
    failed_events = db.session.scalar(scoped(InboundEvent).where(InboundEvent.status == "failed")
                                      .with_only_columns(func.count()))
    steps = checklist(tenant)
    # Once every step is ticked the list folds into one line; ?checklist=1 shows it again.
    live = all_done(steps)
    return render_template("dashboard/home.html", tenant=tenant, used=used, cap=cap, counts=counts,
                           recent_leads=recent_leads, failed_events=failed_events,
                           over_limit=cap is not None and used >= cap, steps=steps, live=live,
                           show_checklist=not live or request.args.get("checklist") == "1")


@bp.get("/channels")
@tenant_member_required
def channels():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(scoped(Channel).where(Channel.status != REMOVED).order_by(Channel.id)).all()
    used, cap = channel_room(current_tenant())
    return render_template("dashboard/channels.html", channels=rows, connect_pages=connect_pages(), used=used,
                           cap=cap)


@bp.get("/channels/<int:channel_id>")
@tenant_member_required
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
    mark_read(conv)
    db.session.commit()
    return render_conversation(conv)


@bp.post("/conversations/<int:conversation_id>/bot")
@tenant_member_required
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
        csv_url=url_for(".leads_csv", **args), json_url=url_for(".leads_json", **args))


@bp.get("/leads.json", endpoint="leads_json")
@bp.get("/leads.csv")
@tenant_member_required
def leads_csv():  # type: ignore[no-untyped-def]
    """The filtered list as CSV (`/leads.csv`) or JSON (`/leads.json`, endpoint `leads_json`), streamed: Core
    rows in keyset batches, written as they come, so a tenant with 100k leads never has them all in memory
    (the old export built one string of ORM objects)."""
    fmt = "json" if request.endpoint == "dashboard.leads_json" else "csv"
    try:
        filters = lead_list.LeadFilters.from_args(request.args)
    except lead_list.LeadListError:
        abort(400, _("Unknown filter: check the dates (YYYY-MM-DD) and the flow."))
    rows = lead_rows(lead_list.iter_rows(current_tenant_id(), filters))
    chunks = json_chunks(rows) if fmt == "json" else csv_chunks(rows)
    return Response(stream_with_context(chunks),
                    mimetype="application/json" if fmt == "json" else "text/csv",
                    headers={"Content-Disposition": f"attachment; filename=leads.{fmt}"})


@bp.route("/leads/<int:lead_id>", methods=["GET", "POST"])
@tenant_member_required
def lead_detail(lead_id: int):  # type: ignore[no-untyped-def]
    lead = get_scoped_or_404(Lead, lead_id)
    if request.method == "POST":
        status = request.form.get("status", "")
        if status not in LEAD_STATUSES:
            flash(_("Unknown status."), "danger")
            return render_template("dashboard/lead.html", lead=lead, statuses=LEAD_STATUSES), 400
        lead.status = status
        lead.note = (request.form.get("note") or "")[:5000]
        db.session.commit()
        flash(_("Lead updated."), "success")
        return redirect(url_for(".lead_detail", lead_id=lead.id))
    return render_template("dashboard/lead.html", lead=lead, statuses=LEAD_STATUSES)


@bp.get("/flows")
@tenant_member_required
def flows():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(scoped(Flow).order_by(Flow.position, Flow.id)).all()
    return render_template("dashboard/flows.html", flows=rows, tenant=current_tenant())


@bp.get("/notifications")
@tenant_member_required
def notifications():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(scoped(Notification).order_by(Notification.id.desc()).limit(200)).all()
    return render_template("dashboard/notifications.html", notifications=rows)


@bp.post("/notifications/<int:notification_id>/read")
@tenant_member_required
def notification_read(notification_id: int):  # type: ignore[no-untyped-def]
    note = get_scoped_or_404(Notification, notification_id)
    note.status = "read"
    db.session.commit()
    return redirect(url_for(".notifications"))
