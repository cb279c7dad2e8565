"""Settings forms (Flask-WTF: every POST carries the CSRF token)."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from ..models import LANGUAGES
from ..services.flow_channels import channel_type_choices

LANGUAGE_CHOICES = [("en", "English"), ("ru", "Русский")]
assert {c for c, _ in LANGUAGE_CHOICES} == set(LANGUAGES)


def _valid_timezone(form: FlaskForm, field: StringField) -> None:
    if field.data not in available_timezones():
        raise ValidationError(_l("Unknown time zone (use a name such as Europe/Moscow or UTC)."))


class ProfileForm(FlaskForm):
    niche = StringField(_l("Niche"), validators=[Optional(), Length(max=80)])
    offer = TextAreaField(_l("What you offer"), validators=[Optional(), Length(max=4000)])
    prices = TextAreaField(_l("Prices"), validators=[Optional(), Length(max=4000)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=400)])
    hours = StringField(_l("Opening hours"), validators=[Optional(), Length(max=400)])
    tone = StringField(_l("Tone of voice"), validators=[Optional(), Length(max=200)])
    language = SelectField(_l("Language of the bot's replies"), choices=LANGUAGE_CHOICES)
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64), _valid_timezone])


class FaqForm(FlaskForm):
    question = TextAreaField(_l("Question"), validators=[DataRequired(), Length(max=1000)])
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=4000)])


class FaqImportForm(FlaskForm):
    file = FileField(_l("CSV file (columns: question,answer)"), validators=[FileRequired()])
    mode = SelectField(_l("Import mode"), choices=[("append", _l("Add to the existing entries")),
                                                  ("replace", _l("Replace all entries"))])


class LayerForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=80),
                                             Regexp(r"^[a-z0-9_\-]+$", message=_l(
                                                 "Use lowercase letters, digits, - and _ only."))])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    text = TextAreaField(_l("Instructions for the assistant"), validators=[DataRequired(), Length(max=8000)])


class PreviewForm(FlaskForm):
    message = TextAreaField(_l("Sample customer message"), validators=[DataRequired(), Length(max=2000)])
    channel = SelectField(_l("Channel"), choices=channel_type_choices)  # the registry's, read per form
    node_prompt = TextAreaField(_l("Step prompt (as in an AI reply node)"),
                                validators=[Optional(), Length(max=4000)])
