"""The organizer's announcement form; the service checks every choice against the organization."""

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from mobilize.announcements.services import DEFAULT_RADIUS_MILES, MAX_BODY, MAX_RADIUS_MILES, Draft
from mobilize.events import times


class AnnouncementForm(FlaskForm):
    subject = StringField("Subject", validators=[DataRequired("Write a subject line."), Length(max=200)])
    body = TextAreaField("Message", validators=[DataRequired("Write the message."), Length(max=MAX_BODY)],
                         render_kw={"rows": 10},
                         description="Markdown: **bold**, *italic*, [links](https://…), lists. "
                                     "An unsubscribe link is added at the end.")
    about = SelectField("Link to", validate_choice=False,
                        description="Adds a button to one of your events or petitions.")
    near_postal_code = StringField("Only supporters near ZIP code", validators=[Optional(), Length(max=10)],
                                   render_kw={"inputmode": "numeric", "placeholder": "62701"},
                                   description="Uses the ZIP code supporters gave us. Leave empty for everyone.")
    radius_miles = IntegerField("Within (miles)", default=DEFAULT_RADIUS_MILES,
                                validators=[Optional(), NumberRange(min=1, max=MAX_RADIUS_MILES)],
                                render_kw={"min": 1, "max": MAX_RADIUS_MILES})
    attended_event = SelectField("Only those who attended", validate_choice=False,
                                 description="Confirmed attendees of a past event, less any marked no-show.")
    signed_petition = SelectField("Only those who signed", validate_choice=False,
                                  description="Confirmed signers; combine with the other filters to narrow further.")
    send_at = DateTimeLocalField("Send at", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    timezone = StringField("Time zone", validators=[DataRequired("Choose a time zone."), Length(max=64)],
                           render_kw={"list": "timezone-names", "autocomplete": "off"},
                           description="The send time is in this zone, e.g. America/Chicago.")

    def set_choices(self, choices: dict) -> None:
        events = choices["upcoming"] + choices["past"]
        self.about.choices = [("", "Nothing")] + [
            (f"event:{e.uuid}", f"Event: {e.title}") for e in events] + [
            (f"petition:{p.uuid}", f"Petition: {p.title}") for p in choices["petitions"]]
        self.attended_event.choices = [("", "Anyone")] + [(str(e.uuid), e.title) for e in choices["past"]]
        self.signed_petition.choices = [("", "Anyone")] + [(str(p.uuid), p.title) for p in choices["petitions"]]

    def fill(self, announcement) -> None:
        """Show a saved announcement as it was entered, the time in its own zone."""
        self.subject.data, self.body.data, self.timezone.data = (
            announcement.subject, announcement.body, announcement.timezone)
        if announcement.send_at:
            self.send_at.data = times.local(announcement.send_at, announcement.timezone).replace(tzinfo=None)
        if announcement.event:
            self.about.data = f"event:{announcement.event.uuid}"
        elif announcement.petition:
            self.about.data = f"petition:{announcement.petition.uuid}"
        self.near_postal_code.data = announcement.near_postal_code
        self.radius_miles.data = announcement.radius_miles or DEFAULT_RADIUS_MILES
        self.attended_event.data = str(announcement.attended_event.uuid) if announcement.attended_event else ""
        self.signed_petition.data = str(announcement.signed_petition.uuid) if announcement.signed_petition else ""

    def to_draft(self) -> Draft:
        return Draft(
            subject=self.subject.data or "", body=self.body.data or "", timezone=self.timezone.data or "",
            send_local=self.send_at.data, about=self.about.data or "",
            near_postal_code=self.near_postal_code.data or "", radius_miles=self.radius_miles.data,
            attended_event=self.attended_event.data or "", signed_petition=self.signed_petition.data or "",
        )
