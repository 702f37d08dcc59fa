"""Calendar feeds over HTTP: bytes with the headers calendar clients and caches need.

Conditional requests are answered from the cached validators alone (304),
HEAD comes with GET, and secret-URL feeds are kept out of shared caches.
No rate limits: calendar services poll from a few shared addresses, one
fetcher for thousands of subscribers.
"""

import hashlib
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.http import http_date, is_resource_modified, quote_etag

from mobilize.accounts import services as accounts
from mobilize.accounts.forms import EmptyForm
from mobilize.core.auth import current_user_id
from mobilize.core.urls import external_url
from mobilize.feeds import (
    invalidation,  # noqa: F401 - registers the listeners that keep feeds fresh
    services,
)

bp = Blueprint("feeds", __name__)


@bp.app_template_global()
def calendar_subscribe_links(feed_url: str, name: str | None = None) -> dict:
    """Where to send a supporter to subscribe to ``feed_url`` (an absolute http(s) URL)."""
    webcal = "webcal://" + feed_url.split("://", 1)[-1]
    add = urlencode({"url": feed_url, **({"name": name} if name else {})})
    return {
        "webcal": webcal,
        "google": "https://calendar.google.com/calendar/render?cid=" + quote(webcal, safe=""),
        "outlook": "https://outlook.live.com/calendar/0/addfromweb?" + add,
        "office": "https://outlook.office.com/calendar/0/addfromweb?" + add,
        "url": feed_url,
        "id": hashlib.sha256(feed_url.encode()).hexdigest()[:10],  # for a unique input id on the page
    }


def _respond(feed: services.Feed, download: str | None = None) -> Response:
    cached = services.serve(feed)
    headers = {"Cache-Control": f"{'private' if feed.private else 'public'}, max-age={services.HTTP_MAX_AGE}"}
    if feed.private:
        headers.update({"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"})
    if not is_resource_modified(request.environ, etag=cached.etag, last_modified=cached.last_modified):
        headers.update({"ETag": quote_etag(cached.etag), "Last-Modified": http_date(cached.last_modified)})
        return Response(status=304, headers=headers)
    etag, last_modified, body = cached.load()  # validators of these very bytes, should the feed have changed
    response = Response(body, mimetype="text/calendar", headers=headers)
    response.set_etag(etag)
    response.last_modified = last_modified
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="{download}.ics"'
    return response


@bp.get("/events.ics")
def public():
    """All public events, or the events page's filters (?type=rally&tag=...&zipcode=...)."""
    return _respond(services.public_feed(request.args))


@bp.get("/orgs/<slug>/events.ics")
def organization(slug: str):
    return _respond(services.organization_feed(slug))


@bp.get("/events/<uuid:event_id>.ics")
def event_ics(event_id):
    return _respond(services.event_feed(event_id, current_user_id()), download="event")


@bp.get("/calendar/organizer/<token>.ics")
def organizer(token: str):
    return _respond(services.organizer_feed(token))


@bp.get("/calendar/me/<token>.ics")
def personal(token: str):
    """A supporter's RSVPs; ?alarm=<minutes> adds a reminder before each."""
    return _respond(services.personal_feed(token, request.args.get("alarm")))


@bp.route("/orgs/<slug>/calendar", methods=["GET", "POST"])
@login_required
def organizer_settings(slug: str):
    """An organizer's own secret feed of all the organization's events: make, replace or stop it."""
    org = accounts.get_organization(slug)
    user_id = current_user_id()
    form = EmptyForm()
    if form.validate_on_submit():
        if request.form.get("action") == "revoke":
            services.revoke_organizer_feed(user_id, org.id)
            flash("Your calendar link is turned off. Calendars subscribed to it stop updating.", "info")
        else:
            services.create_organizer_feed(user_id, org.id)
            flash("Your new calendar link is ready. Any earlier link no longer works.", "success")
        return redirect(url_for("feeds.organizer_settings", slug=org.slug))
    feed = services.organizer_feed_for(user_id, org.id)
    feed_url = external_url("feeds.organizer", token=services.organizer_feed_token(feed)) if feed else None
    public_url = external_url("feeds.organization", slug=org.slug)
    return render_template("feeds/organizer.html", org=org, feed_url=feed_url, public_url=public_url, form=form)
