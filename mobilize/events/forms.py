"""Forms for the events page search and the organizers' event editor."""

from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from mobilize.core.errors import DomainError
from mobilize.core.forms import options
from mobilize.events import times
from mobilize.events.models import EVENT_TYPES
from mobilize.events.reminder_offsets import DEFAULT_OFFSETS, format_offsets, parse_offsets, reminder_offsets
from mobilize.events.services import MAX_DESCRIPTION, MAX_TIMESLOTS, active_timeslots

TYPE_LABELS = {"rally": "Rally", "meeting": "Meeting", "canvass": "Canvass", "phone_bank": "Phone bank",
               "training": "Training", "webinar": "Webinar", "town_hall": "Town hall", "other": "Other"}
TYPE_CHOICES = [(value, TYPE_LABELS[value]) for value in EVENT_TYPES]


class SearchForm(FlaskForm):
    """The events page filters: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    zipcode = StringField("ZIP code", validators=[Optional(), Length(max=10)],
                          render_kw={"inputmode": "numeric", "autocomplete": "postal-code", "placeholder": "10001"})
    radius = SelectField("Within", choices=options(*((r, r) for r in ("5", "10", "25", "50", "100"))), default="25")
    unit = SelectField("Unit", choices=options(("mi", "miles"), ("km", "km")), default="mi")
    type = SelectField("Type", choices=options(("", "Any type"), *TYPE_CHOICES), default="")
    mode = SelectField("Format", default="any", choices=options(
        ("any", "In person and virtual"), ("in_person", "In person only"), ("virtual", "Virtual only")))
    start_date = DateField("From", validators=[Optional()])
    end_date = DateField("To", validators=[Optional()])
    tag = StringField("Tag", validators=[Optional(), Length(max=60)])


class TimeslotForm(Form):
    uuid = HiddenField()
    start_date = DateField("Date", validators=[Optional()])
    start_time = TimeField("Starts", validators=[Optional()])
    end_time = TimeField("Ends", validators=[Optional()])
    end_date = DateField("End date", validators=[Optional()], description="Only if it ends on a later day.")
    capacity = IntegerField("Capacity", validators=[Optional(), NumberRange(min=0, max=1_000_000)],
                            description="Empty for unlimited.")
    remove = BooleanField("Remove this time")

    def is_blank(self) -> bool:
        return not (self.uuid.data or self.start_date.data or self.start_time.data or self.end_time.data)


class ReminderOffsetsField(StringField):
    """Minutes before each start, typed as "24h, 1h, 30m"; ``sent`` tells whether the form carried it at all."""

    def process_formdata(self, valuelist):
        if valuelist:
            try:
                self.data = parse_offsets(valuelist[0])
            except DomainError as error:
                raise ValueError(error.message) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_offsets(self.data or [])

    @property
    def sent(self) -> bool:
        return bool(getattr(self, "raw_data", None))


class EventForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    summary = StringField("Summary", validators=[Optional(), Length(max=500)],
                          description="One sentence for listings and link previews.")
    description = TextAreaField("Description", validators=[Optional(), Length(max=MAX_DESCRIPTION)],
                                description="Markdown: **bold**, *italic*, [links](https://…), lists.",
                                render_kw={"rows": 8})
    event_type = SelectField("Type", choices=options(*TYPE_CHOICES), default="meeting")
    tags = StringField("Tags", validators=[Optional(), Length(max=700)], description="Separate with commas.")
    featured_image_url = URLField("Featured image URL", validators=[Optional(), Length(max=1000)],
                                  description="A wide image (1200×630) shown on the page and in link previews.")
    visibility = SelectField("Who can see it", default="public", choices=options(
        ("public", "Public: listed on the events page"), ("unlisted", "Unlisted: anyone with the link"),
        ("private", "Private: only your organizers")))
    high_priority = BooleanField("High priority", description="Feature it first in your organization's lists.")

    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)], default="America/New_York",
                           description="Any IANA zone, like America/Chicago or Europe/London.",
                           render_kw={"list": "timezone-names", "autocomplete": "off"})
    timeslots = FieldList(FormField(TimeslotForm), min_entries=1, max_entries=MAX_TIMESLOTS)
    reminders = ReminderOffsetsField(
        "Reminders", default=lambda: list(DEFAULT_OFFSETS),
        description="Emailed to confirmed attendees this long before each time starts: m for minutes, h for hours, "
                    "d for days, separated by commas. Leave empty to send none.",
        render_kw={"placeholder": "24h, 1h", "autocomplete": "off", "spellcheck": "false"})

    format = SelectField("Where", choices=options(("in_person", "In person"), ("virtual", "Online")),
                         default="in_person")
    venue = StringField("Venue", validators=[Optional(), Length(max=200)])
    address_line1 = StringField("Street address", validators=[Optional(), Length(max=200)],
                                render_kw={"autocomplete": "address-line1"})
    address_line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    locality = StringField("City", validators=[Optional(), Length(max=100)])
    region = StringField("State or region", validators=[Optional(), Length(max=100)])
    postal_code = StringField("ZIP or postal code", validators=[Optional(), Length(max=20)])
    country = StringField("Country", validators=[Optional(), Length(max=2)], default="US",
                          description="Two letters, like US.")
    latitude = StringField("Latitude", validators=[Optional(), Length(max=30)],
                           description="Found from a US ZIP code when left empty.")
    longitude = StringField("Longitude", validators=[Optional(), Length(max=30)])
    address_visibility = SelectField("Show the address", default="public", choices=options(
        ("public", "To everyone"), ("private", "Only to people who RSVP")))
    virtual_action_url = URLField("Join link", validators=[Optional(), Length(max=1000)],
                                  description="Sent only to confirmed attendees, never shown publicly.")
    virtual_instructions = TextAreaField("Joining instructions", validators=[Optional(), Length(max=5000)],
                                         description="Also for confirmed attendees only.", render_kw={"rows": 3})

    contact_name = StringField("Contact name", validators=[Optional(), Length(max=200)])
    contact_name_public = BooleanField("Show the name on the event page", default=True)
    contact_email = StringField("Contact email", validators=[Optional(), Length(max=320)])
    contact_email_public = BooleanField("Show the email on the event page")
    contact_phone = StringField("Contact phone", validators=[Optional(), Length(max=40)])
    contact_phone_public = BooleanField("Show the phone on the event page")

    accessibility_status = SelectField("Accessibility", default="unknown", choices=options(
        ("accessible", "Wheelchair accessible"), ("not_accessible", "Not wheelchair accessible"),
        ("unknown", "Not sure yet")))
    accessibility_notes = TextAreaField("Accessibility notes", validators=[Optional(), Length(max=2000)],
                                        render_kw={"rows": 2})

    allow_waitlist = BooleanField("Offer a waitlist when full", default=True)
    max_guests = IntegerField("Guests each supporter may bring", default=4,
                              validators=[Optional(), NumberRange(min=0, max=20)])
    cohosts = StringField("Co-hosting organizations", validators=[Optional(), Length(max=700)],
                          description="Their address names (as in /orgs/<name>/…), separated by commas. "
                                      "Each is invited by mail; once one of its organizers accepts, the event "
                                      "is listed under it too and its organizers can manage it.")

    SECTIONS = (
        ("About the event", ("title", "summary", "description", "event_type", "tags", "featured_image_url",
                             "visibility", "high_priority")),
        ("Place", ("format", "venue", "address_line1", "address_line2", "locality", "region", "postal_code",
                   "country", "latitude", "longitude", "address_visibility", "virtual_action_url",
                   "virtual_instructions")),
        ("Contact", ("contact_name", "contact_name_public", "contact_email", "contact_email_public", "contact_phone",
                     "contact_phone_public")),
        ("Accessibility and RSVPs", ("accessibility_status", "accessibility_notes", "allow_waitlist", "max_guests",
                                     "cohosts")),
    )

    def fill_from(self, fields: dict) -> None:
        """Load an event's fields (services.copy_fields) into an unsubmitted form."""
        for name in ("title", "summary", "description", "event_type", "featured_image_url", "visibility",
                     "high_priority", "timezone", "venue", "address_line1", "address_line2", "locality", "region",
                     "postal_code", "country", "address_visibility", "virtual_action_url", "virtual_instructions",
                     "contact_name", "contact_name_public", "contact_email", "contact_email_public", "contact_phone",
                     "contact_phone_public", "accessibility_status", "accessibility_notes", "allow_waitlist",
                     "max_guests"):
            getattr(self, name).data = fields.get(name)
        for name in ("latitude", "longitude"):
            getattr(self, name).data = "" if fields.get(name) is None else f"{fields[name]:g}"
        self.format.data = "virtual" if fields.get("is_virtual") else "in_person"
        self.tags.data = ", ".join(fields.get("tags", []))
        self.cohosts.data = ", ".join(fields.get("cohosts", []))
        while self.timeslots.entries:
            self.timeslots.pop_entry()
        for slot in fields.get("timeslots", []):
            start = times.local(slot["start_at"], fields["timezone"])
            end = times.local(slot["end_at"], fields["timezone"])
            self.timeslots.append_entry({
                "uuid": str(slot.get("uuid") or ""), "start_date": start.date(), "start_time": start.time(),
                "end_time": end.time(), "end_date": end.date() if end.date() != start.date() else None,
                "capacity": slot.get("capacity")})
        if not self.timeslots.entries:
            self.timeslots.append_entry()

    def to_fields(self) -> tuple[dict, list[int]]:
        """The service's fields, and which form row each timeslot came from (for its errors)."""
        fields = {name: getattr(self, name).data for section in self.SECTIONS for name in section[1]
                  if name not in ("format", "tags", "cohosts")}
        fields["timezone"] = self.timezone.data
        fields["is_virtual"] = self.format.data == "virtual"
        fields["tags"] = [t for t in (self.tags.data or "").split(",") if t.strip()]
        fields["cohosts"] = [s for s in (self.cohosts.data or "").split(",") if s.strip()]
        slots, rows = [], []
        for n, entry in enumerate(self.timeslots.entries):
            row = entry.form
            if row.remove.data or row.is_blank():
                continue
            start = _combine(row.start_date.data, row.start_time.data)
            end = _combine(row.end_date.data or row.start_date.data, row.end_time.data)
            slots.append({"uuid": row.uuid.data or None, "start_at": start, "end_at": end,
                          "capacity": row.capacity.data})
            rows.append(n)
        fields["timeslots"] = slots
        return fields, rows

    def apply_errors(self, error: DomainError, rows: list[int]) -> None:
        """Put the service's errors on the fields they name, timeslot rows included."""
        unplaced = []
        for name, message in error.fields.items():
            target = None
            if name.startswith("timeslots-"):
                _, index, part = (name.split("-") + ["", ""])[:3]
                if index.isdigit() and int(index) < len(rows):
                    row = self.timeslots.entries[rows[int(index)]].form
                    target = {"start": row.start_time, "end": row.end_time, "capacity": row.capacity}.get(part)
            elif name == "is_virtual":
                target = self.format
            else:
                target = getattr(self, name, None)
            if target is not None and hasattr(target, "errors") and name != "timeslots":
                target.errors = [*target.errors, message]
            else:
                unplaced.append(message)
        self.form_errors = [*self.form_errors, error.message, *unplaced]


def _combine(day, clock):
    """A wall-clock datetime (the service knows the zone), or None when a part is missing."""
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock)


def event_form_for(event) -> EventForm:
    """The editor filled with an existing event."""
    from mobilize.events.services import copy_fields

    form = EventForm()
    if not form.is_submitted():
        fields = copy_fields(event)
        fields["timeslots"] = [{"uuid": slot.uuid, "start_at": slot.start_at, "end_at": slot.end_at,
                                "capacity": slot.capacity} for slot in active_timeslots(event)]
        form.fill_from(fields)
        form.reminders.data = reminder_offsets(event.id)
    return form

