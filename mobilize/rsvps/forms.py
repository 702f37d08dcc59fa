"""The RSVP form and the organizers' attendee forms."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from mobilize.core.forms import options
from mobilize.events.models import Event
from mobilize.rsvps import seats, services
from mobilize.rsvps.models import UTM_FIELDS


def guest_choices(event: Event) -> list[SelectChoice]:
    return options(*((str(n), str(n)) for n in range(event.max_guests + 1)))


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _slot_choice(slot, event: Event) -> SelectChoice:
    label = seats.slot_label(slot, event.timezone)
    if slot.seats_left == 0:
        label += " · full, join the waitlist" if event.allow_waitlist else " · full"
    elif slot.seats_left is not None and slot.seats_left <= 10:
        label += f" · {slot.seats_left} spot{'s' if slot.seats_left != 1 else ''} left"
    return SelectChoice(str(slot.uuid), label)


class TimeslotChoices:
    """Timeslot checkboxes for an event's open times, pre-checked when there is only one."""

    def set_timeslots(self, event: Event, field: CheckboxesField) -> None:
        slots = services.open_timeslots(event)
        field.choices = [_slot_choice(slot, event) for slot in slots]
        if len(slots) == 1 and not self.is_submitted() and not field.data:
            field.data = [str(slots[0].uuid)]


class RsvpForm(TimeslotChoices, FlaskForm):
    given_name = StringField("First name", validators=[DataRequired(), Length(max=100)],
                             render_kw={"autocomplete": "given-name"})
    family_name = StringField("Last name", validators=[DataRequired(), Length(max=100)],
                              render_kw={"autocomplete": "family-name"})
    email = EmailField("Email", validators=[DataRequired(), Email("Enter a valid email address."), Length(max=320)],
                       render_kw={"autocomplete": "email"},
                       description="Your confirmation and a link to change or cancel go here.")
    phone = TelField("Phone (optional)", validators=[Optional(), Length(max=40)], render_kw={"autocomplete": "tel"})
    postal_code = StringField("ZIP code", validators=[DataRequired(), Length(max=20)],
                              render_kw={"autocomplete": "postal-code"})
    timeslots = CheckboxesField("Which times?", validators=[DataRequired("Choose at least one time.")])
    guests = SelectField("Guests you are bringing", coerce=int, default=0)
    opt_in = BooleanField("")
    referrer = HiddenField()
    utm_source = HiddenField()
    utm_medium = HiddenField()
    utm_campaign = HiddenField()
    utm_term = HiddenField()
    utm_content = HiddenField()

    def __init__(self, event: Event, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_timeslots(event, self.timeslots)
        if event.max_guests:
            self.guests.choices = guest_choices(event)
        else:
            del self.guests
        self.opt_in.label.text = services.opt_in_wording(event.organization.name)

    def utm(self) -> dict:
        return {name: getattr(self, name).data or "" for name in UTM_FIELDS}


class ChangeRsvpForm(TimeslotChoices, FlaskForm):
    timeslots = CheckboxesField("Your times", validators=[DataRequired("Choose at least one time, or cancel.")])
    guests = SelectField("Guests you are bringing", coerce=int, default=0)

    def __init__(self, event: Event, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_timeslots(event, self.timeslots)
        if event.max_guests:
            self.guests.choices = guest_choices(event)
        else:
            del self.guests


class EmptyForm(FlaskForm):
    """Buttons that POST (cancel, new link, mark attended): CSRF only."""


class MoveForm(FlaskForm):
    from_timeslot = HiddenField(validators=[DataRequired()])
    to_timeslot = SelectField("Move to", validators=[DataRequired()])


class CapacityForm(FlaskForm):
    capacity = IntegerField("Capacity", validators=[Optional(), NumberRange(min=0, max=1_000_000)])


class AttendeeFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search name or email", validators=[Optional(), Length(max=200)])
    timeslot = SelectField("Time", validate_choice=False)
    status = SelectField("Status", validate_choice=False, choices=options(
        ("", "Any status"), ("confirmed", "Confirmed"), ("waitlisted", "Waitlisted"), ("cancelled", "Cancelled")))
    attended = SelectField("Attendance", validate_choice=False, choices=options(
        ("", "Anyone"), ("yes", "Attended"), ("no", "No-show"), ("unmarked", "Not marked")))
