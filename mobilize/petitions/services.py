"""Petitions for organizers (writing, targets, updates, moderating signatures) and the public reads.

Every organizer call takes the acting user's id and checks membership of the
petition's organization first. Signing and confirming live in signing.py,
counting in counting.py.
"""

import ipaddress
import re
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from mobilize.accounts.models import Organization
from mobilize.accounts.services import organization_ids_for, require_member
from mobilize.core.checks import FieldErrors
from mobilize.core.errors import Conflict, Invalid, NotFound
from mobilize.core.markdown import render_markdown
from mobilize.core.memo import SecondsMemo
from mobilize.core.models import utcnow
from mobilize.core.signals import people_of_organizations
from mobilize.core.text import like_containing, slugify
from mobilize.core.transaction import unit_of_work
from mobilize.extensions import db
from mobilize.people import services as people
from mobilize.people.models import Person
from mobilize.petitions.models import (
    STATUSES,
    CountDelta,
    Invalidation,
    Petition,
    PetitionCount,
    PetitionUpdate,
    Signature,
    Target,
)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DOMAIN = re.compile(r"^(?=.{3,253}$)[a-z0-9-]+(\.[a-z0-9-]+)+$")
PUBLIC_STATUSES = tuple(s for s in STATUSES if s != "draft")

@people_of_organizations.connect
def _signers(org_ids):
    """Organizers see the people who signed their organizations' petitions."""
    return select(Signature.person_id).join(Petition).where(Petition.organization_id.in_(org_ids))


# ------------------------------------------------------------------ writing petitions

def _petition_fields(fields: dict, petition: Petition | None = None) -> dict:
    """Trimmed, checked petition fields; Invalid names each wrong one."""
    errors = FieldErrors()
    clean = {}
    for name in ("title", "summary", "image_url"):
        if name in fields:
            clean[name] = (fields[name] or "").strip()
    if clean.get("image_url") and not clean["image_url"].startswith("https://"):
        errors.add("image_url", "Use an https:// address.")  # before its length: the address is wrong anyway
    for name, limit in (("title", 200), ("summary", 500), ("image_url", 1000)):
        if len(clean.get(name, "")) > limit:
            errors.add(name, f"At most {limit} characters.")
    if "title" in clean and not clean["title"]:
        errors.add("title", "Give the petition a title.")
    if "body" in fields:
        clean["body"] = fields["body"] or ""
        clean["body_html"] = render_markdown(clean["body"])
    if fields.get("goal") is not None:
        clean["goal"] = int(fields["goal"])
        if clean["goal"] < 1:
            errors.add("goal", "The goal is at least one signature.")
    if "closes_at" in fields:
        clean["closes_at"] = fields["closes_at"]
        taking = fields.get("status") in (None, "draft", "open")
        if clean["closes_at"] is not None and clean["closes_at"] <= utcnow() and taking:
            errors.add("closes_at", "Choose a closing date in the future, or none.")
    if fields.get("slug"):
        clean["slug"] = fields["slug"].strip().lower()
        if not SLUG.match(clean["slug"]) or len(clean["slug"]) > 80:
            errors.add("slug", "Use lower-case letters, digits and hyphens.")
        elif petition is not None and petition.slug != clean["slug"] and petition.status != "draft":
            errors.add("slug", "The web address cannot change once the petition is published.")
    if fields.get("status") is not None:
        clean["status"] = fields["status"]
        if clean["status"] not in STATUSES:
            errors.add("status", f"Status is one of {', '.join(STATUSES)}.")
    errors.raise_if_any("Please correct the highlighted fields.")
    return clean


def _check_status(petition: Petition, status: str) -> None:
    if status == petition.status:
        return
    if status == "open" and not petition.targets:
        raise Invalid("Add at least one target before opening the petition.", {"status": "Add a target first."})
    if status == "draft":
        signed = db.session.scalar(select(Signature.id).where(Signature.petition_id == petition.id).limit(1))
        if signed is not None:
            raise Conflict("A petition with signatures cannot go back to draft; close it instead.",
                           {"status": "Close it instead."})


def _save_with_unique_slug(petition: Petition, base: str) -> None:
    """Flush the petition under the first free slug from ``base``; the unique index decides, not a look-up."""
    for n in range(1, 50):
        petition.slug = base if n == 1 else f"{base[:75]}-{n}"
        try:
            with db.session.begin_nested():
                db.session.add(petition)
            return
        except IntegrityError:
            continue
    raise Conflict("Choose another web address.", {"slug": "Taken."})


