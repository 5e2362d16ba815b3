"""A survey's questions: adding, the question's page (wording, settings,
its answers, the condition that shows it and its demographic role), moving
and removing."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, render_template, request, url_for
from jinja2.filters import do_truncate

from ..forms import choices as as_choices
from ..models import COMPARABLE_TYPES, DEMOGRAPHIC_VARIABLES, Question, Role, Survey
from ..security import role_required
from ..services import builder
from ..services.content import SurveyTexts
from ..services.path import ordered_questions
from ..services.surveys import chosen_section, survey_section
from ..unit_of_work import UnitOfWork, redirect_with
from ..wording import category_label
from . import bp
from .common import load_question, load_survey, sorted_sections
from .forms.structure import (
    COMPARE_CHOICES,
    ChooseSourceForm,
    ChooseVariableForm,
    ConditionForm,
    DemographicForm,
    MoveForm,
    NewQuestionForm,
    OptionForm,
    QuestionForm,
    condition_form,
    demographic_form,
)


def _section_choices(survey: Survey, texts: SurveyTexts) -> list[tuple[int, str]]:
    return [
        (s.id, texts.get(f"section.{s.key}.title", survey.default_language, s.key))
        for s in sorted_sections(survey)
    ]


@bp.route("/<int:survey_id>/questions/new", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def new_question(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    texts = SurveyTexts(survey)
    form = NewQuestionForm(type_labels=builder.TYPE_LABELS)
    form.set_sections(_section_choices(survey, texts))
    if request.method == "GET":
        # "Add a question" under a section of the overview comes with it chosen.
        form.section.data = request.args.get("section", type=int)
    if form.validate_on_submit():
        with UnitOfWork() as work:
            question = builder.create_question(
                survey,
                chosen_section(survey, form.section.data),
                key=form.key.data or "",
                type=form.type.data or "",
                prompt=form.prompt.data or "",
                hint=form.hint.data or "",
                required=form.required.data,
                adults_only=form.adults_only.data,
                settings=form.settings(),
                by=g.user,
            )
        if work.ok:
            message = "Question added."
            if question.type in builder.OPTION_TYPES:
                message += " Now add the answers people can choose."
            return redirect_with(
                message, url_for("build.question", survey_id=survey.id, question_id=question.id)
            )
        form.refuse(work.error, "prompt")
    return render_template(
        "build/new_question.html", survey=survey, form=form, has_sections=bool(survey.sections)
    ), (400 if form.errors else 200)


def _question_values(question: Question, texts: SurveyTexts) -> dict[str, Any]:
    """What the question's form shows before any change."""
    lang = question.survey.default_language
    settings = question.settings or {}
    return {
        **{name: settings.get(name, "") for name in ("top_n", "max_choices", "max_length")},
        **{name: settings.get(name, "") for name in ("min", "max", "unit", "places")},
        "prompt": texts.prompt(question, lang),
        "hint": texts.hint(question, lang),
        "key": question.key,
        "section": question.section_id,
        "required": question.required,
        "adults_only": question.adults_only,
        "positive": settings.get("positive", []),
        "positive_label": settings.get("positive_label", ""),
        "not_future": settings.get("not_future", False),
        "not_past": settings.get("not_past", False),
        "keep": settings.get("keep", "ward"),
        "ward_list": "yes" if settings.get("ward_list", True) else "no",
    }


def _question_form(
    survey: Survey, question: Question, texts: SurveyTexts, **kwargs: Any
) -> QuestionForm:
    form = QuestionForm(**kwargs)
    form.set_sections(_section_choices(survey, texts))
    lang = survey.default_language
    form.positive.choices = as_choices(
        [
            (o.code, texts.option(question, o.code, lang))
            for o in question.choices
            if not o.is_missing
        ]
    )
    return form


