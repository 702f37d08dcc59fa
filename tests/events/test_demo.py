from sqlalchemy import func, select

from mobilize.demo.events import EVENTS
from mobilize.demo.seed import seed_events, seed_organizers
from mobilize.events.models import Event
from mobilize.extensions import db


def test_demo_events_are_created_once_through_the_service():
    seed_organizers()
    assert seed_events() == f"events: {len(EVENTS)} created"
    assert seed_events() == "events: 0 created"
    assert db.session.scalar(select(func.count()).select_from(Event)) == len(EVENTS)
    town_hall = db.session.scalar(select(Event).where(Event.title == "Town hall with working parents"))
    assert town_hall.cohosts and town_hall.latitude is not None
