"""Events made through the service, as organizers make them."""


import pytest

from mobilize.events import cohosts, services
from tests.support.factories import event_fields


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
