"""Cleaning pages: one response's answers, correcting an answer (with a
reason), and settling the differences between two keyings of a paper form.
Viewers may read a response; only officers may change it."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for

from ..extensions import db
from ..forms import error_items
from ..models import Question, Role, Survey
from ..security import has_role, owned_or_404, role_required
from ..services import cleaning, paper
from ..services.answers import describe, load_answers
from ..services.content import SurveyTexts
from ..services.path import ordered_questions
from ..unit_of_work import UnitOfWork
from . import bp
from .forms import CorrectionForm, FindResponseForm, SettleForm


def _response_or_404(survey: Survey, response_id: int) -> Any:
    response = cleaning.find_response(survey, response_id)
    if response is None:
        abort(404)
    return response


def _question_or_404(survey: Survey, question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.survey_id != survey.id:
        abort(404)
    return question


@bp.route("/<int:survey_id>/responses")
@role_required(Role.VIEWER)
def find_response(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    form = FindResponseForm(formdata=request.args)
    reference = form.reference.data or ""
    if reference:
        response = cleaning.find_by_reference(survey, reference)
        if response is not None:
            return redirect(
                url_for("fieldwork.response", survey_id=survey.id, response_id=response.id)
            )
        form.reference.errors = [
            f"No submitted response of this survey has the reference {reference[:20]}"
        ]
    return render_template("fieldwork/find_response.html", survey=survey, form=form), (
        404 if form.errors else 200
    )


@bp.route("/<int:survey_id>/responses/<int:response_id>")
@role_required(Role.VIEWER)
def response(survey_id: int, response_id: int):
    survey = owned_or_404(Survey, survey_id)
    found = _response_or_404(survey, response_id)
    texts = SurveyTexts(survey)
    questions = ordered_questions(survey.questions)
    answers = load_answers(found, questions)
    rows = [
        (q, describe(q, answers[q.key], texts, survey.default_language) if q.key in answers else [])
        for q in questions
    ]
    return render_template(
        "fieldwork/response.html",
        survey=survey,
        response=found,
        texts=texts,
        rows=rows,
        corrections=cleaning.corrections(found),
        off_path=cleaning.off_path(found, questions),
        can_correct=has_role(Role.OFFICER),
    )


@bp.route(
    "/<int:survey_id>/responses/<int:response_id>/questions/<int:question_id>/correct",
    methods=["GET", "POST"],
)
@role_required(Role.OFFICER)
def correct(survey_id: int, response_id: int, question_id: int):
    survey = owned_or_404(Survey, survey_id)
    found = _response_or_404(survey, response_id)
    question = _question_or_404(survey, question_id)
    texts = SurveyTexts(survey)
    current = load_answers(found, [question]).get(question.key)
    form = CorrectionForm()
    # The corrected answer is the question's own input (or a grid's inputs),
    # named as on the paper-entry page and read by the question type's parser.
    answer_errors: dict[str, str] = {}
    values: Any = cleaning.typed_values(question, current)
    if form.validate_on_submit():
        with UnitOfWork() as work:
            cleaning.correct_answer(
                found, question, request.form, form.reason.data or "", by=g.user
            )
        if work.ok:
            flash(f"The answer to {question.key} was corrected.", "success")
            return redirect(
                url_for("fieldwork.response", survey_id=survey.id, response_id=found.id)
            )
        if isinstance(work.error, cleaning.CorrectionError):
            answer_errors = form.refuse_each(work.error.errors)
        elif work.error is not None:
            # A tampered answer (AnswerTampered) is refused on the answer.
            answer_errors = {paper.entry_field(question): work.error.message}
    if form.is_submitted():
        values = request.form
    return render_template(
        "fieldwork/correct.html",
        survey=survey,
        response=found,
        question=question,
        texts=texts,
        lang=survey.default_language,
        current=cleaning.show(question, current),
        values=values,
        form=form,
        answer_errors=answer_errors,
        errors=form.error_list() + error_items(answer_errors),
        entry_field=paper.entry_field,
    ), (400 if form.errors or answer_errors else 200)


@bp.route(
    "/<int:survey_id>/paper-entry/forms/<int:response_id>/questions/<int:question_id>/settle",
    methods=["POST"],
)
@role_required(Role.OFFICER)
def settle(survey_id: int, response_id: int, question_id: int):
    survey = owned_or_404(Survey, survey_id)
    first = _response_or_404(survey, response_id)
    question = _question_or_404(survey, question_id)
    batch = (first.batch or "").split("/", 1)[0]
    target = url_for("fieldwork.compare", survey_id=survey.id, batch=batch)
    form = SettleForm()
    with UnitOfWork() as work:
        cleaning.settle_difference(
            survey,
            first,
            question,
            form.choice.data or "",
            request.form,
            by=g.user,
            reason=form.reason.data or "",
        )
    if work.error is None:
        flash(f"Form {first.batch}: {question.key} settled.", "success")
    else:
        flash(f"Form {first.batch}: {question.key} not settled. {work.error.message}", "error")
    return redirect(f"{target}#form-{first.id}")
