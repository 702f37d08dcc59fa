"""The events page, event pages and the organizers' editor, through the real forms."""

import re
from datetime import timedelta

from sqlalchemy import select

from mobilize.core.models import utcnow
from mobilize.events import services
from mobilize.events.models import Event
from tests.support.session import login
from tests.support.web import submit


def editor_data(**overrides) -> dict:
    day = (utcnow() + timedelta(days=14)).date()
    data = {
        "title": "Town hall on flexible schedules", "summary": "Hear from working parents.",
        "description": "We meet at **7**.\n\n<script>alert('x')</script>", "event_type": "town_hall",
        "tags": "Parents, Schedules", "visibility": "public", "timezone": "America/Chicago",
        "timeslots-0-start_date": day.isoformat(), "timeslots-0-start_time": "19:00",
        "timeslots-0-end_time": "20:30", "timeslots-0-capacity": "40",
        "format": "in_person", "venue": "Library", "address_line1": "400 S State St", "locality": "Chicago",
        "region": "IL", "postal_code": "60605", "country": "US", "address_visibility": "public",
        "contact_name": "Dev", "contact_name_public": "y", "accessibility_status": "accessible",
        "allow_waitlist": "y", "max_guests": "2",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_organizer_creates_an_event_through_the_editor_and_it_is_listed(client, make):
    user, org = make.organizer()
    login(client, user)
    response = submit(client, f"/orgs/{org.slug}/events/new", editor_data())
    assert response.status_code == 302, response.get_data(as_text=True)
    event = services.public_event(response.headers["Location"].rsplit("/", 1)[1])
    assert event.title == "Town hall on flexible schedules" and event.timezone == "America/Chicago"
    assert [t.name for t in event.tags] == ["parents", "schedules"]
    slot = event.timeslots[0]
    assert slot.start_at.hour == 1 or slot.start_at.hour == 0  # 7 PM Chicago is 00:00 or 01:00 UTC next day
    assert slot.capacity == 40 and event.latitude is not None  # the ZIP code gave the coordinates
    assert "<script>" not in event.description_html and "<strong>7</strong>" in event.description_html

    page = client.get(f"/events/{event.uuid}").get_data(as_text=True)
    assert "Town hall on flexible schedules" in page and "7:00 PM – 8:30 PM C" in page
    assert "&lt;script&gt;" in page and "<script>alert" not in page
    listing = client.get("/events").get_data(as_text=True)
    assert f"/events/{event.uuid}" in listing


def test_editor_shows_clear_errors_and_stores_nothing(client, make, db):
    user, org = make.organizer()
    login(client, user)
    cases = [
        ({"timeslots-0-end_time": "18:00"}, "Ends before it starts."),
        ({"timezone": "Mars/Olympus_Mons"}, "is not an IANA time zone"),
        ({"timeslots-0-start_date": "not-a-date"}, "Not a valid date value."),
        ({"postal_code": "00000"}, "We do not know this US ZIP code."),
        ({"title": "  "}, "This field is required."),
        ({"featured_image_url": "javascript:alert(1)"}, "Enter a full web address starting with https://."),
        ({"featured_image_url": "http://images.example.org/a.jpg"}, "starting with https://"),
        ({"timeslots-0-capacity": "-5"}, "Number must be between 0 and 1000000."),
    ]
    for overrides, message in cases:
        response = submit(client, f"/orgs/{org.slug}/events/new", editor_data(**overrides))
        assert response.status_code == 422, overrides
        assert message in response.get_data(as_text=True), (overrides, message)
    assert db.session.scalar(select(Event.id)) is None


def test_a_five_megabyte_description_is_refused_with_a_clear_error(client, make):
    user, org = make.organizer()
    login(client, user)
    response = submit(client, f"/orgs/{org.slug}/events/new", editor_data(description="x" * 5_000_000))
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    long = submit(client, f"/orgs/{org.slug}/events/new", editor_data(description="x" * 30_000))
    assert long.status_code == 422 and "Field cannot be longer than 20000 characters." in long.get_data(as_text=True)


def test_add_another_time_keeps_what_was_typed(client, make):
    user, org = make.organizer()
    login(client, user)
    response = submit(client, f"/orgs/{org.slug}/events/new", editor_data(add_timeslot="1"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="timeslots-1-start_date"' in html
    assert 'value="Town hall on flexible schedules"' in html


def test_editing_the_time_raises_the_sequence_and_keeps_the_timeslot(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)
    slot_uuid = event.timeslots[0].uuid
    login(client, user)
    edit_url = f"/orgs/{org.slug}/events/{event.uuid}/edit"
    form = client.get(edit_url).get_data(as_text=True)
    assert f'value="{slot_uuid}"' in form and 'value="18:00"' in form
    day = services.active_timeslots(event)[0].local_date.isoformat()
    response = submit(client, edit_url, editor_data(**{
        "timeslots-0-uuid": str(slot_uuid), "timeslots-0-start_date": day, "timeslots-0-start_time": "17:00",
        "timeslots-0-end_time": "19:00", "timezone": "America/New_York", "postal_code": "10001",
        "locality": "New York", "region": "NY"}))
    assert response.status_code == 302, response.get_data(as_text=True)
    event = services.public_event(event.uuid)
    assert event.sequence == 1 and event.significant_change_at is not None
    assert [s.uuid for s in services.active_timeslots(event)] == [slot_uuid]


def test_cancelled_event_stays_visible_as_cancelled_and_deleted_one_is_gone(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)
    login(client, user)
    page = f"/events/{event.uuid}"
    assert submit(client, page, {}, action=f"/orgs/{org.slug}/events/{event.uuid}/cancel").status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "This event was cancelled" in html
    assert f"/events/{event.uuid}" not in client.get("/events").get_data(as_text=True)
    assert submit(client, f"/orgs/{org.slug}/events/{event.uuid}/edit", {},
                  action=f"/orgs/{org.slug}/events/{event.uuid}/delete").status_code == 302
    assert client.get(page).status_code == 404


def test_organizer_of_another_organization_cannot_see_or_change_the_editor(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org, visibility="private")
    intruder, other = make.organizer(org="Other")
    login(client, intruder)
    assert client.get(f"/orgs/{org.slug}/events").status_code == 403
    assert client.get(f"/orgs/{other.slug}/events/{event.uuid}/edit").status_code == 404
    assert client.get(f"/orgs/{org.slug}/events/{event.uuid}/edit").status_code == 403
    assert client.get(f"/events/{event.uuid}").status_code == 404  # private
    assert submit(client, f"/orgs/{other.slug}/events", {},
                  action=f"/orgs/{other.slug}/events/{event.uuid}/cancel").status_code == 404
    assert services.public_event(event.uuid, user.id).status == "confirmed"


def test_cohost_organizers_manage_the_event_from_their_own_organization(client, make, new_event, accept_cohosting):
    user, org = make.organizer()
    cohost_user, cohost = make.organizer(org="Cohost")
    event = new_event(user, org, cohosts=[cohost.slug])
    accept_cohosting(cohost_user, cohost)
    login(client, cohost_user)
    assert event.title in client.get(f"/orgs/{cohost.slug}/events").get_data(as_text=True)
    assert client.get(f"/orgs/{cohost.slug}/events/{event.uuid}/edit").status_code == 200
    page = client.get(f"/events/{event.uuid}").get_data(as_text=True)
    assert f"/orgs/{cohost.slug}/events/{event.uuid}/edit" in page


def test_event_page_hides_private_address_contact_and_join_link(client, make, new_event):
    user, org = make.organizer()
    in_person = new_event(user, org, address_visibility="private", contact_email_public=False,
                          contact_phone="555 0100", contact_phone_public=False)
    virtual = new_event(user, org, is_virtual=True, virtual_action_url="https://meet.example.org/secret-room",
                        virtual_instructions="Passcode 4242")
    html = client.get(f"/events/{in_person.uuid}").get_data(as_text=True)
    assert "1 Main St" not in html and "New York, NY" in html and "shared with people who RSVP" in html
    assert "olive@example.org" not in html and "555 0100" not in html and "Olive" in html
    html = client.get(f"/events/{virtual.uuid}").get_data(as_text=True)
    assert "secret-room" not in html and "4242" not in html and "Online" in html


def test_event_page_has_open_graph_tags_calendar_links_and_seat_counts(client, make, new_event, db):
    user, org = make.organizer()
    event = new_event(user, org, featured_image_url="https://images.example.org/rally.jpg")
    slot = event.timeslots[0]
    slot.seats_taken = 12
    db.session.commit()
    html = client.get(f"/events/{event.uuid}").get_data(as_text=True)
    assert '<meta property="og:title" content="Flex Friday meetup">' in html
    assert '<meta property="og:image" content="https://images.example.org/rally.jpg">' in html
    assert f'content="http://mobilize.test/events/{event.uuid}"' in html
    assert "12 going" in html and "18 seats left" in html
    assert "calendar.google.com/calendar/render?action=TEMPLATE" in html and "outlook.live.com" in html
    unlimited = new_event(user, org, timeslots=[{**services.copy_fields(event)["timeslots"][0], "capacity": None}])
    assert "Unlimited seats" in client.get(f"/events/{unlimited.uuid}").get_data(as_text=True)


def test_events_page_offers_its_feed_with_the_same_filters(client):
    page = client.get("/events?type=rally&tag=remote&mode=in_person").get_data(as_text=True)
    feed = re.search(r'href="webcal://[^/"]+(/[^"]+)"', page).group(1).replace("&amp;", "&")
    assert feed.startswith("/events.ics?") and all(
        part in feed for part in ("type=rally", "tag=remote", "mode=in_person"))
    assert "calendar.google.com/calendar/render?cid=webcal" in page and "outlook.live.com/calendar" in page
    assert client.get(feed).mimetype == "text/calendar"


def test_events_page_search_errors_are_shown_not_raised(client):
    for query in ("radius=-3&zipcode=10001", "zipcode=99999", "start_date=someday", "lat=abc&lng=1",
                  "page=99999", "type=%3Cscript%3E", "radius=1e400&zipcode=10001"):
        response = client.get(f"/events?{query}")
        assert response.status_code == 422, query
        assert 'role="alert"' in response.get_data(as_text=True)
        assert "<script>" not in response.get_data(as_text=True)
    for query in ("tag=%00", "org=%00%01", "zipcode=%20", "tag=" + "x" * 5000):
        assert client.get(f"/events?{query}").status_code == 200, query
