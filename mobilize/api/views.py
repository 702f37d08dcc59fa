"""The API entry point and its OpenAPI document; each collection has its own module."""

from flask import url_for

# Each collection's module registers its endpoints on import.
from mobilize.api import attendances, events, openapi, people, petitions  # noqa: F401
from mobilize.api.core import COLLECTIONS, MAX_PER_PAGE, bp, endpoint, hal

__all__ = ["bp"]


@endpoint("/", summary="The API entry point: version and links to every collection", tag="entry")
def entry_point(user):
    links = {name: {"href": url_for(ep, _external=True)} for name, ep in COLLECTIONS.items()}
    links["self"] = {"href": url_for("api.entry_point", _external=True)}
    links["docs"] = {"href": url_for("api.openapi_document", _external=True)}
    return hal({
        "motd": "Mobilize OSDI API",
        "osdi_version": "1.0",
        "vendor_name": "mobilize",
        "product_name": "mobilize",
        "namespace": "mobilize",
        "max_pagesize": MAX_PER_PAGE,
        "_links": links,
    })


@bp.get("/openapi.json")
def openapi_document():
    return openapi.document()
