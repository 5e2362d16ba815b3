"""A signed-in person's own account: change password (required after a
temporary one) and two-factor sign-in (required of administrators, and of
everyone in a partnership that asks for it). Officer pages: English."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovTextInput
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..extensions import db
from ..forms import BaseForm
from ..models import Role
from ..security import account_setup, role_required, start_session
from ..services import ServiceError, two_factor
from ..services.accounts import change_own_password, first_membership, verify_password

bp = Blueprint("account", __name__, url_prefix="/account")


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        validators=[DataRequired("Enter your current password"), Length(max=500)],
    )
    password = PasswordField(
        "New password",
        widget=GovPasswordInput(),
        description="At least 12 characters, not a common password, not your email or name. "
        "Three or four unrelated words are easy to remember and hard to guess.",
        validators=[DataRequired("Enter a new password"), Length(max=500)],
    )
    confirm = PasswordField(
        "Confirm new password",
        widget=GovPasswordInput(),
        validators=[
            DataRequired("Enter the new password again"),
            EqualTo("password", "The two new passwords do not match"),
        ],
    )


@bp.route("")
@role_required(Role.VIEWER)
@account_setup
def overview():
    return render_template(
        "account/overview.html",
        two_factor_on=two_factor.enabled(g.user),
        two_factor_required=two_factor.required_for(g.user),
        codes_left=two_factor.recovery_codes_left(g.user),
    )


@bp.route("/password", methods=["GET", "POST"])
@role_required(Role.VIEWER)
@account_setup
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_own_password(g.user, form.current_password.data or "", form.password.data or "")
            # Every session of this person has ended; this browser gets a new one.
            start_session(g.user, g.get("membership") or first_membership(g.user))
            db.session.commit()
            flash(
                "Your password has been changed. Any other sessions have been signed out.",
                "success",
            )
            return redirect(url_for("admin.dashboard"))
        except ServiceError as error:
            db.session.rollback()
            getattr(form, error.field or "password").errors = [error.message]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "account/change_password.html",
        form=form,
        forced=g.user.must_change_password,
        form_has_errors=bool(form.errors),
    ), status


class CodeForm(BaseForm):
    code = StringField(
        "Code from your app",
        widget=GovTextInput(),
        description="The 6-digit code your app shows for this account.",
        validators=[DataRequired("Enter the 6-digit code from your app"), Length(max=20)],
    )


@bp.route("/two-factor", methods=["GET", "POST"])
@role_required(Role.VIEWER)
@account_setup
def two_factor_page():
    user = g.user
    if two_factor.enabled(user):
        return redirect(url_for("account.overview"))
    if not user.totp_secret:
        two_factor.start_enrolment(user)
        db.session.commit()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(user, form.code.data or "")
            db.session.commit()
            return render_template("account/recovery_codes.html", codes=codes, first_time=True)
        except ServiceError as error:
            db.session.rollback()
            form.code.errors = [error.message]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "account/two_factor.html",
        form=form,
        qr=two_factor.qr_svg(user),
        secret=user.totp_secret,
        required=two_factor.required_for(user),
        form_has_errors=bool(form.errors),
    ), status


class PasswordCheckForm(BaseForm):
    current_password = PasswordField(
        "Your password",
        widget=GovPasswordInput(),
        validators=[DataRequired("Enter your password"), Length(max=500)],
    )


@bp.route("/recovery-codes", methods=["GET", "POST"])
@role_required(Role.VIEWER)
@account_setup
def recovery_codes():
    user = g.user
    if not two_factor.enabled(user):
        return redirect(url_for("account.two_factor_page"))
    form = PasswordCheckForm()
    if form.validate_on_submit():
        if verify_password(user, form.current_password.data or ""):
            codes = two_factor.replace_recovery_codes(user)
            db.session.commit()
            return render_template("account/recovery_codes.html", codes=codes, first_time=False)
        form.current_password.errors = ["Your password is not right"]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "account/new_recovery_codes.html", form=form, form_has_errors=bool(form.errors)
    ), status
