"""The organizers' announcement pages and the unsubscribe page, through the real forms."""

from datetime import datetime

import pytest
from flask import current_app
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from mobilize.announcements.models import Announcement
from mobilize.core import mail
from mobilize.core.models import utcnow
from mobilize.extensions import db
from mobilize.people.models import Subscription
from tests.announcements.conftest import unsubscribe_token
from tests.support.session import login
from tests.support.web import submit

NEXT_YEAR = utcnow().year + 1


def form_data(**overrides) -> dict:
    data = {"subject": "Flex Friday is back", "body": "Join us **Friday**.\n\n<script>alert(1)</script>",
            "about": "", "send_at": f"{NEXT_YEAR}-03-20T09:30", "timezone": "America/Chicago",
            "near_postal_code": "", "radius_miles": "25", "attended_event": "", "signed_petition": ""}
    data.update(overrides)
    return data


def only_announcement() -> Announcement:
    return db.session.scalars(select(Announcement)).one()


def test_organizer_schedules_an_announcement_in_their_time_zone(client, make, announcements):
    user, org = make.organizer()
    announcements.supporters(org, 3)
    event = make.event(org, title="Flex Friday")
    login(client, user)

    response = submit(client, f"/orgs/{org.slug}/announcements/new", form_data(about=f"event:{event.uuid}"))

    assert response.status_code == 302, response.get_data(as_text=True)
    announcement = only_announcement()
    assert announcement.status == "scheduled" and announcement.event_id == event.id
    assert announcement.send_at == datetime(NEXT_YEAR, 3, 20, 14, 30, tzinfo=announcement.send_at.tzinfo)  # CDT
    assert "<strong>Friday</strong>" in announcement.body_html and "<script>" not in announcement.body_html
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "9:30 AM CDT" in preview and "Scheduled for" in preview
    assert "<strong>3</strong> supporters match" in preview and "RSVP" in preview
    assert "<script>alert" not in preview
    listing = client.get(f"/orgs/{org.slug}/announcements").get_data(as_text=True)
    assert "Flex Friday is back" in listing and "Scheduled" in listing

    edit_page = client.get(f"/orgs/{org.slug}/announcements/{announcement.uuid}/edit").get_data(as_text=True)
    assert f'value="{NEXT_YEAR}-03-20T09:30"' in edit_page and 'value="America/Chicago"' in edit_page


def test_save_as_draft_then_schedule_after_editing(client, make):
    user, org = make.organizer()
    login(client, user)
    response = submit(client, f"/orgs/{org.slug}/announcements/new", form_data(send_at="", draft="1"))
    assert response.status_code == 302
    announcement = only_announcement()
    assert announcement.status == "draft" and announcement.send_at is None

    url = f"/orgs/{org.slug}/announcements/{announcement.uuid}/edit"
    response = submit(client, url, form_data(subject="Flex Friday, for real", timezone="Europe/London"))
    assert response.status_code == 302
    db.session.refresh(announcement)
    assert (announcement.status, announcement.subject) == ("scheduled", "Flex Friday, for real")
    assert announcement.send_at.hour == 9  # 09:30 in London in March (GMT) is 09:30 UTC


def test_form_errors_are_shown_and_nothing_is_stored(client, make):
    user, org = make.organizer()
    login(client, user)
    cases = [
        ({"timezone": "Mars/Olympus"}, "is not an IANA time zone"),
        ({"send_at": "2020-01-01T09:00"}, "Choose a time in the future."),
        ({"send_at": "tomorrow"}, "Not a valid datetime value."),
        ({"near_postal_code": "00000"}, "Enter a US ZIP code"),
        ({"near_postal_code": "62701", "radius_miles": "9000"}, "Number must be between 1 and 500."),
        ({"subject": " "}, "Write a subject line."),
        ({"about": "petition:5"}, "Choose one of your petitions."),
    ]
    for overrides, message in cases:
        response = submit(client, f"/orgs/{org.slug}/announcements/new", form_data(**overrides))
        assert response.status_code == 422, overrides
        assert message in response.get_data(as_text=True), overrides
    assert db.session.scalars(select(Announcement)).all() == []


def test_organizer_cancels_from_the_preview(client, make, announcements):
    user, org = make.organizer()
    announcement = announcements.announcement(user, org)
    login(client, user)
    url = f"/orgs/{org.slug}/announcements/{announcement.uuid}"
    response = submit(client, url, {}, action=url + "/cancel")
    assert response.status_code == 302
    db.session.refresh(announcement)
    assert announcement.status == "cancelled"
    page = client.get(url).get_data(as_text=True)
    assert "Cancelled" in page and f"{announcement.uuid}/edit" not in page