def _earlier(survey: Survey, question: Question) -> list[Question]:
    """The questions a condition on this one may look at."""
    order = ordered_questions(survey.questions)
    return [
        q
        for q in order[: order.index(question)]
        if q.type in builder.CONDITION_SOURCE_TYPES | COMPARABLE_TYPES
    ]


def _condition_form(
    question: Question, source_key: str, texts: SurveyTexts, **kwargs: Any
) -> ConditionForm:
    """The condition's form for a question it may be on, its answers'
    checkboxes named after it."""
    form = condition_form(source_key, **kwargs)
    source = next((q for q in question.survey.questions if q.key == source_key), None)
    if source is not None:
        lang = question.survey.default_language
        form.codes.choices = as_choices(
            [(o.code, f"{texts.option(source, o.code, lang)} ({o.code})") for o in source.choices]
        )
        form.codes.label.text = f"Show {question.key} when {source.key} is"
        form.compare.label.text = f"Show {question.key} when {source.key} is"
        form.value.label.text = "Value" + (", as YYYY-MM-DD" if source.type == "date" else "")
    return form


def _condition_values(question: Question, source_key: str) -> dict[str, Any]:
    """The condition in place, when it is on `source_key`."""
    show_if = question.show_if or {}
    current = show_if if source_key and show_if.get("question") == source_key else {}
    operator = next((op for op, _ in COMPARE_CHOICES if op and op in current), "")
    return {
        "source": source_key,
        "codes": current.get("in", []),
        "compare": operator,
        "value": current.get(operator, "") if operator else "",
    }


def _demographic_form(
    question: Question, categories: list[str] | None, texts: SurveyTexts, **kwargs: Any
) -> DemographicForm:
    """The role's form: one field per answer, a choice of `categories` (the
    benchmarks' for the chosen variable) or, without them, typed."""
    lang = question.survey.default_language
    return demographic_form(
        [
            (o.code, f"“{texts.option(question, o.code, lang)}” ({o.code}) counts as")
            for o in question.choices
            if not o.is_missing
        ],
        [(c, category_label(c)) for c in categories] if categories is not None else None,
        **kwargs,
    )


