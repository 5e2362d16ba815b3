"""A questionnaire as an XLSForm: exporting a survey, and importing one as a
new draft survey."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from ..models import Role
from ..security import current_partnership, role_required
from ..services import xlsform
from ..unit_of_work import UnitOfWork
from ..wording import counted
from . import bp
from .common import download, load_survey
from .forms.content import XLSFormImportForm

# More notes than this and the page becomes a wall; the command line lists them all.
SHOWN_NOTES = 50


@bp.route("/<int:survey_id>/xlsform")
@role_required(Role.OFFICER)
def export_xlsform(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    with UnitOfWork():
        content = xlsform.export_xlsform(survey, by=g.user)
    return download(content, f"{survey.slug}-xlsform.xlsx")


@bp.route("/import-xlsform", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def import_xlsform() -> Any:
    form = XLSFormImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        with UnitOfWork() as work:
            result = xlsform.import_xlsform(
                current_partnership(),
                form.file.content,
                slug=form.slug.data or "",
                audience=form.audience.data or "",
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
        form.refuse(work.error, "file")
        if isinstance(work.error, xlsform.XLSFormError):
            problems = work.error.problems
    return render_template(
        "build/import_xlsform.html",
        form=form,
        form_has_errors=bool(form.errors),
        problems=problems,
    ), (400 if request.method == "POST" else 200)
