"""RSVP fixtures: supporters who RSVP through the service (tests.support.factories.Rsvps)."""


import pytest

from tests.support.factories import Rsvps


@pytest.fixture
def rsvp_to(app):
    return Rsvps()


@pytest.fixture
def org_event(make):
    """An organizer, their organization and a 50-seat event of theirs."""
    user, org = make.organizer()
    return user, org, make.event(org)
