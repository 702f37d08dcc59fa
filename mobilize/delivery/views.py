"""Organizers' delivery pages: the organization's overview, and each petition's plan and history."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from mobilize.accounts.forms import EmptyForm
from mobilize.accounts.services import get_organization
from mobilize.core.auth import current_user_id
from mobilize.core.errors import Conflict, Invalid
from mobilize.core.forms import apply_errors
from mobilize.core.urls import page_number
from mobilize.delivery import services
from mobilize.delivery.forms import DeliveryPlanForm
from mobilize.events import times
from mobilize.petitions.services import managed_petition_by_uuid

bp = Blueprint("delivery", __name__)
DEFAULT_TIMEZONE = "America/New_York"


def _managed(slug: str, petition_id):
    return managed_petition_by_uuid(current_user_id(), get_organization(slug), petition_id)


@bp.get("/orgs/<slug>/deliveries")
@login_required
def manage(slug: str):
    org = get_organization(slug)
    rows = services.organization_deliveries(current_user_id(), org.id)
    return render_template("delivery/manage.html", org=org, rows=rows)


@bp.route("/orgs/<slug>/petitions/<uuid:petition_id>/delivery", methods=["GET", "POST"])
@login_required
def plan(slug: str, petition_id):
    petition = _managed(slug, petition_id)
    saved = services.plan_for(current_user_id(), petition.id)
    form = DeliveryPlanForm()
    if not form.is_submitted():
        if saved is not None:
            form.fill(saved)
        else:
            form.timezone.data = DEFAULT_TIMEZONE
    status = 200
    if form.validate_on_submit():
        try:
            services.save_plan(current_user_id(), petition.id, form.to_input())
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash("Delivery plan saved.", "success")
            return redirect(url_for("delivery.plan", slug=slug, petition_id=petition.uuid))
    if form.is_submitted():
        status = 422
    page = page_number(request.args.get("page"))
    batches, more = services.history(current_user_id(), petition.id, page=page)
    return render_template(
        "delivery/plan.html", org=petition.organization, petition=petition, plan=saved, form=form,
        batches=batches, more=more, page=page, empty_form=EmptyForm(),
        recipients=services.recipients(current_user_id(), petition.id),
        zone_names=sorted(times.zone_names()), zone=saved.timezone if saved else DEFAULT_TIMEZONE,
    ), status


def _action(slug: str, petition_id, act, done: str):
    petition = _managed(slug, petition_id)
    if EmptyForm().validate_on_submit():
        try:
            act(petition)
        except Conflict as error:
            flash(error.message, "error")
        else:
            flash(done, "success")
    return redirect(url_for("delivery.plan", slug=slug, petition_id=petition.uuid))


@bp.post("/orgs/<slug>/petitions/<uuid:petition_id>/delivery/now")
@login_required
def deliver_now(slug: str, petition_id):
    return _action(slug, petition_id, lambda p: services.deliver_now(current_user_id(), p.id),
                   "Delivering every waiting signature now.")


@bp.post("/orgs/<slug>/petitions/<uuid:petition_id>/delivery/secret")
@login_required
def renew_secret(slug: str, petition_id):
    return _action(slug, petition_id, lambda p: services.renew_webhook_secret(current_user_id(), p.id),
                   "New webhook secret made. Give it to the receiver: batches are signed with it from now on.")


@bp.post("/orgs/<slug>/petitions/<uuid:petition_id>/delivery/batches/<uuid:batch_id>/retry")
@login_required
def retry(slug: str, petition_id, batch_id):
    return _action(slug, petition_id, lambda p: services.retry_batch(current_user_id(), p.id, batch_id),
                   "The batch is queued to be sent again.")
