"""Flow operations shared by the JSON API, the flows page forms and the CLI: create from a template
(within the plan's `flows` limit), delete, make default, and the JSON shapes of Seam 5."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from flows.templates import DEFAULT_LANGUAGE, list_templates, split_key
from flows.templates import LANGUAGES as TEMPLATE_LANGUAGES
from webapp.extensions import db
from webapp.inputs import int_of
from webapp.models import Conversation, Flow, FlowTemplate, FlowVersion, Tenant, TestConversation
from webapp.plans import limit_of, within_limit
from webapp.services.errors import Refused as ApiError
from webapp.services.flows import create_flow, problems_of, template_document
from webapp.tenancy import scoped


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def published_number(flow: Flow) -> int | None:
    return flow.published_version.number if flow.published_version is not None else None


def flow_summary(flow: Flow, tenant: Tenant) -> dict[str, Any]:
    return {"id": flow.id, "name": flow.name, "is_default": tenant.default_flow_id == flow.id,
            "published_version": published_number(flow), "updated_at": iso(flow.draft_updated_at)}


def flow_detail(flow: Flow, tenant: Tenant) -> dict[str, Any]:
    return {"id": flow.id, "name": flow.name, "is_default": tenant.default_flow_id == flow.id,
            "draft": flow.draft, "draft_updated_at": iso(flow.draft_updated_at),
            "published_version": published_number(flow), "problems": problems_of(flow.draft or {})}


def templates_catalogue(language: str | None = None) -> list[dict[str, Any]]:
    """Built-in scenario templates plus active staff rows; a staff row replaces a built-in one with the
    same key (as `template_document` does), so the list never shows two entries for one key. `language`
    keeps the templates written in it (a staff row's language is its key's: `…_ru` is Russian)."""
    items = {t["key"]: dict(t) for t in list_templates()}
    rows = db.session.scalars(select(FlowTemplate).where(FlowTemplate.active, FlowTemplate.kind == "scenario"))
    for row in rows:
        items[row.key] = {"key": row.key, "name": row.name, "description": row.description,
                          "niche": row.niche, "language": split_key(row.key)[1], "kind": row.kind}
    listed = [t for t in items.values() if language is None or t["language"] == language]
    return sorted(listed, key=lambda t: (str(t.get("name") or t["key"]).lower(), t["key"]))


def gallery_language(asked: str | None, tenant: Tenant) -> str | None:
    """The language the template gallery shows: the tenant's by default (its bot speaks it), another one
    when asked (`en`, `ru`), every language for `all` (None); an unknown one is bad input."""
    if not asked:
        return tenant.language if tenant.language in TEMPLATE_LANGUAGES else DEFAULT_LANGUAGE
    if asked == "all":
        return None
    if asked not in TEMPLATE_LANGUAGES:
        raise ApiError(f"`language` must be one of {', '.join(TEMPLATE_LANGUAGES)} or all.")
    return asked


def flow_count(tenant: Tenant) -> int:
    return int(db.session.scalar(select(func.count()).select_from(Flow).where(Flow.tenant_id == tenant.id)) or 0)


def create_for_tenant(tenant: Tenant, name: str | None, template: str | None) -> Flow:
    """The tenant's own copy of a template (or an empty flow); refused beyond the plan's `flows` limit."""
    if not within_limit(tenant, "flows", flow_count(tenant)):
        raise ApiError(f"Your plan allows {limit_of(tenant, 'flows')} flows; delete one or upgrade the plan.",
                       403)
    document = None
    if template:
        document = template_document(template)
        if document is None:
            raise ApiError(f"Unknown template {template!r}.")
        if not name:
            summary = next((t for t in templates_catalogue() if t["key"] == template), {})
            name = str(summary.get("name") or document.get("name") or template)
    name = name or "New flow"
    return create_flow(tenant, name[:200], document)


def delete_flow(tenant: Tenant, flow: Flow) -> None:
    """Delete a flow unless it is the default while it is the only published one (the tenant would be
    left with nothing answering). A deleted default hands over to another published flow."""
    others = db.session.scalars(
        select(Flow).where(Flow.tenant_id == tenant.id, Flow.id != flow.id,
                           Flow.published_version_id.is_not(None)).order_by(Flow.position, Flow.id)).all()
    if tenant.default_flow_id == flow.id:
        if flow.published_version_id is not None and not others:
            raise ApiError("This is the default flow and the only published one: publish another flow "
                           "and make it the default first.", 409)
        tenant.default_flow_id = others[0].id if others else None
    db.session.execute(update(Conversation).where(Conversation.flow_id == flow.id)
                       .values(flow_id=None, flow_version_id=None))
    flow.published_version_id = None
    db.session.flush()
    for model in (TestConversation, FlowVersion):
        for row in db.session.scalars(select(model).where(model.flow_id == flow.id)):
            db.session.delete(row)
    db.session.flush()
    db.session.delete(flow)


def make_default(tenant: Tenant, flow: Flow) -> None:
    """Only a published flow can be the default: the default answers real customers."""
    if flow.published_version_id is None:
        raise ApiError("Publish this flow before making it the default.", 409)
    tenant.default_flow_id = flow.id


def version_or_400(flow: Flow, number: Any) -> FlowVersion:
    """A version of this flow by number; an unknown number is bad input (400), not a missing page."""
    n = int_of(number, "`version`")
    row = db.session.scalar(scoped(FlowVersion, flow.tenant_id)
                            .where(FlowVersion.flow_id == flow.id, FlowVersion.number == n))
    if row is None:
        raise ApiError(f"This flow has no version {n}.")
    return row


def document_at(flow: Flow, ref: Any) -> tuple[dict[str, Any], int | None]:
    """The draft (`"draft"` or nothing) or a published version's document, and its number."""
    if ref is None or ref == "draft":
        return flow.draft or {}, None
    version = version_or_400(flow, ref)
    return version.document, version.number
