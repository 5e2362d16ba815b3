"""The partnership's own workspace: the surveys list (every officer's start
page), and for administrators, users, partner organisations and the audit log."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovRadioInput, GovTextInput
from sqlalchemy import select
from wtforms import EmailField, PasswordField, RadioField, StringField
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
from ..services.accounts import create_user, set_role
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
    password = PasswordField(
        "Temporary password",
        widget=GovPasswordInput(),
        description="At least 12 characters. Give it to the person securely; they should change it.",
        validators=[DataRequired("Enter a temporary password"), Length(max=500)],
    )


@bp.route("/users", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def users():
    partnership = current_partnership()
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            create_user(
                form.email.data or "",
                form.password.data or "",
                partnership=partnership,
                role=form.role.data or "",
                name=form.name.data or "",
                created_by=g.user,
            )
            db.session.commit()
            flash(f"Account created for {form.email.data}", "success")
            return redirect(url_for("admin.users"))
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
        "admin/users.html", form=form, members=members, form_has_errors=bool(form.errors)
    ), status


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
