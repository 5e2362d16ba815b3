"""The partnership's own workspace: the surveys list (every officer's start
page), and for administrators, users, partner organisations and the audit log."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextInput
from wtforms import EmailField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from ..extensions import db
from ..forms import BaseForm, choices
from ..models import Membership, Role, Survey
from ..security import current_partnership, owned_or_404, role_required
from ..services.accounts import (
    add_member,
    deactivate_member,
    issue_password_link,
    members,
    memberships_of,
    only_in,
    reactivate_member,
    require_two_factor,
    set_role,
)
from ..services.audit import events_page
from ..services.counts import response_counts_for
from ..services.partners import add_partner, partner_organisations
from ..services.surveys import partnership_surveys
from ..unit_of_work import UnitOfWork
from ..vocabulary import PARTNER_KINDS

bp = Blueprint("admin", __name__, url_prefix="/manage")

ROLE_CHOICES = [
    ("viewer", "Viewer – reads results and reports, no raw personal data"),
    ("officer", "Officer – builds surveys, runs fieldwork, analyses and exports"),
    ("admin", "Administrator – also manages users and partner organisations"),
]


@bp.route("")
@role_required(Role.VIEWER)
def dashboard() -> Any:
    surveys = partnership_surveys(current_partnership().id)
    return render_template(
        "admin/dashboard.html",
        surveys=surveys,
        counts=response_counts_for(s.id for s in surveys),
        memberships=memberships_of(g.user),
    )


class NewUserForm(BaseForm):
    email = EmailField(
        "Email address",
        widget=GovTextInput(),
        validators=[DataRequired("Enter an email address"), Length(max=254)],
    )
    name = StringField("Full name", widget=GovTextInput(), validators=[Length(max=200)])
    role = RadioField(
        "Role",
        widget=GovRadioInput(),
        choices=choices(ROLE_CHOICES),
        validators=[DataRequired("Choose a role")],
    )


def _link_page(email: str, token: str, heading: str) -> str:
    # Shown once, never stored: the token exists in the database only as a hash.
    return render_template(
        "admin/password_link.html",
        email=email,
        heading=heading,
        link=url_for("auth.set_password", token=token, _external=True),
        hours=int(current_app.config["SET_PASSWORD_LINK_LIFETIME"].total_seconds() // 3600),
    )


@bp.route("/users", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def users() -> Any:
    partnership = current_partnership()
    form = NewUserForm()
    if form.validate_on_submit():
        with UnitOfWork() as work:
            added = add_member(
                form.email.data or "",
                partnership=partnership,
                role=form.role.data or "",
                name=form.name.data or "",
                by=g.user,
            )
        if work.ok:
            # The same page whether the person is new or already has an account
            # elsewhere: adding a user must not reveal other partnerships' accounts.
            return _link_page(added.user.email, added.token, f"{added.user.email} has been added")
        form.refuse(work.error, "email")
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/users.html",
        form=form,
        members=members(partnership),
        security_form=SecurityForm(
            formdata=None, require_two_factor="yes" if partnership.require_two_factor else "no"
        ),
        form_has_errors=bool(form.errors),
    ), status


@bp.route("/users/<int:membership_id>/deactivate", methods=["POST"])
@role_required(Role.ADMIN)
def deactivate_user(membership_id: int) -> Any:
    membership = owned_or_404(Membership, membership_id)
    with UnitOfWork() as work:
        deactivate_member(membership, by=g.user)
    return work.redirect(
        f"{membership.user.email} can no longer sign in to this partnership",
        url_for("admin.users"),
    )


@bp.route("/users/<int:membership_id>/reactivate", methods=["POST"])
@role_required(Role.ADMIN)
def reactivate_user(membership_id: int) -> Any:
    membership = owned_or_404(Membership, membership_id)
    with UnitOfWork() as work:
        reactivate_member(membership, by=g.user)
    return work.redirect(f"{membership.user.email} can sign in again", url_for("admin.users"))


@bp.route("/users/<int:membership_id>/password-link", methods=["POST"])
@role_required(Role.ADMIN)
def password_link(membership_id: int) -> Any:
    membership = owned_or_404(Membership, membership_id, active=True)
    user = membership.user
    if user.id == g.user.id:
        flash("Change your own password from Your account", "error")
        return redirect(url_for("admin.users"))
    # A person who also belongs to another partnership gets a link that only
    # welcomes them.
    token = issue_password_link(
        user,
        by=g.user,
        partnership=current_partnership(),
        sets_password=only_in(user, membership.partnership_id),
    )
    db.session.commit()
    return _link_page(user.email, token, f"Set-password link for {user.email}")


class SecurityForm(BaseForm):
    require_two_factor = RadioField(
        "Require two-factor sign-in for everyone in this partnership?",
        widget=GovRadioInput(),
        choices=choices(
            [
                ("yes", "Yes – officers and viewers too"),
                ("no", "No – administrators only (administrators always need it)"),
            ]
        ),
        validators=[DataRequired("Choose whether two-factor sign-in is required")],
    )


@bp.route("/security", methods=["POST"])
@role_required(Role.ADMIN)
def security() -> Any:
    partnership = current_partnership()
    form = SecurityForm()
    if form.validate_on_submit():
        require_two_factor(partnership, form.require_two_factor.data == "yes", by=g.user)
        db.session.commit()
        flash(
            "Two-factor sign-in is now required for everyone"
            if partnership.require_two_factor
            else "Two-factor sign-in is now required for administrators only",
            "success",
        )
    else:
        flash("Choose whether two-factor sign-in is required", "error")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:membership_id>/role", methods=["POST"])
@role_required(Role.ADMIN)
def change_role(membership_id: int) -> Any:
    membership = owned_or_404(Membership, membership_id)
    with UnitOfWork() as work:
        set_role(membership, request.form.get("role", ""), by=g.user)
    return work.redirect("Role changed", url_for("admin.users"))


class PartnerForm(BaseForm):
    name = StringField(
        "Organisation name",
        widget=GovTextInput(),
        validators=[DataRequired("Enter the organisation's name"), Length(max=200)],
    )
    kind = RadioField(
        "Type of organisation",
        widget=GovRadioInput(),
        choices=choices(list(PARTNER_KINDS)),
        validators=[DataRequired("Choose the type of organisation")],
    )


@bp.route("/partners", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def partners() -> Any:
    partnership = current_partnership()
    form = PartnerForm()
    if form.validate_on_submit():
        with UnitOfWork() as work:
            organisation = add_partner(
                partnership, form.name.data or "", form.kind.data or "other", by=g.user
            )
        if work.ok:
            flash(f"{organisation.name} added", "success")
            return redirect(url_for("admin.partners"))
        form.refuse(work.error, "name")
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/partners.html",
        form=form,
        organisations=partner_organisations(partnership.id),
        kinds=dict(PARTNER_KINDS),
        form_has_errors=bool(form.errors),
    ), status


@bp.route("/audit")
@role_required(Role.ADMIN)
def audit() -> Any:
    partnership = current_partnership()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    if page > 1_000_000:
        # Its offset would not fit the database's integer (a 500 before).
        abort(404)
    per_page = 50
    events, has_next = events_page(partnership.id, page, per_page)
    return render_template("admin/audit.html", events=events, page=page, has_next=has_next)


class EraseResponseForm(BaseForm):
    reference = StringField(
        "Response reference",
        widget=GovTextInput(),
        description="The reference on the resident's confirmation page, for example FS-AB12-CD34.",
        validators=[DataRequired("Enter the response reference"), Length(max=40)],
    )


@bp.route("/erase-response", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def erase_response() -> Any:
    """A resident asks for their answers to be deleted: find the response by
    its reference, show what will go (never the answers), then erase it."""
    from ..services.retention import erase_response as erase
    from ..services.retention import find_by_reference

    partnership = current_partnership()
    form = EraseResponseForm()
    if form.validate_on_submit():
        reference = form.reference.data or ""
        if request.form.get("confirm") == "yes":
            with UnitOfWork() as work:
                erasure = erase(partnership, reference, g.user)
            if work.ok:
                flash(
                    f"Response {erasure.reference} and its {erasure.answers} answers were erased.",
                    "success",
                )
                return redirect(url_for("admin.erase_response"))
            form.refuse(work.error, "reference")
        else:
            response = find_by_reference(partnership, reference)
            if response is not None:
                return render_template(
                    "admin/erase_response_confirm.html",
                    form=form,
                    response=response,
                    survey=db.session.get(Survey, response.survey_id),
                )
            form.reference.errors = [
                "No response with this reference in your partnership. Check the reference on the resident's confirmation page."
            ]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/erase_response.html", form=form, form_has_errors=bool(form.errors)
    ), status
