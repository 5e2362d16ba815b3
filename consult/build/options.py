"""The answers a question offers (options, and the items of a grid or
ranking): adding, editing, moving and removing."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request

from ..models import OptionKind, Role
from ..security import role_required
from ..services import builder
from ..services.content import SurveyTexts
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .common import flag, load_option, load_question, load_survey
from .questions import question_page, question_url


@bp.route("/<int:survey_id>/questions/<int:question_id>/options", methods=["POST"])
@role_required(Role.OFFICER)
def add_option(survey_id: int, question_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    with UnitOfWork() as work:
        builder.add_option(
            q,
            code=request.form.get("code", ""),
            label=request.form.get("label", ""),
            kind=request.form.get("kind", OptionKind.CHOICE),
            exclusive=flag("exclusive"),
            is_missing=flag("is_missing"),
            by=g.user,
        )
    if work.ok:
        return redirect_with("Answer added.", question_url(survey, q, "#options"))
    errors = work.errors("code", prefix="option-")
    return question_page(survey, q, errors, request.form, 400)


@bp.route(
    "/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>", methods=["GET", "POST"]
)
@role_required(Role.OFFICER)
def option(survey_id: int, question_id: int, option_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    o = load_option(q, option_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        with UnitOfWork() as work:
            builder.update_option(
                o,
                label=request.form.get("label", ""),
                exclusive=flag("exclusive"),
                is_missing=flag("is_missing"),
                code=request.form.get("code", o.code),
                by=g.user,
            )
        if work.ok:
            return redirect_with("Answer saved.", question_url(survey, q, "#options"))
        errors = work.errors("label")
    texts = SurveyTexts(survey)
    label = (
        texts.item(q, o.code, survey.default_language)
        if o.kind == OptionKind.ITEM
        else texts.option(q, o.code, survey.default_language)
    )
    form = request.form if request.method == "POST" else {"label": label, "code": o.code}
    return render_template(
        "build/option.html",
        survey=survey,
        question=q,
        option=o,
        form=form,
        errors=errors,
        locked=builder.is_locked(survey),
    ), (400 if errors else 200)


@bp.route(
    "/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>/move", methods=["POST"]
)
@role_required(Role.OFFICER)
def move_option(survey_id: int, question_id: int, option_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    o = load_option(q, option_id)
    with UnitOfWork() as work:
        builder.move_option(o, request.form.get("direction", ""))
    return work.redirect("Answer moved.", question_url(survey, q, "#options"))


@bp.route(
    "/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>/delete", methods=["POST"]
)
@role_required(Role.OFFICER)
def delete_option(survey_id: int, question_id: int, option_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    o = load_option(q, option_id)
    with UnitOfWork() as work:
        builder.delete_option(o)
    return work.redirect("Answer removed.", question_url(survey, q, "#options"))
