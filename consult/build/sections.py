"""A survey's sections: adding (from the survey's overview), renaming,
moving and removing."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request, url_for

from ..i18n import LANGUAGES
from ..models import Role
from ..security import role_required
from ..services import builder
from ..services.content import SurveyTexts
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .common import load_section, load_survey
from .forms.structure import MoveForm, NewSectionForm, SectionForm
from .surveys import survey_page


@bp.route("/<int:survey_id>/sections", methods=["POST"])
@role_required(Role.OFFICER)
def add_section(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    form = NewSectionForm()
    if form.validate_on_submit():
        with UnitOfWork() as work:
            builder.create_section(
                survey, form.key.data or "", form.title.data or "", kind=form.kind.data or ""
            )
        if work.ok:
            return redirect_with(
                "Section added.", url_for("build.survey", survey_id=survey.id) + "#sections"
            )
        form.refuse(work.error, "key")
    return survey_page(survey, form)


@bp.route("/<int:survey_id>/sections/<int:section_id>", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def edit_section(survey_id: int, section_id: int) -> Any:
    survey = load_survey(survey_id)
    section = load_section(survey, section_id)
    form = SectionForm()
    if request.method == "GET":
        form.title.data = SurveyTexts(survey).get(
            f"section.{section.key}.title", survey.default_language
        )
    if form.validate_on_submit():
        with UnitOfWork() as work:
            builder.rename_section(section, form.title.data or "", by=g.user)
        if work.ok:
            return redirect_with("Section renamed.", url_for("build.survey", survey_id=survey.id))
        form.refuse(work.error, "title")
    form.title.label.text = f"Section title ({LANGUAGES[survey.default_language].english_name})"
    return render_template("build/section.html", survey=survey, section=section, form=form), (
        400 if form.errors else 200
    )


@bp.route("/<int:survey_id>/sections/<int:section_id>/move", methods=["POST"])
@role_required(Role.OFFICER)
def move_section(survey_id: int, section_id: int) -> Any:
    survey = load_survey(survey_id)
    section = load_section(survey, section_id)
    with UnitOfWork() as work:
        builder.move_section(section, MoveForm().direction.data or "")
    return work.redirect(
        "Section moved.", url_for("build.survey", survey_id=survey.id) + "#sections"
    )


@bp.route("/<int:survey_id>/sections/<int:section_id>/delete", methods=["POST"])
@role_required(Role.OFFICER)
def delete_section(survey_id: int, section_id: int) -> Any:
    survey = load_survey(survey_id)
    section = load_section(survey, section_id)
    with UnitOfWork() as work:
        builder.delete_section(section)
    return work.redirect(
        "Section removed.", url_for("build.survey", survey_id=survey.id) + "#sections"
    )
