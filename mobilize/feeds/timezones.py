"""VTIMEZONE components that every client reads the same way: yearly RRULEs, never RDATE.

Outlook ignores RDATE in a VTIMEZONE and Mozilla's ical.js (Thunderbird,
Nextcloud) reads only its first value.  So a zone's changes of offset over the
window are grouped into STANDARD/DAYLIGHT components with one yearly RRULE each,
bounded by UNTIL where the rule changes, or a single DTSTART for a one-off.

The window runs from the start of last year (a feed reaches back 30 days) to the
end of the year FUTURE_YEARS ahead; events are scheduled years ahead, and the tz
database's own rules for later years are guesses.  The changes of the window's
last year repeat yearly after it, which is exact for every zone whose rule one
RRULE says.
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu", "Etc/GMT", "GMT"})
FUTURE_YEARS = 10
FIRST_YEAR = 1970  # rules in force when the window starts are written from here, as Google's exports do
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY = timedelta(days=1)


class Period(NamedTuple):
    offset: timedelta
    dst: timedelta
    name: str


@dataclass(frozen=True)
class Change:
    """One change of offset or name: ``at`` is the wall clock it happens at, in the offset it leaves."""

    at: datetime
    instant: datetime
    before: Period
    after: Period

    @property
    def rule(self) -> tuple:
        """What a yearly RRULE keeps from year to year."""
        return self.before.offset, self.after, self.at.month, self.at.time()


@dataclass
class Run:
    """Changes in consecutive years that one RRULE names: ``days`` are the BYDAY/BYMONTHDAY that fit all."""

    first: Change
    last: Change
    days: frozenset


def window(year: int) -> tuple[datetime, datetime]:
    """The UTC span a VTIMEZONE written in ``year`` gives exactly."""
    return datetime(year - 1, 1, 1, tzinfo=UTC), datetime(year + FUTURE_YEARS + 1, 1, 1, tzinfo=UTC)


def _period(zone: ZoneInfo, seconds: int) -> Period:
    moment = datetime.fromtimestamp(seconds, zone)
    return Period(moment.utcoffset(), moment.dst(), moment.tzname())


def _change(zone: ZoneInfo, early: datetime, late: datetime) -> Change:
    """The one change between two UTC instants, to the second."""
    early, late = int(early.timestamp()), int(late.timestamp())
    before = _period(zone, early)
    while late - early > 1:
        middle = (early + late) // 2
        early, late = (middle, late) if _period(zone, middle) == before else (early, middle)
    instant = datetime.fromtimestamp(late, UTC)
    return Change((instant + before.offset).replace(tzinfo=None), instant, before, _period(zone, late))


def _changes(key: str, start: datetime, end: datetime) -> list[Change]:
    """The zone's changes between two UTC instants.

    Spotted day by day on the wall clock (where lookups are cheap), then found
    in UTC: no zone changes twice within three days.
    """
    zone, found = ZoneInfo(key), []
    wall, stop = (start - DAY).replace(tzinfo=None), (end + DAY).replace(tzinfo=None)
    before = Period(zone.utcoffset(wall), zone.dst(wall), zone.tzname(wall))
    while wall < stop:
        following = wall + DAY
        after = Period(zone.utcoffset(following), zone.dst(following), zone.tzname(following))
        if after != before:
            change = _change(zone, (wall - DAY).replace(tzinfo=UTC), (following + DAY).replace(tzinfo=UTC))
            if start <= change.instant < end:
                found.append(change)
        wall, before = following, after
    return found


def _days(day: date) -> frozenset:
    """The ways an RRULE names this day of its month: the nth or last weekday, or the date."""
    weekday = WEEKDAYS[day.weekday()]
    ways = {("bymonthday", day.day)}
    if day.day <= 28:
        ways.add(("byday", f"{(day.day - 1) // 7 + 1}{weekday}"))
    if day.day + 7 > monthrange(day.year, day.month)[1]:
        ways.add(("byday", f"-1{weekday}"))
    return frozenset(ways)


def _day(year: int, month: int, way: tuple) -> date:
    kind, value = way
    if kind == "bymonthday":
        return date(year, month, value)
    nth, weekday = int(value[:-2]), WEEKDAYS.index(value[-2:])
    if nth > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    last = date(year, month, monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _runs(found: list[Change]) -> list[Run]:
    """Each change joins the run of its rule from the year before if a day-of-month way still fits them all."""
    runs, latest = [], {}
    for change in found:
        days = _days(change.at.date())
        run = latest.get(change.rule)
        if run and run.last.at.year == change.at.year - 1 and run.days & days:
            run.last, run.days = change, run.days & days
        else:
            run = latest[change.rule] = Run(change, change, days)
            runs.append(run)
    return runs


def _observance(after: Period, before: Period, start: datetime, rrule: dict | None = None):
    part = TimezoneDaylight() if after.dst > before.dst else TimezoneStandard()
    part.add("tzname", after.name)
    part.add("tzoffsetfrom", before.offset)
    part.add("tzoffsetto", after.offset)
    part.add("dtstart", start)
    if rrule:
        part.add("rrule", rrule)
    return part


def _on(run: Run, year: int) -> datetime:
    """The wall clock at which the run's rule changes the offset in ``year``."""
    return datetime.combine(_day(year, run.first.at.month, min(run.days)), run.first.at.time())


def _left_by(runs: list[Run], year: int) -> Period:
    """What the runs' rules leave in force when ``year`` begins: their last change the year before."""
    return max(runs, key=lambda run: _on(run, year - 1) - run.first.before.offset).first.after


def _build(key: str, year: int) -> Timezone:
    """The zone's VTIMEZONE, exact over ``window(year)``.

    Rules in force when the window starts are written from FIRST_YEAR if they
    leave the offset it starts with; otherwise a first component holds that
    offset (ical.js reads no offset before the first component).  Changes in the
    window's last year repeat yearly after it.
    """
    start, end = window(year)
    runs = _runs(_changes(key, start, end))
    opening = _period(ZoneInfo(key), int(start.timestamp()))
    held = [run for run in runs if run.first.at.year == start.year and run.last is not run.first]
    tz = Timezone()
    tz.add("tzid", key)
    if held and _left_by(held, start.year) == opening:
        since = {id(run): _on(run, FIRST_YEAR) for run in held}
    else:
        since = {}
        tz.add_component(_observance(opening, opening, datetime(FIRST_YEAR, 1, 1)))
    for run in runs:
        change, rrule = run.first, None
        if run.last is not change or run.last.at.year >= end.year - 1:
            kind, value = min(run.days)
            rrule = {"freq": "yearly", "bymonth": change.at.month, kind: value}
            if run.last.at.year < end.year - 1:
                rrule["until"] = run.last.instant
        tz.add_component(_observance(change.after, change.before, since.get(id(run), change.at), rrule))
    return tz


@cache
def _serialized(key: str, year: int) -> bytes:
    return _build(key, year).to_ical()


def vtimezone(key: str) -> Timezone:
    """The VTIMEZONE for an IANA zone name (built once per process and year)."""
    return Timezone.from_ical(_serialized(key, datetime.now(UTC).year))
