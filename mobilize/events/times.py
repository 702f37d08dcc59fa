"""Event times: any IANA zone, wall-clock times to UTC across DST changes, and
display in the event's zone with its abbreviation ("Sat 5 Dec, 6:00 PM EST").
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from mobilize.core.errors import Invalid
from mobilize.core.zones import zone, zone_names  # noqa: F401 - events' callers use them as times.zone

# Times an event, a send or a deadline may take: beyond these, date arithmetic overflows and no one means it.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200


def to_utc(wall: datetime, tz: ZoneInfo, field: str = "timeslots") -> datetime:
    """A wall-clock time in ``tz`` as a UTC instant.

    A time that never happens (the hour skipped when clocks go forward) is an
    error; a time that happens twice (clocks going back) means the first one.
    """
    if not EARLIEST_YEAR <= wall.year <= LATEST_YEAR:
        raise Invalid("That date is out of range.",
                      {field: f"Choose a date between {EARLIEST_YEAR} and {LATEST_YEAR}."})
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    local = wall.replace(tzinfo=tz, fold=0)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise Invalid("That time does not exist in the event's time zone.",
                      {field: f"{wall:%-I:%M %p} on {wall:%-d %b %Y} is skipped in {tz.key}: clocks move forward."})
    return local.astimezone(UTC)


def local(instant: datetime, tz_name: str) -> datetime:
    return instant.astimezone(ZoneInfo(tz_name))


def local_date(instant: datetime, tz_name: str) -> date:
    return local(instant, tz_name).date()


def _day(moment: datetime, today: date) -> str:
    year = f" {moment.year}" if moment.year != today.year else ""
    return f"{moment:%a} {moment.day} {moment:%b}{year}"


def _clock(moment: datetime) -> str:
    return f"{moment:%-I:%M %p}"


def format_when(instant: datetime, tz_name: str, today: date | None = None) -> str:
    """``Sat 5 Dec, 6:00 PM EST`` (with the year when it is not this year)."""
    moment = local(instant, tz_name)
    today = today or datetime.now(moment.tzinfo).date()
    return f"{_day(moment, today)}, {_clock(moment)} {moment:%Z}"


def format_range(start: datetime, end: datetime, tz_name: str, today: date | None = None) -> str:
    """``Sat 5 Dec, 6:00 PM – 8:00 PM EST``; each end keeps its own abbreviation across a DST change."""
    first, last = local(start, tz_name), local(end, tz_name)
    today = today or datetime.now(first.tzinfo).date()
    if first.date() == last.date():
        if first.tzname() == last.tzname():
            return f"{_day(first, today)}, {_clock(first)} – {_clock(last)} {last:%Z}"
        return f"{_day(first, today)}, {_clock(first)} {first:%Z} – {_clock(last)} {last:%Z}"
    return f"{format_when(start, tz_name, today)} – {format_when(end, tz_name, today)}"
