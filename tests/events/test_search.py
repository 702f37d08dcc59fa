"""Near-me search: ZIP codes, distances checked against known values, filters and their errors."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from mobilize.core.errors import Invalid
from mobilize.events import search
from mobilize.events.listing import EventFilters, filters_from_args, search_events


def test_haversine_matches_published_great_circle_distances():
    # New York City Hall to Los Angeles City Hall: 3,935.7 km / 2,445.6 mi on a 6,371 km sphere.
    assert search.haversine(40.7128, -74.0060, 34.0522, -118.2437, "km") == pytest.approx(3935.7, abs=1.0)
    assert search.haversine(40.7128, -74.0060, 34.0522, -118.2437, "mi") == pytest.approx(2445.6, abs=0.7)
    # London to Paris: 343.5 km.
    assert search.haversine(51.5074, -0.1278, 48.8566, 2.3522, "km") == pytest.approx(343.5, abs=0.5)
    # One degree of latitude is 111.19 km everywhere on the sphere.
    assert search.haversine(10, 20, 11, 20, "km") == pytest.approx(111.19, abs=0.01)
    assert search.haversine(40, -74, 40, -74) == 0


def test_zip_codes_resolve_offline_to_their_centre():
    found = search.zip_location("10001")
    assert (found["city"], found["state"], found["timezone"]) == ("New York", "NY", "America/New_York")
    assert found["latitude"] == pytest.approx(40.7484) and found["longitude"] == pytest.approx(-73.9967)
    assert search.zip_location("10001-1234")["city"] == "New York"
    for bad in ("00000", "1000", "abcde", "", "10001; DROP TABLE"):
        assert search.zip_location(bad) is None


def _destination(lat, lng, bearing, distance, unit="mi"):
    """The point ``distance`` away along ``bearing`` (the spherical direct formula)."""
    d, theta = distance / search.EARTH_RADIUS[unit], math.radians(bearing)
    phi1, lambda1 = math.radians(lat), math.radians(lng)
    phi2 = math.asin(math.sin(phi1) * math.cos(d) + math.cos(phi1) * math.sin(d) * math.cos(theta))
    lambda2 = lambda1 + math.atan2(math.sin(theta) * math.sin(d) * math.cos(phi1),
                                   math.cos(d) - math.sin(phi1) * math.sin(phi2))
    return math.degrees(phi2), math.degrees(lambda2)


def test_bounding_box_holds_every_point_of_the_circle():
    lat, lng, radius = 40.7484, -73.9967, 25
    min_lat, max_lat, min_lng, max_lng = search.bounding_box(lat, lng, radius, "mi")
    for bearing in range(0, 360, 1):
        point = _destination(lat, lng, bearing, radius * 0.99999)
        assert search.haversine(lat, lng, *point) == pytest.approx(radius * 0.99999)
        assert min_lat <= point[0] <= max_lat and min_lng <= point[1] <= max_lng
    # ...and is tight: the extreme points touch its edges.
    assert _destination(lat, lng, 0, radius)[0] == pytest.approx(max_lat)
    # Near a pole or across the antimeridian only latitude narrows the search.
    assert search.bounding_box(89.9, 0, 50, "km")[2:] == (None, None)
    assert search.bounding_box(0, 179.9, 50, "km")[2:] == (None, None)


def _at(make, org, lat, lng, title, **fields):
    return make.event(org, title=title, latitude=lat, longitude=lng, **fields)


def test_near_me_finds_events_within_the_radius_sorted_by_exact_distance(make):
    _, org = make.organizer()
    # From ZIP 10001 (40.7484, -73.9967): Hoboken 1.9 mi, Stamford 31.9 mi, Philadelphia 82.5 mi (132.8 km).
    _at(make, org, 39.9526, -75.1652, "Philadelphia")
    _at(make, org, 41.0534, -73.5387, "Stamford")
    _at(make, org, 40.7440, -74.0324, "Hoboken")
    page = search_events(filters_from_args({"zipcode": "10001", "radius": "50"}))
    assert [h.event.title for h in page.hits] == ["Hoboken", "Stamford"]
    for hit in page.hits:
        expected = search.haversine(40.7484, -73.9967, hit.event.latitude, hit.event.longitude, "mi")
        assert hit.distance == pytest.approx(expected, rel=1e-9)
    assert page.hits[0].distance == pytest.approx(1.89, abs=0.01)
    assert page.hits[1].distance == pytest.approx(31.88, abs=0.01)

    in_km = search_events(filters_from_args({"zipcode": "10001", "radius": "150", "unit": "km"}))
    assert [h.event.title for h in in_km.hits] == ["Hoboken", "Stamford", "Philadelphia"]
    assert in_km.hits[2].distance == pytest.approx(132.80, abs=0.01)


def test_near_me_by_coordinates_includes_virtual_events_after_nearby_ones(make):
    _, org = make.organizer()
    _at(make, org, 40.7440, -74.0324, "Hoboken")
    make.event(org, title="Webinar", is_virtual=True, latitude=None, longitude=None)
    _at(make, org, 34.05, -118.24, "Los Angeles")
    both = search_events(filters_from_args({"lat": "40.75", "lng": "-74.0", "radius": "10"}))
    assert [(h.event.title, h.distance is None) for h in both.hits] == [("Hoboken", False), ("Webinar", True)]
    in_person = search_events(filters_from_args({"lat": "40.75", "lng": "-74.0", "radius": "10", "mode": "in_person"}))
    assert [h.event.title for h in in_person.hits] == ["Hoboken"]


def test_listing_shows_upcoming_public_events_soonest_first_with_pages(make):
    _, org = make.organizer()
    now = datetime.now(UTC).replace(microsecond=0)
    for n in range(5):
        make.event(org, title=f"Event {n}", start=now + timedelta(days=5 - n))
    make.event(org, title="Past", start=now - timedelta(days=3))
    make.event(org, title="Unlisted", visibility="unlisted")
    make.event(org, title="Private", visibility="private")
    make.event(org, title="Cancelled", status="cancelled")
    make.event(org, title="Deleted", deleted_at=now)
    first = search_events(EventFilters(), per_page=3)
    assert [h.event.title for h in first.hits] == ["Event 4", "Event 3", "Event 2"] and first.has_next
    second = search_events(EventFilters(page=2), per_page=3)
    assert [h.event.title for h in second.hits] == ["Event 1", "Event 0"] and not second.has_next
    assert EventFilters(page=2).args() == {"page": 2}


def test_an_event_with_several_timeslots_is_listed_once_at_its_next_one(make):
    _, org = make.organizer()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=23)
    make.event(org, title="Weekly", start=start, slots=3)
    hits = search_events(EventFilters()).hits
    assert len(hits) == 1 and hits[0].next_start == start + timedelta(days=1)


def test_filters_by_type_tag_organization_and_mode(make, new_event, accept_cohosting):
    user, org = make.organizer()
    other_user, other = make.organizer(org="Parents")
    new_event(user, org, title="Rally", event_type="rally", tags=["Remote Work"])
    new_event(user, org, title="Phone bank", event_type="phone_bank", is_virtual=True, tags=["calls"])
    cohosted = new_event(other_user, other, title="Cohosted", cohosts=[org.slug], tags=[])
    accept_cohosting(user, org)

    def titles(**args):
        return sorted(h.event.title for h in search_events(filters_from_args(MultiDict(args))).hits)

    assert titles(type="rally") == ["Rally"]
    assert titles(tag="#remote work") == ["Rally"]
    assert titles(org=org.slug) == ["Cohosted", "Phone bank", "Rally"]
    assert titles(org=other.slug) == ["Cohosted"]
    assert titles(mode="virtual") == ["Phone bank"]
    assert titles(mode="in_person") == ["Cohosted", "Rally"]
    assert cohosted.cohosts == [org]


def test_date_range_means_the_calendar_day_where_the_event_happens(make, new_event):
    user, org = make.organizer()
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    # 9 PM Saturday in Los Angeles is Sunday in UTC; it is still a Saturday event.
    late = datetime(day.year, day.month, day.day, 21)
    new_event(user, org, title="LA evening", timezone="America/Los_Angeles", postal_code="90012",
              timeslots=[{"start_at": late, "end_at": late + timedelta(hours=2)}])
    new_event(user, org, title="NY next morning", timeslots=[
        {"start_at": late + timedelta(hours=12), "end_at": late + timedelta(hours=14)}])

    def titles(start, end):
        filters = filters_from_args({"start_date": start.isoformat(), "end_date": end.isoformat()})
        return [h.event.title for h in search_events(filters).hits]

    assert titles(day, day) == ["LA evening"]
    assert titles(day + timedelta(days=1), day + timedelta(days=1)) == ["NY next morning"]
    assert titles(day, day + timedelta(days=1)) == ["LA evening", "NY next morning"]


@pytest.mark.parametrize("args, field", [
    ({"radius": "-3", "zipcode": "10001"}, "radius"),
    ({"radius": "nan", "zipcode": "10001"}, "radius"),
    ({"radius": "1e9", "zipcode": "10001"}, "radius"),
    ({"zipcode": "99999"}, "zipcode"),
    ({"zipcode": "hello"}, "zipcode"),
    ({"lat": "91", "lng": "0"}, "lat"),
    ({"lat": "40"}, "lat"),
    ({"unit": "parsecs"}, "unit"),
    ({"start_date": "tomorrow"}, "start_date"),
    ({"start_date": "2026-12-05", "end_date": "2026-12-01"}, "end_date"),
    ({"type": "party"}, "type"),
    ({"mode": "teleport"}, "mode"),
    ({"page": "0"}, "page"),
    ({"page": "x"}, "page"),
])
def test_bad_search_input_names_the_field(args, field):
    with pytest.raises(Invalid) as error:
        filters_from_args(args)
    assert field in error.value.fields


def test_filters_round_trip_through_their_query_arguments():
    filters = filters_from_args(MultiDict([("type", "rally"), ("type", "canvass"), ("zipcode", "10001"),
                                           ("radius", "10"), ("unit", "km"), ("start_date", "2026-12-01"),
                                           ("mode", "in_person"), ("tag", "Flex"), ("page", "3")]))
    assert filters.place_name == "New York, NY"
    assert filters_from_args(MultiDict(filters.args())) == filters
