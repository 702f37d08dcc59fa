"""RSVP mail as received by a real SMTP server: details, the .ics, the manage link, private parts."""

from email.header import decode_header, make_header

import icalendar

from mobilize.rsvps import links, services
from tests.support.infra import body_text


def subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def attachment(message, filename="event.ics"):
    for part in message.walk():
        if part.get_filename() == filename:
            return part.get_payload(decode=True)
    return None


def test_confirmation_carries_details_ics_and_manage_link(make, rsvp_to, send_queued_mail, smtp_server):
    _, org = make.organizer()
    event = make.event(org, title="Flex rally", address_visibility="private", address_line1="77 Secret Lane")
    attendance = rsvp_to(event, "ada@example.net", given_name="Ada", guests=1)
    send_queued_mail()  # or a worker left running by another test sends it
    [message] = smtp_server.wait_for(1, to="ada@example.net")
    assert subject(message) == "You’re going to Flex rally"
    text = body_text(message)
    assert "Hello Ada" in text and "you + 1 guest" in text and "77 Secret Lane" in text
    assert links.manage_url(attendance) in text
    calendar = icalendar.Calendar.from_ical(attachment(message))
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == f"{event.timeslots[0].uuid}@mobilize"
    assert vevent.decoded("DTSTART") == event.timeslots[0].start_at
    assert "77 Secret Lane" in str(vevent["LOCATION"])
    assert not any(getattr(c, "errors", None) for c in calendar.walk())


def test_waitlisted_supporter_gets_no_private_address_join_link_or_ics(make, rsvp_to, send_queued_mail,
                                                                       smtp_server):
    _, org = make.organizer()
    event = make.event(org, capacity=1, is_virtual=True, virtual_action_url="https://meet.example/room-42",
                       virtual_instructions="Passcode 9911")
    rsvp_to(event)
    rsvp_to(event, "wait@example.net")
    send_queued_mail()
    [message] = smtp_server.wait_for(1, to="wait@example.net")
    text = body_text(message)
    assert "on the waitlist" in text and "place in line" in text
    assert "room-42" not in text and "9911" not in text and "room-42" not in message.as_string()
    assert attachment(message) is None


def test_promotion_mail_tells_the_promoted_supporter_once(make, rsvp_to, send_queued_mail, smtp_server):
    _, org = make.organizer()
    event = make.event(org, capacity=1, is_virtual=True, virtual_action_url="https://meet.example/room-7")
    first = rsvp_to(event)
    rsvp_to(event, "next@example.net")
    send_queued_mail()
    services.cancel_rsvp(first.id)
    send_queued_mail()
    arrived = smtp_server.wait_for(2, to="next@example.net")  # a worker from another test may send it instead
    promoted = [m for m in arrived if "seat opened up" in subject(m)]
    assert len(promoted) == 1
    assert "https://meet.example/room-7" in body_text(promoted[0])
    assert attachment(promoted[0]) is not None
    assert send_queued_mail() == 0
