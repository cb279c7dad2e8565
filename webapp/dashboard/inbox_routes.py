"""The operator inbox: `/inbox` (the page) and `/inbox.json` (the same page for the poller in inbox.js).

Both take the same query arguments: `filter` (all, mine = "Assigned to me", needs_human, bot, closed),
`channel` (one of the tenant's channel ids; another tenant's is a 404, like any id of theirs) and `after`
(the opaque cursor of the "Older" link). A filter or cursor we cannot use is a 400 that says so, never a 500.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from ..inputs import DB_INT_MAX
from ..tenancy import current_tenant_id
from . import inbox
from .access import tenant_member_required
from .blueprint import bp

STATE_LABELS = {"needs_human": _l("needs a human"), "bot": _l("bot"), "closed": _l("closed")}
FILTER_LABELS = {"all": _l("All"), "mine": _l("Assigned to me"), "needs_human": _l("Needs a human"),
                 "bot": _l("Bot active"), "closed": _l("Closed")}


class _Args:
    """The request's inbox arguments, checked (bad ones abort with 400/404)."""

    def __init__(self, tenant_id: int) -> None:
        self.filter = request.args.get("filter") or "all"
        if self.filter not in inbox.FILTERS:
            abort(400, _("Unknown filter: use one of %(names)s.", names=", ".join(inbox.FILTERS)))
        self.channels = inbox.channels(tenant_id)
        raw_channel = request.args.get("channel") or ""
        self.channel: int | None = None
        if raw_channel:
            if not (raw_channel.isascii() and raw_channel.isdigit()) or len(raw_channel) > 10 \
                    or int(raw_channel) > DB_INT_MAX:
                abort(400, _("The channel must be a channel id."))
            self.channel = int(raw_channel)
            if self.channel not in {cid for cid, _name, _type in self.channels}:
                abort(404)
        self.after = request.args.get("after") or None

    def url(self, endpoint: str, **changes: Any) -> str:
        """A link to an inbox page with these arguments and `changes` ("all" is the default: left out)."""
        values = {"filter": self.filter, "channel": self.channel, **changes}
        if values["filter"] == "all":
            values["filter"] = None
        return url_for(endpoint, **{k: v for k, v in values.items() if v is not None})


def _load(tenant_id: int, args: _Args) -> tuple[inbox.InboxPage, dict[str, int]]:
    try:
        result = inbox.page(tenant_id, args.filter, args.channel, args.after, member_email=current_user.email)
    except inbox.InboxArgumentError as exc:
        abort(400, _("This page link is not valid any more: open the inbox again.") if args.after else str(exc))
    return result, inbox.counts(tenant_id, args.channel)


def _signature(rows: list[dict[str, Any]], counts: dict[str, int]) -> str:
    """What the poller compares: the page changed when any shown value did (the server renders it into
    the page, so the first poll after loading changes nothing unless the data did)."""
    body = json.dumps([rows, counts], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _row_json(row: inbox.InboxRow) -> dict[str, Any]:
    data = row.as_dict()
    data["url"] = url_for("dashboard.conversation_detail", conversation_id=row.id)
    data["state_label"] = str(STATE_LABELS[row.state])
    data["time"] = row.updated_at.strftime("%Y-%m-%d %H:%M")
    return data


@bp.get("/inbox")
@tenant_member_required
def inbox_page():  # type: ignore[no-untyped-def]
    tenant_id = current_tenant_id()
    args = _Args(tenant_id)
    result, counts = _load(tenant_id, args)
    rows = [_row_json(row) for row in result.rows]
    return render_template(
        "dashboard/inbox.html", rows=rows, counts=counts, badge=inbox.badge, args=args,
        filters=FILTER_LABELS, state_labels=STATE_LABELS, channels=args.channels,
        older_url=args.url("dashboard.inbox_page", after=result.next_cursor) if result.next_cursor else None,
        first_page_url=args.url("dashboard.inbox_page") if args.after else None,
        poll_url=None if args.after else args.url("dashboard.inbox_json"),
        signature=_signature(rows, counts))


@bp.get("/inbox.json")
@tenant_member_required
def inbox_json():  # type: ignore[no-untyped-def]
    tenant_id = current_tenant_id()
    try:
        args = _Args(tenant_id)
        result, counts = _load(tenant_id, args)
    except HTTPException as exc:  # the poller reads JSON errors too
        return jsonify(error=exc.description or exc.name), exc.code
    rows = [_row_json(row) for row in result.rows]
    return jsonify(rows=rows, counts=counts, badges={k: inbox.badge(v) for k, v in counts.items()},
                   next=result.next_cursor, signature=_signature(rows, counts),
                   labels={"empty": _("No conversations here."), "unread": _("unread")})
