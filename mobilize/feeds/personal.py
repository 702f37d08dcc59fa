"""The secret URL of a supporter's own calendar feed ("Subscribe to your events")."""

import secrets

from sqlalchemy import select

from mobilize.core.models import utcnow
from mobilize.core.sql import upsert
from mobilize.core.transaction import unit_of_work
from mobilize.extensions import db
from mobilize.feeds.models import PersonalFeed
from mobilize.people.models import Person


def feed_token_for(person_id: int) -> str:
    """The secret of the person's calendar feed, made on first use."""
    with unit_of_work(keep_loaded=True):
        db.session.execute(
            upsert(PersonalFeed).values(person_id=person_id, token=secrets.token_urlsafe(24), created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["person_id"])
        )
        token = db.session.scalar(select(PersonalFeed.token).where(PersonalFeed.person_id == person_id))
    return token


def rotate_feed_token(person_id: int) -> str:
    """Replace the feed secret: calendars subscribed with the old URL stop updating."""
    feed_token_for(person_id)
    with unit_of_work(keep_loaded=True):
        feed = db.session.get(PersonalFeed, person_id, with_for_update=True)
        feed.token, feed.created_at = secrets.token_urlsafe(24), utcnow()
        token = feed.token
    return token


def person_for_feed_token(token: str) -> Person | None:
    if not token:
        return None
    return db.session.scalar(select(Person).join(PersonalFeed).where(PersonalFeed.token == token))
