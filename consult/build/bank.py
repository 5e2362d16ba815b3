"""Copying questions from the standard question bank into a survey."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for

from ..models import Role, Survey
from ..question_bank import QuestionBank, load_bank
from ..security import role_required
from ..services.content import SurveyTexts
from ..services.surveys import add_bank_questions
from ..unit_of_work import UnitOfWork, redirect_with
from ..wording import counted
from . import bp
from .common import load_survey, sorted_sections
from .forms.content import BankForm


def _bank() -> QuestionBank | None:
    # An invalid bank file must not take the builder down with it: the page
    # says the bank is not available instead.
    try:
        return load_bank()
    except (OSError, ValueError):
        return None


def _bank_form(survey: Survey, texts: SurveyTexts) -> BankForm:
    return BankForm(
        [
            (str(s.id), texts.get(f"section.{s.key}.title", survey.default_language, s.key))
            for s in sorted_sections(survey)
        ]
    )


def _bank_page(survey: Survey, form: BankForm, texts: SurveyTexts) -> Any:
    return render_template(
        "build/bank.html",
        survey=survey,
        bank=_bank(),
        texts=texts,
        existing={q.key for q in survey.questions},
        form=form,
        form_has_errors=bool(form.errors),
    ), (400 if form.errors else 200)


@bp.get("/<int:survey_id>/bank")
@role_required(Role.VIEWER)
def bank(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    texts = SurveyTexts(survey)
    return _bank_page(survey, _bank_form(survey, texts), texts)


@bp.post("/<int:survey_id>/bank")
@role_required(Role.OFFICER)
def copy_from_bank(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    texts = SurveyTexts(survey)
    form = _bank_form(survey, texts)
    if form.validate_on_submit():
        keys = form.items.data or []
        with UnitOfWork() as work:
            add_bank_questions(survey, form.section.data, keys)
        if work.ok:
            return redirect_with(
                f"{counted(len(keys), 'question', 'questions')} copied from the bank. "
                "The copies are yours to edit.",
                url_for("build.survey", survey_id=survey.id),
            )
        form.refuse(work.error, "items")
    return _bank_page(survey, form, texts)
