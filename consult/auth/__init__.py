"""Officer sign-in and sign-out."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovTextInput
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..errors import render_error
from ..extensions import db, limiter
from ..forms import BaseForm
from ..models import Membership, Role, User
from ..security import public, role_required, start_session
from ..services import ServiceError
from ..services import two_factor as two_factor_service
from ..services.accounts import (
    authenticate,
    find_password_link,
    first_membership,
    signed_in,
    signed_out,
    throttle_cleared,
    throttle_failed,
    throttle_wait,
    use_password_link,
)

bp = Blueprint("auth", __name__)


class SignInForm(BaseForm):
    email = EmailField(
        _l("Email address"),
        widget=GovTextInput(),
        validators=[DataRequired(_l("Enter your email address")), Length(max=254)],
    )
    password = PasswordField(
        _l("Password"),
        widget=GovPasswordInput(),
        validators=[DataRequired(_l("Enter your password")), Length(max=500)],
    )


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: an open redirect would let a phishing link borrow our sign-in page.
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# A password accepted but no second factor yet: the code must follow within this time.
PENDING_SECONDS = 300


class TwoFactorForm(BaseForm):
    code = StringField(
        _l("Code"),
        widget=GovTextInput(),
        description=_l(
            "The 6-digit code from your authenticator app, or one of your recovery codes."
        ),
        validators=[DataRequired(_l("Enter the code from your authenticator app")), Length(max=40)],
    )


class SetPasswordForm(BaseForm):
    password = PasswordField(
        _l("New password"),
        widget=GovPasswordInput(),
        description=_l(
            "At least 12 characters. Three or four unrelated words are easy to remember and hard to guess."
        ),
        validators=[DataRequired(_l("Enter a new password")), Length(max=500)],
    )
    confirm = PasswordField(
        _l("Confirm new password"),
        widget=GovPasswordInput(),
        validators=[
            DataRequired(_l("Enter the new password again")),
            EqualTo("password", _l("The two passwords do not match")),
        ],
    )


def _wait_message(seconds: int) -> str:
    if seconds < 120:
        return _(
            "Too many attempts to sign in from here. Wait {seconds} seconds, then try again."
        ).format(seconds=seconds)
    return _(
        "Too many attempts to sign in from here. Wait {minutes} minutes, then try again."
    ).format(minutes=(seconds + 59) // 60)


def _address() -> str:
    return request.remote_addr or "unknown"


def _complete_sign_in(user, next_url: str | None, notice: str | None = None):  # type: ignore[no-untyped-def]
    signed_in(user)
    start_session(user, first_membership(user))
    db.session.commit()
    if notice:
        flash(notice, "info")  # after start_session, which clears the old session
    return redirect(_safe_next(next_url) or url_for("admin.dashboard"))


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])
def sign_in():
    form = SignInForm()
    error = None
    wait = 0
    if g.get("session_expired") == "absolute" and request.method == "GET":
        flash(_("Your session has reached its time limit. Sign in again to continue."), "info")
    elif g.get("session_expired") and request.method == "GET":
        flash(_("You were signed out because you were inactive. Sign in again."), "info")
    if form.validate_on_submit():
        result = authenticate(form.email.data or "", form.password.data or "", address=_address())
        # Kept whether or not the password was right: a failed attempt's audit
        # record, or a password hash brought up to the current parameters.
        db.session.commit()
        if result.user is not None:
            if two_factor_service.enabled(result.user):
                session.clear()
                session["pending_sign_in"] = {
                    "user_id": result.user.id,
                    "at": time.time(),
                    "next": _safe_next(request.args.get("next")),
                }
                return redirect(url_for("auth.two_factor"))
            return _complete_sign_in(result.user, request.args.get("next"))
        wait = result.wait
        # Unknown email, wrong password and deactivated account: one message.
        error = _("Enter a correct email address and password")
        if wait:
            error = _wait_message(wait)
    status = 200 if request.method == "GET" or (not error and not form.errors) else 400
    if wait:
        status = 429
    return (
        render_template(
            "auth/sign_in.html", form=form, error=error, form_has_errors=bool(error or form.errors)
        ),
        status,
    )


@bp.route("/sign-in/two-factor", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])
def two_factor():
    pending = session.get("pending_sign_in")
    user = None
    if isinstance(pending, dict) and time.time() - float(pending.get("at", 0)) < PENDING_SECONDS:
        user = db.session.get(User, pending.get("user_id"))
    if user is None or not user.is_active or not two_factor_service.enabled(user):
        session.pop("pending_sign_in", None)
        flash(_("Sign in again: the code must follow your password within 5 minutes."), "info")
        return redirect(url_for("auth.sign_in"))
    form = TwoFactorForm()
    error = None
    if form.validate_on_submit():
        scope = f"two-factor:{user.id}"
        wait = throttle_wait(scope, _address())
        if wait:
            error = _wait_message(wait)
        else:
            kind = two_factor_service.verify(user, form.code.data or "")
            if kind is not None:
                throttle_cleared(scope, _address())
                notice = None
                if kind == "recovery":
                    notice = _(
                        "You used a recovery code. You have {count} left: set up a new "
                        "phone or create new codes from Your account."
                    ).format(count=two_factor_service.recovery_codes_left(user))
                return _complete_sign_in(user, (pending or {}).get("next"), notice)
            throttle_failed(scope, _address())
            db.session.commit()
            error = _("The code is not right. Enter the code your app shows now.")
    if error:
        form.code.errors = [error]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/two_factor.html", form=form, form_has_errors=bool(form.errors)
    ), status


@bp.route("/sign-out", methods=["POST"])
@public
def sign_out():
    user = g.get("user")
    if user is not None:
        signed_out(user, partnership_id=g.partnership.id if g.get("partnership") else None)
        db.session.commit()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])
def set_password(token: str):
    link = find_password_link(token)
    if link is None:
        return render_error(
            400,
            _("This link has expired or has already been used"),
            _(
                "A set-password link works once, for a limited time. Ask your partnership "
                "administrator for a new one."
            ),
        )
    user = db.session.get(User, link.user_id)
    form = SetPasswordForm()
    if not link.sets_password:
        if request.method == "POST" and form.csrf_token.validate(form):
            use_password_link(token, "")
            db.session.commit()
            flash(_("Sign in with your email address and your existing password."), "success")
            return redirect(url_for("auth.sign_in"))
        return render_template("auth/welcome.html", form=form)
    if form.validate_on_submit():
        try:
            use_password_link(token, form.password.data or "")
            db.session.commit()
            flash(_("Your password is set. Sign in with it now."), "success")
            return redirect(url_for("auth.sign_in"))
        except ServiceError as problem:
            db.session.rollback()
            form.password.errors = [problem.message]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/set_password.html",
        form=form,
        email=user.email if user else "",
        form_has_errors=bool(form.errors),
    ), status


@bp.route("/switch-partnership/<int:partnership_id>", methods=["POST"])
@role_required(Role.VIEWER)
def switch_partnership(partnership_id: int):
    membership = db.session.scalars(
        db.select(Membership).filter_by(
            user_id=g.user.id, partnership_id=partnership_id, active=True
        )
    ).first()
    if membership is None:
        from flask import abort

        abort(404)
    session["partnership_id"] = membership.partnership_id
    return redirect(url_for("admin.dashboard"))
