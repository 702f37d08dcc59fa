"""The RSVP pages and the organizers' attendee pages, through HTTP with real CSRF tokens."""

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mobilize.core.models import utcnow
from mobilize.extensions import db
from mobilize.rsvps import links
from mobilize.rsvps.models import Attendance
from tests.support.session import login
from tests.support.web import csrf_token_from, submit


def form_data(event, email="river@example.net", **extra):
    return {"given_name": "River", "family_name": "Song", "email": email, "postal_code": "62701",
            "timeslots": [str(event.timeslots[0].uuid)], "guests": "0", **extra}


def rsvp_page(event):
    return f"/events/{event.uuid}/rsvp"


def test_event_page_shows_the_rsvp_form_with_a_count_and_no_names(client, org_event, rsvp_to):
    _, _, event = org_event
    rsvp_to(event, "private.person@example.net", given_name="Zebulon", guests=1)
    page = client.get(f"/events/{event.uuid}?utm_source=flyer", headers={"Referer": "https://news.example/"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'action="/events/{event.uuid}/rsvp"' in html
    assert "<strong>2</strong> going" in html
    assert 'name="utm_source" type="hidden" value="flyer"' in html
    assert 'value="https://news.example/"' in html
    assert "Zebulon" not in html and "private.person" not in html


def test_rsvp_form_creates_the_rsvp_and_shows_the_outcome(client, org_event, rsvp_to):
    _, org, event = org_event
    response = submit(client, rsvp_page(event), form_data(event, opt_in="y", utm_source="flyer",
                                                          referrer="https://news.example/"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/rsvp/thanks")
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You’re going!" in thanks and "river@example.net" in thanks
    attendance = db.session.scalar(select(Attendance))
    assert (attendance.utm_source, attendance.referrer) == ("flyer", "https://news.example/")
    assert attendance.person.subscriptions[0].wording.startswith(f"Yes, {org.name} may email me")
    assert len(rsvp_to.outbox("rsvp-confirmation", to="river@example.net")) == 1


def test_rsvp_without_csrf_token_is_refused(client, org_event):
    _, _, event = org_event
    response = client.post(rsvp_page(event), data=form_data(event))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


@pytest.mark.parametrize("change, message", [
    ({"email": "nope"}, "valid email"),
    ({"guests": "9"}, "Not a valid choice"),
    ({"timeslots": []}, "Choose at least one time"),
    ({"given_name": ""}, "This field is required"),
])
def test_bad_rsvp_input_is_shown_on_the_form_and_stores_nothing(client, make, change, message):
    _, org = make.organizer()
    event = make.event(org, slots=2)
    response = submit(client, rsvp_page(event), {**form_data(event), **change})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_timeslot_of_another_event_is_a_form_error(client, make):
    _, org = make.organizer()
    event, other = make.event(org, slots=2), make.event(org, title="Other")
    response = submit(client, rsvp_page(event), form_data(event, timeslots=[str(other.timeslots[0].uuid)]))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_full_event_without_waitlist_says_so(client, make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1, allow_waitlist=False)
    rsvp_to(event)
    response = submit(client, rsvp_page(event), form_data(event))
    assert response.status_code == 409
    assert "is full" in response.get_data(as_text=True)


def test_waitlisted_rsvp_sees_its_position(client, make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1)
    rsvp_to(event)
    response = submit(client, rsvp_page(event), form_data(event), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "You’re on the waitlist" in html and "Waitlist #1" in html


def test_rsvp_posts_are_rate_limited(app, client, org_event):
    _, _, event = org_event
    app.config["RSVP_RATE_LIMIT"] = "2/minute"
    try:
        codes = [submit(client, rsvp_page(event), form_data(event, email=f"r{n}@example.net")).status_code
                 for n in range(3)]
    finally:
        app.config["RSVP_RATE_LIMIT"] = "20/minute;100/hour"
    assert codes == [302, 302, 429]


# ------------------------------------------------------------------ the manage link

def manage_path(attendance):
    return f"/rsvp/{links.manage_token(attendance)}"


def test_manage_page_shows_private_details_only_to_confirmed_attendees(client, make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1, is_virtual=True, virtual_action_url="https://meet.example/secret-room")
    confirmed, waiting = rsvp_to(event), rsvp_to(event)
    page = client.get(manage_path(confirmed))
    assert "https://meet.example/secret-room" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    waiting_html = client.get(manage_path(waiting)).get_data(as_text=True)
    assert "secret-room" not in waiting_html and "Waitlist #1" in waiting_html


def test_manage_page_changes_guests_and_cancel_frees_the_seat(client, make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=3)
    attendance = rsvp_to(event)
    path = manage_path(attendance)
    response = submit(client, path, {"timeslots": [str(event.timeslots[0].uuid)], "guests": "2"})
    assert response.status_code == 302
    db.session.refresh(event.timeslots[0])
    assert event.timeslots[0].seats_taken == 3
    response = submit(client, path, {}, action=f"{path}/cancel", follow_redirects=True)
    assert "Your RSVP is cancelled" in response.get_data(as_text=True)
    db.session.refresh(event.timeslots[0])
    assert event.timeslots[0].seats_taken == 0


def test_forged_manage_token_gets_a_clear_404_and_changes_nothing(client, org_event, rsvp_to):
    _, _, event = org_event
    attendance = rsvp_to(event)
    token = links.manage_token(attendance)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    page = client.get(f"/rsvp/{forged}")
    assert page.status_code == 404 and "newest link" in page.get_data(as_text=True)
    good = client.get(f"/rsvp/{token}").get_data(as_text=True)
    response = client.post(f"/rsvp/{forged}/cancel", data={"csrf_token": csrf_token_from(good)})
    assert response.status_code == 404
    db.session.refresh(attendance)
    assert attendance.status == "confirmed"


def test_new_link_revokes_the_old_one(client, org_event, rsvp_to):
    _, _, event = org_event
    attendance = rsvp_to(event)
    path = manage_path(attendance)
    assert submit(client, path, {}, action=f"{path}/new-link").status_code == 302
    assert client.get(path).status_code == 404
    db.session.refresh(attendance)
    assert client.get(manage_path(attendance)).status_code == 200


def test_manage_page_links_the_personal_calendar_feed_and_replaces_it(client, org_event, rsvp_to):
    _, _, event = org_event
    attendance = rsvp_to(event)
    path = manage_path(attendance)
    page = client.get(path).get_data(as_text=True)
    assert "Subscribe to your events" in page
    feed = re.search(r'href="webcal://localhost(/calendar/me/[^"]+\.ics)"', page).group(1)
    assert "https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2Flocalhost%2Fcalendar%2Fme%2F" in page
    assert client.get(feed).status_code == 200
    assert submit(client, path, {}, action=f"{path}/calendar-link").status_code == 302
    assert client.get(feed).status_code == 404


# ------------------------------------------------------------------ organizers

def attendees_path(org, event):
    return f"/orgs/{org.slug}/events/{event.uuid}/attendees"


def test_attendee_list_needs_an_organizer_of_the_event(client, make, org_event, rsvp_to):
    user, org, event = org_event
    rsvp_to(event, "hidden@example.net")
    assert client.get(attendees_path(org, event)).status_code == 302
    stranger, other_org = make.organizer(org="Elsewhere")
    login(client, stranger)
    assert client.get(attendees_path(other_org, event)).status_code == 404
    assert client.get(attendees_path(org, event)).status_code == 403
    assert client.get(attendees_path(org, event) + ".csv").status_code == 403


def test_attendee_list_shows_status_contact_and_filters(client, make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, capacity=1)
    rsvp_to(event, "first@example.net", given_name="Fay", utm={"utm_source": "flyer"})
    rsvp_to(event, "second@example.net", given_name="Gus")
    login(client, user)
    html = client.get(attendees_path(org, event)).get_data(as_text=True)
    assert "first@example.net" in html and "Waitlist #1" in html and "flyer" in html
    filtered = client.get(attendees_path(org, event) + "?status=waitlisted").get_data(as_text=True)
    assert "second@example.net" in filtered and "first@example.net" not in filtered
    searched = client.get(attendees_path(org, event) + "?q=FAY").get_data(as_text=True)
    assert "first@example.net" in searched and "second@example.net" not in searched


def test_organizer_cancel_promotes_and_capacity_below_confirmed_is_explained(client, make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, capacity=2)
    first = rsvp_to(event, guests=1)
    waiting = rsvp_to(event)
    login(client, user)
    page = attendees_path(org, event)
    response = submit(client, page, {f"s{event.timeslots[0].id}-capacity": "1"},
                      action=f"/orgs/{org.slug}/events/{event.uuid}/timeslots/{event.timeslots[0].uuid}/capacity",
                      follow_redirects=True)
    assert "cannot go below 2" in response.get_data(as_text=True)
    response = submit(client, page, {"timeslot": str(event.timeslots[0].uuid)},
                      action=f"{page}/{first.uuid}/cancel", follow_redirects=True)
    assert "Cancelled." in response.get_data(as_text=True)
    db.session.refresh(first)
    db.session.refresh(waiting)
    assert first.status == "cancelled" and waiting.status == "confirmed"


def test_organizer_marks_attended_after_the_start(client, make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, start=utcnow() - timedelta(minutes=30))
    attendance = rsvp_to(event)
    login(client, user)
    page = attendees_path(org, event)
    submit(client, page, {"attended": "no"}, action=f"{page}/{attendance.uuid}/attended")
    db.session.refresh(attendance)
    assert attendance.attended is False


def test_csv_export_streams_every_row_and_defuses_formulas(client, make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, capacity=1)
    rsvp_to(event, "calc@example.net", given_name="=HYPERLINK(\"http://evil\")", guests=0)
    rsvp_to(event, "wait@example.net", given_name="Wanda")
    login(client, user)
    response = client.get(attendees_path(org, event) + ".csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert re.match(r'attachment; filename="attendees-\w+-[\d-]+\.csv"', response.headers["Content-Disposition"])
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["email"], r["status"], r["waitlist_position"]) for r in rows] == [
        ("calc@example.net", "confirmed", ""), ("wait@example.net", "waitlisted", "1")]
    assert rows[0]["given_name"].startswith("'=")


def test_rsvp_page_offers_every_upcoming_time(client, make):
    _, org = make.organizer()
    event = make.event(org, slots=3)
    html = client.get(rsvp_page(event)).get_data(as_text=True)
    assert all(str(slot.uuid) in html for slot in event.timeslots)


def test_private_event_takes_no_rsvps_from_the_public(client, make):
    user, org = make.organizer()
    event = make.event(org, visibility="private")
    assert client.get(rsvp_page(event)).status_code == 404
    login(client, user)
    assert client.get(rsvp_page(event)).status_code == 200
