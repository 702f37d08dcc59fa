"""Time zones by their IANA names: the ones an event, an announcement or an organization may take."""

from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from mobilize.core.errors import Invalid


@cache
def zone_names() -> frozenset[str]:
    """The tz database's zones and links, as tzdata lists them.

    Not the system's ``localtime`` (whatever the server is set to) nor ``Factory``
    (a placeholder zone): names a calendar elsewhere cannot read the same way.
    """
    names = resources.files("tzdata").joinpath("zones").read_text().split()
    return frozenset(names) - {"Factory"}


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    """The zone called ``name`` or Invalid; any name in the IANA database works."""
    name = (name or "").strip()
    if name not in zone_names():
        raise Invalid("Choose a time zone from the list, like America/New_York.",
                      {field: f"“{name[:64]}” is not an IANA time zone."})
    return ZoneInfo(name)
