"""OSDI people: visible only to organizers, and only people tied to their organizations."""

from mobilize.api.core import collection, endpoint, hal, iso, odata_filter, paginate
from mobilize.core.errors import NotFound
from mobilize.people import services
from mobilize.people.models import Person


def person_json(person: Person) -> dict:
    return {
        "identifiers": [person.identifier],
        "created_date": iso(person.created_at),
        "modified_date": iso(person.modified_at),
        "given_name": person.given_name,
        "family_name": person.family_name,
        "email_addresses": [{"address": person.email, "primary": True}],
        "phone_numbers": [{"number": person.phone, "primary": True}] if person.phone else [],
        "postal_addresses": [{"postal_code": person.postal_code, "locality": person.locality,
                              "country": person.country, "primary": True}],
        "_links": {"self": {"href": f"/api/v1/people/{person.uuid}"}},
    }


@endpoint("/people", summary="People tied to your organizations", auth="required", tag="people",
          query={"filter": "OData: modified_date gt|lt|eq '<ISO 8601>'"})
def list_people(user):
    query = services.people_visible_to(user.id).where(
        *odata_filter({"modified_date": Person.modified_at, "created_date": Person.created_at})
    )
    return hal(paginate(query, person_json, "osdi:people", "api.list_people"))


@endpoint("/people/<uuid:person_id>", summary="One person", auth="required", tag="people")
def get_person(user, person_id):
    person = services.person_visible_to(user.id, person_id)
    if person is None:
        raise NotFound("No such person among your organizations' supporters.")
    return hal(person_json(person))


collection("osdi:people", "api.list_people")
