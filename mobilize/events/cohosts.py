"""Co-hosting by consent: naming an organization as co-host invites it, and one of its organizers answers.

Until an organizer of the invited organization accepts, nothing of the event
shows under it and it gets no rights: listings, feeds and rights read
``event_cohosts``, which holds accepted co-hosts only. The host's edits and the
answers both lock the event row, so an answer never races a withdrawal.
"""

import uuid as uuid_module

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from mobilize.accounts.models import Membership, Organization
from mobilize.accounts.services import active_organizers, require_member
from mobilize.core.errors import Forbidden, NotFound
from mobilize.core.mail import queue_mail
from mobilize.core.models import utcnow
from mobilize.core.transaction import unit_of_work
from mobilize.core.urls import external_url
from mobilize.events import times
from mobilize.events.models import CohostInvitation, Event
from mobilize.extensions import db

GONE = "No such invitation among your organizations'. The host may have withdrawn it, or the event was deleted."


def named(event: Event) -> list[Organization]:
    """Every organization the host names as co-host (accepted, invited or declined), by name."""
    orgs = {org.id: org for org in event.cohosts}
    orgs.update({invitation.organization_id: invitation.organization for invitation in event.cohost_invitations})
    return sorted(orgs.values(), key=lambda org: org.name.lower())


def answers(event: Event) -> list[tuple[Organization, str]]:
    """(organization, "accepted" | "pending" | "declined") for each named co-host, for the event's organizers."""
    accepted = {org.id for org in event.cohosts}
    status = {invitation.organization_id: invitation.status for invitation in event.cohost_invitations}
    return [(org, "accepted" if org.id in accepted else status[org.id]) for org in named(event)]


def unanswered(event: Event) -> list[CohostInvitation]:
    """The invitations not (or no longer) accepted: pending and declined ones."""
    accepted = {org.id for org in event.cohosts}
    return [invitation for invitation in event.cohost_invitations if invitation.organization_id not in accepted]


def name_cohosts(user_id: int, event: Event, orgs: list[Organization], is_host: bool) -> None:
    """Make the named co-hosts exactly ``orgs``, in the caller's transaction (the event row locked or new).

    New names are invited and their organizers mailed; dropped names lose their
    invitation or, when accepted, their co-hosting. Names kept keep their answer,
    so a declined invitation is not sent again until the host drops the name and
    names it anew. Organizers of a co-host may send the names back unchanged only.
    """
    wanted = {org.id: org for org in orgs if org.id != event.organization_id}
    current = {org.id for org in named(event)}
    if set(wanted) == current:
        return
    if not is_host:
        raise Forbidden("Only the host organization's organizers change the co-hosts.")
    event.cohosts = [org for org in event.cohosts if org.id in wanted]
    event.cohost_invitations = [i for i in event.cohost_invitations if i.organization_id in wanted]  # delete-orphan
    invited = [CohostInvitation(organization=org, invited_by_id=user_id)
               for org_id, org in wanted.items() if org_id not in current]
    event.cohost_invitations.extend(invited)
    db.session.flush()
    for invitation in invited:
        _mail_invitation(invitation)


def _mail_invitation(invitation: CohostInvitation) -> None:
    """One message to each organizer of the invited organization, once (the dedupe key names the invitation)."""
    event, org = invitation.event, invitation.organization
    starts = sorted(slot.start_at for slot in event.timeslots if slot.deleted_at is None)
    url = external_url("events.invitation", slug=org.slug, invitation_id=invitation.uuid)
    for user in active_organizers(org.id):
        queue_mail(user.email, "cohost_invitation", dedupe_key=f"cohost-invitation:{invitation.uuid}:{user.id}",
                   user=user, event=event, host=event.organization, organization=org, inviter=invitation.invited_by,
                   when=times.format_when(starts[0], event.timezone) if starts else None, invitation_url=url)


def _uuid(value) -> uuid_module.UUID | None:
    try:
        return value if isinstance(value, uuid_module.UUID) else uuid_module.UUID(str(value))
    except ValueError:
        return None


def invitation_for(user_id: int | None, invitation_uuid) -> CohostInvitation:
    """The invitation, for organizers of the invited organization only; NotFound for anyone else,
    the host's organizers included, so an invitation's id tells nobody else anything."""
    invitation = db.session.scalar(
        select(CohostInvitation).join(Event, Event.id == CohostInvitation.event_id)
        .join(Membership, Membership.organization_id == CohostInvitation.organization_id)
        .where(CohostInvitation.uuid == _uuid(invitation_uuid), Membership.user_id == user_id,
               Event.deleted_at.is_(None))
    ) if user_id is not None else None
    if invitation is None:
        raise NotFound(GONE)
    return invitation


def pending_for(user_id: int, organization_id: int) -> list[CohostInvitation]:
    """Invitations to the organization still waiting for an answer, oldest first."""
    require_member(user_id, organization_id)
    return list(db.session.scalars(
        select(CohostInvitation).join(Event, Event.id == CohostInvitation.event_id)
        .where(CohostInvitation.organization_id == organization_id, CohostInvitation.status == "pending",
               Event.deleted_at.is_(None))
        .order_by(CohostInvitation.created_at, CohostInvitation.id)
        .options(joinedload(CohostInvitation.event).joinedload(Event.organization))))


def respond(user_id: int, invitation_uuid, accept: bool) -> CohostInvitation:
    """Accept (the organization co-hosts from now: listed, in its feeds, its organizers manage the event)
    or decline (nothing of the event shows under it; after accepting, this ends its co-hosting)."""
    with unit_of_work():
        event_id = invitation_for(user_id, invitation_uuid).event_id
        event = db.session.scalar(select(Event).where(Event.id == event_id).with_for_update()
                                  .execution_options(populate_existing=True))
        invitation = invitation_for(user_id, invitation_uuid)  # again, under the lock: withdrawn meanwhile?
        db.session.refresh(invitation)
        status = "accepted" if accept else "declined"
        if invitation.status != status:
            invitation.status, invitation.responded_by_id, invitation.responded_at = status, user_id, utcnow()
            others = [org for org in event.cohosts if org.id != invitation.organization_id]
            event.cohosts = [*others, invitation.organization] if accept else others
            event.modified_at = utcnow()  # sync sees the new co-host
    return invitation
