from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.config import COOKIE_NAME

from mobilize.accounts import forms, services
from mobilize.core.errors import DomainError
from mobilize.core.forms import apply_errors
from mobilize.core.urls import safe_next
from mobilize.extensions import limiter

bp = Blueprint("accounts", __name__)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("5/minute;20/hour", methods=["POST"])
def signup():
    form = forms.SignUpForm()
    if form.validate_on_submit():
        services.request_sign_up(form.email.data, form.name.data, form.organization.data)
        return redirect(url_for("accounts.signup_sent"))
    return render_template("accounts/signup.html", form=form)


@bp.route("/signup/sent")
def signup_sent():
    return render_template("accounts/signup_sent.html")


@bp.route("/signup/finish/<token>", methods=["GET", "POST"])
def finish_signup(token: str):
    details = services.pending_sign_up(token)
    form = forms.FinishSignUpForm()
    if form.validate_on_submit():
        try:
            user = services.finish_sign_up(token, form.password.data)
        except DomainError as error:
            apply_errors(form, error)
        else:
            login_user(user)
            flash(f"Welcome, {user.name}. Your organization is ready.", "success")
            return redirect(url_for("accounts.dashboard"))
    return render_template("accounts/finish_signup.html", form=form, details=details)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20/minute;100/hour", methods=["POST"])
def login():
    form = forms.LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.TooManyAttempts as error:
            apply_errors(form, error)
            status, headers = error.status, {"Retry-After": str(error.retry_after)}
        except DomainError as error:
            apply_errors(form, error)
        else:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("accounts.dashboard"))
    return render_template("accounts/login.html", form=form), status, headers


@bp.post("/logout")
def logout():
    if forms.EmptyForm().validate_on_submit():
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("main.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5/minute;20/hour", methods=["POST"])
def forgot_password():
    form = forms.ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash("If that email has an account, a reset link is on its way.", "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = forms.ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except DomainError as error:
            apply_errors(form, error)
        else:
            flash("Your password is changed. Log in with it now.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = forms.ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = services.change_password(current_user.id, form.current_password.data, form.password.data)
        except DomainError as error:
            apply_errors(form, error)
        else:
            # The new password ended every session, this one too: log it in again, renewing its
            # remember-me cookie if it had one.
            login_user(user, remember=current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies)
            flash("Your password is changed. Every other device is logged out.", "success")
            return redirect(url_for("accounts.dashboard"))
    return render_template("accounts/password.html", form=form)


@bp.route("/account")
@login_required
def dashboard():
    return render_template(
        "accounts/dashboard.html",
        organizations=services.organizations_for(current_user.id),
        tokens=services.api_tokens_for(current_user.id),
        token_form=forms.TokenForm(),
        empty_form=forms.EmptyForm(),
    )


@bp.post("/account/tokens")
@login_required
def create_token():
    form = forms.TokenForm()
    if not form.validate_on_submit():
        flash("Give the token a name.", "error")
        return redirect(url_for("accounts.dashboard"))
    token, raw = services.create_api_token(current_user.id, form.name.data)
    return render_template("accounts/token_created.html", token=token, raw=raw)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    if forms.EmptyForm().validate_on_submit():
        services.revoke_api_token(current_user.id, token_id)
        flash("The token is revoked.", "info")
    return redirect(url_for("accounts.dashboard"))


@bp.route("/orgs/new", methods=["GET", "POST"])
@login_required
def new_organization():
    form = forms.OrganizationForm()
    if form.validate_on_submit():
        org = services.create_organization(current_user.id, form.name.data, form.description.data or "",
                                           form.website.data or "")
        flash(f"{org.name} is created.", "success")
        return redirect(url_for("accounts.organization", slug=org.slug))
    return render_template("accounts/organization_form.html", form=form, org=None)


@bp.route("/orgs/<slug>/manage", methods=["GET", "POST"])
@login_required
def organization(slug: str):
    org = services.get_organization(slug)
    membership = services.require_member(current_user.id, org.id)
    form = forms.OrganizationForm(obj=org)
    if form.validate_on_submit():
        try:
            services.update_organization(current_user.id, org.id, name=form.name.data,
                                         description=form.description.data or "", website=form.website.data or "",
                                         timezone=form.timezone.data)
        except DomainError as error:
            apply_errors(form, error)
        else:
            flash("Saved.", "success")
            return redirect(url_for("accounts.organization", slug=org.slug))
    return render_template("accounts/organization.html", org=org, form=form, membership=membership,
                           member_form=forms.MemberForm(), empty_form=forms.EmptyForm())


@bp.post("/orgs/<slug>/members")
@login_required
def add_member(slug: str):
    org = services.get_organization(slug)
    form = forms.MemberForm()
    if form.validate_on_submit():
        try:
            services.add_member(current_user.id, org.id, form.email.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"{form.email.data} is now an organizer of {org.name}.", "success")
    return redirect(url_for("accounts.organization", slug=slug))


@bp.post("/orgs/<slug>/members/<int:user_id>/remove")
@login_required
def remove_member(slug: str, user_id: int):
    org = services.get_organization(slug)
    if forms.EmptyForm().validate_on_submit():
        try:
            services.remove_member(current_user.id, org.id, user_id)
        except DomainError as error:
            flash(error.message, "error")
    return redirect(url_for("accounts.organization", slug=slug))
