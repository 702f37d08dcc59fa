"""Writing, scheduling, editing and cancelling announcements: time zones, rules and races."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from mobilize.accounts.services import create_organization
from mobilize.announcements import services
from mobilize.core.errors import Conflict, Forbidden, Invalid, NotFound
from mobilize.core.models import utcnow
from mobilize.extensions import db

NEXT_YEAR = utcnow().year + 1


def test_send_time_is_entered_in_the_organizers_zone_and_stored_in_utc(make, announcements):
    user, org = make.organizer()
    summer = announcements.announcement(user, org, timezone="America/Los_Angeles",
                                        send_local=datetime(NEXT_YEAR, 7, 4, 9, 0))
    winter = announcements.announcement(user, org, timezone="Europe/Berlin",
                                        send_local=datetime(NEXT_YEAR, 1, 15, 18, 30))

    assert summer.send_at == datetime(NEXT_YEAR, 7, 4, 16, 0, tzinfo=UTC)  # PDT is UTC-7
    assert summer.timezone == "America/Los_Angeles"
    assert winter.send_at == datetime(NEXT_YEAR, 1, 15, 17, 30, tzinfo=UTC)  # CET is UTC+1


def test_a_time_skipped_by_daylight_saving_is_refused(make, announcements):
    user, org = make.organizer()
    spring_forward = next(datetime(NEXT_YEAR, 3, day, 2, 30) for day in range(8, 15)
                          if datetime(NEXT_YEAR, 3, day).weekday() == 6)
    with pytest.raises(Invalid) as error:
        announcements.announcement(user, org, timezone="America/New_York", send_local=spring_forward)
    assert "send_at" in error.value.fields


def test_unknown_time_zone_past_time_and_empty_fields_are_field_errors(make, announcements):
    user, org = make.organizer()
    with pytest.raises(Invalid) as error:
        announcements.announcement(user, org, subject=" ", body="", timezone="Mars/Olympus",
                                   send_local=datetime(NEXT_YEAR, 1, 1, 9, 0))
    assert set(error.value.fields) == {"subject", "body", "timezone"}

    with pytest.raises(Invalid) as error:
        announcements.announcement(user, org, send_local=datetime(2020, 1, 1, 9, 0))
    assert error.value.fields == {"send_at": "Choose a time in the future."}

    with pytest.raises(Invalid) as error:
        announcements.announcement(user, org, send_local=None)
    assert error.value.fields == {"send_at": "Choose when to send it."}


def test_a_draft_needs_no_send_time_and_is_never_sent(make, announcements, org_with_supporters):
    user, org, _ = org_with_supporters
    draft = announcements.announcement(user, org, schedule=False, send_local=None)
    assert draft.status == "draft"
    assert services.start_due_announcements(now=utcnow() + timedelta(days=365)) == 0
    assert announcements.outbox(draft) == []


def test_links_and_filters_must_be_the_organizations_own(make, announcements):
    user, org = make.organizer()
    other_user, other_org = make.organizer()
    their_event = make.event(other_org)
    with pytest.raises(Invalid) as error:
        announcements.announcement(user, org, about=f"event:{their_event.uuid}")
    assert "about" in error.value.fields
    with pytest.raises(Invalid) as error:
        announcements.announcement(user, org, about="event:not-a-uuid", near_postal_code="00000")
    assert set(error.value.fields) == {"about", "near_postal_code"}

    mine = make.event(org)
    linked = announcements.announcement(user, org, about=f"event:{mine.uuid}")
    assert linked.event_id == mine.id and linked.petition_id is None


def test_another_organizations_organizer_can_neither_see_nor_change_it(make, announcements):
    user, org = make.organizer()
    outsider, _ = make.organizer()
    announcement = announcements.announcement(user, org)
    draft = services.Draft(subject="Hijacked", body="x", timezone="UTC")

    with pytest.raises(Forbidden):
        services.organization_announcements(outsider.id, org.id)
    with pytest.raises(Forbidden):
        services.managed_announcement(outsider.id, org.id, announcement.uuid)
    with pytest.raises(Forbidden):
        services.create_announcement(outsider.id, org.id, draft, schedule=False)
    with pytest.raises(Forbidden):
        services.update_announcement(outsider.id, org.id, announcement.uuid, draft, schedule=False)
    with pytest.raises(Forbidden):
        services.cancel_announcement(outsider.id, org.id, announcement.uuid)
    with pytest.raises(Forbidden):
        services.create_announcement(None, org.id, draft, schedule=False)
    db.session.refresh(announcement)
    assert (announcement.subject, announcement.status) == ("Flex Friday is back", "scheduled")


def test_an_announcement_is_found_only_under_its_own_organization(make, announcements):
    user, org = make.organizer()
    second = create_organization(user.id, "Second Org")
    announcement = announcements.announcement(user, org)
    with pytest.raises(NotFound):
        services.managed_announcement(user.id, second.id, announcement.uuid)


def test_edit_reschedules_until_the_sweeper_claims_it_then_conflicts(make, announcements, org_with_supporters):
    user, org, _ = org_with_supporters
    announcement = announcements.announcement(user, org)
    later = services.Draft(subject="New subject", body="New body", timezone="Asia/Tokyo",
                           send_local=datetime(NEXT_YEAR, 5, 1, 8, 0))
    edited = services.update_announcement(user.id, org.id, announcement.uuid, later, schedule=True)
    assert (edited.subject, edited.send_at) == ("New subject", datetime(NEXT_YEAR, 4, 30, 23, 0, tzinfo=UTC))

    announcements.start(announcement)
    with pytest.raises(Conflict):
        services.update_announcement(user.id, org.id, announcement.uuid, later, schedule=True)
    with pytest.raises(Conflict):
        services.cancel_announcement(user.id, org.id, announcement.uuid)
    db.session.refresh(announcement)
    assert (announcement.status, announcement.subject) == ("sending", "New subject")


def test_a_cancelled_announcement_is_never_sent_and_cannot_be_edited(make, announcements, org_with_supporters):
    user, org, _ = org_with_supporters
    announcement = announcements.announcement(user, org)
    services.cancel_announcement(user.id, org.id, announcement.uuid)
    services.cancel_announcement(user.id, org.id, announcement.uuid)  # twice is harmless

    assert services.start_due_announcements(now=utcnow() + timedelta(days=2)) == 0
    with pytest.raises(Conflict):
        services.update_announcement(user.id, org.id, announcement.uuid,
                                     services.Draft(subject="x", body="y", timezone="UTC"), schedule=False)
    db.session.refresh(announcement)
    assert announcement.status == "cancelled" and announcement.cancelled_at is not None
    assert announcements.outbox(announcement) == []


def race_edit_against_sweep(app, user, org, announcement) -> dict:
    """Run an edit and a sweep at the same instant, in two threads with their own connections."""
    barrier = threading.Barrier(2)
    results = {}

    def edit():
        with app.app_context():
            barrier.wait()
            try:
                services.update_announcement(user.id, org.id, announcement.uuid, services.Draft(
                    subject=f"Edited {announcement.id}", body="Edited", timezone="UTC",
                    send_local=(utcnow() + timedelta(minutes=1)).replace(tzinfo=None)), schedule=True)
                results["edit"] = "saved"
            except Conflict:
                results["edit"] = "refused"
            finally:
                db.session.remove()

    def sweep():
        with app.app_context():
            barrier.wait()
            results["sweep"] = services.start_due_announcements(now=utcnow() + timedelta(hours=2))
            db.session.remove()

    threads = [threading.Thread(target=edit), threading.Thread(target=sweep)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_an_edit_racing_the_sweeper_either_lands_before_the_send_or_is_refused(app, make, announcements,
                                                                             org_with_supporters, batches_of):
    """Whatever the order, what is sent is what is stored: no edit is applied to a send in progress."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row-level concurrency is PostgreSQL's")
    batches_of(100)
    user, org, supporters = org_with_supporters
    for round_ in range(6):
        announcement = announcements.announcement(user, org, subject=f"Round {round_}")
        results = race_edit_against_sweep(app, user, org, announcement)
        db.session.refresh(announcement)
        assert results["sweep"] == 1  # the send time is due to this sweep either way
        assert results["edit"] in ("saved", "refused")
        assert announcement.status == "sending"
        announcements.send_all(announcement)
        assert {mail.subject for mail in announcements.outbox(announcement)} == {announcement.subject}
        assert len(announcements.outbox(announcement)) == len(supporters)
