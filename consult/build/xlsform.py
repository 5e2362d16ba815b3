"""A questionnaire as an XLSForm: exporting a survey, and importing one as a
new draft survey."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from ..extensions import db
from ..models import Audience, Role
from ..security import current_partnership, role_required
from ..services import xlsform
from ..services.audit import record
from ..unit_of_work import UnitOfWork
from ..wording import counted
from . import bp
from .common import download, load_survey, upload

# More notes than this and the page becomes a wall; the command line lists them all.
SHOWN_NOTES = 50


@bp.route("/<int:survey_id>/xlsform")
@role_required(Role.OFFICER)
def export_xlsform(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    content = xlsform.export_xlsform(survey)
    record(
        "xlsform_exported",
        partnership_id=survey.partnership_id,
        user_id=g.user.id,
        target=f"survey:{survey.id}",
    )
    db.session.commit()
    return download(content, f"{survey.slug}-xlsform.xlsx")


@bp.route("/import-xlsform", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def import_xlsform() -> Any:
    errors: dict[str, str] = {}
    problems: list[str] = []
    if request.method == "POST":
        with UnitOfWork() as work:
            result = xlsform.import_xlsform(
                current_partnership(),
                upload(),
                slug=request.form.get("slug", ""),
                audience=request.form.get("audience", Audience.RESIDENTS),
                by=g.user,
            )
        if work.ok:
            for note in result.notes[:SHOWN_NOTES]:
                flash(note, "error")
            if len(result.notes) > SHOWN_NOTES:
                flash(
                    f"… and {len(result.notes) - SHOWN_NOTES} more (import-xlsform on the command line lists them all).",
                    "error",
                )
            flash(
                f"Questionnaire imported: {counted(len(result.survey.questions), 'question', 'questions')}"
                + (
                    f"; {counted(len(result.notes), 'row or column', 'rows or columns')} could not be brought in exactly,"
                    " listed above."
                    if result.notes
                    else "."
                ),
                "success",
            )
            return redirect(url_for("build.survey", survey_id=result.survey.id))
        if isinstance(work.error, xlsform.XLSFormError):
            errors, problems = {"file": work.error.message}, work.error.problems
        else:
            errors = work.errors("file")
    return render_template(
        "build/import_xlsform.html",
        errors=errors,
        problems=problems,
        form=request.form,
        audiences=list(Audience),
    ), (400 if errors else 200)
