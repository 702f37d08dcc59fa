"""VTIMEZONE components that every client reads, Outlook included.

Outlook and Exchange read only DTSTART, RRULE and the offsets of a VTIMEZONE
and ignore RDATE, which is all icalendar's generic export uses.  So a zone is
written as its current yearly rule (the POSIX TZ string at the end of its TZif
file), the form Google and Outlook export themselves.  A feed reaches back only
30 days, so the current rule covers it.  A zone whose rule an RRULE cannot say
(Julian days, transitions past midnight) falls back to icalendar's RDATE form.
"""

import re
import zoneinfo
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu", "Etc/GMT", "GMT"})
WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # POSIX counts from Sunday = 0
FIRST_YEAR = 1970

_NAME = r"(?:[A-Za-z]{3,}|<[+\-0-9A-Za-z]+>)"
_OFFSET = r"[+-]?\d{1,3}(?::\d{1,2}){0,2}"
_RULE = rf"M(\d{{1,2}})\.([1-5])\.([0-6])(?:/({_OFFSET}))?"
POSIX_TZ = re.compile(rf"^({_NAME})({_OFFSET})(?:({_NAME})({_OFFSET})?,{_RULE},{_RULE})?$")


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _tzname(text: str) -> str:
    return text.strip("<>")


def _tzif(key: str) -> bytes | None:
    for root in zoneinfo.TZPATH:
        path = Path(root) / key
        if path.is_file():
            return path.read_bytes()
    try:
        return resources.files("tzdata.zoneinfo").joinpath(key).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, IsADirectoryError):
        return None


def posix_rule(key: str) -> str | None:
    """The zone's current rule, e.g. ``EST5EDT,M3.2.0,M11.1.0`` for America/New_York."""
    data = _tzif(key)
    if not data or not data.startswith(b"TZif") or not data.endswith(b"\n"):
        return None
    footer = data[:-1].rsplit(b"\n", 1)[-1]
    return footer.decode("ascii", "replace") or None


def _first_onset(month: int, week: int, weekday: int, seconds: int) -> datetime:
    """The rule's first transition in FIRST_YEAR, in local time (week 5 is the last)."""
    first = date(FIRST_YEAR, month, 1)
    day = first + timedelta(days=(weekday - (first.isoweekday() % 7)) % 7)
    if week == 5:
        while (day + timedelta(days=7)).month == month:
            day += timedelta(days=7)
    else:
        day += timedelta(days=7 * (week - 1))
    return datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)


def _observance(kind, name: str, offset_from: int, offset_to: int, rule: tuple | None):
    part = kind()
    part.add("tzname", name)
    part.add("tzoffsetfrom", timedelta(seconds=offset_from))
    part.add("tzoffsetto", timedelta(seconds=offset_to))
    if rule is None:
        part.add("dtstart", datetime(FIRST_YEAR, 1, 1))
        return part
    month, week, weekday, seconds = rule
    part.add("dtstart", _first_onset(month, week, weekday, seconds))
    part.add("rrule", {"freq": "yearly", "bymonth": month, "byday": f"{-1 if week == 5 else week}{WEEKDAYS[weekday]}"})
    return part


def _rule(match_groups: tuple) -> tuple | None:
    month, week, weekday, at = match_groups
    seconds = _seconds(at) if at else 7200
    if not 0 <= seconds < 86400 or seconds % 60:
        return None  # e.g. Asia/Jerusalem's "M3.4.4/26": no single-weekday RRULE says it
    return int(month), int(week), int(weekday), seconds


def rrule_timezone(key: str) -> Timezone | None:
    """A VTIMEZONE with one STANDARD and at most one yearly DAYLIGHT observance, or None."""
    rule = posix_rule(key)
    match = POSIX_TZ.match(rule or "")
    if not match:
        return None
    std_name, std_off, dst_name, dst_off = match.group(1, 2, 3, 4)
    standard = -_seconds(std_off)
    tz = Timezone()
    tz.add("tzid", key)
    if not dst_name:
        tz.add_component(_observance(TimezoneStandard, _tzname(std_name), standard, standard, None))
        return tz
    daylight = -_seconds(dst_off) if dst_off else standard + 3600
    begins, ends = _rule(match.group(5, 6, 7, 8)), _rule(match.group(9, 10, 11, 12))
    if begins is None or ends is None:
        return None
    tz.add_component(_observance(TimezoneStandard, _tzname(std_name), daylight, standard, ends))
    tz.add_component(_observance(TimezoneDaylight, _tzname(dst_name), standard, daylight, begins))
    return tz


@cache
def _serialized(key: str) -> bytes:
    tz = rrule_timezone(key) or Timezone.from_tzid(key, first_date=date.today().replace(month=1, day=1) - timedelta(
        days=366), last_date=date(date.today().year + 10, 1, 1))
    return tz.to_ical()


def vtimezone(key: str) -> Timezone:
    """The VTIMEZONE for an IANA zone name (built once per process)."""
    return Timezone.from_ical(_serialized(key))
