from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

PASSWORD_MIN = 8  # the same floor as the CLI and staff (webapp/services/tenants.py create_user)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in"))


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), choices=[("en", "English"), ("ru", "Русский")])


class SignupForm(FlaskForm):
    business = StringField(_l("Name of the business"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False),
                                                Length(max=254)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(), Length(min=PASSWORD_MIN, max=200,
                               message=_l("Use at least %(min)d characters.", min=PASSWORD_MIN))])
    language = SelectField(_l("Language"), choices=[("en", "English"), ("ru", "Русский")])


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False),
                                                Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=PASSWORD_MIN, max=200,
                               message=_l("Use at least %(min)d characters.", min=PASSWORD_MIN))])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])
