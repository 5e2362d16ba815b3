"""A survey's sections: adding (from the survey's overview), renaming,
moving and removing."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request, url_for

from ..models import Role
from ..security import role_required
from ..services import builder
from ..services.content import SurveyTexts
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .common import load_section, load_survey
from .surveys import survey_page


@bp.route("/<int:survey_id>/sections", methods=["POST"])
@role_required(Role.OFFICER)
def add_section(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    with UnitOfWork() as work:
        builder.create_section(
            survey,
            request.form.get("key", ""),
            request.form.get("title", ""),
            kind=request.form.get("kind", "standard"),
        )
    if work.ok:
        return redirect_with(
            "Section added.", url_for("build.survey", survey_id=survey.id) + "#sections"
        )
    errors = work.errors("key", prefix="section-")
    return render_template(
        "build/survey.html", errors=errors, form=request.form, **survey_page(survey)
    ), 400


@bp.route("/<int:survey_id>/sections/<int:section_id>", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def edit_section(survey_id: int, section_id: int) -> Any:
    survey = load_survey(survey_id)
    section = load_section(survey, section_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        with UnitOfWork() as work:
            builder.rename_section(section, request.form.get("title", ""), by=g.user)
        if work.ok:
            return redirect_with("Section renamed.", url_for("build.survey", survey_id=survey.id))
        errors = work.errors("title")
    title = (
        request.form.get("title")
        if request.method == "POST"
        else SurveyTexts(survey).get(f"section.{section.key}.title", survey.default_language)
    )
    return render_template(
        "build/section.html", survey=survey, section=section, title=title, errors=errors
    ), (400 if errors else 200)


@bp.route("/<int:survey_id>/sections/<int:section_id>/move", methods=["POST"])
@role_required(Role.OFFICER)
def move_section(survey_id: int, section_id: int) -> Any:
    survey = load_survey(survey_id)
    section = load_section(survey, section_id)
    with UnitOfWork() as work:
        builder.move_section(section, request.form.get("direction", ""))
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
