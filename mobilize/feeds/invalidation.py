"""Which cached feeds a database change makes stale, told to the cache after commit.

Whoever writes an event (the events service, the API, a task, the shell) goes
through a SQLAlchemy session, so listening here needs no call from them: a
flush notes the scopes its changes touch (events: "all" and "org:<slug>" of
their hosts and co-hosts; RSVPs: "person:<id>"), the commit bumps their versions,
a rollback forgets them.  Bulk statements on the event tables bump the epoch,
which every feed depends on.  Writes that only move seat counts change nothing
a calendar shows and are ignored.
"""

import logging

from sqlalchemy import event, inspect, or_, select
from sqlalchemy.orm import Session

from mobilize.accounts.models import Organization
from mobilize.events.models import Event, Tag, Timeslot, event_cohosts, event_tags
from mobilize.feeds import cache
from mobilize.rsvps.models import Attendance, Place

log = logging.getLogger(__name__)
PENDING = "mobilize.feeds.stale_scopes"
# Columns no feed shows: changing only these leaves every feed as it was.
UNSHOWN = {
    Timeslot: {"seats_taken", "modified_at"},
    Organization: {"modified_at", "website"},
}
WATCHED_TABLES = {t.name for t in (Event.__table__, Timeslot.__table__, Tag.__table__, event_tags, event_cohosts)}


def _changed(obj, session: Session) -> bool:
    if obj in session.new or obj in session.deleted:
        return True
    unshown = UNSHOWN.get(type(obj), {"modified_at"})
    state = inspect(obj)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in unshown)


def _person_ids(session: Session, attendance_ids: set[int]) -> set[int]:
    return set(session.connection().scalars(select(Attendance.person_id).where(Attendance.id.in_(attendance_ids))))


def _loaded_person_id(place: Place) -> int | None:
    """The place's person when its attendance is in the session already (no query on the RSVP path)."""
    attendance = inspect(place).dict.get("attendance")
    return None if attendance is None else inspect(attendance).dict.get("person_id")


def _organization_scopes(session: Session, event_ids: set[int], former_org_ids: set[int]) -> set[str]:
    """The feeds of these events' hosts and co-hosts (and of their former ones), by slug as the URLs name them."""
    hosts = select(Event.organization_id).where(Event.id.in_(event_ids))
    cohosts = select(event_cohosts.c.organization_id).where(event_cohosts.c.event_id.in_(event_ids))
    slugs = session.connection().scalars(select(Organization.slug).where(
        or_(Organization.id.in_(hosts), Organization.id.in_(cohosts), Organization.id.in_(former_org_ids))))
    return {f"org:{slug}" for slug in slugs}


def note_stale(session: Session, scope: str) -> None:
    """For writes the listeners do not see (Core statements on the session's connection)."""
    session.info.setdefault(PENDING, set()).add(scope)


@event.listens_for(Session, "after_flush")
def _note_stale_feeds(session: Session, flush_context) -> None:
    scopes: set[str] = session.info.setdefault(PENDING, set())
    event_ids: set[int] = set()
    former_org_ids: set[int] = set()
    attendance_ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Event | Timeslot | Tag | Organization) and not _changed(obj, session):
            continue
        if isinstance(obj, Event):
            event_ids.add(obj.id)
            attrs = inspect(obj).attrs
            former_org_ids.update(attrs.organization_id.history.deleted)
            scopes.update(f"org:{org.slug}" for org in attrs.cohosts.history.deleted)
        elif isinstance(obj, Timeslot):
            event_ids.add(obj.event_id)
        elif isinstance(obj, Tag):
            scopes.add("epoch")
        elif isinstance(obj, Organization) and obj not in session.new:  # a new one has no events yet
            scopes.update({"all", *(f"org:{slug}" for slug in (obj.slug, *inspect(obj).attrs.slug.history.deleted))})
        elif isinstance(obj, Attendance):
            scopes.add(f"person:{obj.person_id}")
        elif isinstance(obj, Place):
            person_id = _loaded_person_id(obj)
            if person_id is None:
                attendance_ids.add(obj.attendance_id)
            else:
                scopes.add(f"person:{person_id}")
    event_ids.discard(None)
    former_org_ids.discard(None)
    attendance_ids.discard(None)
    if event_ids:
        scopes.add("all")
        scopes.update(_organization_scopes(session, event_ids, former_org_ids))
    if attendance_ids:
        scopes.update(f"person:{person_id}" for person_id in _person_ids(session, attendance_ids))


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_writes(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if table is None or table.name not in WATCHED_TABLES or (state.is_insert and table.name == Tag.__tablename__):
        return  # a new tag is on no event yet
    columns = {getattr(c, "key", c) for c in (getattr(state.statement, "_values", None) or {})}
    if state.is_update and table.name == Timeslot.__tablename__ and columns and columns <= UNSHOWN[Timeslot]:
        return
    state.session.info.setdefault(PENDING, set()).add("epoch")


@event.listens_for(Session, "after_commit")
def _bump_stale_feeds(session: Session) -> None:
    scopes = session.info.pop(PENDING, None)
    if not scopes:
        return
    try:
        cache.bump(scopes)
    except Exception:  # noqa: BLE001 - the cache's max age still retires the feeds
        log.warning("could not invalidate feeds %s", sorted(scopes), exc_info=True)


@event.listens_for(Session, "after_rollback")
def _forget_stale_feeds(session: Session) -> None:
    session.info.pop(PENDING, None)
