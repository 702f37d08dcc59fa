"""Petition pages: the public page, sign form and widget, confirmation, and the organizers' pages."""

import logging
from datetime import UTC
from urllib.parse import quote, urlencode

import pycountry
from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_limiter.errors import RateLimitExceeded
from flask_login import login_required

from mobilize.accounts.forms import EmptyForm
from mobilize.accounts.services import get_organization, require_member
from mobilize.core.auth import current_user_id
from mobilize.core.errors import Invalid, retry_after
from mobilize.core.forms import apply_errors
from mobilize.core.security import embeddable
from mobilize.core.urls import external_url
from mobilize.events import times
from mobilize.extensions import csrf
from mobilize.petitions import counting, export, forms, services, signing
from mobilize.petitions.limits import sign_limits
from mobilize.petitions.models import Petition

bp = Blueprint("petitions", __name__)
log = logging.getLogger(__name__)
EMBED_ENDPOINTS = {"petitions.embed"}


@bp.url_value_preprocessor
def _frame_widget(endpoint, values):
    """Runs before the rate limiter, so even the widget's 429 page can show inside its frame."""
    if endpoint in EMBED_ENDPOINTS:
        embeddable()


@bp.app_template_filter("country_name")
def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code) if code else None
    return getattr(country, "common_name", None) or getattr(country, "name", code or "")


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(error: RateLimitExceeded):
    template = "petitions/embed_message.html" if request.endpoint in EMBED_ENDPOINTS else "petitions/message.html"
    slug = (request.view_args or {}).get("slug")
    page = render_template(template, title="Please wait a moment", message=error.description, slug=slug)
    return page, 429, retry_after()


# ------------------------------------------------------------------ the public side

@bp.get("/petitions")
def index():
    open_petitions, victories = services.listed_petitions()
    return render_template("petitions/index.html", petitions=open_petitions, victories=victories)


def _sign_form(embed: bool = False) -> forms.SignForm:
    return forms.SignForm(meta={"csrf": False}) if embed else forms.SignForm()


def _sign(slug: str, form: forms.SignForm, source: str) -> bool:
    """Validate and sign; False with the errors on the form. Bots get the same answer as people.

    The petition is read with signable(), not as an ORM object: this is the path a surge takes.
    """
    petition = signing.signable(slug)
    if not form.validate_on_submit():
        return False
    if form.website.data:
        log.info("honeypot filled on petition %s from %s", petition.id, request.remote_addr)
        return True
    if forms.filled_too_fast(form.started.data, petition.id):
        form.form_errors.append("That was quick! Please check your details, then sign again.")
        return False
    signer = signing.Signer(
        email=form.email.data, given_name=form.given_name.data, family_name=form.family_name.data,
        postal_code=form.postal_code.data, country=form.country.data, comment=form.comment.data or "",
        public=form.public.data, opt_in=form.opt_in.data,
    )
    try:
        signing.sign(petition, signer, source=source, ip_address=request.remote_addr)
    except Invalid as error:
        apply_errors(form, error)
        return False
    return True


def share_links(petition: Petition) -> dict[str, str]:
    url = external_url("petitions.show", slug=petition.slug)
    text = f"I signed: {petition.title}. Add your name:"
    return {
        "Email": f"mailto:?subject={quote(petition.title)}&body={quote(text + ' ' + url)}",
        "WhatsApp": "https://wa.me/?" + urlencode({"text": f"{text} {url}"}),
        "Facebook": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url}),
        "X": "https://twitter.com/intent/tweet?" + urlencode({"text": text, "url": url}),
        "LinkedIn": "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url}),
    }


def _shown_form(petition: Petition, form: forms.SignForm) -> forms.SignForm:
    """The sign form as a page or the widget shows it: the organization's opt-in wording, a fresh fill-time token."""
    form.opt_in.label.text = signing.opt_in_wording(petition.organization.name)
    form.started.data = forms.started_token(petition.id)
    return form


def _show(petition: Petition, form: forms.SignForm, status: int = 200):
    _shown_form(petition, form)
    signers, more = services.public_signers(petition.id, per_page=8)
    return render_template(
        "petitions/show.html", petition=petition, form=form, signers=signers, more_signers=more,
        updates=services.petition_updates(petition.id), share=share_links(petition),
    ), status


@bp.get("/petitions/<slug>")
def show(slug: str):
    petition = services.public_petition(slug, current_user_id())
    return _show(petition, _sign_form())


@bp.post("/petitions/<slug>/sign")
@sign_limits()
def sign(slug: str):
    form = _sign_form()
    if _sign(slug, form, "web"):
        return redirect(url_for("petitions.check_email", slug=slug))
    return _show(services.public_petition(slug), form, 422)


@bp.get("/petitions/<slug>/check-email")
def check_email(slug: str):
    petition = services.public_petition(slug)
    return render_template("petitions/check_email.html", petition=petition)


