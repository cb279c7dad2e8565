"""`flask flow ...`: import/export flow documents, simulate, list and publish, for operators.

Import then export gives back the same document (nothing is added or normalised), so a flow can be
kept in a repository and loaded into any tenant.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

import flows
from connectors.channels.registry import message_kind
from flows.simulator import simulate
from flows.templates import is_template_file
from webapp.extensions import db
from webapp.inputs import parse_db_int
from webapp.models import Flow, Tenant
from webapp.services.errors import Refused as ApiError
from webapp.services.flow_channels import flow_channel_names
from webapp.services.flowops import document_at, flow_summary, templates_catalogue
from webapp.services.flows import (
    DocumentRefused,
    PublishRefused,
    check_document,
    create_flow,
    problems_of,
    publish,
    template_document,
)
from webapp.services.simulation import tenant_services
from webapp.services.tenants import get_tenant

from .common import ChannelChoice, emit, fail


def _load_file(path: str) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        fail(f"{path} is not valid JSON: {exc}")
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL in the path
        fail(f"cannot read {path}: {exc}")
    except RecursionError:
        fail(f"{path} is nested too deeply to be a flow document")
    if not isinstance(document, dict):
        fail(f"{path} must hold a JSON object (a flow document)")
    return document


def _flow(flow_id: int) -> Flow:
    flow = db.session.get(Flow, flow_id)
    if flow is None:
        fail(f"flow {flow_id} does not exist (see `flask flow list --tenant ID`)")
    return flow


def _fail_with_problems(message: str, problems: list[dict[str, Any]]) -> None:
    lines = [f"  - [{p['severity']}] {p.get('node_id') or 'flow'}: {p['message']}" for p in problems]
    fail("\n".join([message, *lines]))


def _version_ref(value: str) -> str | int:
    if value == "draft":
        return "draft"
    number = parse_db_int(value)  # not str.isdigit: "²" is a digit to it, and int() refuses it
    if number is None or number < 1:
        fail("--version must be a version number or 'draft'")
    return number


def _document_at(flow: Flow, ref: str | int) -> dict[str, Any]:

    try:
        return document_at(flow, ref)[0]
    except ApiError as exc:
        fail(exc.message)


def register(cli: click.Group) -> None:
    @cli.group("flow")
    def flow_group() -> None:
        """Flow documents: import, export, simulate, list, publish."""

    @flow_group.command("import")
    @click.option("--tenant", "tenant_id", type=int, required=True)
    @click.option("--publish", "publish_now", is_flag=True, help="publish it as version 1 right away")
    @click.option("--name", help="flow name (default: the document's name, else the file name)")
    @click.option("--template", "template_key",
                  help="import this template of the library instead of a FILE (e.g. lead_capture, lead_capture_ru)")
    @click.argument("file", type=click.Path(dir_okay=False), required=False)
    def flow_import(tenant_id: int, publish_now: bool, name: str | None, template_key: str | None,
                    file: str | None) -> None:
        """Import a flow document (FILE: a flow document, or a template file as shipped in flows/templates/,
        whose document is imported), or the library's template --template KEY; refused (exit 1, problems
        listed) while it has errors."""

        if (file is None) == (template_key is None):
            fail("give either a FILE or --template KEY")
        tenant = get_tenant(tenant_id)
        if template_key is not None:
            found = template_document(template_key)
            if found is None:
                keys = ", ".join(t["key"] for t in templates_catalogue())
                fail(f"unknown template {template_key!r}; the library has: {keys}")
            document, file = found, template_key
        else:
            file = str(file)
            document = _load_file(file)
            if is_template_file(document):  # the wrapper {"key", "name", "niche", "document"} of a shipped file
                document = document["document"]
        if name is not None:
            if not name.strip():
                fail("--name must not be empty")
            document["name"] = name.strip()
        try:
            check_document(document)  # the API's limits: a document one can import, the editor can save
        except DocumentRefused as exc:
            fail(f"{file}: {exc} Nothing was imported.")
        problems = problems_of(document)
        if any(p["severity"] == "error" for p in problems):
            _fail_with_problems(f"{file} has errors; nothing was imported:", problems)
        flow_name = str(document.get("name") or Path(file).stem)[:200]
        flow = create_flow(tenant, flow_name, document)
        flow.draft = copy.deepcopy(document)  # exactly as given: export returns the same document
        out: dict[str, Any] = {"id": flow.id, "name": flow.name}
        if publish_now:
            out["version"] = publish(flow).number
        db.session.commit()
        emit({**out, "problems": problems})

    @flow_group.command("export")
    @click.option("--flow", "flow_id", type=int, required=True)
    @click.option("--version", "version", default="draft", help="a version number or 'draft'")
    @click.option("--output", type=click.Path(dir_okay=False), help="write here instead of stdout")
    def flow_export(flow_id: int, version: str, output: str | None) -> None:
        document = _document_at(_flow(flow_id), _version_ref(version))
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            click.echo(text, nl=False)

    @flow_group.command("simulate")
    @click.option("--flow", "flow_id", type=int, required=True)
    @click.option("--version", "version", default="draft", help="a version number or 'draft'")
    @click.option("--message", "messages", multiple=True, help="a customer message (repeatable)")
    @click.option("--channel", type=ChannelChoice(simulator=True), default="test")
    @click.option("--kind", type=click.Choice(["dm", "message", "webchat", "comment"]), default="dm")
    @click.option("--comment", help="an Instagram comment that starts the conversation")
    @click.option("--post-id", "post_id", default="", help="the commented post's id")
    def flow_simulate(flow_id: int, version: str, messages: tuple[str, ...], channel: str, kind: str,
                      comment: str | None, post_id: str) -> None:
        """Run the flow with the tenant's settings; nothing is sent to any channel."""
        if not messages and comment is None:
            fail("give at least one --message or a --comment")
        flow = _flow(flow_id)
        try:
            compiled = flows.load_flow(_document_at(flow, _version_ref(version)), channels=flow_channel_names())
        except flows.FlowError as exc:
            _fail_with_problems("the flow has errors:", [p.to_dict() for p in exc.problems])
        tenant = db.session.get(Tenant, flow.tenant_id)
        result = simulate(compiled, channel=channel, kind=kind, message_kind=message_kind(channel),
                          messages=list(messages),
                          comment={"text": comment, "post_id": post_id} if comment is not None else None,
                          services=tenant_services(tenant, channel))
        result.pop("state", None)
        emit(result)

    @flow_group.command("list")
    @click.option("--tenant", "tenant_id", type=int, required=True)
    def flow_list(tenant_id: int) -> None:

        tenant = get_tenant(tenant_id)
        rows = db.session.scalars(select(Flow).where(Flow.tenant_id == tenant.id)
                                  .order_by(Flow.position, Flow.id))
        emit([flow_summary(f, tenant) for f in rows])

    @flow_group.command("publish")
    @click.option("--flow", "flow_id", type=int, required=True)
    def flow_publish(flow_id: int) -> None:

        flow = _flow(flow_id)
        try:
            version = publish(flow, note="published from the command line")
        except PublishRefused as exc:
            db.session.rollback()
            _fail_with_problems("the draft has errors; not published:", exc.problems)
        db.session.commit()
        emit({"id": flow.id, "name": flow.name, "version": version.number})
