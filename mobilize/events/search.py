"""Near-me search: US ZIP codes resolved offline, great-circle distances, and
the bounding box that lets the (latitude, longitude) index find candidates.
"""

import math
import re

import zipcodes
from sqlalchemy import case, func

from mobilize.core.errors import Invalid

# Mean Earth radius (IUGG), in each unit a supporter may choose.
EARTH_RADIUS = {"mi": 3958.7613, "km": 6371.0088}
UNITS = tuple(EARTH_RADIUS)
MAX_RADIUS = {"mi": 500.0, "km": 800.0}
US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def zip_location(code: str) -> dict | None:
    """The ZIP code's centre and details (city, state, timezone) from the bundled dataset, or None."""
    code = (code or "").strip()
    if not US_ZIP.match(code):
        return None
    matches = zipcodes.matching(code[:5])
    if not matches:
        return None
    found = matches[0]
    return {**found, "latitude": float(found["lat"]), "longitude": float(found["long"])}


def haversine(lat1: float, lng1: float, lat2: float, lng2: float, unit: str = "mi") -> float:
    """The great-circle distance between two points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS[unit] * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lng: float, radius: float, unit: str = "mi"):
    """(min_lat, max_lat, min_lng, max_lng) holding every point within ``radius``.

    The longitude bounds are None when the circle reaches a pole or crosses
    the antimeridian: then only the latitude range narrows the search.
    """
    angular = radius / EARTH_RADIUS[unit]
    min_lat, max_lat = lat - math.degrees(angular), lat + math.degrees(angular)
    if min_lat <= -90 or max_lat >= 90:
        return max(min_lat, -90.0), min(max_lat, 90.0), None, None
    dlng = math.degrees(math.asin(math.sin(angular) / math.cos(math.radians(lat))))
    min_lng, max_lng = lng - dlng, lng + dlng
    if min_lng < -180 or max_lng > 180:
        return min_lat, max_lat, None, None
    return min_lat, max_lat, min_lng, max_lng


def distance_sql(lat_column, lng_column, lat: float, lng: float, unit: str = "mi"):
    """The haversine distance as SQL (PostgreSQL, and SQLite's math functions)."""
    dphi = func.radians(lat_column - lat) / 2
    dlambda = func.radians(lng_column - lng) / 2
    a = func.power(func.sin(dphi), 2) + math.cos(math.radians(lat)) * func.cos(
        func.radians(lat_column)) * func.power(func.sin(dlambda), 2)
    return 2 * EARTH_RADIUS[unit] * func.asin(func.sqrt(case((a > 1.0, 1.0), else_=a)))


def check_coordinates(lat: float, lng: float, field: str = "location") -> None:
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):  # False for NaN too
        raise Invalid("Latitude must be between -90 and 90, longitude between -180 and 180.",
                      {field: "Coordinates out of range."})