def question_page(
    survey: Survey,
    question: Question,
    *,
    form: QuestionForm | None = None,
    option_form: OptionForm | None = None,
    condition: ConditionForm | None = None,
    demographic: DemographicForm | None = None,
) -> Any:
    """The question's page. Each of its forms posts to its own view, which
    hands the form back here, with its errors, when the change is refused;
    the page's other forms show the question as it is."""
    texts = SurveyTexts(survey)
    form = form or _question_form(
        survey, question, texts, formdata=None, data=_question_values(question, texts)
    )
    option_form = option_form or OptionForm(formdata=None)

    earlier = _earlier(survey, question)
    source_key = (
        request.args.get("source")
        or (condition.source.data if condition else "")
        or (question.show_if.get("question", "") if question.show_if else "")
    )
    source = next((q for q in earlier if q.key == source_key), None)
    condition = condition or _condition_form(
        question,
        source.key if source else "",
        texts,
        formdata=None,
        data=_condition_values(question, source.key if source else ""),
    )
    choose_source = ChooseSourceForm(formdata=None, data={"source": source_key})
    choose_source.source.choices = as_choices(
        [("", "Choose a question")]
        + [
            (
                e.key,
                f"{e.key}: {do_truncate(current_app.jinja_env, texts.prompt(e, survey.default_language), 60)}",
            )
            for e in earlier
        ]
    )

    categories = builder.benchmark_categories(survey.partnership_id)
    variable = (
        request.args.get("variable")
        or (demographic.variable.data if demographic else "")
        or question.demographic
        or ""
    )
    demographic = demographic or _demographic_form(
        question,
        categories.get(variable),
        texts,
        formdata=None,
        data={
            "variable": variable,
            **{f"map_{o.code}": o.benchmark_category or "" for o in question.choices},
        },
    )
    choose_variable = ChooseVariableForm(formdata=None, data={"variable": variable})
    choose_variable.variable.choices = as_choices(
        [("", "Nothing: not a demographic question")]
        + [
            (v, v.replace("_", " ") + (" (in the benchmarks)" if v in categories else ""))
            for v in DEMOGRAPHIC_VARIABLES
        ]
    )
    # A refusal about the chosen question or variable belongs on the
    # choosers, where the officer picked them (the posting forms only carry
    # them hidden).
    choose_source.source.errors = list(condition.source.errors)
    condition.source.errors = []
    choose_variable.variable.errors = list(demographic.variable.errors)
    demographic.variable.errors = []

    forms = [form, option_form, choose_source, condition, choose_variable, demographic]
    errors = [item for f in forms for item in f.error_list()]
    return render_template(
        "build/question.html",
        survey=survey,
        question=question,
        texts=texts,
        has_sections=bool(survey.sections),
        locked=builder.is_locked(survey),
        form=form,
        option_form=option_form,
        earlier=earlier,
        source=source,
        choose_source=choose_source,
        condition=condition,
        variable=variable,
        in_benchmarks=variable in categories,
        choose_variable=choose_variable,
        demographic=demographic,
        errors=errors,
    ), (400 if errors else 200)


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
    # Posted: what is not posted is empty, except the key (not on the page
    # once the survey is locked), which stays.
    form = _question_form(survey, q, SurveyTexts(survey), data={"key": q.key})
    if form.validate_on_submit():
        with UnitOfWork() as work:
            builder.update_question(
                q,
                prompt=form.prompt.data or "",
                hint=form.hint.data or "",
                required=form.required.data,
                adults_only=form.adults_only.data,
                settings=form.settings(),
                key=form.key.data,
                section=survey_section(survey, form.section.data),
                by=g.user,
            )
        if work.ok:
            return redirect_with("Question saved.", question_url(survey, q))
        form.refuse(work.error, "prompt")
    return question_page(survey, q, form=form)


@bp.route("/<int:survey_id>/questions/<int:question_id>/move", methods=["POST"])
@role_required(Role.OFFICER)
def move_question(survey_id: int, question_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    with UnitOfWork() as work:
        builder.move_question(q, MoveForm().direction.data or "")
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
    # The answers' checkboxes are named after the question the condition is
    # on, so the form takes its shape from the posted source.
    form = _condition_form(q, request.form.get("source", ""), SurveyTexts(survey))
    if form.validate_on_submit():
        source_key = form.chosen_source()
        with UnitOfWork() as work:
            if source_key and form.compare.data:
                # A number, decimal or date answer compared with a value.
                builder.set_comparison(
                    q, source_key, form.compare.data, form.value.data or "", by=g.user
                )
            else:
                builder.set_condition(
                    q, source_key or None, form.codes.data if source_key else [], by=g.user
                )
        if work.ok:
            message = (
                "Condition removed: the question is always shown."
                if not source_key
                else "Condition saved."
            )
            return redirect_with(message, question_url(survey, q, "#condition"))
        form.refuse(work.error, "source")
    return question_page(survey, q, condition=form)


@bp.route("/<int:survey_id>/questions/<int:question_id>/demographic", methods=["POST"])
@role_required(Role.OFFICER)
def demographic(survey_id: int, question_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    # One field per answer, choices or typed as the variable's benchmarks have it.
    categories = builder.benchmark_categories(survey.partnership_id)
    form = _demographic_form(
        q, categories.get(request.form.get("variable", "")), SurveyTexts(survey)
    )
    if form.validate_on_submit():
        with UnitOfWork() as work:
            builder.set_demographic(q, form.variable.data or None, form.mapping(), by=g.user)
        if work.ok:
            return redirect_with("Demographic role saved.", question_url(survey, q, "#demographic"))
        form.refuse(work.error, "variable")
    return question_page(survey, q, demographic=form)
