"""URL helpers."""

from urllib.parse import urlsplit

from flask import current_app

from mobilize.core.errors import Invalid


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def public_url(path: str) -> str:
    """An absolute URL for mail, feeds and anything read outside a request."""
    return current_app.config["PUBLIC_URL"] + path


def external_url(endpoint: str, **values) -> str:
    """An absolute URL under PUBLIC_URL, built with or without a request."""
    parts = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)


# Deeper than anyone pages by hand, and far from where OFFSET arithmetic overflows a bigint.
MAX_PAGE = 10_000


def page_number(value, field: str = "page") -> int:
    """A page number from a query string; Invalid (422) unless it is a whole number from 1 to MAX_PAGE."""
    try:
        page = int(value or 1)
    except (TypeError, ValueError):
        raise Invalid("The page must be a whole number.", {field: "Not a number."}) from None
    if not 1 <= page <= MAX_PAGE:
        raise Invalid(f"Pages run from 1 to {MAX_PAGE}.", {field: "Out of range."})
    return page
