"""Who may see and manage an event: the organizers of its host or of a co-host that accepted.

Co-hosting is by consent (``cohosts``): ``event_cohosts`` holds accepted
co-hosts only, so a pending or declined invitation grants nothing here.

Deleted events: a deleted event is gone for its organizers too.
``event_for_organizer``, which every organizer page (events, attendees) and the
API's event writes go through, answers NotFound for it; only the API's
listings (events for sync, an event's attendances) still return deleted events,
marked with their status, so a syncing client sees them go.
"""

import uuid as uuid_module

from sqlalchemy import exists, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from mobilize.accounts.models import Membership, Organization
from mobilize.core.errors import Forbidden, NotFound
from mobilize.events.models import Event, event_cohosts
from mobilize.extensions import db

NOT_AMONG_YOURS = "No such event among your organizations' events."


def of_organizations(org_ids) -> ColumnElement[bool]:
    """SQL: the event is hosted or co-hosted by these organizations.

    ``org_ids`` is one id, a scalar subquery naming one, or what ``in_`` takes
    (ids, or a select of them).
    """
    if isinstance(org_ids, int | ScalarSelect):
        host, cohost = Event.organization_id == org_ids, event_cohosts.c.organization_id == org_ids
    else:
        host, cohost = Event.organization_id.in_(org_ids), event_cohosts.c.organization_id.in_(org_ids)
    return or_(host, Event.id.in_(select(event_cohosts.c.event_id).where(cohost)))


def _managers(event: Event) -> ColumnElement[bool]:
    """SQL over Membership: its organization hosts or co-hosts this event."""
    cohosts = select(event_cohosts.c.organization_id).where(event_cohosts.c.event_id == event.id)
    return or_(Membership.organization_id == event.organization_id, Membership.organization_id.in_(cohosts))


def managing_organization(user_id: int | None, event: Event) -> Organization | None:
    """The organization through which the user manages the event: the host first, else a co-host."""
    if user_id is None:
        return None
    return db.session.scalar(
        select(Organization).join(Membership).where(Membership.user_id == user_id, _managers(event))
        .order_by(Organization.id != event.organization_id, Organization.id).limit(1))


def can_manage(user_id: int | None, event: Event) -> bool:
    """Organizers of the host or a co-host see every part of the event and manage it."""
    if user_id is None:
        return False
    return bool(db.session.scalar(select(exists().where(Membership.user_id == user_id, _managers(event)))))


def is_host(user_id: int | None, event: Event) -> bool:
    """Organizers of the host alone delete the event and name its co-hosts."""
    if user_id is None:
        return False
    return bool(db.session.scalar(select(exists().where(
        Membership.user_id == user_id, Membership.organization_id == event.organization_id))))


def organizes(organization_ids: set[int], event: Event) -> bool:
    """Whether organizers of these organizations manage the event, from its loaded co-hosts (for listings)."""
    return event.organization_id in organization_ids or any(org.id in organization_ids for org in event.cohosts)


def require_organizer(user_id: int | None, event: Event) -> None:
    """Forbidden unless the user manages the event."""
    if user_id is None:
        raise Forbidden("Log in as an organizer of this organization.")
    if not can_manage(user_id, event):
        raise Forbidden("You are not an organizer of this organization.")


def event_by_uuid(event_uuid, lock: bool = False) -> Event | None:
    """The event with this public id, deleted or not; None for a malformed or unknown id."""
    try:
        key = event_uuid if isinstance(event_uuid, uuid_module.UUID) else uuid_module.UUID(str(event_uuid))
    except ValueError:
        return None
    statement = select(Event).where(Event.uuid == key)
    if lock:
        statement = statement.with_for_update()
    return db.session.scalar(statement)


def event_for_organizer(user_id: int | None, event_uuid, *, slug: str | None = None, lock: bool = False) -> Event:
    """The event for its organizers; never a deleted one.

    Without ``slug`` a user who does not manage it gets NotFound, so ids leak
    nothing. With ``slug`` (pages under /orgs/<slug>/) that organization must
    host or co-host it (NotFound otherwise), and then a user who does not
    manage it gets Forbidden.
    """
    event = event_by_uuid(event_uuid, lock=lock)
    if event is None or event.deleted_at is not None:
        raise NotFound(NOT_AMONG_YOURS)
    if slug is None:
        if not can_manage(user_id, event):
            raise NotFound(NOT_AMONG_YOURS)
        return event
    if slug != event.organization.slug and slug not in {org.slug for org in event.cohosts}:
        raise NotFound("No such event among this organization's events.")
    require_organizer(user_id, event)
    return event
