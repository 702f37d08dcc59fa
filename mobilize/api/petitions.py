"""OSDI petitions and signatures, and the record-signature helper.

Petitions and their counts are public; signatures only to the petition's
organizers. The helper goes through the same signing service as the web form:
validation, one signature per person, confirmation by email. Without a token
it answers ``{}`` (as OSDI says), so it never tells whether an address had signed.
"""

from flask import url_for
from pydantic import BaseModel, Field
from sqlalchemy.orm import joinedload

from mobilize.accounts.services import require_member
from mobilize.api.core import collection, endpoint, hal, iso, odata_filter, paginate
from mobilize.core.errors import NotFound
from mobilize.core.urls import external_url
from mobilize.extensions import db
from mobilize.petitions import services, signing
from mobilize.petitions.models import Petition, Signature


def petition_json(petition: Petition) -> dict:
    links = {
        "self": {"href": url_for("api.get_petition", petition_id=petition.uuid, _external=True)},
        "osdi:signatures": {"href": url_for("api.list_signatures", petition_id=petition.uuid, _external=True)},
        "osdi:record_signature_helper": {
            "href": url_for("api.record_signature", petition_id=petition.uuid, _external=True)},
    }
    return {
        "identifiers": [petition.identifier],
        "origin_system": "mobilize",
        "created_date": iso(petition.created_at),
        "modified_date": iso(petition.modified_at),
        "name": petition.title,
        "title": petition.title,
        "summary": petition.summary,
        "description": petition.body_html,
        "petition_text": petition.summary,
        "browser_url": external_url("petitions.show", slug=petition.slug),
        "featured_image_url": petition.image_url or None,
        "total_signatures": petition.signature_count,
        "goal": petition.goal,
        "status": petition.status,
        "end_date": iso(petition.closes_at),
        "target": [{"name": target.label} for target in petition.targets],
        "_links": links,
    }


def signature_json(signature: Signature) -> dict:
    petition_uuid = signature.petition.uuid
    return {
        "identifiers": [signature.identifier],
        "origin_system": "mobilize",
        "created_date": iso(signature.created_at),
        "modified_date": iso(signature.modified_at),
        "action_date": iso(signature.created_at),
        "comments": signature.comment,
        "status": signature.status,
        "confirmed_date": iso(signature.confirmed_at),
        "confirmed_via": signature.confirmed_via,
        "invalidated_date": iso(signature.invalidated_at),
        "public": signature.public,
        "referrer_data": {"source": signature.source},
        "_links": {
            "self": {"href": url_for("api.get_signature", petition_id=petition_uuid, signature_id=signature.uuid,
                                     _external=True)},
            "osdi:petition": {"href": url_for("api.get_petition", petition_id=petition_uuid, _external=True)},
            "osdi:person": {"href": url_for("api.get_person", person_id=signature.person.uuid, _external=True)},
        },
    }


@endpoint("/petitions", summary="Published petitions (and your organizations' drafts) with their counts",
          tag="petitions", query={"filter": "OData: modified_date gt|lt|eq '<ISO 8601>', status eq 'open'"})
def list_petitions(user):
    query = services.petitions_visible_to(user.id if user else None).where(
        *odata_filter({"modified_date": Petition.modified_at, "created_date": Petition.created_at,
                       "status": Petition.status})
    )
    return hal(paginate(query, petition_json, "osdi:petitions", "api.list_petitions"))


@endpoint("/petitions/<uuid:petition_id>", summary="One petition, with total_signatures and its targets",
          tag="petitions")
def get_petition(user, petition_id):
    return hal(petition_json(services.petition_visible_to(user.id if user else None, petition_id)))


@endpoint("/petitions/<uuid:petition_id>/signatures", summary="A petition's signatures, every status",
          auth="required", tag="petitions", query={"filter": "OData: modified_date gt|lt|eq '<ISO 8601>'"})
def list_signatures(user, petition_id):
    query = services.signatures_query(user.id, petition_id).options(joinedload(Signature.person)).where(
        *odata_filter({"modified_date": Signature.modified_at, "created_date": Signature.created_at})
    )
    return hal(paginate(query, signature_json, "osdi:signatures", "api.list_signatures", petition_id=petition_id))


@endpoint("/petitions/<uuid:petition_id>/signatures/<uuid:signature_id>", summary="One signature",
          auth="required", tag="petitions")
def get_signature(user, petition_id, signature_id):
    signature = db.session.scalar(services.signatures_query(user.id, petition_id).where(Signature.uuid == signature_id))
    if signature is None:
        raise NotFound("No such signature on this petition.")
    return hal(signature_json(signature))


class EmailAddress(BaseModel):
    address: str = Field(max_length=320)
    primary: bool = False


class PostalAddress(BaseModel):
    postal_code: str = Field("", max_length=20)
    country: str = Field("", max_length=2)
    primary: bool = False


class PersonIn(BaseModel):
    given_name: str = Field(max_length=100)
    family_name: str = Field("", max_length=100)
    email_addresses: list[EmailAddress] = Field(min_length=1, max_length=10)
    postal_addresses: list[PostalAddress] = Field(default_factory=list, max_length=10)


class RecordSignature(BaseModel):
    person: PersonIn
    comments: str = Field("", max_length=2000)
    public: bool = Field(False, description="Show first name, last initial and comment on the petition page")
    opt_in: bool = Field(False, description="The person agreed to hear from the petition's organization")
    confirmed: bool = Field(False, description="Your organization confirmed this email itself (its token only): "
                                               "the signature counts at once, recorded as confirmed by you")


def _primary(items):
    return next((item for item in items if item.primary), items[0] if items else None)


@endpoint("/petitions/<uuid:petition_id>/signatures", methods=("POST",), body=RecordSignature, auth="required",
          summary="Record a signature on your organization's petition (OSDI record-signature helper); the person "
                  "gets a confirmation email unless you confirmed it. Supporters sign on the petition's page or widget",
          tag="petitions")
def record_signature(user, petition_id, body: RecordSignature):
    petition = signing.signable(petition_id)  # read once, as the signing service needs it
    require_member(user.id, petition.organization_id)
    address = _primary(body.person.postal_addresses)
    signer = signing.Signer(
        email=_primary(body.person.email_addresses).address, given_name=body.person.given_name,
        family_name=body.person.family_name, postal_code=address.postal_code if address else "",
        country=address.country if address else "", comment=body.comments, public=body.public, opt_in=body.opt_in,
    )
    signature_id, created = signing.sign(petition, signer, source="api", ip_address=None,
                                         confirmed_by=user.id if body.confirmed else None)
    return hal(signature_json(db.session.get(Signature, signature_id)), status=201 if created else 200)


@endpoint("/people/<uuid:person_id>/signatures", summary="A person's signatures on your organizations' petitions",
          auth="required", tag="people")
def list_person_signatures(user, person_id):
    query = services.signatures_of_person(user.id, person_id).options(joinedload(Signature.person))
    return hal(paginate(query, signature_json, "osdi:signatures", "api.list_person_signatures", person_id=person_id))


collection("osdi:petitions", "api.list_petitions")
