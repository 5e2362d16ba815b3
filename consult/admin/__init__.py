"""The partnership's own workspace: the surveys list (every officer's start
page), and for administrators, users, partner organisations and the audit log."""

from __future__ import annotations

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
from sqlalchemy import select
from wtforms import EmailField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from ..extensions import db
from ..forms import BaseForm, choices
from ..models import (
    AuditEvent,
    Membership,
    PartnerOrganisation,
    Role,
    Survey,
    User,
)
from ..security import current_partnership, owned_or_404, role_required
from ..services import ServiceError
from ..services.accounts import (
    add_member,
    deactivate_member,
    issue_password_link,
    reactivate_member,
    set_role,
)
from ..services.audit import record
from ..services.counts import response_counts_for
from ..vocabulary import PARTNER_KINDS

bp = Blueprint("admin", __name__, url_prefix="/manage")

ROLE_CHOICES = [
    ("viewer", "Viewer – reads results and reports, no raw personal data"),
    ("officer", "Officer – builds surveys, runs fieldwork, analyses and exports"),
    ("admin", "Administrator – also manages users and partner organisations"),
]


@bp.route("")
@role_required(Role.VIEWER)
def dashboard():
    partnership = current_partnership()
    surveys = db.session.scalars(
        select(Survey).filter_by(partnership_id=partnership.id).order_by(Survey.created_at.desc())
    ).all()
    counts = response_counts_for(s.id for s in surveys)
    memberships = db.session.scalars(select(Membership).filter_by(user_id=g.user.id)).all()
    return render_template(
        "admin/dashboard.html", surveys=surveys, counts=counts, memberships=memberships
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


def _link_page(email: str, token: str, heading: str):  # type: ignore[no-untyped-def]
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
def users():
    partnership = current_partnership()
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            added = add_member(
                form.email.data or "",
                partnership=partnership,
                role=form.role.data or "",
                name=form.name.data or "",
                by=g.user,
            )
            db.session.commit()
            # The same page whether the person is new or already has an account
            # elsewhere: adding a user must not reveal other partnerships' accounts.
            return _link_page(added.user.email, added.token, f"{added.user.email} has been added")
        except ServiceError as error:
            db.session.rollback()
            field = getattr(form, error.field or "email", form.email)
            field.errors = [error.message]
    members = db.session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.partnership_id == partnership.id)
        .order_by(User.email)
    ).all()
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/users.html",
        form=form,
        members=members,
        security_form=SecurityForm(
            formdata=None, require_two_factor="yes" if partnership.require_two_factor else "no"
        ),
        form_has_errors=bool(form.errors),
    ), status


@bp.route("/users/<int:membership_id>/deactivate", methods=["POST"])
@role_required(Role.ADMIN)
def deactivate_user(membership_id: int):
    membership = owned_or_404(Membership, membership_id)
    try:
        deactivate_member(membership, by=g.user)
        db.session.commit()
        flash(f"{membership.user.email} can no longer sign in to this partnership", "success")
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:membership_id>/reactivate", methods=["POST"])
@role_required(Role.ADMIN)
def reactivate_user(membership_id: int):
    membership = owned_or_404(Membership, membership_id)
    try:
        reactivate_member(membership, by=g.user)
        db.session.commit()
        flash(f"{membership.user.email} can sign in again", "success")
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:membership_id>/password-link", methods=["POST"])
@role_required(Role.ADMIN)
def password_link(membership_id: int):
    membership = owned_or_404(Membership, membership_id, active=True)
    user = membership.user
    if user.id == g.user.id:
        flash("Change your own password from Your account", "error")
        return redirect(url_for("admin.users"))
    # A person who also belongs to another partnership gets a link that only
    # welcomes them: one partnership's administrator must never be able to
    # take over an account another partnership relies on.
    own_only = all(m.partnership_id == membership.partnership_id for m in user.memberships)
    token = issue_password_link(
        user, by=g.user, partnership=current_partnership(), sets_password=own_only
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
def security():
    partnership = current_partnership()
    form = SecurityForm()
    if form.validate_on_submit():
        partnership.require_two_factor = form.require_two_factor.data == "yes"
        record(
            "two_factor_requirement_changed",
            partnership_id=partnership.id,
            user_id=g.user.id,
            details={"required": partnership.require_two_factor},
        )
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
def change_role(membership_id: int):
    membership = owned_or_404(Membership, membership_id)
    try:
        set_role(membership, request.form.get("role", ""), by=g.user)
        db.session.commit()
        flash("Role changed", "success")
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("admin.users"))


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
def partners():
    partnership = current_partnership()
    form = PartnerForm()
    if form.validate_on_submit():
        organisation = PartnerOrganisation(
            partnership_id=partnership.id,
            name=(form.name.data or "").strip(),
            kind=form.kind.data or "other",
        )
        db.session.add(organisation)
        record(
            "partner_added",
            partnership_id=partnership.id,
            user_id=g.user.id,
            target=organisation.name,
        )
        db.session.commit()
        flash(f"{organisation.name} added", "success")
        return redirect(url_for("admin.partners"))
    organisations = db.session.scalars(
        select(PartnerOrganisation)
        .filter_by(partnership_id=partnership.id)
        .order_by(PartnerOrganisation.name)
    ).all()
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/partners.html",
        form=form,
        organisations=organisations,
        kinds=dict(PARTNER_KINDS),
        form_has_errors=bool(form.errors),
    ), status


@bp.route("/audit")
@role_required(Role.ADMIN)
def audit():
    partnership = current_partnership()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    if page > 1_000_000:
        # Its offset would not fit the database's integer (a 500 before).
        abort(404)
    per_page = 50
    events = db.session.scalars(
        select(AuditEvent)
        .filter_by(partnership_id=partnership.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    has_next = len(events) > per_page
    return render_template(
        "admin/audit.html", events=events[:per_page], page=page, has_next=has_next
    )


class EraseResponseForm(BaseForm):
    reference = StringField(
        "Response reference",
        widget=GovTextInput(),
        description="The reference on the resident's confirmation page, for example FS-AB12-CD34.",
        validators=[DataRequired("Enter the response reference"), Length(max=40)],
    )


@bp.route("/erase-response", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def erase_response():
    """A resident asks for their answers to be deleted: find the response by
    its reference, show what will go (never the answers), then erase it."""
    from ..services.retention import erase_response as erase
    from ..services.retention import find_by_reference

    partnership = current_partnership()
    form = EraseResponseForm()
    if form.validate_on_submit():
        reference = form.reference.data or ""
        if request.form.get("confirm") == "yes":
            try:
                erasure = erase(partnership, reference, g.user)
                db.session.commit()
                flash(
                    f"Response {erasure.reference} and its {erasure.answers} answers were erased.",
                    "success",
                )
                return redirect(url_for("admin.erase_response"))
            except ServiceError as error:
                db.session.rollback()
                form.reference.errors = [error.message]
        else:
            response = find_by_reference(partnership, reference)
            if response is not None:
                survey = db.session.get(Survey, response.survey_id)
                return render_template(
                    "admin/erase_response_confirm.html", form=form, response=response, survey=survey
                )
            form.reference.errors = [
                "No response with this reference in your partnership. Check the reference on the resident's confirmation page."
            ]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/erase_response.html", form=form, form_has_errors=bool(form.errors)
    ), status
