"""Connect WhatsApp (PROTOCOLS.md §4, §6): Meta's Embedded Signup, or a form for a number already set up in
WhatsApp Manager; and the choice of the re-engagement template a WhatsApp channel sends outside the 24-hour
window.

Embedded Signup runs in the browser (static/whatsapp_signup.js loads Facebook's JS SDK): Meta's popup
creates or picks the business, the WhatsApp Business Account (WABA) and the number, posts their ids to the
page (a ``WA_EMBEDDED_SIGNUP`` message event) and hands the SDK a code that lives 30 seconds. The page then
posts code, ids, the two-step verification PIN the owner chose and the page's one-time ``state`` to
``/connect/whatsapp/finish``, which exchanges the code at once, subscribes the WABA to our app, registers the
number with the PIN and stores the channel through the channel service.

The manual form takes a system-user token and the two ids, and checks them against the API (the token can
read the number, the number belongs to the WABA) before anything is saved.

Every failure ends on a page that says what happened and what to do (ConnectFailed, or a form error); no
token, code or PIN is ever logged or shown.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from connectors.channels import whatsapp_setup as wa
from webapp.models import Channel
from webapp.security import policy
from webapp.services.channels import connect_channel
from webapp.tenancy import current_tenant, get_scoped_or_404, scoped

from ..dashboard.access import tenant_member_required
from ..extensions import db
from . import oauth
from .blueprint import bp
from .failures import ConnectFailed
from .pages import check_room, reconnect_target, saved
from .registry import offers, reconnects

log = logging.getLogger(__name__)

TEMPLATE_SETTING = "reengagement_template"
_STATES = "whatsapp_signup_states"
_KEEP_STATES = 5  # pages open at once (tabs) whose sign-up can still finish
_ID = r"^\d{1,30}$"
#: Meta serves some people its pages from web.facebook.com; Embedded Signup's message comes from there then.
_ALIASES = {"https://www.facebook.com": ("https://web.facebook.com",)}


class ManualForm(FlaskForm):
    """A number already on the WhatsApp Cloud API: its ids from WhatsApp Manager and a system-user token."""

    waba_id = StringField(_l("WhatsApp Business Account ID"), validators=[
        DataRequired(), Regexp(_ID, message=_l("An id is digits only, as WhatsApp Manager shows it."))])
    phone_number_id = StringField(_l("Phone number ID"), validators=[
        DataRequired(), Regexp(_ID, message=_l("An id is digits only, as WhatsApp Manager shows it."))])
    token = PasswordField(_l("System user access token"), validators=[DataRequired(), Length(max=1000)])


class TemplateForm(FlaskForm):
    template = SelectField(_l("Template"), choices=[], validate_choice=True)


# --- configuration -----------------------------------------------------------------------------------

def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def facebook_origins() -> list[str]:
    """Where Embedded Signup's popup and frames come from: the Facebook origin of FACEBOOK_DIALOG_URL (a test
    points it at a loopback fake)."""
    main = _origin(current_app.config.get("FACEBOOK_DIALOG_URL") or "https://www.facebook.com")
    return [main, *_ALIASES.get(main, ())]


def signup_policy() -> str:
    """The page's Content-Security-Policy: the SDK's own origin may run scripts, and Facebook's may be
    framed and called (the SDK's frames and requests); nothing else beyond the app's usual policy."""
    sdk, facebook = _origin(current_app.config["FACEBOOK_SDK_URL"]), facebook_origins()[0]
    return policy(**{"script-src": f"'self' {sdk}", "frame-src": facebook, "connect-src": f"'self' {facebook}"})


def _signup_ready() -> bool:
    config = current_app.config
    return all(config.get(key) for key in ("META_APP_ID", "META_APP_SECRET", "WHATSAPP_SIGNUP_CONFIG_ID",
                                           "FACEBOOK_SDK_URL"))


# --- the one-time state --------------------------------------------------------------------------------

def _new_state() -> str:
    value = secrets.token_urlsafe(24)
    session[_STATES] = [*list(session.get(_STATES) or [])[-(_KEEP_STATES - 1):], value]
    return value


def _spend_state(value: str) -> bool:
    """True once for a state this session's page was rendered with; it cannot be used again."""
    states = [s for s in session.get(_STATES) or [] if isinstance(s, str)]
    found = next((s for s in states if value and hmac.compare_digest(s.encode(), value.encode())), None)
    if found is None:
        return False
    states.remove(found)
    session[_STATES] = states
    return True


# --- the page -------------------------------------------------------------------------------------------

def _page(form: ManualForm, target: Channel | None, status: int = 200) -> Response:
    ready = _signup_ready()
    config = current_app.config
    signup = {"app_id": config.get("META_APP_ID", ""), "config_id": config.get("WHATSAPP_SIGNUP_CONFIG_ID", ""),
              "version": config.get("META_GRAPH_VERSION", "v21.0"), "sdk_url": config.get("FACEBOOK_SDK_URL", ""),
              "origins": json.dumps(facebook_origins())} if ready else None
    body = render_template("connect/whatsapp.html", form=form, signup=signup, state=_new_state() if ready else "",
                           target=target)
    response = current_app.make_response((body, status))
    if ready:
        response.headers["Content-Security-Policy"] = signup_policy()
    return response


offers("whatsapp", "connect.whatsapp", lambda: _("Connect WhatsApp"))


@reconnects
def _whatsapp(channel: Channel) -> str | None:
    return url_for("connect.whatsapp", channel=channel.id) if channel.type == "whatsapp" else None


@bp.get("/whatsapp")
@tenant_member_required
def whatsapp():  # type: ignore[no-untyped-def]
    target = reconnect_target("whatsapp")
    if target is None:
        check_room()
    return _page(ManualForm(), target)


# --- Embedded Signup: the finish ------------------------------------------------------------------------

def _cancelled(form: Any) -> ConnectFailed:
    outcome = form.get("outcome", "")
    if outcome == "error":
        reason = (form.get("error_message") or _("no reason given"))[:200]
        return ConnectFailed(_("Meta stopped the WhatsApp sign-up with an error: %(reason)s", reason=reason),
                             _("Start the sign-up again; if Meta shows the same error, fix what it names in "
                               "WhatsApp Manager or contact support. Nothing was connected."), 502)
    if outcome == "cancelled":
        step = (form.get("step") or "").replace("_", " ").lower()[:60]
        return ConnectFailed(_("You closed the WhatsApp sign-up before it finished (at: %(step)s), so nothing was "
                               "connected.", step=step) if step else
                             _("You closed the WhatsApp sign-up before it finished, so nothing was connected."),
                             _("Press \"Connect with Facebook\" again and go through every step up to the end."))
    return ConnectFailed(_("The WhatsApp sign-up was not allowed or not finished, so nothing was connected."),
                         _("Press \"Connect with Facebook\" again, allow TemoWeb to manage and message your "
                           "WhatsApp account, and finish every step."))


STEP_WORDS: dict[str, Callable[[], str]] = {
    "exchange": lambda: _("finish the sign-up"),
    "subscribe": lambda: _("send this WhatsApp account's messages to TemoWeb"),
    "register": lambda: _("register the phone number"),
    "phone_number": lambda: _("read the phone number"),
    "phone_numbers": lambda: _("list the account's phone numbers"),
    "templates": lambda: _("list the account's message templates"),
}


def meta_failed(exc: wa.SetupCallFailed) -> ConnectFailed:
    """A set-up call failed: say which step, and whose move it is."""
    log.warning("whatsapp step %s failed: code %s subcode %s", exc.step, exc.code, exc.subcode)
    step = STEP_WORDS.get(exc.step, lambda: exc.step)()
    if exc.unreachable:
        return ConnectFailed(_("Meta did not answer when we tried to %(step)s; nothing was changed.", step=step),
                             _("Wait a minute and try again."), 503)
    if exc.step == "exchange" and exc.code_expired:
        return ConnectFailed(_("The sign-up code from Meta expired before it could be used (it is valid for 30 "
                               "seconds), so nothing was connected."), _("Start the WhatsApp sign-up again."))
    if exc.step == "exchange" and exc.code_used:
        return ConnectFailed(_("This sign-up was already finished once: Meta's code can be used only once."),
                             _("Look at your channels: the number may already be connected. To connect it "
                               "again, start a new WhatsApp sign-up."))
    if exc.missing_permission:
        return ConnectFailed(_("Meta refused to %(step)s: the WhatsApp account was not shared with TemoWeb, or a "
                               "permission is missing.", step=step),
                             _("Start the sign-up again and allow everything it asks for (to manage and to message "
                               "the WhatsApp account)."), 403)
    if exc.step == "register":
        return ConnectFailed(_("Meta did not register the number for the WhatsApp Cloud API: %(reason)s",
                               reason=exc.reason or exc.code),
                             _("If the number already has a two-step verification PIN, start again and enter that "
                               "PIN (WhatsApp Manager can change or turn it off). Nothing was connected."), 502)
    if exc.step == "exchange":
        return ConnectFailed(_("Meta refused to finish the WhatsApp sign-up: %(reason)s", reason=exc.reason or
                               exc.code), _("Start the sign-up again; if it keeps happening, contact support (the "
                                             "Meta app may be set up wrongly)."), 502)
    return ConnectFailed(_("Meta refused to %(step)s: %(reason)s", step=step, reason=exc.reason or exc.code),
                         _("Nothing was changed. Try again in a minute; if it keeps happening, contact support."),
                         502)


def _check_room_for(number_id: str) -> None:
    """Say a full plan before Meta is asked to set anything up, unless the number is already one of the
    tenant's channels (then it is a reconnect, which the plan does not count)."""
    if db.session.scalar(scoped(Channel).where(Channel.type == "whatsapp", Channel.external_id == number_id)
                         ) is None:
        check_room()


def _target_from(raw: str) -> Channel | None:
    if not raw:
        return None
    channel = get_scoped_or_404(Channel, int(raw) if raw.isdigit() else -1)
    if channel.type != "whatsapp":
        abort(404)
    return channel


@bp.post("/whatsapp/finish")
@tenant_member_required
def whatsapp_finish():  # type: ignore[no-untyped-def]
    """Exchange the code at once (it lives 30 seconds), then subscribe, register and store."""
    form = request.form
    if not _spend_state(form.get("state", "")):
        raise ConnectFailed(_("This WhatsApp sign-up page is out of date or was already used, so nothing was "
                              "connected."), _("Open the WhatsApp connect page again and start from there."))
    if not _signup_ready():
        raise ConnectFailed(_("Connecting this kind of channel is not set up on this TemoWeb installation."),
                            _("Ask the TemoWeb team to configure the Meta app; meanwhile nothing was changed."), 503)
    if form.get("outcome") != "finish":
        raise _cancelled(form)
    code, waba_id, number_id = (form.get(k, "").strip() for k in ("code", "waba_id", "phone_number_id"))
    if not code:
        raise _cancelled({})
    if not waba_id.isdigit() or not number_id.isdigit():
        raise ConnectFailed(_("Meta did not tell us which WhatsApp account and phone number you chose."),
                            _("Start the sign-up again and finish it with a phone number added and verified."))
    pin = form.get("pin", "")
    if not wa.PIN_RE.fullmatch(pin):
        raise ConnectFailed(_("The two-step verification PIN must be exactly 6 digits."),
                            _("Start again and type a 6-digit PIN before pressing the button."))
    target = _target_from(form.get("channel", ""))
    if target is None:
        _check_room_for(number_id)
    elif target.external_id != number_id:
        raise ConnectFailed(_("You chose another phone number than this channel's (%(number)s), so nothing was "
                              "changed.", number=target.name or target.external_id),
                            _("Start again and pick the channel's own number, or connect the other number as a "
                              "new channel from the Channels page."), 409)
    config, app_config = oauth.connector_config(), current_app.config
    try:
        grant = wa.exchange_code(code, app_config["META_APP_ID"], app_config["META_APP_SECRET"], config)
        wa.subscribe_waba(waba_id, grant.token, config)
        wa.register_number(number_id, pin, grant.token, config)
        number = _display(number_id, grant.token)
    except wa.SetupCallFailed as exc:
        raise meta_failed(exc) from None
    return saved(lambda: connect_channel(
        current_tenant(), "whatsapp", external_id=number_id, token=grant.token, expires_in=grant.expires_in,
        name=number.label, actor=current_user.email, credentials={"waba_id": waba_id, "login": "embedded_signup"},
        settings={"waba_id": waba_id}, reconnect=target))


def _display(number_id: str, token: str) -> wa.PhoneNumber:
    """The number's display form for the channel's name; the number works without it, so a failure to read
    it is only logged."""
    try:
        return wa.phone_number(number_id, token, oauth.connector_config())
    except wa.SetupCallFailed as exc:
        log.warning("whatsapp number %s not read: code %s", number_id, exc.code)
        return wa.PhoneNumber(number_id, "", "")


# --- the manual form --------------------------------------------------------------------------------------

def _manual_refused(form: ManualForm, exc: wa.SetupCallFailed) -> None:
    """Put a failed check under the field at fault, or at the top of the page."""
    log.warning("whatsapp manual check %s failed: code %s subcode %s", exc.step, exc.code, exc.subcode)
    if exc.token_invalid:
        form.token.errors.append(_("Meta refused this token: it is wrong or has expired. Create a system user "
                                   "token with the whatsapp_business_messaging and whatsapp_business_management "
                                   "permissions and paste it again."))
    elif exc.missing_permission and exc.step == "phone_number":
        form.phone_number_id.errors.append(_("This token cannot use phone number %(id)s: check the id, and that "
                                             "the system user is assigned the WhatsApp account.",
                                             id=form.phone_number_id.data))
    elif exc.missing_permission and exc.step == "phone_numbers":
        form.waba_id.errors.append(_("This token cannot see WhatsApp Business Account %(id)s: check the id, and "
                                     "that the system user is assigned the account.", id=form.waba_id.data))
    else:
        flash(meta_failed(exc).message, "danger")


@bp.post("/whatsapp/manual")
@tenant_member_required
def whatsapp_manual():  # type: ignore[no-untyped-def]
    """Check the token and ids against the API, subscribe the WABA, then store the channel."""
    form = ManualForm()
    target = _target_from(request.form.get("channel", ""))
    if target is None:
        _check_room_for(form.phone_number_id.data or "")
    if form.validate_on_submit():
        waba_id, number_id, token = form.waba_id.data, form.phone_number_id.data, form.token.data.strip()
        config = oauth.connector_config()
        if target is not None and target.external_id != number_id:
            form.phone_number_id.errors.append(_("This channel is the number %(number)s; connect another number as "
                                                 "a new channel.", number=target.external_id))
            return _page(form, target, 400)
        try:
            number = wa.phone_number(number_id, token, config)
            numbers = wa.waba_phone_numbers(waba_id, token, config)
            if number_id not in {n.id for n in numbers}:
                form.phone_number_id.errors.append(_(
                    "Phone number %(number)s is not in WhatsApp Business Account %(waba)s; its numbers are: "
                    "%(found)s.", number=number_id, waba=waba_id,
                    found=", ".join(f"{n.id} ({n.label})" for n in numbers) or _("none")))
            else:
                wa.subscribe_waba(waba_id, token, config)
                return saved(lambda: connect_channel(
                    current_tenant(), "whatsapp", external_id=number_id, token=token, name=number.label,
                    actor=current_user.email, credentials={"waba_id": waba_id, "login": "system_user"},
                    settings={"waba_id": waba_id}, reconnect=target))
        except wa.SetupCallFailed as exc:
            _manual_refused(form, exc)
    return _page(form, target, 400)


# --- the re-engagement template ---------------------------------------------------------------------------

def _template_page(channel: Channel, form: TemplateForm | None, error: ConnectFailed | None = None,
                   count: int = 0) -> Any:
    status = error.status if error else (400 if request.method == "POST" else 200)
    return render_template("connect/whatsapp_template.html", channel=channel, form=form, error=error,
                           count=count, current=(channel.settings or {}).get(TEMPLATE_SETTING)), status


def _templates(channel: Channel) -> list[wa.Template]:
    waba_id = str((channel.settings or {}).get("waba_id") or (channel.credentials or {}).get("waba_id") or "")
    creds = channel.credentials or {}
    token = str(creds.get("token") or creds.get("access_token") or "")
    if not waba_id or not token:
        raise ConnectFailed(_("This channel does not know its WhatsApp Business Account, so its templates cannot "
                              "be read."), _("Connect the number again (Embedded Signup or the form with the "
                                             "account id); its settings and conversations are kept."), 409)
    try:
        return wa.approved_templates(waba_id, token, oauth.connector_config())
    except wa.SetupCallFailed as exc:
        if exc.token_invalid:
            raise ConnectFailed(_("Meta no longer accepts this channel's token, so its templates cannot be read."),
                                _("Connect the number again, then choose the template."), 502) from None
        raise meta_failed(exc) from None


@bp.route("/whatsapp/<int:channel_id>/template", methods=["GET", "POST"])
@tenant_member_required
def whatsapp_template(channel_id: int):  # type: ignore[no-untyped-def]
    """Choose, among the account's approved templates (read from the API), the one sent to re-open a
    conversation after the 24-hour window; or none."""
    channel = get_scoped_or_404(Channel, channel_id)
    if channel.type != "whatsapp":
        abort(404)
    try:
        templates = _templates(channel)
    except ConnectFailed as exc:
        return _template_page(channel, None, exc)
    form = TemplateForm()
    form.template.choices = [("", _("None: do not write after the 24-hour window"))] + [
        (f"{t.name}:{t.language}", f"{t.name} — {t.language}" + (f" ({t.category.lower()})" if t.category else ""))
        for t in templates]
    if request.method == "GET":
        current = (channel.settings or {}).get(TEMPLATE_SETTING) or {}
        language = current.get("language") if isinstance(current, dict) else None
        language = language.get("code") if isinstance(language, dict) else language
        form.template.data = f"{current.get('name')}:{language}" if current else ""
    elif form.validate_on_submit():
        settings = {k: v for k, v in (channel.settings or {}).items() if k != TEMPLATE_SETTING}
        if form.template.data:
            name, _sep, language = form.template.data.rpartition(":")
            settings[TEMPLATE_SETTING] = {"name": name, "language": {"code": language}}
        channel.settings = settings
        db.session.commit()
        flash(_("Re-engagement template saved.") if form.template.data else
              _("No re-engagement template: replies after the 24-hour window are not sent."), "success")
        return redirect(url_for("dashboard.channel_detail", channel_id=channel.id)), 303
    return _template_page(channel, form, count=len(templates))
