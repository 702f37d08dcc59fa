"""Organizers' announcement pages under /orgs/<slug>/announcements."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from mobilize.accounts import services as accounts
from mobilize.accounts.forms import EmptyForm
from mobilize.announcements import services
from mobilize.announcements.forms import AnnouncementForm
from mobilize.core.auth import current_user_id
from mobilize.core.errors import Conflict, DomainError
from mobilize.core.forms import apply_errors
from mobilize.events import times

bp = Blueprint("announcements", __name__)
DEFAULT_TIMEZONE = "America/New_York"


def _org(slug: str):
    org = accounts.get_organization(slug)
    accounts.require_member(current_user_id(), org.id)
    return org


@bp.get("/orgs/<slug>/announcements")
@login_required
def manage(slug: str):
    org = _org(slug)
    announcements = services.organization_announcements(current_user_id(), org.id)
    return render_template("announcements/manage.html", org=org, announcements=announcements)


def _editor(org, form: AnnouncementForm, announcement=None):
    status = 422 if form.errors or form.form_errors else 200
    return render_template("announcements/form.html", org=org, form=form, announcement=announcement,
                           zone_names=sorted(times.zone_names())), status


def _save(org, form: AnnouncementForm, announcement=None):
    """The saved announcement, or None with the service's errors on the form."""
    schedule = "draft" not in request.form
    try:
        if announcement is None:
            return services.create_announcement(current_user_id(), org.id, form.to_draft(), schedule)
        return services.update_announcement(current_user_id(), org.id, announcement.uuid, form.to_draft(), schedule)
    except DomainError as error:
        apply_errors(form, error)
        return None


def _saved_message(announcement) -> str:
    if announcement.status == "draft":
        return "Saved as a draft. Schedule it when it is ready."
    when = times.format_when(announcement.send_at, announcement.timezone)
    return f"Scheduled for {when}. You can change or cancel it until then."


@bp.route("/orgs/<slug>/announcements/new", methods=["GET", "POST"])
@login_required
def new(slug: str):
    org = _org(slug)
    form = AnnouncementForm()
    form.set_choices(services.choices(current_user_id(), org.id))
    if not form.is_submitted():
        form.timezone.data = services.last_timezone(org.id) or DEFAULT_TIMEZONE
    if form.validate_on_submit():
        announcement = _save(org, form)
        if announcement:
            flash(_saved_message(announcement), "success")
            return redirect(url_for("announcements.show", slug=org.slug, announcement_id=announcement.uuid))
    return _editor(org, form)


@bp.get("/orgs/<slug>/announcements/<uuid:announcement_id>")
@login_required
def show(slug: str, announcement_id):
    """The preview: the message as supporters will see it, who gets it, and where the send is."""
    org = _org(slug)
    announcement = services.managed_announcement(current_user_id(), org.id, announcement_id)
    audience = services.audience_size(announcement) if announcement.editable else None
    return render_template("announcements/show.html", org=org, announcement=announcement, audience=audience,
                           filters=services.describe_audience(announcement), empty_form=EmptyForm(),
                           sender=services.sender(org.name))


@bp.route("/orgs/<slug>/announcements/<uuid:announcement_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, announcement_id):
    org = _org(slug)
    announcement = services.managed_announcement(current_user_id(), org.id, announcement_id)
    if not announcement.editable:
        flash("This announcement has started sending or was cancelled, so it can no longer be changed.", "error")
        return redirect(url_for("announcements.show", slug=org.slug, announcement_id=announcement.uuid))
    form = AnnouncementForm()
    form.set_choices(services.choices(current_user_id(), org.id))
    if not form.is_submitted():
        form.fill(announcement)
    if form.validate_on_submit():
        saved = _save(org, form, announcement)
        if saved:
            flash(_saved_message(saved), "success")
            return redirect(url_for("announcements.show", slug=org.slug, announcement_id=saved.uuid))
    return _editor(org, form, announcement)


@bp.post("/orgs/<slug>/announcements/<uuid:announcement_id>/cancel")
@login_required
def cancel(slug: str, announcement_id):
    org = _org(slug)
    if EmptyForm().validate_on_submit():
        try:
            services.cancel_announcement(current_user_id(), org.id, announcement_id)
            flash("Cancelled. Nobody will get it.", "info")
        except Conflict as error:
            flash(error.message, "error")
    return redirect(url_for("announcements.show", slug=org.slug, announcement_id=announcement_id))
