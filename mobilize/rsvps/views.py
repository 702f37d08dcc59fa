"""RSVP pages for supporters (form, thanks, manage link) and the organizers' attendee list."""

import uuid
from datetime import date

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_login import login_required

from mobilize.core.auth import current_user_id
from mobilize.core.errors import DomainError, NotFound
from mobilize.core.forms import apply_errors
from mobilize.core.urls import page_number, safe_next
from mobilize.events import access
from mobilize.events.models import Event
from mobilize.events.times import format_when
from mobilize.extensions import limiter
from mobilize.feeds.personal import feed_token_for, rotate_feed_token
from mobilize.rsvps import forms, links, mail, seats, services
from mobilize.rsvps.attendees import (
    attendance_by_uuid,
    attendee_csv,
    attendee_page,
    going_count,
    has_started,
    status_counts,
)
from mobilize.rsvps.models import PLACE_STATUSES, UTM_FIELDS, waitlist_positions

bp = Blueprint("rsvps", __name__)


def rsvp_form_for(event: Event) -> forms.RsvpForm:
    """The RSVP form for the event page's box, carrying the visit's referrer and UTM parameters."""
    failed = g.get("rsvp_form")
    if failed is not None and g.get("rsvp_event_id") == event.id:
        return failed
    tracking = {name: request.args.get(name, "")[:200] for name in UTM_FIELDS}
    return forms.RsvpForm(event, referrer=(request.referrer or "")[:1000], **tracking)


@bp.app_context_processor
def rsvp_helpers():
    return {"rsvp_form_for": rsvp_form_for, "going_count": going_count, "event_url": links.event_url,
            "slot_label": seats.slot_label}


@bp.app_template_filter("rsvp_time")
def rsvp_time(instant, tz_name: str) -> str:
    return format_when(instant, tz_name)


def _rsvp_limit() -> str:
    return current_app.config["RSVP_RATE_LIMIT"]


# ------------------------------------------------------------------ supporters

@bp.route("/events/<uuid:event_uuid>/rsvp", methods=["GET", "POST"])
@limiter.limit(_rsvp_limit, methods=["POST"])
def rsvp(event_uuid):
    event = services.get_event(event_uuid, current_user_id())
    form = forms.RsvpForm(event)
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            attendance = services.rsvp(
                event.id, email=form.email.data, given_name=form.given_name.data,
                family_name=form.family_name.data, phone=form.phone.data or "",
                postal_code=form.postal_code.data, timeslot_ids=form.timeslots.data,
                guests=form.guests.data if "guests" in form else 0, opt_in=form.opt_in.data,
                referrer=form.referrer.data or "", utm=form.utm(),
            )
        except DomainError as error:
            apply_errors(form, error)
            status = error.status
        else:
            session["rsvp"] = str(attendance.uuid)
            return redirect(url_for("rsvps.thanks", event_uuid=event_uuid))
    g.rsvp_form, g.rsvp_event_id = form, event.id
    return render_template("rsvps/rsvp.html", event=event, form=form), status


@bp.get("/events/<uuid:event_uuid>/rsvp/thanks")
def thanks(event_uuid):
    """After an RSVP: its outcome, for the browser that sent it (the attendance's uuid is in the session)."""
    event = services.get_event(event_uuid, current_user_id())
    try:
        attendance = attendance_by_uuid(event, uuid.UUID(session.get("rsvp", "")))
    except (NotFound, ValueError):
        return redirect(links.event_url(event, external=False))
    return render_template("rsvps/thanks.html", event=event, attendance=attendance,
                           positions=waitlist_positions(attendance), details=mail.details(attendance))


