"""The demo seeder RSVPs through the service, once, with a waitlist to show."""

from sqlalchemy import func, select

from mobilize.core.models import OutboundMail
from mobilize.demo.events import seed_events
from mobilize.demo.rsvps import seed_rsvps
from mobilize.demo.seed import seed_organizers
from mobilize.extensions import db
from mobilize.rsvps.models import Attendance, Place


def test_demo_rsvps_are_seeded_once_with_a_waitlist(app):
    seed_organizers()
    seed_events()
    assert seed_rsvps().startswith("rsvps: ")
    count = db.session.scalar(select(func.count()).select_from(Attendance))
    assert count > 50
    assert db.session.scalar(select(func.count()).where(Place.status == "waitlisted")) > 0
    assert seed_rsvps() == "rsvps: 0 created"
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == count
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 0
