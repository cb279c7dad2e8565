"""The contacts list and the person page: every channel identity of a customer, their conversations and
leads, merge offers to accept or dismiss, a member's own merge, and the merge history with undo.

Thin over webapp/services/people.py (the merge rules live there). Every id in a URL or a form is looked up
through webapp.tenancy, so another tenant's contact or link is a 404 and nothing is ever merged across
tenants. Actions answer with a redirect to the person page (303), a refusal as a flashed message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from connectors.channels.registry import connector_types
from webapp.services import people
from webapp.services.errors import Refused

from ..extensions import db
from ..inputs import parse_row_id
from ..models import Contact, PersonLink
from ..tenancy import current_tenant_id, get_scoped_or_404
from .access import tenant_member_required
from .blueprint import bp

FIND_LIMIT = 10  # contacts offered by the "merge with another contact" search


def _person_page(contact_id: int) -> Any:
    return redirect(url_for(".contact_detail", contact_id=contact_id)), 303


@bp.get("/contacts")
@tenant_member_required
def contacts() -> Any:
    """The tenant's contacts, newest first, in keyset pages; search and a channel filter in the query."""
    q = (request.args.get("q") or "").strip()[:people.MAX_SEARCH]
    channel = (request.args.get("channel") or "").strip()[:16] or None
    after = request.args.get("after") or None
    try:
        rows, next_after = people.contact_page(current_tenant_id(), q, channel, after)
    except people.ContactListError:
        abort(400, _("This page link is not valid any more: open the contacts list again."))
    args = {k: v for k, v in (("q", q), ("channel", channel)) if v}
    return render_template(
        "dashboard/contacts.html", contacts=rows, q=q, channel=channel, channels=connector_types(),
        older_url=url_for(".contacts", **args, after=next_after) if next_after else None,
        first_page_url=url_for(".contacts", **args) if after else None)


@bp.get("/contacts/<int:contact_id>")
@tenant_member_required
def contact_detail(contact_id: int) -> Any:
    """The person page of a contact (a contact without a person gets one of its own here)."""
    contact = get_scoped_or_404(Contact, contact_id)
    view = people.person_view(contact)
    db.session.commit()
    find = (request.args.get("find") or "").strip()[:people.MAX_SEARCH]
    found: list[people.ContactRow] = []
    if find:
        mine = {c.id for c in view.contacts}
        found = [c for c in people.contact_page(contact.tenant_id, find, size=FIND_LIMIT + len(mine))[0]
                 if c.id not in mine][:FIND_LIMIT]
    return render_template("dashboard/person.html", contact=contact, view=view, find=find, found=found)


@bp.post("/contacts/<int:contact_id>/merge")
@tenant_member_required
def contact_merge(contact_id: int) -> Any:
    """A member's own merge: the chosen contact (with its person's other contacts) joins this person."""
    contact = get_scoped_or_404(Contact, contact_id)
    other_id = parse_row_id(request.form.get("other_contact_id"))
    if other_id is None:
        abort(400, _("Choose the contact to merge with."))
    other = get_scoped_or_404(Contact, other_id)
    try:
        people.merge_contacts(contact, other, current_user.email)
    except Refused as exc:
        db.session.rollback()
        flash(str(exc.message), "warning")
        return _person_page(contact.id)
    db.session.commit()
    flash(_("Merged: %(name)s is now part of this person.", name=str(other)), "success")
    return _person_page(contact.id)


def _decide(link_id: int, action: Callable[[PersonLink, str], Any], done: str) -> Any:
    link = get_scoped_or_404(PersonLink, link_id)
    contact_id = link.contact_id
    try:
        action(link, current_user.email)
    except Refused as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(str(exc.message), "warning")
        return _person_page(contact_id)
    db.session.commit()
    flash(done, "success")
    return _person_page(contact_id)


@bp.post("/people/links/<int:link_id>/accept")
@tenant_member_required
def person_link_accept(link_id: int) -> Any:
    return _decide(link_id, people.accept, _("Merged: both contacts are now one person."))


@bp.post("/people/links/<int:link_id>/dismiss")
@tenant_member_required
def person_link_dismiss(link_id: int) -> Any:
    return _decide(link_id, people.dismiss, _("Offer dismissed: the contacts stay apart."))


@bp.post("/people/links/<int:link_id>/undo")
@tenant_member_required
def person_link_undo(link_id: int) -> Any:
    return _decide(link_id, people.undo, _("Merge undone: the contacts are back where they were."))
