"""The unsubscribe page that every bulk mail links to."""

from flask import Blueprint, redirect, render_template, request, url_for

from mobilize.accounts.forms import EmptyForm
from mobilize.extensions import csrf
from mobilize.people import services

bp = Blueprint("people", __name__)


def _page(subscription):
    return render_template("people/unsubscribe.html", subscription=subscription,
                           organization=subscription.organization, empty_form=EmptyForm())


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # only for the RFC 8058 one-click POST; the page's own button is checked below
def unsubscribe(token: str):
    if request.method == "GET":
        return _page(services.subscription_for_token(token))
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    if not one_click:
        csrf.protect()
    subscription = services.unsubscribe(token)
    if one_click:
        return _page(subscription)
    return redirect(url_for("people.unsubscribe", token=token))
