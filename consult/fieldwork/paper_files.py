"""Paper questionnaires out and keyed responses in: the printable
questionnaire (PDF, any offered language) and the import of a file of
responses. Officers only: both reach the survey's raw responses or change
the partnership's details."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import flash, g, redirect, render_template, request, url_for

from ..extensions import db
from ..models import Role, Survey
from ..security import owned_or_404, role_required
from ..services import ServiceError, importing, printable
from ..unit_of_work import UnitOfWork
from . import bp
from .forms import ImportResponsesForm, ReturnAddressForm


@bp.route("/<int:survey_id>/printable", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def printable_page(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    form = ReturnAddressForm(data={"return_address": survey.partnership.return_address or ""})
    if form.validate_on_submit():
        with UnitOfWork() as work:
            printable.save_return_address(
                survey.partnership, form.return_address.data or "", user_id=g.user.id
            )
        if work.ok:
            flash("Return address saved: it is printed on every paper questionnaire.", "success")
            return redirect(url_for("fieldwork.printable_page", survey_id=survey.id))
        form.refuse(work.error, "return_address")
    return render_template(
        "fieldwork/printable.html",
        survey=survey,
        form=form,
        form_has_errors=bool(form.errors),
    ), (400 if form.errors else 200)


@bp.route("/<int:survey_id>/printable.pdf")
@role_required(Role.OFFICER)
def printable_pdf(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    language = request.args.get("language", survey.default_language)
    try:
        pdf = printable.download_pdf(survey, language, user_id=g.user.id)
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("fieldwork.printable_page", survey_id=survey.id))
    db.session.commit()
    return FlaskResponse(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{survey.slug}-{language}-paper.pdf"'
        },
    )


@bp.route("/<int:survey_id>/import-responses", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def import_responses(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    form = ImportResponsesForm()
    report: importing.ImportReport | None = None
    if form.validate_on_submit():
        try:
            report = importing.import_responses(
                survey,
                form.file.content,
                form.file.filename,
                channel=form.channel.data or "",
                dry_run=form.dry_run.data,
                by=g.user,
            )
        except importing.ImportRefused as error:
            db.session.rollback()
            form.file.errors = [error.message]
            report = error.report
        except ServiceError as error:
            db.session.rollback()
            form.refuse(error, "file")
        if report is not None and not form.errors:
            if form.dry_run.data:
                # A check stores nothing, whatever the import did on the way.
                db.session.rollback()
            else:
                db.session.commit()
                flash(
                    f"Imported {report.stored} new response(s) from {report.rows} row(s); "
                    f"{report.already} were imported before and were not stored again.",
                    "success",
                )
                return redirect(url_for("fieldwork.import_responses", survey_id=survey.id))
    return render_template(
        "fieldwork/import_responses.html",
        survey=survey,
        form=form,
        form_has_errors=bool(form.errors),
        report=report,
    ), (400 if form.errors else 200)
