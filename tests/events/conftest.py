"""Events made through the service, as organizers make them."""

from datetime import datetime, timedelta

import pytest

from mobilize.core.models import utcnow
from mobilize.events import cohosts, services


def event_fields(**overrides) -> dict:
    """A valid in-person event a week from now, 6-8 PM in New York, unless overridden."""
    day = (utcnow() + timedelta(days=7)).date()
    fields = {
        "title": "Flex Friday meetup", "summary": "Talk flexible work with neighbours.",
        "description": "Bring a friend. **Snacks** provided.", "event_type": "meeting", "visibility": "public",
        "timezone": "America/New_York", "venue": "Union Hall", "address_line1": "1 Main St",
        "locality": "New York", "region": "NY", "postal_code": "10001", "country": "US",
        "timeslots": [{"start_at": datetime(day.year, day.month, day.day, 18), "end_at":
                       datetime(day.year, day.month, day.day, 20), "capacity": 30}],
        "tags": ["remote work"], "contact_name": "Olive", "contact_email": "olive@example.org",
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def new_event():
    def create(user, org, **overrides):
        return services.create_event(user.id, org.id, event_fields(**overrides))

    return create


@pytest.fixture
def accept_cohosting():
    """accept(user, org): the org's organizer accepts every invitation to co-host it has."""

    def accept(user, org):
        for invitation in cohosts.pending_for(user.id, org.id):
            cohosts.respond(user.id, invitation.uuid, accept=True)

    return accept
