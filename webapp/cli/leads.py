"""`flask leads export`."""

from __future__ import annotations

import csv
import sys

import click
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Lead
from webapp.services.exporting import LEAD_EXPORT_COLUMNS, lead_rows
from webapp.services.tenants import get_tenant

from .common import emit


def register(cli: click.Group) -> None:
    @cli.group()
    def leads() -> None:
        """Leads."""

    @leads.command("export")
    @click.option("--tenant", "tenant_id", type=int, required=True)
    @click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
    def leads_export(tenant_id: int, fmt: str) -> None:
        get_tenant(tenant_id)
        rows = list(lead_rows(db.session.scalars(
            select(Lead).where(Lead.tenant_id == tenant_id).order_by(Lead.id))))
        if fmt == "json":
            emit(rows)
        else:
            writer = csv.DictWriter(sys.stdout, fieldnames=LEAD_EXPORT_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
