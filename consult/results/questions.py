"""Results pages for every question: a page listing each question's results
and a page per question, with a cross-tabulation by any demographic, by
language and by channel, and, for free text, the answers to read, search
and filter, with themes officers tick and viewers read. All numbers come
from `consult.services.question_results`."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, request, url_for

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import QuestionType, Role, Survey
from ..security import owned_or_404, role_required
from ..services import ServiceError
from ..services.question_results import (
    BY_CHANNEL,
    BY_LANGUAGE,
    add_theme,
    by_choices,
    crosstab,
    load_themes,
    response_in_survey,
    set_answer_themes,
    survey_question_results,
    text_answers,
    text_question,
    themes_for,
)
from . import _render, bp, chosen_stream

TYPE_NAMES = {
    "single": "Single choice",
    "multiple": "Multiple choice",
    "scale": "Rating scale",
    "grid": "Grid",
    "ranking": "Ranking",
    "text": "Free text",
    "number": "Number",
    "area": "Area",
}


@bp.route("/<int:survey_id>/results/questions")
@role_required(Role.VIEWER)
def questions(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    every, applied, results = survey_question_results(survey, stream=chosen_stream(survey))
    return _render(
        "results/questions.html",
        survey,
        results=results,
        every=every,
        applied=applied,
        type_names=TYPE_NAMES,
        errors=[],
    )


def _question_page(survey: Survey, question_id: int, errors: list[dict[str, str]], status: int):
    try:
        question = text_question(survey, question_id)
    except ServiceError:
        abort(404)
    every, applied, results = survey_question_results(survey, stream=chosen_stream(survey))
    result = next(r for r in every if r.question_id == question.id)
    choices = by_choices(survey, results.demographics)
    by = request.args.get("by", "")
    table = None
    if by:
        try:
            table = crosstab(
                survey,
                question,
                results.frame,
                results.demographics,
                by,
                applied.weights,
                applied.replicates,
                themes=load_themes(survey, results.frame.index)
                if question.type == QuestionType.TEXT
                else None,
            )
        except ServiceError as error:
            errors = [*errors, {"text": error.message, "href": "#by"}]
            status = 400
    answers = None
    theme_list: list[Any] = []
    filters: dict[str, Any] = {}
    if question.type == QuestionType.TEXT:
        theme_list = themes_for(question)
        theme_arg = request.args.get("theme", "")
        filters = {
            "search": request.args.get("search", "")[:200],
            "lang": request.args.get("lang", "")[:8],
            "theme": int(theme_arg) if theme_arg.isdigit() else None,
        }
        page_arg = request.args.get("page", "1")
        answers = text_answers(
            survey,
            question,
            search=filters["search"],
            language=filters["lang"],
            theme_id=filters["theme"],
            page=int(page_arg) if page_arg.isdigit() else 1,
        )
    return _render(
        "results/question.html",
        survey,
        status,
        results=results,
        result=result,
        question=question,
        applied=applied,
        choices=choices,
        by=by,
        table=table,
        answers=answers,
        themes=theme_list,
        filters=filters,
        type_names=TYPE_NAMES,
        by_language=BY_LANGUAGE,
        by_channel=BY_CHANNEL,
        languages=LANGUAGES,
        errors=errors,
    )


@bp.route("/<int:survey_id>/results/questions/<int:question_id>")
@role_required(Role.VIEWER)
def question(survey_id: int, question_id: int):
    survey = owned_or_404(Survey, survey_id)
    return _question_page(survey, question_id, [], 200)


@bp.route("/<int:survey_id>/results/questions/<int:question_id>/themes", methods=["POST"])
@role_required(Role.OFFICER)
def new_theme(survey_id: int, question_id: int):
    survey = owned_or_404(Survey, survey_id)
    try:
        q = text_question(survey, question_id)
    except ServiceError:
        abort(404)
    try:
        theme = add_theme(survey, q, request.form.get("label", "")[:300], g.user)
    except ServiceError as error:
        db.session.rollback()
        return _question_page(survey, question_id, [{"text": error.message, "href": "#label"}], 400)
    db.session.commit()
    flash(f"Theme “{theme.label}” added: tick it on the answers that mention it", "success")
    return redirect(url_for("results.question", survey_id=survey.id, question_id=q.id) + "#answers")


@bp.route(
    "/<int:survey_id>/results/questions/<int:question_id>/answers/<int:response_id>/themes",
    methods=["POST"],
)
@role_required(Role.OFFICER)
def answer_themes(survey_id: int, question_id: int, response_id: int):
    survey = owned_or_404(Survey, survey_id)
    try:
        q = text_question(survey, question_id)
    except ServiceError:
        abort(404)
    if not response_in_survey(survey, response_id):
        abort(404)
    ids = [int(v) for v in request.form.getlist("theme") if v.isdigit()]
    if len(ids) != len(request.form.getlist("theme")):
        ids = [-1]  # a tampered value: refused below, with a message
    try:
        set_answer_themes(survey, q, response_id, ids, g.user)
    except ServiceError as error:
        db.session.rollback()
        return _question_page(
            survey, question_id, [{"text": error.message, "href": "#answers"}], 400
        )
    db.session.commit()
    flash("Themes saved for that answer", "success")
    back: dict[str, Any] = {
        k: v for k, v in request.form.items() if k in ("search", "lang", "theme_filter", "page")
    }
    if "theme_filter" in back:
        back["theme"] = back.pop("theme_filter")
    return redirect(
        url_for("results.question", survey_id=survey.id, question_id=q.id, **back)
        + f"#answer-{response_id}"
    )
