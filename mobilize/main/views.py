"""The home page, health check, favicon and, in the embedded setup, the mail outbox for site administrators."""

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, send_from_directory
from flask_login import current_user
from sqlalchemy import text

from mobilize.accounts.admins import require_site_admin
from mobilize.core.auth import current_user_id
from mobilize.events.listing import EventFilters, search_events
from mobilize.extensions import db, login_manager
from mobilize.petitions.services import listed_petitions

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    upcoming = search_events(EventFilters(), per_page=3)
    petitions, _ = listed_petitions(limit=3)
    return render_template("main/home.html", results=upcoming, filters=upcoming.filters, petitions=petitions)


@bp.route("/favicon.ico")
def favicon():
    """Browsers and feed readers ask for it at the root, whatever the page says."""
    return send_from_directory(current_app.static_folder, "favicon.ico", max_age=86400)


@bp.route("/healthz")
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


def _outbox_files() -> list[Path]:
    folder = Path(current_app.config["MAIL_FILE_PATH"])
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)[:100]


@bp.route("/dev/outbox")
def outbox():
    """Mail holds reset links and supporters' addresses: only in the embedded setup, only for site administrators."""
    if not current_app.config["SHOW_DEV_OUTBOX"]:
        abort(404)
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    require_site_admin(current_user_id())
    messages = [(p.name, p.read_text(errors="replace")) for p in _outbox_files()]
    return render_template("main/outbox.html", messages=messages, folder=current_app.config["MAIL_FILE_PATH"])


# Sections of the site, shown in the navigation once their feature is installed.
SECTIONS = (("events.index", "Find an event"), ("petitions.index", "Sign a petition"))
# An organization's pages for its organizers; each endpoint takes the org's slug.
ORG_SECTIONS = (("events.manage", "Events"), ("petitions.manage", "Petitions"), ("delivery.manage", "Deliveries"),
                ("announcements.manage", "Announcements"), ("feeds.organizer_settings", "Calendar feeds"))


@bp.app_context_processor
def site_context():
    links = [(endpoint, label) for endpoint, label in SECTIONS if endpoint in current_app.view_functions]
    org_links = [(endpoint, label) for endpoint, label in ORG_SECTIONS if endpoint in current_app.view_functions]
    return {"site_name": current_app.config["SITE_NAME"], "nav_links": links, "org_links": org_links}
