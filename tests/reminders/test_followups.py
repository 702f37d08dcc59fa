"""After the event: attendees are thanked and pointed onward; organizers are asked to mark attendance."""

from datetime import timedelta

from mobilize.core.models import utcnow
from mobilize.extensions import db
from mobilize.reminders import services
from mobilize.rsvps import services as rsvps
from tests.support.factories import outbox


def _end(event, hours_ago: float) -> None:
    for slot in event.timeslots:
        slot.end_at = utcnow() - timedelta(hours=hours_ago)
        slot.start_at = slot.end_at - timedelta(hours=2)
    db.session.commit()


def test_after_the_event_attendees_are_thanked_and_organizers_asked_once(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, title="Flex Friday meetup")
    next_event = make.event(org, title="Town hall on flexible hours", start=utcnow() + timedelta(days=9))
    came, cancelled = rsvp_to(event), rsvp_to(event)
    rsvps.cancel_rsvp(cancelled.id)
    _end(event, hours_ago=1)

    assert services.send_followups() == 2
    assert services.send_followups() == 0

    [thanks] = outbox("followup:", to=came.person.email)
    assert thanks.subject == "Thank you for coming to Flex Friday meetup"
    assert next_event.title in thanks.text_body
    assert outbox("followup:", to=cancelled.person.email) == []
    [ask] = outbox("followup-organizer:", to=user.email)
    assert "Mark attendance" in ask.subject and "1 person had a confirmed seat" in ask.text_body
    assert f"/events/{event.uuid}/attendees" in ask.text_body


def test_events_long_over_or_not_yet_over_get_no_followup(make, rsvp_to):
    _, org = make.organizer()
    old, upcoming = make.event(org), make.event(org)
    rsvp_to(old), rsvp_to(upcoming)
    _end(old, hours_ago=30)

    assert services.send_followups() == 0
