"""Reminder fixtures: supporters who RSVPed days ago, so reminders count them as early birds."""


import pytest

from tests.support.factories import Rsvps


@pytest.fixture
def rsvp_to(app):
    return Rsvps(days_ago=3)
