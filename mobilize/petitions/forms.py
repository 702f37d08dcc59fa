"""WTForms for petitions, and the signed fill-time token of the sign form."""

import pycountry
from flask import current_app
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, TimestampSigner
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import html_params

from mobilize.core.forms import options
from mobilize.core.models import utcnow
from mobilize.petitions.models import COMMENT_MAX, STATUSES

COUNTRIES = sorted(((c.alpha_2, getattr(c, "common_name", c.name)) for c in pycountry.countries), key=lambda c: c[1])
_OPTIONS = [(code, f'<option value="{code}"', f">{escape(name)}</option>") for code, name in COUNTRIES]


class CountrySelect:
    """The country list from strings built once: WTForms' Select widget takes milliseconds over 249 options."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        options = "".join(f"{start}{' selected' if code == field.data else ''}{end}" for code, start, end in _OPTIONS)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")  # noqa: S704 - all escaped


FORM_MAX_AGE = 24 * 3600


class SignForm(FlaskForm):
    given_name = StringField("First name", validators=[DataRequired("Enter your first name."), Length(max=100)],
                             render_kw={"autocomplete": "given-name"})
    family_name = StringField("Last name", validators=[DataRequired("Enter your last name."), Length(max=100)],
                              render_kw={"autocomplete": "family-name"})
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=320)],
                       render_kw={"autocomplete": "email"})
    postal_code = StringField("Postal code", validators=[DataRequired("Enter your postal code."), Length(max=20)],
                              render_kw={"autocomplete": "postal-code"})
    # The signing service checks the code; WTForms would walk all 249 choices on every submission.
    country = SelectField("Country", choices=options(*COUNTRIES), default="US", validate_choice=False,
                          widget=CountrySelect(), render_kw={"autocomplete": "country"})
    comment = TextAreaField("Why are you signing? (optional)", validators=[Optional(), Length(max=COMMENT_MAX)],
                            description=f"Up to {COMMENT_MAX} characters.", render_kw={"rows": 3})
    public = BooleanField("Show my first name, last initial and comment on this page")
    opt_in = BooleanField("Email me about this petition")  # the label is set to the organization's wording
    # A field people never see: bots that fill every input give themselves away.
    website = StringField("Leave this field empty", render_kw={"autocomplete": "off", "tabindex": "-1"})
    started = HiddenField()


class PetitionForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    slug = StringField("Web address", validators=[Optional(), Length(max=80)],
                       description="The end of the petition's address, e.g. flexible-hours-now. "
                                   "Leave empty to make one from the title; it is fixed once published.")
    summary = TextAreaField("The ask", validators=[DataRequired(), Length(max=500)], render_kw={"rows": 3},
                            description="One or two sentences saying what you ask of the targets. Shown on every card.")
    body = TextAreaField("Why it matters", validators=[Optional(), Length(max=20000)], render_kw={"rows": 10},
                         description="Markdown: **bold**, *italic*, [links](https://example.org), lists.")
    image_url = URLField("Image address", validators=[Optional(), Length(max=1000)],
                         description="An https:// image, shown on the page and when shared.")
    goal = IntegerField("Goal", default=100, validators=[DataRequired(), NumberRange(min=1, max=100_000_000)],
                        description="It rises by itself when reached: 100, 250, 500, 1,000, 2,500 and so on.")
    closes_at = DateTimeLocalField("Closes at (UTC)", validators=[Optional()], format="%Y-%m-%dT%H:%M",
                                   description="Optional. The petition stops taking signatures then.")
    status = SelectField("Status", choices=options(*((s, s.capitalize()) for s in STATUSES)), default="draft")


class TargetForm(FlaskForm):
    """Shown on the petition's edit page beside PetitionForm: its own ids, so labels and fields pair up."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)], id="target-name")
    title = StringField("Title", validators=[Optional(), Length(max=200)], description="e.g. Chief Executive",
                        id="target-title")
    organization = StringField("Organization", validators=[Optional(), Length(max=200)], id="target-organization")
    email = EmailField("Email", validators=[Optional(), Length(max=320)], description="For delivery; never shown.",
                       id="target-email")
    phone = StringField("Phone", validators=[Optional(), Length(max=40)], description="Optional; never shown.",
                        id="target-phone")


class UpdateForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    body = TextAreaField("Update", validators=[Optional(), Length(max=20000)], render_kw={"rows": 5},
                         description="Markdown. Shown on the petition page, newest first.")


class InvalidateForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)],
                         description="Kept with the signature, e.g. “duplicate under a fake name”.")


class BulkInvalidateForm(InvalidateForm):
    ip = StringField("From IP address", validators=[Optional(), Length(max=45)])
    email_domain = StringField("Email domain", validators=[Optional(), Length(max=253)],
                               description="e.g. spam.example: every address ending @spam.example.")
    signed_after = DateTimeLocalField("Signed from", validators=[Optional()], format="%Y-%m-%dT%H:%M")
    signed_before = DateTimeLocalField("Signed before", validators=[Optional()], format="%Y-%m-%dT%H:%M")


class SignatureFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("Show", choices=options(("", "All"), ("confirmed", "Confirmed"),
                                                 ("pending", "Awaiting confirmation"), ("invalidated", "Invalidated")),
                         default="", validators=[Optional()])
    q = StringField("Search", validators=[Optional(), Length(max=200)],
                    render_kw={"placeholder": "Name, email, postal code or IP"})


# The fill-time token: when the form was shown, signed so it cannot be forged.

def _signer() -> TimestampSigner:
    return TimestampSigner(current_app.config["SECRET_KEY"], salt="petition-sign-form")


def started_token(petition_id: int) -> str:
    return _signer().sign(str(petition_id)).decode()


def filled_too_fast(token: str, petition_id: int) -> bool:
    """True unless the token is ours, for this petition, and at least PETITION_MIN_FILL_SECONDS old."""
    try:
        value, signed_at = _signer().unsign(token or "", max_age=FORM_MAX_AGE, return_timestamp=True)
    except BadSignature:  # forged, or older than FORM_MAX_AGE
        return True
    age = (utcnow() - signed_at).total_seconds()
    return value.decode() != str(petition_id) or age < current_app.config["PETITION_MIN_FILL_SECONDS"]