def create_petition(user_id: int, organization_id: int, **fields) -> Petition:
    require_member(user_id, organization_id)
    clean = _petition_fields({"goal": 100, **fields, "status": "draft"})
    slug = clean.pop("slug", None)
    petition = Petition(organization_id=organization_id, created_by_id=user_id, **clean)
    petition.count = PetitionCount(signatures=0)
    with unit_of_work():
        if slug:
            petition.slug = slug
            try:
                with db.session.begin_nested():
                    db.session.add(petition)
            except IntegrityError:
                raise Conflict("That web address is taken.", {"slug": "Taken; choose another."}) from None
        else:
            _save_with_unique_slug(petition, slugify(clean["title"], 70))
    return petition


def update_petition(user_id: int, petition_id: int, **fields) -> Petition:
    petition = managed_petition(user_id, petition_id)
    clean = _petition_fields(fields, petition)
    if "status" in clean:
        _check_status(petition, clean["status"])
    try:
        with unit_of_work():
            for name, value in clean.items():
                setattr(petition, name, value)
    except IntegrityError:
        raise Conflict("That web address is taken.", {"slug": "Taken; choose another."}) from None
    return petition


def managed_petition(user_id: int | None, petition_id: int) -> Petition:
    """A petition the user organizes, or Forbidden / NotFound."""
    petition = db.session.get(Petition, petition_id)
    if petition is None:
        raise NotFound("No such petition.")
    require_member(user_id, petition.organization_id)
    return petition


def managed_petition_by_uuid(user_id: int | None, organization: Organization, petition_uuid) -> Petition:
    petition_id = db.session.scalar(
        select(Petition.id).where(Petition.uuid == petition_uuid, Petition.organization_id == organization.id)
    )
    if petition_id is None:
        raise NotFound("No such petition in this organization.")
    return managed_petition(user_id, petition_id)


def organization_petitions(user_id: int, organization_id: int) -> list[Petition]:
    require_member(user_id, organization_id)
    return list(db.session.scalars(
        select(Petition).where(Petition.organization_id == organization_id).order_by(Petition.created_at.desc())
    ))


def add_target(user_id: int, petition_id: int, **fields) -> Target:
    petition = managed_petition(user_id, petition_id)
    errors = {}
    clean = {}
    for name, limit in (("name", 200), ("title", 200), ("organization", 200), ("email", 320), ("phone", 40)):
        clean[name] = (fields.get(name) or "").strip()
        if len(clean[name]) > limit:
            errors[name] = f"At most {limit} characters."
    if not clean["name"]:
        errors["name"] = "Name the decision maker."
    if clean["email"]:
        try:
            clean["email"] = people.clean_email(clean["email"])
        except Invalid as error:
            errors.update(error.fields)
    if errors:
        raise Invalid("Please correct the target's fields.", errors)
    with unit_of_work():
        target = Target(petition=petition, position=len(petition.targets), **clean)
        db.session.add(target)
    return target


def remove_target(user_id: int, petition_id: int, target_uuid) -> None:
    petition = managed_petition(user_id, petition_id)
    target = next((t for t in petition.targets if t.uuid == target_uuid), None)
    if target is None:
        raise NotFound("No such target.")
    if petition.status == "open" and len(petition.targets) == 1:
        raise Conflict("An open petition needs a target; add another before removing this one.")
    with unit_of_work():
        petition.targets.remove(target)


def post_update(user_id: int, petition_id: int, title: str, body: str) -> PetitionUpdate:
    petition = managed_petition(user_id, petition_id)
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise Invalid("Give the update a title of at most 200 characters.", {"title": "Required, at most 200."})
    update_ = PetitionUpdate(petition_id=petition.id, author_id=user_id, title=title, body=body or "",
                             body_html=render_markdown(body or ""))
    with unit_of_work():
        db.session.add(update_)
    return update_


# ------------------------------------------------------------------ public reads

def public_petition(slug: str, viewer_id: int | None = None) -> Petition:
    """A published petition by its slug; a draft only for its own organizers (as a preview)."""
    petition = db.session.execute(
        select(Petition).options(joinedload(Petition.targets)).where(Petition.slug == slug)
    ).unique().scalar_one_or_none()
    if petition is None:
        raise NotFound("No such petition.")
    if petition.status == "draft":
        if viewer_id is None or petition.organization_id not in organization_ids_for(viewer_id):
            raise NotFound("No such petition.")
    return petition


_counts = SecondsMemo("PETITION_COUNT_MEMO_SECONDS")


