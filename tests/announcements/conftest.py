"""Announcement factories: supporters who opted in, and announcements made through the service."""

import itertools
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from mobilize.announcements import services
from mobilize.announcements.models import Announcement
from mobilize.core.models import OutboundMail, utcnow
from mobilize.extensions import db
from mobilize.people.services import find_or_create_person, subscribe

_people = itertools.count(1)


class AnnouncementFactories:
    def supporters(self, org, count: int = 1, *, postal_code: str = "62701", prefix: str = "fan") -> list:
        """People who opted in to hear from the organization, committed."""
        people = []
        for _ in range(count):
            n = next(_people)
            person = find_or_create_person(f"{prefix}{n}@example.net", given_name=f"Fan{n}", postal_code=postal_code)
            subscribe(person, org.id, f"Email me about {org.name}.", "test")
            people.append(person)
        db.session.commit()
        return people

    def announcement(self, user, org, *, schedule: bool = True, **fields) -> Announcement:
        """Scheduled (by default) for an hour from now in New York time."""
        fields.setdefault("subject", "Flex Friday is back")
        fields.setdefault("body", "Join us **this Friday**. Bring a friend.")
        fields.setdefault("timezone", "America/New_York")
        if "send_local" not in fields:
            fields["send_local"] = (utcnow() + timedelta(hours=1)).astimezone(
                ZoneInfo(fields["timezone"])).replace(tzinfo=None)
        return services.create_announcement(user.id, org.id, services.Draft(**fields), schedule)

    def due(self, announcement: Announcement) -> Announcement:
        """Make its send time have passed: the clock moves, not the rules."""
        db.session.execute(update(Announcement).where(Announcement.id == announcement.id)
                           .values(send_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        db.session.refresh(announcement)
        return announcement

    def start(self, announcement: Announcement) -> Announcement:
        """Due and claimed by the sweeper: status 'sending'."""
        self.due(announcement)
        services.start_due_announcements()
        db.session.refresh(announcement)
        assert announcement.status == "sending"
        return announcement

    @staticmethod
    def send_all(announcement: Announcement) -> None:
        """Run the remaining batches in this process, from the stored cursor, until it is sent."""
        for _ in range(10_000):
            db.session.refresh(announcement)
            if announcement.status != "sending":
                return
            services.send_batch(announcement.id, announcement.cursor)
        raise AssertionError("the send did not finish")

    @staticmethod
    def outbox(announcement: Announcement) -> list[OutboundMail]:
        return list(db.session.scalars(
            select(OutboundMail).where(OutboundMail.dedupe_key.like(f"announcement:{announcement.id}:%"))
            .order_by(OutboundMail.id)))


@pytest.fixture
def announcements(make):
    return AnnouncementFactories()


@pytest.fixture
def org_with_supporters(make, announcements):
    user, org = make.organizer()
    return user, org, announcements.supporters(org, 5)


@pytest.fixture
def batches_of(app, monkeypatch):
    """Set the batch size; the rate is slowed so no worker runs a queued batch during the test."""
    def set_size(size: int) -> None:
        monkeypatch.setitem(app.config, "ANNOUNCEMENT_BATCH_SIZE", size)
        monkeypatch.setitem(app.config, "ANNOUNCEMENT_RATE_PER_MINUTE", 1)

    return set_size


def unsubscribe_token(person, org) -> str:
    """The token of the unsubscribe link in the person's bulk mail from the organization."""
    from mobilize.core.mail import unsubscribe_token as token_for
    from mobilize.people.models import Subscription

    return token_for(db.session.scalar(select(Subscription.id).where(
        Subscription.person_id == person.id, Subscription.organization_id == org.id)))
