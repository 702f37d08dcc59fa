"""Event rules: time zones across DST, significant changes, co-hosts, authorization."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from mobilize.core.errors import Forbidden, Invalid, NotFound
from mobilize.core.signals import event_changed_significantly
from mobilize.events import services, times
from mobilize.events.models import Tag, Timeslot
from tests.support.factories import event_fields


def test_times_are_shown_in_the_events_zone_with_its_abbreviation():
    instant = datetime(2026, 12, 5, 23, 0, tzinfo=UTC)
    assert times.format_when(instant, "America/New_York", today=date(2026, 11, 1)) == "Sat 5 Dec, 6:00 PM EST"
    assert times.format_when(instant, "Europe/London", today=date(2025, 1, 1)) == "Sat 5 Dec 2026, 11:00 PM GMT"
    assert times.format_range(instant, instant + timedelta(hours=2), "America/Los_Angeles",
                              today=date(2026, 1, 1)) == "Sat 5 Dec, 3:00 PM – 5:00 PM PST"


def test_wall_times_across_the_november_dst_change_in_new_york():
    tz = times.zone("America/New_York")
    # The Saturday before the change is EDT (UTC-4); the Sunday after is EST (UTC-5).
    before = times.to_utc(datetime(2026, 10, 31, 18, 0), tz)
    after = times.to_utc(datetime(2026, 11, 1, 18, 0), tz)
    assert before == datetime(2026, 10, 31, 22, 0, tzinfo=UTC)
    assert after == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
    assert after - before == timedelta(hours=25)
    # 1:30 AM happens twice on 1 Nov: the first (EDT) one is meant.
    assert times.to_utc(datetime(2026, 11, 1, 1, 30), tz) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # 2:30 AM on 8 March 2026 never happens.
    with pytest.raises(Invalid) as error:
        times.to_utc(datetime(2026, 3, 8, 2, 30), tz)
    assert "clocks move forward" in next(iter(error.value.fields.values()))


def test_events_on_both_sides_of_the_change_keep_their_local_time(make, new_event):
    user, org = make.organizer()
    slots = [{"start_at": datetime(2026, 10, 31, 18), "end_at": datetime(2026, 10, 31, 20)},
             {"start_at": datetime(2026, 11, 1, 18), "end_at": datetime(2026, 11, 1, 20)}]
    event = new_event(user, org, timeslots=slots)
    shown = [times.format_range(s.start_at, s.end_at, event.timezone, today=date(2026, 1, 1))
             for s in event.timeslots]
    assert shown == ["Sat 31 Oct, 6:00 PM – 8:00 PM EDT", "Sun 1 Nov, 6:00 PM – 8:00 PM EST"]
    assert [s.local_date for s in event.timeslots] == [date(2026, 10, 31), date(2026, 11, 1)]
    # A slot spanning the change lasts one hour more than its wall clock says.
    overnight = new_event(user, org, timeslots=[{"start_at": datetime(2026, 10, 31, 23),
                                                  "end_at": datetime(2026, 11, 1, 3)}])
    slot = overnight.timeslots[0]
    assert slot.end_at - slot.start_at == timedelta(hours=5)
    assert times.format_range(slot.start_at, slot.end_at, "America/New_York", today=date(2026, 1, 1)) == \
        "Sat 31 Oct, 11:00 PM EDT – Sun 1 Nov, 3:00 AM EST"


def test_any_iana_zone_is_accepted_and_anything_else_refused(make, new_event):
    user, org = make.organizer()
    for zone in ("Asia/Kathmandu", "Pacific/Chatham", "America/Argentina/Ushuaia", "UTC"):
        assert new_event(user, org, timezone=zone).timezone == zone
    for bad in ("EST5EDTX", "Mars/Base", "", "America/New_York\x00", "../../etc/passwd"):
        with pytest.raises(Invalid) as error:
            new_event(user, org, timezone=bad)
        assert "timezone" in error.value.fields


def test_changing_the_zone_moves_the_local_dates(make, new_event, db):
    user, org = make.organizer()
    slot = {"start_at": datetime(2026, 12, 5, 22), "end_at": datetime(2026, 12, 5, 23)}
    event = new_event(user, org, timeslots=[slot])
    assert event.timeslots[0].local_date == date(2026, 12, 5)
    services.update_event(user.id, event.uuid, {"timezone": "Asia/Tokyo"})
    db.session.expire_all()
    assert db.session.scalar(select(Timeslot.local_date)) == date(2026, 12, 6)


@pytest.fixture
def significant_changes():
    """The event ids the event_changed_significantly signal was sent for, while the test runs."""
    called = []
    with event_changed_significantly.connected_to(called.append):
        yield called


def test_time_and_place_changes_raise_the_sequence_and_call_the_hooks(make, new_event, significant_changes):
    user, org = make.organizer()
    event = new_event(user, org)
    called = significant_changes
    slot = services.active_timeslots(event)[0]

    services.update_event(user.id, event.uuid, {"title": "New title", "description": "More words", "tags": ["x"]})
    assert (event.sequence, called) == (0, [])

    later = {"uuid": slot.uuid, "start_at": slot.start_at + timedelta(hours=1), "end_at": slot.end_at, "capacity": 30}
    services.update_event(user.id, event.uuid, {"timeslots": [later]})
    assert (event.sequence, called) == (1, [event.id]) and event.significant_change_at is not None

    services.update_event(user.id, event.uuid, {"venue": "Another hall"})
    assert event.sequence == 2
    services.update_event(user.id, event.uuid, {"timeslots": [later, {"start_at": slot.start_at + timedelta(days=7),
                                                                      "end_at": slot.end_at + timedelta(days=7)}]})
    assert event.sequence == 3 and len(services.active_timeslots(event)) == 2

    services.cancel_event(user.id, event.uuid)
    services.cancel_event(user.id, event.uuid)  # twice: nothing more
    assert (event.status, event.sequence, called) == ("cancelled", 4, [event.id] * 4)


def test_a_failing_hook_rolls_the_change_back(make, new_event, db):
    user, org = make.organizer()
    event = new_event(user, org)

    def broken(event_id):
        raise RuntimeError("notifier down")

    with event_changed_significantly.connected_to(broken), pytest.raises(RuntimeError):
        services.update_event(user.id, event.uuid, {"venue": "Elsewhere"})
    db.session.expire_all()
    fresh = services.public_event(event.uuid)
    assert (fresh.venue, fresh.sequence) == ("Union Hall", 0)


def test_removed_timeslots_are_kept_as_deleted_rows(make, new_event, db):
    user, org = make.organizer()
    start = datetime(2027, 1, 9, 10)
    event = new_event(user, org, timeslots=[
        {"start_at": start + timedelta(days=n), "end_at": start + timedelta(days=n, hours=1)} for n in (0, 1)])
    keep = services.active_timeslots(event)[0]
    services.update_event(user.id, event.uuid, {"timeslots": [{"uuid": keep.uuid, "start_at": keep.start_at,
                                                               "end_at": keep.end_at}]})
    assert [s.uuid for s in services.active_timeslots(event)] == [keep.uuid]
    assert db.session.scalar(select(Timeslot).where(Timeslot.deleted_at.is_not(None))) is not None


def test_cohosts_manage_but_only_the_host_deletes_or_changes_cohosts(make, new_event, accept_cohosting):
    user, org = make.organizer()
    cohost_user, cohost = make.organizer(org="Cohost")
    stranger, _ = make.organizer(org="Stranger")
    event = new_event(user, org, cohosts=[cohost.slug, org.slug])
    accept_cohosting(cohost_user, cohost)
    assert event.cohosts == [cohost]  # the host is not its own co-host
    assert services.update_event(cohost_user.id, event.uuid, {"cohosts": [cohost.slug]}).cohosts == [cohost]
    assert services.update_event(cohost_user.id, event.uuid, {"title": "Better"}).title == "Better"
    with pytest.raises(Forbidden):
        services.update_event(cohost_user.id, event.uuid, {"cohosts": []})
    with pytest.raises(Forbidden):
        services.delete_event(cohost_user.id, event.uuid)
    for action in (lambda: services.update_event(stranger.id, event.uuid, {"title": "Mine"}),
                   lambda: services.cancel_event(stranger.id, event.uuid),
                   lambda: services.delete_event(stranger.id, event.uuid)):
        with pytest.raises(NotFound):
            action()
    with pytest.raises(Forbidden):
        services.create_event(stranger.id, org.id, event_fields())
    assert services.cancel_event(cohost_user.id, event.uuid).status == "cancelled"


def test_unknown_cohost_and_tag_limits_are_field_errors(make, new_event):
    user, org = make.organizer()
    with pytest.raises(Invalid) as error:
        new_event(user, org, cohosts=["no-such-org"])
    assert "cohosts" in error.value.fields
    with pytest.raises(Invalid):
        new_event(user, org, tags=[f"t{n}" for n in range(11)])


def test_tags_are_shared_and_normalized(make, new_event, db):
    user, org = make.organizer()
    new_event(user, org, tags=["Remote  Work", "#remote work", "Parents"])
    new_event(user, org, tags=["parents"])
    assert sorted(db.session.scalars(select(Tag.name))) == ["parents", "remote work"]


def test_html_and_script_are_escaped_or_removed(make, new_event):
    user, org = make.organizer()
    event = new_event(user, org, title="<b>Bold</b> move", description=(
        "Hi <img src=x onerror=alert(1)> [click](javascript:alert(1)) <a href='https://x.org' onclick='e()'>x</a>"))
    assert event.title == "<b>Bold</b> move"  # plain text: escaped wherever it is shown
    html = event.description_html
    assert "<img" not in html and "<a href='https" not in html and 'href="javascript' not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown as the text that was typed


def test_in_person_events_need_a_findable_place(make, new_event):
    user, org = make.organizer()
    with pytest.raises(Invalid) as error:
        new_event(user, org, postal_code="", latitude=None)
    assert "postal_code" in error.value.fields
    abroad = new_event(user, org, country="GB", postal_code="SW1A 1AA", latitude=51.501, longitude=-0.142,
                       timezone="Europe/London")
    assert abroad.latitude == 51.501
    online = new_event(user, org, is_virtual=True, postal_code="", virtual_action_url="https://meet.example.org/x")
    assert online.is_virtual


def test_duplicating_copies_everything_but_identity(make, new_event):
    user, org = make.organizer()
    event = new_event(user, org, tags=["a", "b"])
    copy = services.create_event(user.id, org.id, services.copy_fields(event))
    assert copy.uuid != event.uuid and copy.title == event.title and [t.name for t in copy.tags] == ["a", "b"]
    assert [(s.start_at, s.capacity) for s in copy.timeslots] == [(s.start_at, s.capacity) for s in event.timeslots]
    assert copy.timeslots[0].uuid != event.timeslots[0].uuid and copy.sequence == 0


def test_a_new_zip_code_moves_the_event_on_the_map(make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)  # 10001, Manhattan
    services.update_event(user.id, event.uuid, {"postal_code": "90012", "latitude": event.latitude,
                                                "longitude": event.longitude, "locality": "Los Angeles"})
    assert (round(event.latitude, 2), round(event.longitude, 2)) == (34.06, -118.24)
    assert event.sequence == 1
