from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, Email, EqualTo, Length, Optional

from mobilize.core.zones import zone_names


class SignUpForm(FlaskForm):
    """No password here: it is chosen from the link mailed to the address (see services.request_sign_up)."""

    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)],
                       description="We send a link there to finish.")
    organization = StringField("Organization", validators=[DataRequired(), Length(max=200)],
                               description="The group you organize with. You can add more later.")


class FinishSignUpForm(FlaskForm):
    password = PasswordField("Choose a password", validators=[DataRequired(), Length(min=10, max=200)],
                             description="At least 10 characters.")
    confirm = PasswordField("Repeat it", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in on this device")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=10, max=200)])
    confirm = PasswordField("Repeat it", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    password = PasswordField("New password", validators=[DataRequired(), Length(min=10, max=200)],
                             description="At least 10 characters. Other devices will be logged out.")
    confirm = PasswordField("Repeat it", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=100)],
                       description="Say what will use it, e.g. “CRM sync”.")


def _zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ").replace("/", " / ")) for name in sorted(zone_names())]


class OrganizationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    website = URLField("Website", validators=[Optional(), URL(), Length(max=500)])
    timezone = SelectField("Time zone", choices=_zone_choices, default="UTC",
                           description="Times on your organizers' pages (signatures, invalidations) are shown in it.")


class MemberForm(FlaskForm):
    email = EmailField("Organizer's email", validators=[DataRequired(), Email(), Length(max=320)],
                       description="They need an account first.")


class EmptyForm(FlaskForm):
    """For buttons that POST: log out, revoke, remove; CSRF only."""
