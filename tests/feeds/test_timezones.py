"""Every zone's VTIMEZONE as calendar clients read it, over the whole span it is written for.

Python's icalendar reads RDATE lists correctly and so cannot see what other
clients misread; Mozilla's ical.js (Thunderbird, Nextcloud), run by node, can.
"""

import json
import subprocess
import zoneinfo
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from mobilize.feeds import timezones
from mobilize.feeds.services import window_start

NODE_TOOLS = Path(__file__).parents[1] / "js"
# The feed writes no VTIMEZONE for UTC and its aliases (ical.calendar leaves them out); every other zone is tested.
ZONES = sorted(zoneinfo.available_timezones() - timezones.UTC_NAMES)
MINUTE = timedelta(minutes=1)


def _wall(instant: datetime, offset: timedelta) -> datetime:
    return (instant + offset).replace(tzinfo=None)


def _offset(zone: zoneinfo.ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset()


def _change(zone: zoneinfo.ZoneInfo, early: datetime, late: datetime) -> datetime:
    """The first second at which the offset differs from ``early``'s (one change between them)."""
    before, early, late = _offset(zone, early), int(early.timestamp()), int(late.timestamp())
    while late - early > 1:
        middle = (early + late) // 2
        if _offset(zone, datetime.fromtimestamp(middle, UTC)) == before:
            early = middle
        else:
            late = middle
    return datetime.fromtimestamp(late, UTC)


def local_times(key: str, start: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    """(local time, tz database offset): noon on every 1st and 15th, and either side of every change.

    Either side means the last minute before the skipped or repeated hour and the
    first minute after it: the times a client most easily gets wrong.
    """
    zone = zoneinfo.ZoneInfo(key)
    noons = []
    for month in range(start.year * 12, end.year * 12 + 12):
        for day in (1, 15):
            noon = datetime(month // 12, month % 12 + 1, day, 12, tzinfo=zone)
            if start <= noon < end and noon.utcoffset() == noon.replace(fold=1).utcoffset():
                noons.append(noon.astimezone(UTC))
    times = [(_wall(noon, _offset(zone, noon)), _offset(zone, noon)) for noon in noons]
    for early, late in pairwise(noons):
        if _offset(zone, early) != _offset(zone, late):
            change = _change(zone, early, late)
            before, after = _offset(zone, early), _offset(zone, change)
            times += [(_wall(change, min(before, after)) - MINUTE, before), (_wall(change, max(before, after)), after)]
    return times


def ical_js_offsets(zones: list[dict]) -> list[list[int]]:
    """The offsets ical.js gives each zone's local times, all zones in one node run."""
    assert (NODE_TOOLS / "node_modules" / "ical.js").is_dir(), "scripts/install --dev installs ical.js"
    done = subprocess.run(["node", "offsets.mjs"], cwd=NODE_TOOLS, input=json.dumps(zones), capture_output=True,
                          text=True, check=True, timeout=120)
    return json.loads(done.stdout)


def test_ical_js_reads_every_zone_as_the_tz_database_does_over_the_whole_window():
    now = datetime.now(UTC)
    start, end = timezones.window(now.year)
    assert start <= window_start(now)
    checks = {key: local_times(key, start, end) for key in ZONES}
    offsets = ical_js_offsets([
        {"vtimezone": timezones.vtimezone(key).to_ical().decode(),
         "times": [[t.year, t.month, t.day, t.hour, t.minute] for t, _ in checks[key]]}
        for key in ZONES])
    wrong = [f"{key} {local:%Y-%m-%d %H:%M}: ical.js {timedelta(seconds=got)}, tz database {expected}"
             for key, got_offsets in zip(ZONES, offsets, strict=True)
             for (local, expected), got in zip(checks[key], got_offsets, strict=True)
             if timedelta(seconds=got) != expected]
    assert not wrong, f"{len(wrong)} local times read wrongly, e.g.\n" + "\n".join(wrong[:20])


def test_no_vtimezone_uses_rdate():
    """Outlook ignores RDATE in a VTIMEZONE and ical.js reads only its first value."""
    assert [key for key in ZONES if b"RDATE" in timezones.vtimezone(key).to_ical()] == []