def count_for_slug(slug: str) -> dict:
    """What the count widgets show: one indexed look-up, whatever the number of signatures.

    Read in autocommit: a lone SELECT needs no BEGIN and ROLLBACK round trips. Each
    process keeps the answer for PETITION_COUNT_MEMO_SECONDS: the count itself moves only when
    the worker folds new signatures in (every few seconds), and a viral petition's
    embedded widgets then cost one query a second per process, not one per view.
    """
    return _counts.get(slug, lambda: _read_count(slug))


def _read_count(slug: str) -> dict:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        row = connection.execute(
            select(PetitionCount.signatures, Petition.goal, Petition.status)
            .join(Petition, Petition.id == PetitionCount.petition_id)
            .where(Petition.slug == slug, Petition.status != "draft")
        ).first()
    if row is None:
        raise NotFound("No such petition.")
    return {"signatures": row.signatures, "goal": row.goal, "status": row.status}


def listed_petitions(limit: int = 60) -> tuple[list[Petition], list[Petition]]:
    """Open petitions, most signed first, and recent victories."""
    open_ = db.session.scalars(
        select(Petition).join(PetitionCount)
        .where(Petition.status == "open", or_(Petition.closes_at.is_(None), Petition.closes_at > utcnow()))
        .order_by(PetitionCount.signatures.desc(), Petition.id.desc()).limit(limit)
    ).all()
    won = db.session.scalars(
        select(Petition).where(Petition.status.in_(("won", "delivered"))).order_by(Petition.modified_at.desc()).limit(6)
    ).all()
    return list(open_), list(won)


def public_signers(petition_id: int, page: int = 1, per_page: int = 25) -> tuple[list[Signature], bool]:
    """Counted signatures whose signers chose to be shown, newest first; and whether there are more."""
    rows = db.session.scalars(
        select(Signature)
        .where(Signature.petition_id == petition_id, Signature.counted, Signature.public)
        .order_by(Signature.confirmed_at.desc(), Signature.id.desc())
        .limit(per_page + 1).offset((max(1, page) - 1) * per_page)
    ).all()
    return list(rows[:per_page]), len(rows) > per_page


def petition_updates(petition_id: int) -> list[PetitionUpdate]:
    return list(db.session.scalars(
        select(PetitionUpdate).where(PetitionUpdate.petition_id == petition_id)
        .order_by(PetitionUpdate.created_at.desc())
    ))


# ------------------------------------------------------------------ moderating signatures

SIGNATURE_FILTERS = {
    "confirmed": Signature.counted,
    "pending": Signature.confirmed_at.is_(None) & Signature.invalidated_at.is_(None),
    "invalidated": Signature.invalidated_at.is_not(None),
}


def signatures_page(user_id: int, petition_id: int, *, status: str = "", search: str = "", page: int = 1,
                    per_page: int = 50) -> tuple[list[Signature], bool]:
    """Organizers' list of signatures, newest first, filtered; and whether there are more."""
    petition = managed_petition(user_id, petition_id)
    query = (
        select(Signature).join(Person).options(joinedload(Signature.person), joinedload(Signature.invalidation))
        .where(Signature.petition_id == petition.id)
    )
    if status in SIGNATURE_FILTERS:
        query = query.where(SIGNATURE_FILTERS[status])
    if search := (search or "").strip():
        pattern = like_containing(search)
        query = query.where(or_(
            Signature.given_name.ilike(pattern, escape="\\"), Signature.family_name.ilike(pattern, escape="\\"),
            Person.email.ilike(pattern, escape="\\"), Signature.postal_code.ilike(pattern, escape="\\"),
            Signature.ip_address == search,
        ))
    rows = db.session.scalars(
        query.order_by(Signature.id.desc()).limit(per_page + 1).offset((max(1, page) - 1) * per_page)
    ).unique().all()
    return list(rows[:per_page]), len(rows) > per_page


def managed_signature(user_id: int, petition_id: int, signature_uuid) -> Signature:
    petition = managed_petition(user_id, petition_id)
    signature = db.session.scalar(
        select(Signature).where(Signature.uuid == signature_uuid, Signature.petition_id == petition.id)
    )
    if signature is None:
        raise NotFound("No such signature on this petition.")
    return signature


def hide_comment(user_id: int, petition_id: int, signature_uuid, hidden: bool = True) -> Signature:
    signature = managed_signature(user_id, petition_id, signature_uuid)
    with unit_of_work():
        signature.comment_hidden_at = (signature.comment_hidden_at or utcnow()) if hidden else None
    return signature


