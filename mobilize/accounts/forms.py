from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, Email, EqualTo, Length, Optional


class SignUpForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=200)],
                             description="At least 10 characters.")
    organization = StringField("Organization", validators=[DataRequired(), Length(max=200)],
                               description="The group you organize with. You can add more later.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=10, max=200)])
    confirm = PasswordField("Repeat it", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=100)],
                       description="Say what will use it, e.g. “CRM sync”.")


class OrganizationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    website = URLField("Website", validators=[Optional(), URL(), Length(max=500)])


class MemberForm(FlaskForm):
    email = EmailField("Organizer's email", validators=[DataRequired(), Email(), Length(max=320)],
                       description="They need an account first.")


class EmptyForm(FlaskForm):
    """For buttons that POST: log out, revoke, remove; CSRF only."""
