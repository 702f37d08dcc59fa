"""The events page, event pages, and organizers' event pages under /orgs/<slug>/events."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from mobilize.accounts import services as accounts
from mobilize.accounts.forms import EmptyForm
from mobilize.core.auth import current_user_id
from mobilize.core.errors import DomainError, Invalid, NotFound
from mobilize.events import access, calendar_links, cohosts, disclosure, listing, services, times
from mobilize.events import reminder_offsets as reminders
from mobilize.events.forms import TYPE_LABELS, EventForm, SearchForm, event_form_for
from mobilize.events.listing import EventFilters

bp = Blueprint("events", __name__)


@bp.app_template_filter("event_time")
def event_time(instant, tz_name: str) -> str:
    return times.format_when(instant, tz_name)


@bp.app_template_filter("event_time_range")
def event_time_range(slot, tz_name: str) -> str:
    return times.format_range(slot.start_at, slot.end_at, tz_name)


@bp.app_template_filter("local_time")
def local_time(instant, tz_name: str):
    return times.local(instant, tz_name)


@bp.app_context_processor
def event_helpers():
    """What pages may show of an event is what ``disclosure`` allows the public: organizers see the same page."""
    return {"event_type_label": TYPE_LABELS.get, "public_place": disclosure.public_place,
            "address_is_public": disclosure.address_is_public,
            "public_contact": lambda event: disclosure.contact(event, disclosure.PUBLIC)}


@bp.get("/events")
def index():
    form = SearchForm(request.args)
    status = 200
    try:
        filters = listing.filters_from_args(request.args)
    except Invalid as error:
        for name, message in error.fields.items():
            field = getattr(form, {"lat": "zipcode", "lng": "zipcode"}.get(name, name), None)
            if field is not None:
                field.errors = [*field.errors, message]
        form.form_errors = [error.message]
        filters, status = EventFilters(), 422
    results = listing.search_events(filters)
    return render_template("events/index.html", form=form, results=results, filters=filters), status


@bp.get("/events/<uuid:event_id>")
def show(event_id):
    user_id = current_user_id()
    event = services.public_event(event_id, user_id)
    slots = services.active_timeslots(event)
    links = [(slot, calendar_links.google(event, slot), calendar_links.outlook(event, slot)) for slot in slots]
    return render_template(
        "events/show.html", event=event, slots=slots, calendar_links=links,
        managing_org=access.managing_organization(user_id, event),
        ics_url=url_for("feeds.event_ics", event_id=event.uuid)
        if "feeds.event_ics" in current_app.view_functions else None,
        empty_form=EmptyForm(),
    )


# Organizers.

def _org(slug: str):
    org = accounts.get_organization(slug)
    accounts.require_member(current_user_id(), org.id)
    return org


def _event_in(org, event_id):
    """The event when this organization hosts or co-hosts it (and the user organizes for it)."""
    return access.event_for_organizer(current_user_id(), event_id, slug=org.slug)


@bp.get("/orgs/<slug>/events")
@login_required
def manage(slug: str):
    org = _org(slug)
    upcoming, past = listing.managed_events(current_user_id(), org.id)
    return render_template("events/manage.html", org=org, upcoming=upcoming, past=past, empty_form=EmptyForm(),
                           invitations=cohosts.pending_for(current_user_id(), org.id))


@bp.route("/orgs/<slug>/cohost-invitations/<uuid:invitation_id>", methods=["GET", "POST"])
@login_required
def invitation(slug: str, invitation_id):
    """An invitation to co-host, for the invited organization's organizers: accept or decline it."""
    org = _org(slug)
    found = cohosts.invitation_for(current_user_id(), invitation_id)
    if found.organization_id != org.id:
        raise NotFound(cohosts.GONE)
    form = EmptyForm()
    if form.validate_on_submit() and request.form.get("answer") in ("accept", "decline"):
        accept = request.form["answer"] == "accept"
        cohosts.respond(current_user_id(), invitation_id, accept)
        if accept:
            flash(f"{org.name} co-hosts “{found.event.title}” now.", "success")
            return redirect(url_for("events.show", event_id=found.event.uuid))
        flash(f"{org.name} does not co-host “{found.event.title}”.", "info")
        return redirect(url_for("events.manage", slug=org.slug))
    event = found.event
    return render_template("events/invitation.html", org=org, invitation=found, event=event,
                           slots=services.active_timeslots(event), form=form)


