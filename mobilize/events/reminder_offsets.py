"""An event's reminder offsets: how long before each timeslot's start its attendees are reminded.

They are the event's setting, chosen in its editor, so the events feature keeps the table,
its limits and the way organizers type them; the reminders sweeper only reads them.
"""

import re

from sqlalchemy import ForeignKey, Integer, select
from sqlalchemy.orm import Mapped, mapped_column

from mobilize.core.errors import Forbidden, Invalid, NotFound
from mobilize.core.transaction import unit_of_work
from mobilize.events import access
from mobilize.events.models import Event
from mobilize.extensions import db

DEFAULT_OFFSETS = (24 * 60, 60)
MAX_OFFSET = 14 * 24 * 60
MAX_OFFSETS = 5
UNIT_MINUTES = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hr": 60, "hrs": 60, "hour": 60,
                "hours": 60, "d": 1440, "day": 1440, "days": 1440, "w": 10080, "week": 10080, "weeks": 10080}
_OFFSET = re.compile(r"(\d{1,6})\s*([a-z]+)")


class ReminderOffset(db.Model):
    """Minutes before each timeslot's start that a reminder goes; an event without rows uses the defaults.

    A single row of 0 minutes means "no reminders" (its window is empty).
    """

    __tablename__ = "event_reminder_offsets"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


def reminder_offsets(event_id: int) -> list[int]:
    """The event's offsets in minutes, longest first; [] when its organizers turned reminders off."""
    stored = db.session.scalars(select(ReminderOffset.minutes).where(ReminderOffset.event_id == event_id)).all()
    return sorted((m for m in stored if m > 0), reverse=True) if stored else list(DEFAULT_OFFSETS)


def set_reminder_offsets(user_id: int, event_id: int, minutes: list[int]) -> list[int]:
    """Replace the event's offsets (minutes before each timeslot's start); an empty list turns reminders off."""
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound("No such event.")
    if not access.can_manage(user_id, event):
        raise Forbidden("Only the event's organizers change its reminders.")
    wanted = checked_offsets(minutes)
    if wanted == reminder_offsets(event_id):  # unchanged: an event on the defaults keeps following them
        return wanted
    with unit_of_work():
        db.session.query(ReminderOffset).filter_by(event_id=event_id).delete()
        for m in wanted or [0]:
            db.session.add(ReminderOffset(event_id=event_id, minutes=m))
    return wanted


def checked_offsets(minutes) -> list[int]:
    """Distinct whole minutes, longest first, within the limits; Invalid otherwise."""
    try:
        wanted = sorted({int(m) for m in minutes}, reverse=True)
    except (TypeError, ValueError):
        raise Invalid("Reminder times are whole minutes.", {"minutes": "Whole minutes."}) from None
    if len(wanted) > MAX_OFFSETS or any(m < 1 or m > MAX_OFFSET for m in wanted):
        raise Invalid(f"Up to {MAX_OFFSETS} reminders, from 1 minute to 14 days before.",
                      {"minutes": f"Up to {MAX_OFFSETS}, each 1 to {MAX_OFFSET} minutes."})
    return wanted


def parse_offsets(text: str | None) -> list[int]:
    """Minutes from what an organizer types, like "24h, 1h, 30m, 2d"; empty means no reminders.

    Checked against the same limits as ``set_reminder_offsets``, so a form can refuse
    bad input before it saves anything.
    """
    minutes = []
    for part in (text or "").split(","):
        part = part.strip()
        match = _OFFSET.fullmatch(part.lower())
        if match and match[2] in UNIT_MINUTES:
            minutes.append(int(match[1]) * UNIT_MINUTES[match[2]])
        elif part.isdigit() and len(part) <= 6:
            raise Invalid(f"“{part}” needs a unit: {part}m for minutes, {part}h for hours or {part}d for days.",
                          {"minutes": "Like 24h, 1h or 30m."})
        elif part:
            shown = part if len(part) <= 20 else part[:20] + "…"
            raise Invalid(f"“{shown}” is not a time before the start. Write each like 2d, 24h or 30m, "
                          "separated by commas.", {"minutes": "Like 24h, 1h or 30m."})
    return checked_offsets(minutes)


def format_offsets(minutes: list[int]) -> str:
    """The offsets as an organizer writes them: [1440, 60, 30] is "24h, 1h, 30m"; a day is "24h", not "1d"."""
    def one(m: int) -> str:
        if m % 1440 == 0 and m > 1440:
            return f"{m // 1440}d"
        return f"{m // 60}h" if m % 60 == 0 else f"{m}m"

    return ", ".join(one(m) for m in sorted(minutes, reverse=True))