def invalidate_signatures(user_id: int, petition_id: int, reason: str, *, signature_uuid=None, ip: str = "",
                          email_domain: str = "", signed_after: datetime | None = None,
                          signed_before: datetime | None = None) -> Invalidation:
    """Stop counting (and delivering) the signatures that match; the count drops with the next fold.

    One UPDATE marks them all, and one delta row takes the counted ones off,
    so invalidating any number of signatures is two statements.
    """
    petition = managed_petition(user_id, petition_id)
    reason = " ".join((reason or "").split())
    errors = FieldErrors()
    if not reason or len(reason) > 500:
        errors.add("reason", "Say why, in at most 500 characters.")
    clauses, criteria = [], {}
    if signature_uuid is not None:
        clauses.append(Signature.uuid == signature_uuid)
        criteria["signature"] = str(signature_uuid)
    if ip := (ip or "").strip():
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            errors.add("ip", "Enter an IP address such as 203.0.113.7.")
        clauses.append(Signature.ip_address == ip)
        criteria["ip"] = ip
    if domain := (email_domain or "").strip().lower().lstrip("@"):
        if not DOMAIN.match(domain):
            errors.add("email_domain", "Enter a domain such as example.com.")
        clauses.append(Signature.person_id.in_(select(Person.id).where(Person.email_normalized.endswith("@" + domain))))
        criteria["email_domain"] = domain
    if signed_after is not None:
        clauses.append(Signature.created_at >= signed_after)
        criteria["signed_after"] = signed_after.isoformat()
    if signed_before is not None:
        clauses.append(Signature.created_at < signed_before)
        criteria["signed_before"] = signed_before.isoformat()
    if signed_after and signed_before and signed_after >= signed_before:
        errors.add("signed_before", "The end of the window must come after its start.")
    if not clauses:
        errors.add("ip", "Choose signatures by IP address, email domain or time window.")
    errors.raise_if_any("Please correct the highlighted fields.")
    invalidation = Invalidation(petition_id=petition.id, user_id=user_id, reason=reason, criteria=criteria)
    with unit_of_work():
        db.session.add(invalidation)
        db.session.flush()
        confirmed_at = db.session.scalars(
            update(Signature)
            .where(Signature.petition_id == petition.id, Signature.invalidated_at.is_(None), *clauses)
            .values(invalidated_at=utcnow(), invalidation_id=invalidation.id)
            .returning(Signature.confirmed_at)
            .execution_options(synchronize_session=False)
        ).all()
        invalidation.signatures = len(confirmed_at)
        if counted := sum(1 for value in confirmed_at if value is not None):
            db.session.add(CountDelta(petition_id=petition.id, delta=-counted))
    return invalidation


def recent_invalidations(user_id: int, petition_id: int, limit: int = 10) -> list[Invalidation]:
    petition = managed_petition(user_id, petition_id)
    return list(db.session.scalars(
        select(Invalidation).where(Invalidation.petition_id == petition.id)
        .order_by(Invalidation.id.desc()).limit(limit)
    ))


# ------------------------------------------------------------------ the API's reads

def petitions_visible_to(user_id: int | None):
    """Published petitions, and drafts of the user's own organizations."""
    shown = Petition.status.in_(PUBLIC_STATUSES)
    if user_id is not None:
        shown = or_(shown, Petition.organization_id.in_(organization_ids_for(user_id)))
    return select(Petition).where(shown).order_by(Petition.id)


def petition_visible_to(user_id: int | None, petition_uuid) -> Petition:
    petition = db.session.scalar(petitions_visible_to(user_id).where(Petition.uuid == petition_uuid))
    if petition is None:
        raise NotFound("No such petition.")
    return petition


def signatures_query(user_id: int, petition_uuid):
    """Every signature of a petition the user organizes, pending and invalidated included."""
    petition = petition_visible_to(user_id, petition_uuid)
    require_member(user_id, petition.organization_id)
    return select(Signature).where(Signature.petition_id == petition.id).order_by(Signature.id)


def signatures_of_person(user_id: int, person_uuid):
    """A person's signatures on the user's organizations' petitions."""
    person = people.person_visible_to(user_id, person_uuid)
    if person is None:
        raise NotFound("No such person among your organizations' supporters.")
    return (
        select(Signature).join(Petition)
        .where(Signature.person_id == person.id, Petition.organization_id.in_(organization_ids_for(user_id)))
        .order_by(Signature.id)
    )