def _save(form: EventForm, org, event=None):
    """Save the event, then its reminder offsets when the form carried them (already checked by the form)."""
    fields, rows = form.to_fields()
    try:
        if event is None:
            saved = services.create_event(current_user_id(), org.id, fields)
        else:
            saved = services.update_event(current_user_id(), event.uuid, fields)
    except DomainError as error:
        form.apply_errors(error, rows)
        return None
    if form.reminders.sent:
        reminders.set_reminder_offsets(current_user_id(), saved.id, form.reminders.data)
    return saved


def _editor(form: EventForm, org, event=None, heading: str = "New event"):
    """The editor page; 422 when it shows errors."""
    page = render_template("events/form.html", form=form, org=org, event=event, heading=heading,
                           zone_names=sorted(times.zone_names()),
                           cohost_answers=cohosts.answers(event) if event else [])
    return page, (422 if form.errors or form.form_errors else 200)


@bp.route("/orgs/<slug>/events/new", methods=["GET", "POST"])
@login_required
def new(slug: str):
    org = _org(slug)
    form = EventForm()
    if "add_timeslot" in request.form and form.is_submitted():
        form.timeslots.append_entry()
        return _editor(form, org)
    if form.validate_on_submit():
        event = _save(form, org)
        if event:
            flash(f"“{event.title}” is published.", "success")
            return redirect(url_for("events.show", event_id=event.uuid))
    return _editor(form, org)


@bp.get("/orgs/<slug>/events/<uuid:event_id>/duplicate")
@login_required
def duplicate(slug: str, event_id):
    """The new-event editor, filled from an existing event; nothing is saved until it is submitted."""
    org = _org(slug)
    source = _event_in(org, event_id)
    form = EventForm()
    form.fill_from(services.copy_fields(source))
    form.reminders.data = reminders.reminder_offsets(source.id)
    return render_template("events/form.html", form=form, org=org, event=None, heading="Duplicate event",
                           action=url_for("events.new", slug=org.slug), zone_names=sorted(times.zone_names()))


@bp.route("/orgs/<slug>/events/<uuid:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, event_id):
    org = _org(slug)
    event = _event_in(org, event_id)
    form = event_form_for(event)
    if "add_timeslot" in request.form and form.is_submitted():
        form.timeslots.append_entry()
        return _editor(form, org, event, "Edit event")
    if form.validate_on_submit():
        if _save(form, org, event):
            flash("Saved.", "success")
            return redirect(url_for("events.show", event_id=event.uuid))
    return _editor(form, org, event, "Edit event")


@bp.post("/orgs/<slug>/events/<uuid:event_id>/cancel")
@login_required
def cancel(slug: str, event_id):
    org = _org(slug)
    event = _event_in(org, event_id)
    if EmptyForm().validate_on_submit():
        services.cancel_event(current_user_id(), event.uuid)
        flash(f"“{event.title}” is cancelled. Its page stays up and says so.", "info")
    return redirect(url_for("events.show", event_id=event.uuid))


@bp.post("/orgs/<slug>/events/<uuid:event_id>/delete")
@login_required
def delete(slug: str, event_id):
    org = _org(slug)
    event = _event_in(org, event_id)
    if EmptyForm().validate_on_submit():
        services.delete_event(current_user_id(), event.uuid)
        flash(f"“{event.title}” is deleted.", "info")
    return redirect(url_for("events.manage", slug=org.slug))
