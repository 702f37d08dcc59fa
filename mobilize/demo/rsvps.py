"""Demo RSVPs to the demo events, made through the RSVP service (without confirmation mails);
events that have any are skipped. One event is filled past capacity so the waitlist shows.
"""

from sqlalchemy import select

from mobilize.accounts.models import Membership
from mobilize.events.models import Event
from mobilize.extensions import db
from mobilize.rsvps import services
from mobilize.rsvps.models import Attendance

SUPPORTERS = [
    ("Aisha", "Bello"), ("Ben", "Carter"), ("Chloe", "Nguyen"), ("Diego", "Ramos"), ("Emma", "Schultz"),
    ("Farah", "Haddad"), ("Grace", "Kim"), ("Hugo", "Martin"), ("Imani", "Johnson"), ("Jonas", "Weber"),
    ("Keiko", "Tanaka"), ("Liam", "O'Brien"), ("Maria", "Rossi"), ("Noah", "Cohen"), ("Olivia", "Brown"),
]
SOURCES = ["newsletter", "", "facebook", "", "partner-email"]
FULL_EVENT = "Flex Friday meetup: Midtown"


def seed_rsvps() -> str:
    created = 0
    events = db.session.scalars(select(Event).where(Event.deleted_at.is_(None), Event.status == "confirmed")
                                .order_by(Event.id)).all()
    for n, event in enumerate(events):
        slots = services.open_timeslots(event)
        if not slots or db.session.scalar(select(Attendance.id).where(Attendance.event_id == event.id).limit(1)):
            continue
        count = 6 + (n * 5) % len(SUPPORTERS)
        if event.title == FULL_EVENT:
            organizer = db.session.scalar(select(Membership.user_id).where(
                Membership.organization_id == event.organization_id))
            services.set_capacity(organizer, slots[0].id, 12)
            count = len(SUPPORTERS)
        for i, (given, family) in enumerate(SUPPORTERS[:count]):
            services.rsvp(event.id, email=f"{given.lower()}.{family.lower().replace(chr(39), '')}@example.net",
                          given_name=given, family_name=family, postal_code="10001", guests=i % 3,
                          timeslot_ids=[str(slots[i % len(slots)].uuid)], opt_in=i % 2 == 0,
                          utm={"utm_source": SOURCES[i % len(SOURCES)]}, notify=False)
            created += 1
    return f"rsvps: {created} created"
