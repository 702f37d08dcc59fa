"""What each audience sees of an event, decided in one pure module: no database needed."""

import pytest

from mobilize.events import disclosure
from mobilize.events.disclosure import ATTENDEE, ORGANIZER, PUBLIC
from tests.feeds.test_ical import event_row


def test_a_private_address_is_the_town_for_the_public_and_the_street_for_attendees_and_organizers():
    event = event_row(address_visibility="private")
    assert not disclosure.sees_address(event, PUBLIC)
    assert disclosure.sees_address(event, ATTENDEE) and disclosure.sees_address(event, ORGANIZER)
    assert disclosure.public_place(event) == "Springfield, IL"
    assert disclosure.coordinates(event, PUBLIC) == (39.8, -89.64, False)
    assert disclosure.coordinates(event, ATTENDEE) == (39.8017, -89.6437, True)
    assert disclosure.address_lines(event) == ["Union Hall", "1 Main St", "Room 2", "Springfield, IL 62701"]


def test_a_public_address_is_shown_to_everyone_and_an_online_event_has_none():
    public = event_row()
    assert disclosure.sees_address(public, PUBLIC)
    assert disclosure.public_place(public) == "Union Hall, 1 Main St, Room 2, Springfield, IL 62701"
    online = event_row(is_virtual=True)
    assert disclosure.public_place(online) == "Online"
    assert not any(disclosure.sees_address(online, audience) for audience in disclosure.AUDIENCES)
    assert disclosure.coordinates(online, ORGANIZER) is None


def test_the_join_link_goes_to_confirmed_attendees_and_organizers_only():
    event = event_row(is_virtual=True, virtual_action_url="https://meet.example/room", virtual_instructions="Code 1")
    assert disclosure.join_link(event, PUBLIC) == ("", "")
    assert disclosure.join_link(event, ATTENDEE) == disclosure.join_link(event, ORGANIZER) == (
        "https://meet.example/room", "Code 1")


@pytest.mark.parametrize(("audience", "expected"), [
    (PUBLIC, ("Olive", "", "")), (ATTENDEE, ("Olive", "", "")), (ORGANIZER, ("Olive", "olive@example.org", "555-0100")),
])
def test_contact_details_not_made_public_are_for_organizers(audience, expected):
    assert disclosure.contact(event_row(), audience) == expected


def test_the_audience_follows_managing_then_a_confirmed_place():
    assert disclosure.audience() == PUBLIC
    assert disclosure.audience(confirmed=True) == ATTENDEE
    assert disclosure.audience(organizer=True, confirmed=True) == ORGANIZER