def _private(response):
    """Pages reached by a secret link: never cached, never leaking the link as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/rsvp/<token>", methods=["GET", "POST"])
def manage(token: str):
    attendance = links.attendance_for_token(token)
    event = attendance.event
    current = {"timeslots": [str(p.timeslot.uuid) for p in attendance.active_places()], "guests": attendance.guests}
    form = forms.ChangeRsvpForm(event, data=current)
    if form.validate_on_submit():
        try:
            services.change_rsvp(attendance.id, timeslot_ids=form.timeslots.data,
                                 guests=form.guests.data if "guests" in form else 0)
        except DomainError as error:
            apply_errors(form, error)
        else:
            flash("Your RSVP is updated. We emailed you the details.", "success")
            return redirect(url_for("rsvps.manage", token=token))
    feed_url = url_for("feeds.personal", token=feed_token_for(attendance.person_id), _external=True)
    response = Response(render_template(
        "rsvps/manage.html", event=event, attendance=attendance, form=form, token=token, empty_form=forms.EmptyForm(),
        positions=waitlist_positions(attendance), details=mail.details(attendance), feed_url=feed_url,
    ), status=422 if form.errors or form.form_errors else 200)
    return _private(response)


@bp.post("/rsvp/<token>/cancel")
def cancel(token: str):
    attendance = links.attendance_for_token(token)
    if forms.EmptyForm().validate_on_submit():
        services.cancel_rsvp(attendance.id)
        flash("Your RSVP is cancelled, and your seat is free for someone else. Changed your mind? RSVP again.",
              "info")
    return _private(redirect(url_for("rsvps.manage", token=token)))


@bp.post("/rsvp/<token>/new-link")
def new_link(token: str):
    attendance = links.attendance_for_token(token)
    if forms.EmptyForm().validate_on_submit():
        services.replace_manage_link(attendance.id)
        flash("We emailed you a new link to your RSVP. The one you used no longer works.", "info")
        return _private(redirect(links.event_url(attendance.event, external=False)))
    return _private(redirect(url_for("rsvps.manage", token=token)))


@bp.post("/rsvp/<token>/calendar-link")
def new_calendar_link(token: str):
    attendance = links.attendance_for_token(token)
    if forms.EmptyForm().validate_on_submit():
        rotate_feed_token(attendance.person_id)
        flash("Your calendar link is replaced. Subscribe again with the new one; the old one stops updating.", "info")
    return _private(redirect(url_for("rsvps.manage", token=token)))


# ------------------------------------------------------------------ organizers

def _slot_by_uuid(event: Event, value: str | None):
    return next((slot for slot in event.timeslots if str(slot.uuid) == (value or "")), None)


def _filters(event: Event, form: forms.AttendeeFilterForm) -> dict:
    slot = _slot_by_uuid(event, form.timeslot.data)
    status = form.status.data if form.status.data in PLACE_STATUSES else None
    return {"timeslot_id": slot.id if slot else None, "status": status,
            "search": form.q.data or None, "attended": form.attended.data or None}


def _filter_form(event: Event) -> forms.AttendeeFilterForm:
    form = forms.AttendeeFilterForm(formdata=request.args)
    form.timeslot.choices = forms.options(("", "All times"), *(
        (str(slot.uuid), seats.slot_label(slot, event.timezone)) for slot in event.timeslots))
    return form


@bp.get("/orgs/<slug>/events/<uuid:event_uuid>/attendees")
@login_required
def attendees(slug: str, event_uuid):
    event = access.event_for_organizer(current_user_id(), event_uuid, slug=slug)
    filter_form = _filter_form(event)
    page = page_number(request.args.get("page"))
    per_page = 50
    rows, total = attendee_page(event, page=page, per_page=per_page, **_filters(event, filter_form))
    move_choices = [(str(s.uuid), seats.slot_label(s, event.timezone)) for s in services.open_timeslots(event)]
    return render_template(
        "rsvps/attendees.html", event=event, slug=slug, rows=rows, total=total, page=page, per_page=per_page,
        filter_form=filter_form, counts=status_counts(event), empty_form=forms.EmptyForm(),
        capacity_forms={slot.id: forms.CapacityForm(prefix=f"s{slot.id}", capacity=slot.capacity)
                        for slot in event.timeslots},
        move_choices=move_choices, started=has_started(event),
        query=request.query_string.decode(),
    )


@bp.get("/orgs/<slug>/events/<uuid:event_uuid>/attendees.csv")
@login_required
def export(slug: str, event_uuid):
    event = access.event_for_organizer(current_user_id(), event_uuid, slug=slug)
    chunks = attendee_csv(event, **_filters(event, _filter_form(event)))
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    filename = f"attendees-{event.uuid.hex[:8]}-{date.today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _back(slug: str, event: Event):
    target = safe_next(request.form.get("back"))
    return redirect(target or url_for("rsvps.attendees", slug=slug, event_uuid=event.uuid))


def _attendee_action(slug: str, event_uuid, attendance_uuid, action, success: str):
    event = access.event_for_organizer(current_user_id(), event_uuid, slug=slug)
    attendance = attendance_by_uuid(event, attendance_uuid)
    if forms.EmptyForm().validate_on_submit():
        try:
            action(event, attendance)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(success, "success")
    return _back(slug, event)


@bp.post("/orgs/<slug>/events/<uuid:event_uuid>/attendees/<uuid:attendance_uuid>/attended")
@login_required
def mark(slug: str, event_uuid, attendance_uuid):
    value = {"yes": True, "no": False}.get(request.form.get("attended", ""))
    return _attendee_action(
        slug, event_uuid, attendance_uuid,
        lambda event, attendance: services.mark_attended(current_user_id(), attendance.id, value),
        {True: "Marked as attended.", False: "Marked as a no-show.", None: "Unmarked."}[value],
    )


@bp.post("/orgs/<slug>/events/<uuid:event_uuid>/attendees/<uuid:attendance_uuid>/cancel")
@login_required
def cancel_attendee(slug: str, event_uuid, attendance_uuid):
    def action(event, attendance):
        slot = _slot_by_uuid(event, request.form.get("timeslot"))
        services.cancel_place(current_user_id(), attendance.id, slot.id if slot else None)

    return _attendee_action(slug, event_uuid, attendance_uuid, action,
                            "Cancelled. They are told by email, and the seat goes to the waitlist.")


@bp.post("/orgs/<slug>/events/<uuid:event_uuid>/attendees/<uuid:attendance_uuid>/move")
@login_required
def move(slug: str, event_uuid, attendance_uuid):
    def action(event, attendance):
        source = _slot_by_uuid(event, request.form.get("from_timeslot"))
        target = _slot_by_uuid(event, request.form.get("to_timeslot"))
        if source is None or target is None:
            raise NotFound("Choose a time of this event.")
        services.move_attendee(current_user_id(), attendance.id, source.id, target.id)

    return _attendee_action(slug, event_uuid, attendance_uuid, action, "Moved. They are told by email.")


@bp.post("/orgs/<slug>/events/<uuid:event_uuid>/timeslots/<uuid:timeslot_uuid>/capacity")
@login_required
def capacity(slug: str, event_uuid, timeslot_uuid):
    event = access.event_for_organizer(current_user_id(), event_uuid, slug=slug)
    slot = _slot_by_uuid(event, str(timeslot_uuid))
    if slot is None:
        raise NotFound("We could not find that time.")
    form = forms.CapacityForm(prefix=f"s{slot.id}")
    if form.validate_on_submit():
        try:
            services.set_capacity(current_user_id(), slot.id, form.capacity.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Capacity saved. Anyone on the waitlist who now fits has been given a seat and told.", "success")
    else:
        flash("Enter a capacity of 0 or more, or leave it empty for no limit.", "error")
    return _back(slug, event)
