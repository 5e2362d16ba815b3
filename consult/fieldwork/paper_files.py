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
from . import bp

MAX_UPLOAD = 2 * 1024 * 1024  # the request body cap (MAX_CONTENT_LENGTH) is 2 MiB


@bp.route("/<int:survey_id>/printable", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def printable_page(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            printable.save_return_address(
                survey.partnership, request.form.get("return_address", ""), user_id=g.user.id
            )
        except ServiceError as error:
            db.session.rollback()
            errors[error.field or "return_address"] = error.message
        else:
            db.session.commit()
            flash("Return address saved: it is printed on every paper questionnaire.", "success")
            return redirect(url_for("fieldwork.printable_page", survey_id=survey.id))
    return render_template(
        "fieldwork/printable.html",
        survey=survey,
        errors=errors,
        address=request.form.get("return_address", survey.partnership.return_address or ""),
    ), (400 if errors else 200)


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
    errors: dict[str, str] = {}
    report: importing.ImportReport | None = None
    channel = request.form.get("channel", "paper")
    dry_run = request.form.get("dry_run") == "yes"
    if request.method == "POST":
        upload = request.files.get("file")
        content = upload.read(MAX_UPLOAD + 1) if upload is not None and upload.filename else b""
        if upload is None or not upload.filename:
            errors["file"] = "Choose a CSV or Excel file of responses"
        elif len(content) > MAX_UPLOAD:
            errors["file"] = "The file is larger than 2 MB: import it with the command line"
        elif not content:
            errors["file"] = "The file is empty"
        else:
            try:
                report = importing.import_responses(
                    survey,
                    content,
                    upload.filename,
                    channel=channel,
                    dry_run=dry_run,
                    by=g.user,
                )
            except importing.ImportRefused as error:
                db.session.rollback()
                errors["file"] = error.message
                report = error.report
            except ServiceError as error:
                db.session.rollback()
                errors[error.field or "file"] = error.message
        if report is not None and not errors:
            if dry_run:
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
        errors=errors,
        report=report,
        channel=channel,
        dry_run=dry_run,
        channels=[
            ("paper", "Paper questionnaires"),
            ("face_to_face", "Face to face"),
            ("online", "Online (another survey tool)"),
            ("imported", "Imported (say so per row with a channel column)"),
        ],
    ), (400 if errors else 200)