@bp.route("/petitions/<slug>/embed", methods=["GET", "POST"])
@csrf.exempt  # a cross-site frame gets no session cookie; the signed fill-time token guards the form instead
@sign_limits()
def embed(slug: str):
    embeddable()
    form = _sign_form(embed=True)
    if request.method == "POST":
        if _sign(slug, form, "embed"):
            return redirect(url_for("petitions.embed", slug=slug, signed=1))
        status = 422
    else:
        status = 200
    petition = services.public_petition(slug)
    return render_template("petitions/embed.html", petition=petition, form=_shown_form(petition, form),
                           signed=request.args.get("signed") == "1"), status


@bp.get("/petitions/<slug>/count")
def count(slug: str):
    """The count as JSON: one indexed look-up; cacheable for a few seconds, readable from any site."""
    response = jsonify(services.count_for_slug(slug))
    response.cache_control.public = True
    response.cache_control.max_age = 5
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/petitions/<slug>/signers")
def signers(slug: str):
    petition = services.public_petition(slug)
    page = request.args.get("page", 1, type=int)
    rows, more = services.public_signers(petition.id, page=page, per_page=50)
    return render_template("petitions/signers.html", petition=petition, signers=rows, page=max(1, page), more=more)


@bp.route("/signatures/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """The link only shows a button: mail scanners that fetch links do not confirm for people."""
    form = EmptyForm()
    if form.validate_on_submit():
        signature = signing.confirm(token)
        return redirect(url_for("petitions.thanks", slug=signature.petition.slug))
    signature = signing.signature_for_token(token)
    return render_template("petitions/confirm.html", signature=signature, petition=signature.petition, form=form)


@bp.get("/petitions/<slug>/thanks")
def thanks(slug: str):
    petition = services.public_petition(slug)
    return render_template("petitions/thanks.html", petition=petition, share=share_links(petition),
                           count=counting.current_count(petition.id))


# ------------------------------------------------------------------ organizers

def _managed(slug: str, petition_id) -> Petition:
    return services.managed_petition_by_uuid(current_user_id(), get_organization(slug), petition_id)


def _utc(value):
    return value.replace(tzinfo=UTC) if value is not None else None


@bp.get("/orgs/<slug>/petitions")
@login_required
def manage(slug: str):
    org = get_organization(slug)
    petitions = services.organization_petitions(current_user_id(), org.id)
    return render_template("petitions/manage.html", org=org, petitions=petitions)


@bp.route("/orgs/<slug>/petitions/new", methods=["GET", "POST"])
@login_required
def create(slug: str):
    org = get_organization(slug)
    require_member(current_user_id(), org.id)
    form = forms.PetitionForm()
    del form.status
    if form.validate_on_submit():
        try:
            petition = services.create_petition(
                current_user_id(), org.id, title=form.title.data, slug=form.slug.data, summary=form.summary.data,
                body=form.body.data, image_url=form.image_url.data, goal=form.goal.data,
                closes_at=_utc(form.closes_at.data),
            )
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash("Petition created as a draft. Add a target, then open it.", "success")
            return redirect(url_for("petitions.edit", slug=slug, petition_id=petition.uuid))
    return render_template("petitions/form.html", org=org, form=form, petition=None)


@bp.route("/orgs/<slug>/petitions/<uuid:petition_id>", methods=["GET", "POST"])
@login_required
def edit(slug: str, petition_id):
    petition = _managed(slug, petition_id)
    form = forms.PetitionForm(obj=petition)
    if form.validate_on_submit():
        try:
            services.update_petition(
                current_user_id(), petition.id, title=form.title.data, slug=form.slug.data,
                summary=form.summary.data, body=form.body.data, image_url=form.image_url.data, goal=form.goal.data,
                closes_at=_utc(form.closes_at.data), status=form.status.data,
            )
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash("Saved.", "success")
            return redirect(url_for("petitions.edit", slug=slug, petition_id=petition.uuid))
    return render_template("petitions/form.html", org=petition.organization, form=form, petition=petition,
                           target_form=forms.TargetForm(), empty_form=EmptyForm())


@bp.post("/orgs/<slug>/petitions/<uuid:petition_id>/targets")
@login_required
def add_target(slug: str, petition_id):
    petition = _managed(slug, petition_id)
    form = forms.TargetForm()
    if form.validate_on_submit():
        try:
            fields = {f.name: f.data for f in form if f.name != "csrf_token"}
            services.add_target(current_user_id(), petition.id, **fields)
        except Invalid as error:
            flash(" ".join([error.message, *error.fields.values()]), "error")
        else:
            flash("Target added.", "success")
    else:
        flash("The target needs a name; check its fields.", "error")
    return redirect(url_for("petitions.edit", slug=slug, petition_id=petition.uuid) + "#targets")


@bp.post("/orgs/<slug>/petitions/<uuid:petition_id>/targets/<uuid:target_id>/remove")
@login_required
def remove_target(slug: str, petition_id, target_id):
    petition = _managed(slug, petition_id)
    if EmptyForm().validate_on_submit():
        services.remove_target(current_user_id(), petition.id, target_id)
        flash("Target removed.", "info")
    return redirect(url_for("petitions.edit", slug=slug, petition_id=petition.uuid) + "#targets")


@bp.route("/orgs/<slug>/petitions/<uuid:petition_id>/updates", methods=["GET", "POST"])
@login_required
def updates(slug: str, petition_id):
    petition = _managed(slug, petition_id)
    form = forms.UpdateForm()
    if form.validate_on_submit():
        try:
            services.post_update(current_user_id(), petition.id, form.title.data, form.body.data)
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash("Update posted on the petition page.", "success")
            return redirect(url_for("petitions.updates", slug=slug, petition_id=petition.uuid))
    return render_template("petitions/updates.html", org=petition.organization, petition=petition, form=form,
                           updates=services.petition_updates(petition.id))


@bp.get("/orgs/<slug>/petitions/<uuid:petition_id>/signatures")
@login_required
def signatures(slug: str, petition_id):
    petition = _managed(slug, petition_id)
    filters = forms.SignatureFilterForm(request.args)
    page = max(1, request.args.get("page", 1, type=int))
    status = filters.status.data if filters.validate() else ""
    rows, more = services.signatures_page(current_user_id(), petition.id, status=status or "",
                                          search=filters.q.data or "", page=page)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "petitions/signatures.html", org=petition.organization, petition=petition, signatures=rows, more=more,
        page=page, args=args, filters=filters, bulk_form=forms.BulkInvalidateForm(), empty_form=EmptyForm(),
        invalidations=services.recent_invalidations(current_user_id(), petition.id),
    )


@bp.post("/orgs/<slug>/petitions/<uuid:petition_id>/signatures/invalidate")
@login_required
def invalidate_bulk(slug: str, petition_id):
    petition = _managed(slug, petition_id)
    form = forms.BulkInvalidateForm()
    if form.validate_on_submit():
        try:
            zone = times.zone(petition.organization.timezone)
            invalidation = services.invalidate_signatures(
                current_user_id(), petition.id, form.reason.data, ip=form.ip.data, email_domain=form.email_domain.data,
                signed_after=form.signed_after.data and times.to_utc(form.signed_after.data, zone, "signed_after"),
                signed_before=form.signed_before.data and times.to_utc(form.signed_before.data, zone, "signed_before"),
            )
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash(f"Invalidated {invalidation.signatures} signature(s). The count updates within seconds.", "success")
            return redirect(url_for("petitions.signatures", slug=slug, petition_id=petition.uuid))
    rows, more = services.signatures_page(current_user_id(), petition.id)
    return render_template(
        "petitions/signatures.html", org=petition.organization, petition=petition, signatures=rows, more=more,
        page=1, args={}, filters=forms.SignatureFilterForm(), bulk_form=form, empty_form=EmptyForm(),
        invalidations=services.recent_invalidations(current_user_id(), petition.id),
    ), 422


@bp.route("/orgs/<slug>/petitions/<uuid:petition_id>/signatures/<uuid:signature_id>/invalidate",
          methods=["GET", "POST"])
@login_required
def invalidate(slug: str, petition_id, signature_id):
    petition = _managed(slug, petition_id)
    signature = services.managed_signature(current_user_id(), petition.id, signature_id)
    form = forms.InvalidateForm()
    if form.validate_on_submit():
        try:
            services.invalidate_signatures(current_user_id(), petition.id, form.reason.data,
                                           signature_uuid=signature.uuid)
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash(f"The signature of {signature.given_name} {signature.family_name} is invalidated.", "success")
            return redirect(url_for("petitions.signatures", slug=slug, petition_id=petition.uuid))
    return render_template("petitions/invalidate.html", org=petition.organization, petition=petition,
                           signature=signature, form=form)


@bp.post("/orgs/<slug>/petitions/<uuid:petition_id>/signatures/<uuid:signature_id>/comment")
@login_required
def toggle_comment(slug: str, petition_id, signature_id):
    petition = _managed(slug, petition_id)
    if EmptyForm().validate_on_submit():
        hide = request.form.get("hide") == "1"
        services.hide_comment(current_user_id(), petition.id, signature_id, hidden=hide)
        flash("Comment hidden from the public page." if hide else "Comment shown again.", "info")
    return redirect(url_for("petitions.signatures", slug=slug, petition_id=petition.uuid))


@bp.get("/orgs/<slug>/petitions/<uuid:petition_id>/signatures.csv")
@login_required
def export_csv(slug: str, petition_id):
    petition = _managed(slug, petition_id)
    chunks = export.signatures_csv(current_user_id(), petition.id)
    filename = f"{petition.slug}-signatures.csv"
    return Response(stream_with_context(chunks), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
    })
