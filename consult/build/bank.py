"""Copying questions from the standard question bank into a survey."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for

from ..models import Role, Survey
from ..question_bank import QuestionBank, load_bank
from ..security import role_required
from ..services.content import SurveyTexts
from ..services.surveys import add_bank_questions
from ..unit_of_work import UnitOfWork, redirect_with
from ..wording import counted
from . import bp
from .common import load_survey, sorted_sections
from .questions import form_section_id


def _bank() -> QuestionBank | None:
    # An invalid bank file must not take the builder down with it: the page
    # says the bank is not available instead.
    try:
        return load_bank()
    except (OSError, ValueError):
        return None


def _bank_page(survey: Survey, question_bank: QuestionBank | None, errors: dict[str, str]) -> Any:
    return render_template(
        "build/bank.html",
        survey=survey,
        bank=question_bank,
        texts=SurveyTexts(survey),
        sections=sorted_sections(survey),
        existing={q.key for q in survey.questions},
        chosen=request.form.getlist("items"),
        errors=errors,
        form=request.form,
    ), (400 if errors else 200)


@bp.get("/<int:survey_id>/bank")
@role_required(Role.VIEWER)
def bank(survey_id: int) -> Any:
    return _bank_page(load_survey(survey_id), _bank(), {})


@bp.post("/<int:survey_id>/bank")
@role_required(Role.OFFICER)
def copy_from_bank(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    keys = request.form.getlist("items")
    with UnitOfWork() as work:
        add_bank_questions(survey, form_section_id(), keys)
    if work.ok:
        return redirect_with(
            f"{counted(len(keys), 'question', 'questions')} copied from the bank. "
            "The copies are yours to edit.",
            url_for("build.survey", survey_id=survey.id),
        )
    return _bank_page(survey, _bank(), work.errors("items"))
