"""Change and cancellation notices: several edits in the window make one notice, saying what stands now."""

from datetime import timedelta

from sqlalchemy import select

from mobilize.core.mail import built_attachments
from mobilize.core.models import utcnow
from mobilize.events import services as events
from mobilize.extensions import db
from mobilize.reminders import services
from mobilize.reminders.models import EventNotice
from tests.support.factories import outbox


def test_several_edits_within_the_window_make_one_notice_with_the_latest_place(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org)
    going = [rsvp_to(event), rsvp_to(event)]
    for venue in ("Hall A", "Hall B", "Hall C"):
        events.update_event(user.id, event.uuid, {"venue": venue})
    events.update_event(user.id, event.uuid, {"summary": "Bring a friend"})  # not significant

    assert db.session.scalars(select(EventNotice)).all().__len__() == 1
    assert services.send_due_notices(now=utcnow()) == 0  # still inside the coalescing window
    later = utcnow() + timedelta(minutes=11)
    assert services.send_due_notices(now=later) == 2
    assert services.send_due_notices(now=later) == 0

    for attendance in going:
        [mail] = outbox("notice:", to=attendance.person.email)
        assert mail.subject == f"Changed: {event.title} has a new time or place"
        assert "Hall C" in mail.text_body and "Hall A" not in mail.text_body
        assert attendance.manage_key  # the manage link is the attendance's own
        assert "SEQUENCE:3" in built_attachments(mail)[0]["content"]


def test_a_change_after_a_notice_went_out_gets_its_own_notice(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org)
    attendance = rsvp_to(event)
    events.update_event(user.id, event.uuid, {"venue": "Hall A"})
    services.send_due_notices(now=utcnow() + timedelta(minutes=11))
    events.cancel_event(user.id, event.uuid)
    services.send_due_notices(now=utcnow() + timedelta(minutes=11))

    mails = outbox("notice:", to=attendance.person.email)
    assert [m.subject for m in mails] == [f"Changed: {event.title} has a new time or place",
                                          f"Cancelled: {event.title}"]
    assert "has cancelled" in mails[1].text_body


def test_cancelled_attendances_hear_nothing_and_only_confirmed_ones_get_the_join_link(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, capacity=1, is_virtual=True, virtual_action_url="https://meet.example.org/flex",
                       venue="", address_line1="")
    confirmed, waitlisted, gone = rsvp_to(event), rsvp_to(event), rsvp_to(event)
    from mobilize.rsvps import services as rsvps
    rsvps.cancel_rsvp(gone.id)
    start = event.timeslots[0].start_at + timedelta(hours=1)
    events.update_event(user.id, event.uuid, {"timeslots": [
        {"uuid": event.timeslots[0].uuid, "start_at": start, "end_at": start + timedelta(hours=2), "capacity": 1}]})
    services.send_due_notices(now=utcnow() + timedelta(minutes=11))

    [to_confirmed] = outbox("notice:", to=confirmed.person.email)
    [to_waitlisted] = outbox("notice:", to=waitlisted.person.email)
    assert outbox("notice:", to=gone.person.email) == []
    assert "https://meet.example.org/flex" in to_confirmed.text_body
    assert "https://meet.example.org/flex" not in to_waitlisted.text_body + (to_waitlisted.html_body or "")
    assert "once you have a confirmed seat" in to_waitlisted.text_body
