"""`flask leads export`: the tenant's leads as JSON or CSV on stdout, streamed.

The same filtered list as the leads page and its download (webapp/services/lead_list.py: search, status,
channel, dates, flow), cut to the plan's CRM history depth there, and written by the same chunk writers
(webapp/services/exporting.py) as it is read in keyset batches: a tenant with 100k leads never sits in
memory as one string. Bad input is a clear message and a non-zero exit before anything is written.
"""

from __future__ import annotations

import click

from connectors.channels.registry import connector_types
from webapp.extensions import db
from webapp.models import LEAD_STATUSES, Flow
from webapp.services import audit, lead_list
from webapp.services.exporting import FORMATS, export_chunks
from webapp.services.tenants import get_tenant

from .common import fail


def _filters(tenant_id: int, status: str | None, channel: str | None, date_from: str | None,
             date_to: str | None, flow_id: int | None, q: str | None) -> lead_list.LeadFilters:
    """The page's filters from the options, each checked with a message naming the option."""
    if channel and channel not in connector_types():
        fail(f"unknown --channel {channel!r}: use one of {', '.join(connector_types())}")
    if flow_id is not None:
        flow = db.session.get(Flow, flow_id)
        if flow is None or flow.tenant_id != tenant_id:
            fail(f"flow {flow_id} is not a flow of tenant {tenant_id} (see `flask flow list`)")
    args = {"status": status or "", "channel": channel or "", "q": q or "",
            "flow": str(flow_id) if flow_id is not None else ""}
    for option, key, value in (("--from", "from", date_from), ("--to", "to", date_to)):
        args[key] = value or ""
        try:
            lead_list.LeadFilters.from_args({key: args[key]})
        except lead_list.LeadListError:
            fail(f"{option} must be a date as YYYY-MM-DD, not {value!r}")
    filters = lead_list.LeadFilters.from_args(args)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        fail("--from is after --to")
    return filters


def register(cli: click.Group) -> None:
    @cli.group()
    def leads() -> None:
        """Leads."""

    @leads.command("export")
    @click.option("--tenant", "tenant_id", type=int, required=True)
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="json")
    @click.option("--status", type=click.Choice(LEAD_STATUSES), help="Only leads with this status.")
    @click.option("--channel", help="Only leads from this channel type (telegram, whatsapp, ...).")
    @click.option("--from", "date_from", metavar="YYYY-MM-DD", help="Created on or after this day (UTC).")
    @click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Created on or before this day (UTC).")
    @click.option("--flow", "flow_id", type=int, help="Only leads of conversations this flow ran.")
    @click.option("--q", help="Search the name, phone, email and text.")
    def leads_export(tenant_id: int, fmt: str, status: str | None, channel: str | None, date_from: str | None,
                     date_to: str | None, flow_id: int | None, q: str | None) -> None:
        """The tenant's leads (newest first, within its plan's CRM history), filtered like the leads page."""
        tenant = get_tenant(tenant_id)
        filters = _filters(tenant_id, status, channel, date_from, date_to, flow_id, q)
        audit.record_now("export", tenant_id=tenant_id, actor="cli", target=f"leads.{fmt}",
                         details=filters.as_args())
        for chunk in export_chunks(tenant, filters, fmt):
            click.echo(chunk, nl=False)
