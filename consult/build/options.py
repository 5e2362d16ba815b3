"""The answers a question offers (options, and the items of a grid or
ranking): adding, editing, moving and removing."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request

from ..i18n import LANGUAGES
from ..models import OptionKind, Role
from ..security import role_required
from ..services import builder
from ..services.content import SurveyTexts
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .common import load_option, load_question, load_survey
from .forms.structure import EditOptionForm, MoveForm, OptionForm
from .questions import question_page, question_url


@bp.route("/<int:survey_id>/questions/<int:question_id>/options", methods=["POST"])
@role_required(Role.OFFICER)
def add_option(survey_id: int, question_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    form = OptionForm()
    if form.validate_on_submit():
        with UnitOfWork() as work:
            builder.add_option(
                q,
                code=form.code.data or "",
                label=form.label.data or "",
                kind=form.kind.data or OptionKind.CHOICE,
                exclusive=form.exclusive.data,
                is_missing=form.is_missing.data,
                by=g.user,
            )
        if work.ok:
            return redirect_with("Answer added.", question_url(survey, q, "#options"))
        form.refuse(work.error, "code")
    return question_page(survey, q, option_form=form)


@bp.route(
    "/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>", methods=["GET", "POST"]
)
@role_required(Role.OFFICER)
def option(survey_id: int, question_id: int, option_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    o = load_option(q, option_id)
    # What is not posted stays as it is for the code (not on the page once
    # the survey is locked), and is empty or unticked for the rest.
    form = EditOptionForm(data={"code": o.code})
    if request.method == "GET":
        texts = SurveyTexts(survey)
        form.label.data = (
            texts.item(q, o.code, survey.default_language)
            if o.kind == OptionKind.ITEM
            else texts.option(q, o.code, survey.default_language)
        )
        form.exclusive.data = o.exclusive
        form.is_missing.data = o.is_missing
    if form.validate_on_submit():
        with UnitOfWork() as work:
            builder.update_option(
                o,
                label=form.label.data or "",
                exclusive=form.exclusive.data,
                is_missing=form.is_missing.data,
                code=form.code.data,
                by=g.user,
            )
        if work.ok:
            return redirect_with("Answer saved.", question_url(survey, q, "#options"))
        form.refuse(work.error, "label")
    form.label.label.text = f"Wording ({LANGUAGES[survey.default_language].english_name})"
    return render_template(
        "build/option.html",
        survey=survey,
        question=q,
        option=o,
        form=form,
        locked=builder.is_locked(survey),
    ), (400 if form.errors else 200)


@bp.route(
    "/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>/move", methods=["POST"]
)
@role_required(Role.OFFICER)
def move_option(survey_id: int, question_id: int, option_id: int) -> Any:
    survey = load_survey(survey_id)
    q = load_question(survey, question_id)
    o = load_option(q, option_id)
    with UnitOfWork() as work:
        builder.move_option(o, MoveForm().direction.data or "")
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