def test_a_send_in_progress_cannot_be_edited_from_the_page(client, make, announcements):
    user, org = make.organizer()
    announcement = announcements.start(announcements.announcement(user, org))
    login(client, user)
    response = client.get(f"/orgs/{org.slug}/announcements/{announcement.uuid}/edit")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "can no longer be changed" in page


@pytest.mark.parametrize("path", ["", "/new", "/{uuid}", "/{uuid}/edit"])
def test_another_organizations_organizer_gets_403(client, make, announcements, path):
    user, org = make.organizer()
    outsider, _ = make.organizer()
    announcement = announcements.announcement(user, org)
    login(client, outsider)
    response = client.get(f"/orgs/{org.slug}/announcements" + path.format(uuid=announcement.uuid))
    assert response.status_code == 403


def test_another_organizations_organizer_cannot_cancel(client, make, announcements):
    user, org = make.organizer()
    outsider, other_org = make.organizer()
    announcement = announcements.announcement(user, org)
    login(client, outsider)
    response = submit(client, f"/orgs/{other_org.slug}/announcements", {},
                      action=f"/orgs/{org.slug}/announcements/{announcement.uuid}/cancel")
    assert response.status_code == 403
    db.session.refresh(announcement)
    assert announcement.status == "scheduled"


def test_logged_out_visitors_are_sent_to_log_in(client, make):
    _, org = make.organizer()
    response = client.get(f"/orgs/{org.slug}/announcements")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def subscription_of(person, org) -> Subscription:
    return db.session.scalars(select(Subscription).where(
        Subscription.person_id == person.id, Subscription.organization_id == org.id)).one()


def test_one_click_unsubscribe_works_without_a_csrf_token(client, make, announcements):
    """RFC 8058: the mail client POSTs List-Unsubscribe=One-Click with no cookies and no token."""
    _, org = make.organizer()
    (fan,) = announcements.supporters(org, 1)
    token = unsubscribe_token(fan, org)

    response = client.post(f"/unsubscribe/{token}", data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    assert subscription_of(fan, org).unsubscribed_at is not None
    again = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200


def test_unsubscribe_page_asks_first_and_its_button_needs_the_csrf_token(client, make, announcements):
    _, org = make.organizer()
    (fan,) = announcements.supporters(org, 1)
    url = f"/unsubscribe/{unsubscribe_token(fan, org)}"

    page = client.get(url).get_data(as_text=True)
    assert f"Unsubscribe from {org.name}?" in page and fan.email not in page
    assert subscription_of(fan, org).unsubscribed_at is None  # GET (a link scanner) changes nothing

    assert client.post(url, data={}).status_code == 400  # a cross-site form post without the token
    assert subscription_of(fan, org).unsubscribed_at is None

    response = submit(client, url, {})
    assert response.status_code == 302
    assert subscription_of(fan, org).unsubscribed_at is not None
    assert "You’re unsubscribed" in client.get(url).get_data(as_text=True)


def test_a_tampered_or_foreign_unsubscribe_link_is_refused(client, make, announcements):
    _, org = make.organizer()
    _, other_org = make.organizer()
    (fan,) = announcements.supporters(org, 1)
    token = unsubscribe_token(fan, org)
    no_such_opt_in = mail.unsubscribe_token(10**9)
    not_subscribed_there = _legacy_token(fan, other_org)

    # A changed character inside the signature (the last base64 character carries unused bits).
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    for bad in (tampered, "nonsense", no_such_opt_in, not_subscribed_there):
        assert client.get(f"/unsubscribe/{bad}").status_code == 404
        assert client.post(f"/unsubscribe/{bad}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert subscription_of(fan, org).unsubscribed_at is None


def _legacy_token(person, org) -> str:
    """The link announcements carried before every bulk mail had one: it never expires, so it still works."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="announcement-unsubscribe").dumps(
        [person.uuid.hex, org.id])


def test_links_in_mail_sent_before_keep_working(client, make, announcements):
    _, org = make.organizer()
    (fan,) = announcements.supporters(org, 1)
    response = client.post(f"/unsubscribe/{_legacy_token(fan, org)}", data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert subscription_of(fan, org).unsubscribed_at is not None
