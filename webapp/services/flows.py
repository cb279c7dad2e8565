"""Flows as stored for a tenant: drafts, publishing immutable versions, templates, the compiled cache.

The engine (`flows`) is pure; this module is where its documents meet the database. A published version
is parsed and compiled once per process (`compiled_by_id`), not once per message.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

import flows
from flows.templates import DEFAULT_LANGUAGE, load_template, localized_key, split_key
from webapp.extensions import db
from webapp.inputs import MAX_DEPTH, problem, too_deep, unstorable
from webapp.models import Flow, FlowTemplate, FlowVersion, Tenant
from webapp.models.base import utcnow
from webapp.services.flow_channels import flow_channel_names

MAX_NODES = 2000
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024  # the API's request cap (MAX_CONTENT_LENGTH): the editor can't send more


class DocumentRefused(ValueError):
    """A flow document too large or too deep to store and run, or holding text the database cannot store.
    One rule for every way a document comes in (the editor's API, `flask flow import`)."""


def check_document(document: dict[str, Any]) -> None:
    """Raises DocumentRefused with a message fit for a 400 or a CLI error."""
    nodes = document.get("nodes")
    if isinstance(nodes, list) and len(nodes) > MAX_NODES:
        raise DocumentRefused(f"A flow may have at most {MAX_NODES} nodes (this one has {len(nodes)}).")
    if too_deep(document):
        raise DocumentRefused(f"The flow document is nested more than {MAX_DEPTH} levels deep.")
    found = unstorable(document)
    if found:
        raise DocumentRefused(problem(found[0] or "document", found[1]))
    size = len(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentRefused(f"A flow document may be at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB "
                              f"(this one is {size / (1024 * 1024):.1f} MB).")


class PublishRefused(ValueError):
    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("the flow has errors: fix them before publishing")
        self.problems = problems


def problems_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [p.to_dict() for p in flows.validate(document, channels=flow_channel_names())]


def template_problems(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return [{"node_id": None, "severity": "error", "code": "not_a_document",
                 "message": "The template document must be a JSON object."}]
    return problems_of(document)


def template_document(key: str) -> dict[str, Any] | None:
    """A staff-added template (database) wins over a built-in one with the same key."""
    row = db.session.scalar(select(FlowTemplate).where(FlowTemplate.key == key, FlowTemplate.active))
    if row is not None:
        return copy.deepcopy(row.document)
    try:
        return load_template(key)
    except (KeyError, FileNotFoundError):
        return None


def create_flow(tenant: Tenant, name: str, document: dict[str, Any] | None = None) -> Flow:
    doc = copy.deepcopy(document) if document else {"schema_version": 1, "name": name, "nodes": [], "edges": []}
    doc["name"] = name
    position = db.session.scalar(select(func.count()).select_from(Flow).where(Flow.tenant_id == tenant.id))
    flow = Flow(tenant_id=tenant.id, name=name, draft=doc, position=position or 0)
    db.session.add(flow)
    db.session.flush()
    return flow


def save_draft(flow: Flow, document: dict[str, Any]) -> list[dict[str, Any]]:
    flow.draft = copy.deepcopy(document)
    flow.name = str(document.get("name") or flow.name)[:200]
    flow.draft_updated_at = utcnow()
    return problems_of(document)


def publish(flow: Flow, author_id: int | None = None, note: str = "") -> FlowVersion:
    problems = problems_of(flow.draft)
    if any(p["severity"] == "error" for p in problems):
        raise PublishRefused(problems)
    number = (db.session.scalar(select(func.max(FlowVersion.number)).where(FlowVersion.flow_id == flow.id))
              or 0) + 1
    version = FlowVersion(tenant_id=flow.tenant_id, flow_id=flow.id, number=number,
                          document=copy.deepcopy(flow.draft), author_id=author_id, note=note)
    db.session.add(version)
    db.session.flush()
    flow.published_version_id = version.id
    tenant = db.session.get(Tenant, flow.tenant_id)
    if tenant is not None and tenant.default_flow_id is None:
        tenant.default_flow_id = flow.id
    return version


def template_key_for(key: str, language: str | None) -> str:
    """The key of template `key` in the tenant's `language` when the library has it there (`lead_capture`
    → `lead_capture_ru` for a Russian tenant), else `key` itself: a flow is written in one language, and a
    tenant's bot should greet its customers in the tenant's. A key that names a language already
    (`lead_capture_ru`) is taken as given."""
    if split_key(key)[1] != DEFAULT_LANGUAGE:
        return key
    wanted = localized_key(key, language)
    return wanted if wanted != key and template_document(wanted) is not None else key


def seed_templates_for(tenant: Tenant, keys: list[str], *, publish_now: bool) -> list[Flow]:
    """Give a tenant its own copies of templates, each in the tenant's language where the library has it
    (skipping names it already has)."""
    out = []
    for asked in keys:
        key = template_key_for(asked, tenant.language)
        document = template_document(key)
        if document is None:
            raise KeyError(f"unknown template {key!r}")
        name = str(document.get("name") or key)
        flow = db.session.scalar(select(Flow).where(Flow.tenant_id == tenant.id, Flow.name == name))
        if flow is None:
            flow = create_flow(tenant, name, document)
            if publish_now:
                publish(flow)
        out.append(flow)
    db.session.commit()
    return out


@dataclass(frozen=True)
class VersionRef:
    """What the pipeline needs of a published version besides its compiled flow (safe to cache)."""

    id: int
    flow_id: int
    number: int


class _CompiledCache:
    """LRU of compiled published versions: versions are immutable, so the id is a safe key and a
    document is parsed and validated once per process, not once per message."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[VersionRef, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version_id: int) -> tuple[VersionRef, Any] | None:
        with self._lock:
            hit = self._items.get(version_id)
            if hit is not None:
                self._items.move_to_end(version_id)
                return hit
        version = db.session.get(FlowVersion, version_id)
        if version is None:
            return None
        entry = (VersionRef(version.id, version.flow_id, version.number), flows.load_flow(version.document))
        with self._lock:
            self._items[version_id] = entry
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


compiled_cache = _CompiledCache()


def compiled_by_id(version_id: int) -> tuple[VersionRef, Any] | None:
    return compiled_cache.get(version_id)


def compiled_version(version: FlowVersion) -> Any:
    entry = compiled_cache.get(version.id)
    return entry[1] if entry is not None else flows.load_flow(version.document)
