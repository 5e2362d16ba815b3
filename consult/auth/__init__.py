"""Officer sign-in and sign-out."""

from __future__ import annotations

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
from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovTextInput
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..extensions import db, limiter
from ..forms import BaseForm
from ..models import Membership, Role
from ..security import public, role_required, start_session
from ..services.accounts import authenticate, first_membership
from ..services.audit import record

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


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])
def sign_in():
    form = SignInForm()
    error = None
    if g.get("session_expired") and request.method == "GET":
        flash("You were signed out because you were inactive. Sign in again.", "info")
    if form.validate_on_submit():
        result = authenticate(
            form.email.data or "",
            form.password.data or "",
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lockout=current_app.config["LOGIN_LOCKOUT"],
        )
        if result.user is not None:
            start_session(result.user, first_membership(result.user))
            return redirect(_safe_next(request.args.get("next")) or url_for("admin.dashboard"))
        error = result.error
    status = 200 if request.method == "GET" or (not error and not form.errors) else 400
    return (
        render_template(
            "auth/sign_in.html", form=form, error=error, form_has_errors=bool(error or form.errors)
        ),
        status,
    )


@bp.route("/sign-out", methods=["POST"])
@public
def sign_out():
    user = g.get("user")
    if user is not None:
        record(
            "sign_out",
            partnership_id=g.partnership.id if g.get("partnership") else None,
            user_id=user.id,
        )
        db.session.commit()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/switch-partnership/<int:partnership_id>", methods=["POST"])
@role_required(Role.VIEWER)
def switch_partnership(partnership_id: int):
    membership = db.session.scalars(
        db.select(Membership).filter_by(user_id=g.user.id, partnership_id=partnership_id)
    ).first()
    if membership is None:
        from flask import abort

        abort(404)
    session["partnership_id"] = membership.partnership_id
    return redirect(url_for("admin.dashboard"))
