"""A survey's questions: adding, the question's page (wording, settings,
its answers, the condition that shows it and its demographic role), moving
and removing."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request, url_for

from ..models import COMPARABLE_TYPES, DEMOGRAPHIC_VARIABLES, Question, QuestionType, Role, Survey
from ..security import role_required
from ..services import builder
from ..services.content import SurveyTexts
from ..services.path import ordered_questions
from ..services.surveys import chosen_section, survey_section
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .common import flag, load_question, load_survey, sorted_sections


def form_section_id() -> int | None:
    return request.form.get("section", type=int)


def _settings_from_form() -> dict[str, Any]:
    return {**request.form.to_dict(), "positive": request.form.getlist("positive")}


@bp.route("/<int:survey_id>/questions/new", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def new_question(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        with UnitOfWork() as work:
            question = builder.create_question(
                survey,
                chosen_section(survey, form_section_id()),
                key=request.form.get("key", ""),
                type=request.form.get("type", ""),
                prompt=request.form.get("prompt", ""),
                hint=request.form.get("hint", ""),
                required=flag("required"),
                adults_only=flag("adults_only"),
                settings=_settings_from_form(),
                by=g.user,
            )
        if work.ok:
            message = "Question added."
            if question.type in builder.OPTION_TYPES:
                message += " Now add the answers people can choose."
            return redirect_with(
                message, url_for("build.question", survey_id=survey.id, question_id=question.id)
            )
        errors = work.errors()
    form = (
        request.form if request.method == "POST" else {"section": request.args.get("section", "")}
    )
    return render_template(
        "build/new_question.html",
        survey=survey,
        texts=SurveyTexts(survey),
        sections=sorted_sections(survey),
        form=form,
        errors=errors,
        types=list(QuestionType),
    ), (400 if errors else 200)


def question_page(
    survey: Survey,
    question: Question,
    errors: dict[str, str] | None = None,
    form: Any = None,
    status: int = 200,
) -> Any:
    """The question's page; each of its forms re-renders it with its errors."""
    order = ordered_questions(survey.questions)
    earlier = [
        q
        for q in order[: order.index(question)]
        if q.type in builder.CONDITION_SOURCE_TYPES | COMPARABLE_TYPES
    ]
    return render_template(
        "build/question.html",
        survey=survey,
        question=question,
        texts=SurveyTexts(survey),
        sections=sorted_sections(survey),
        earlier=earlier,
        locked=builder.is_locked(survey),
        categories=builder.benchmark_categories(survey.partnership_id),
        variables=DEMOGRAPHIC_VARIABLES,
        errors=errors or {},
        form=form or {},
    ), status


def question_url(survey: Survey, question: Question, anchor: str = "") -> str:
    return url_for("build.question", survey_id=survey.id, question_id=question.id) + anchor


@bp.get("/<int:survey_id>/questions/<int:question_id>")
@role_required(Role.VIEWER)
def question(survey_id: int, question_id: int) -> Any:
    survey = load_survey(survey_id)
    return question_page(survey, load_question(survey, question_id))


@bp.post("/<int:survey_id>/questions/<int:question_id>")
@role_required(Role.OFFICER)
def save_question(survey_id: int, question_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    with UnitOfWork() as work:
        builder.update_question(
            q,
            prompt=request.form.get("prompt", ""),
            hint=request.form.get("hint", ""),
            required=flag("required"),
            adults_only=flag("adults_only"),
            settings=_settings_from_form(),
            key=request.form.get("key", q.key),
            section=survey_section(survey, form_section_id()),
            by=g.user,
        )
    if work.ok:
        return redirect_with("Question saved.", question_url(survey, q))
    return question_page(survey, q, work.errors(), request.form, 400)


@bp.route("/<int:survey_id>/questions/<int:question_id>/move", methods=["POST"])
@role_required(Role.OFFICER)
def move_question(survey_id: int, question_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    with UnitOfWork() as work:
        builder.move_question(q, request.form.get("direction", ""))
    return work.redirect(
        f"{q.key} moved.", url_for("build.survey", survey_id=survey.id) + f"#question-{q.key}"
    )


@bp.route("/<int:survey_id>/questions/<int:question_id>/delete", methods=["POST"])
@role_required(Role.OFFICER)
def delete_question(survey_id: int, question_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    key = q.key
    with UnitOfWork() as work:
        builder.delete_question(q)
    target = (
        url_for("build.survey", survey_id=survey.id)
        if work.ok
        else url_for("build.question", survey_id=survey.id, question_id=question_id)
    )
    return work.redirect(f"{key} removed.", target)


@bp.route("/<int:survey_id>/questions/<int:question_id>/condition", methods=["POST"])
@role_required(Role.OFFICER)
def condition(survey_id: int, question_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    source = request.form.get("source", "") if not flag("remove") else ""
    codes = request.form.getlist(f"codes_{source}") if source else []
    with UnitOfWork() as work:
        if source and request.form.get("compare"):
            # A number, decimal or date answer compared with a value.
            builder.set_comparison(
                q, source, request.form["compare"], request.form.get("value", ""), by=g.user
            )
        else:
            builder.set_condition(q, source or None, codes, by=g.user)
    if work.ok:
        message = (
            "Condition removed: the question is always shown." if not source else "Condition saved."
        )
        return redirect_with(message, question_url(survey, q, "#condition"))
    errors = work.errors("source", prefix="condition-")
    return question_page(survey, q, errors, request.form, 400)


@bp.route("/<int:survey_id>/questions/<int:question_id>/demographic", methods=["POST"])
@role_required(Role.OFFICER)
def demographic(survey_id: int, question_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    mapping = {o.code: request.form.get(f"map_{o.code}", "").strip() for o in q.choices}
    with UnitOfWork() as work:
        builder.set_demographic(q, request.form.get("variable", "") or None, mapping, by=g.user)
    if work.ok:
        return redirect_with("Demographic role saved.", question_url(survey, q, "#demographic"))
    errors = work.errors("variable", prefix="demographic-")
    return question_page(survey, q, errors, request.form, 400)
