"""What every API endpoint shares: token auth, validation, HAL, pagination, OData filters.

Endpoints are declared with ``endpoint()``, which both validates the request
(pydantic models) and records the operation for /api/v1/openapi.json, so the
document cannot drift from the code.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import wraps

from flask import Blueprint, g, jsonify, request, url_for
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from mobilize.accounts.login import TOKEN_HEADER, api_user
from mobilize.core.errors import DomainError, Invalid
from mobilize.core.urls import page_number
from mobilize.extensions import csrf, db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token auth only: the API never reads the session cookie

MEDIA_TYPE = "application/hal+json"
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


@dataclass
class Operation:
    rule: str
    methods: tuple[str, ...]
    summary: str
    body: type[BaseModel] | None
    auth: str
    tag: str
    query: dict[str, str] = field(default_factory=dict)


OPERATIONS: list[Operation] = []
COLLECTIONS: dict[str, str] = {}


def collection(name: str, endpoint_name: str) -> None:
    """List a collection in the API entry point's _links."""
    COLLECTIONS[name] = endpoint_name


def endpoint(rule, methods=("GET",), *, summary, body=None, auth="optional", tag="", query=None):
    """Declare an API endpoint. auth: 'optional' or 'required' (an organizer's token).

    The view is called with ``user`` (the token's organizer or None) and, when
    ``body`` is a pydantic model, ``body`` (the validated request).
    """

    def decorator(view):
        OPERATIONS.append(Operation(rule, tuple(methods), summary, body, auth, tag, query or {}))

        @wraps(view)
        def wrapper(**kwargs):
            user = api_user()
            if request.headers.get(TOKEN_HEADER) and user is None:
                raise Unauthorized(f"The {TOKEN_HEADER} header does not hold a valid token.")
            if auth == "required" and user is None:
                raise Unauthorized(f"Send an organizer's API token in the {TOKEN_HEADER} header.")
            g.api_user = user
            if body is not None:
                kwargs["body"] = parse_body(body)
            return view(user=user, **kwargs)

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapper, methods=list(methods))
        return wrapper

    return decorator


def parse_body(model: type[BaseModel]) -> BaseModel:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("Send a JSON object as the request body.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in error.errors()}
        raise Invalid("Some fields are not valid.", fields) from None


def hal(body: dict, status: int = 200, headers: dict | None = None):
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    response.headers.update(headers or {})
    return response


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def parse_iso(value: str, name: str = "date") -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise Invalid(f"{name} is not an ISO 8601 date and time.", {name: value}) from None
    return parsed


def page_args() -> tuple[int, int]:
    page = page_number(request.args.get("page"))
    try:
        per_page = int(request.args.get("per_page", DEFAULT_PER_PAGE))
    except ValueError:
        raise Invalid("per_page must be a whole number.", {"per_page": "Not a number."}) from None
    return page, min(max(1, per_page), MAX_PER_PAGE)


def paginate(query, serialize, name: str, endpoint_name: str, **values) -> dict:
    """An OSDI collection page of ``query`` (a select of one entity)."""
    page, per_page = page_args()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    pages = max(1, math.ceil(total / per_page))
    args = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}

    def link(p):
        return {"href": url_for(endpoint_name, _external=True, page=p, per_page=per_page, **values, **args)}

    links = {"self": link(page)}
    if page < pages:
        links["next"] = link(page + 1)
    if page > 1:
        links["prev"] = link(min(page - 1, pages))
    return {
        "page": page,
        "per_page": per_page,
        "total_pages": pages,
        "total_records": total,
        "_links": links,
        "_embedded": {name: [serialize(row) for row in rows]},
    }


FILTER_TERM = re.compile(r"^\s*(\w+)\s+(eq|ne|gt|ge|lt|le)\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
OPERATORS = {
    "eq": lambda c, v: c == v, "ne": lambda c, v: c != v, "gt": lambda c, v: c > v,
    "ge": lambda c, v: c >= v, "lt": lambda c, v: c < v, "le": lambda c, v: c <= v,
}


def odata_filter(columns: dict) -> list:
    """Clauses from OSDI's OData subset: ``modified_date gt '2026-01-01T00:00:00Z' and status eq 'x'``.

    ``columns`` maps each filterable OSDI field to a column; date fields
    (named ``*_date``) take ISO 8601 values.
    """
    expression = request.args.get("filter", "").strip()
    if not expression:
        return []
    clauses = []
    for term in re.split(r"\s+and\s+", expression, flags=re.IGNORECASE):
        match = FILTER_TERM.match(term)
        if not match:
            raise Invalid("filter terms look like: modified_date gt '2026-01-01T00:00:00Z'", {"filter": term})
        name, op, raw = match.group(1), match.group(2).lower(), match.group(3).replace("''", "'")
        if name not in columns:
            raise Invalid(f"Cannot filter on {name}; use one of {', '.join(sorted(columns))}.", {"filter": name})
        value = parse_iso(raw, name) if name.endswith("_date") else raw
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        clauses.append(OPERATORS[op](columns[name], value))
    return clauses
