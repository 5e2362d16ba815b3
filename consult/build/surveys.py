"""A survey as a whole: creating one, its overview page (the builder's
start), settings, status changes, a new wave, deleting a draft, and the
preview in each of its languages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, g, redirect, render_template, request, url_for

from ..i18n import direction
from ..models import Audience, Question, Role, Survey, SurveyStatus
from ..security import current_partnership, has_role, role_required
from ..services import builder
from ..services import translation as tr
from ..services.audit import record
from ..services.content import SurveyTexts, privacy_key, survey_intro_key
from ..services.counts import response_counts
from ..services.path import ordered_questions
from ..services.surveys import create_survey
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .common import load_survey, parse_date, sorted_sections


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def new_survey() -> Any:
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        languages = ["en", *[c for c in form.getlist("languages") if c != "en"]]
        with UnitOfWork() as work:
            survey = create_survey(
                current_partnership(),
                slug=form.get("slug", ""),
                title={"en": form.get("title", "").strip()[:300]},
                audience=form.get("audience", ""),
                languages=languages,
            )
            record(
                "survey_created",
                partnership_id=survey.partnership_id,
                user_id=g.user.id,
                target=f"survey:{survey.id}:{survey.slug}",
            )
        if work.ok:
            return redirect_with(
                "Survey created. Add sections and questions below.",
                url_for("build.survey", survey_id=survey.id),
            )
        errors = work.errors()
    return render_template(
        "build/new_survey.html", errors=errors, form=form, audiences=list(Audience)
    ), (400 if errors else 200)


def survey_page(survey: Survey) -> dict[str, Any]:
    """What the survey's overview shows; the sections' forms re-render it
    with their errors."""
    questions = ordered_questions(survey.questions)
    by_section: dict[int | None, list[Question]] = {}
    for q in questions:
        by_section.setdefault(q.section_id, []).append(q)
    return {
        "survey": survey,
        "texts": SurveyTexts(survey),
        "sections": sorted_sections(survey),
        "by_section": by_section,
        "responses": response_counts(survey.id),
        "locked": builder.is_locked(survey),
        "problems": builder.opening_problems(survey)
        if survey.status in ("draft", "closed")
        else [],
        "reports": tr.language_reports(survey),
    }


@bp.route("/<int:survey_id>")
@role_required(Role.VIEWER)
def survey(survey_id: int) -> Any:
    return render_template(
        "build/survey.html", errors={}, form={}, **survey_page(load_survey(survey_id))
    )


@bp.route("/<int:survey_id>/status", methods=["POST"])
@role_required(Role.OFFICER)
def change_status(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    with UnitOfWork() as work:
        builder.change_status(survey, request.form.get("action", ""), by=g.user)
    return work.redirect(
        f"The survey is now {survey.status}.", url_for("build.survey", survey_id=survey.id)
    )


@bp.route("/<int:survey_id>/delete", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def delete_survey(survey_id: int) -> Any:
    """Deleting cannot be undone, so it takes two steps: this page asks, and
    only its own form (which says `confirm=yes`) deletes. A plain form, so it
    works without JavaScript."""
    survey = load_survey(survey_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        if request.method == "POST":
            return redirect(url_for("build.delete_survey", survey_id=survey.id), 303)
        return render_template(
            "build/delete_survey.html",
            survey=survey,
            title=SurveyTexts(survey).title(survey.default_language),
            deletable=survey.status == SurveyStatus.DRAFT and not builder.is_locked(survey),
        )
    with UnitOfWork() as work:
        builder.delete_survey(survey, by=g.user)
    target = url_for("admin.dashboard") if work.ok else url_for("build.survey", survey_id=survey.id)
    return work.redirect("The draft survey was deleted.", target)


@bp.get("/<int:survey_id>/settings")
@role_required(Role.VIEWER)
def settings(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    texts = SurveyTexts(survey)
    form = {
        "title": texts.title(survey.default_language),
        "audience": survey.audience,
        "opens_on": survey.opens_at.date().isoformat() if survey.opens_at else "",
        "closes_on": survey.closes_at.date().isoformat() if survey.closes_at else "",
        "retention_until": survey.retention_until.isoformat() if survey.retention_until else "",
        "privacy": texts.get(privacy_key(), survey.default_language),
        "intro": texts.get(survey_intro_key(), survey.default_language),
    }
    if not has_role(Role.OFFICER):
        # A viewer may read the settings but not change them: no form to fill
        # in only to be refused on saving.
        return render_template("build/settings_view.html", survey=survey, form=form)
    return _settings_page(survey, form, survey.languages, {})


def _settings_page(
    survey: Survey, form: Mapping[str, Any], chosen: list[str], errors: dict[str, str]
) -> Any:
    return render_template(
        "build/settings.html",
        survey=survey,
        form=form,
        errors=errors,
        chosen=chosen,
        audiences=list(Audience),
        locked=builder.is_locked(survey),
    ), (400 if errors else 200)


@bp.post("/<int:survey_id>/settings")
@role_required(Role.OFFICER)
def save_settings(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    with UnitOfWork() as work:
        values = builder.SurveySettings(
            title=request.form.get("title", ""),
            audience=request.form.get("audience", ""),
            languages=[survey.default_language, *request.form.getlist("languages")],
            opens_on=parse_date("opens_on", "The opening date"),
            closes_on=parse_date("closes_on", "The closing date"),
            retention_until=parse_date("retention_until", "The retention date"),
            privacy=request.form.get("privacy", ""),
            intro=request.form.get("intro", ""),
        )
        builder.update_settings(survey, values, by=g.user)
    if work.ok:
        return redirect_with("Settings saved.", url_for("build.survey", survey_id=survey.id))
    return _settings_page(survey, request.form, request.form.getlist("languages"), work.errors())


@bp.get("/<int:survey_id>/new-wave")
@role_required(Role.VIEWER)
def new_wave(survey_id: int) -> Any:
    return render_template(
        "build/new_wave.html", survey=load_survey(survey_id), errors={}, form=request.form
    )


@bp.post("/<int:survey_id>/new-wave")
@role_required(Role.OFFICER)
def create_wave(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    with UnitOfWork() as work:
        copy = builder.repeat_as_new_wave(survey, request.form.get("slug", ""), by=g.user)
    if work.ok:
        return redirect_with(
            f"Wave {copy.wave} created as a draft, with the same questions and codes.",
            url_for("build.survey", survey_id=copy.id),
        )
    return render_template(
        "build/new_wave.html", survey=survey, errors=work.errors(), form=request.form
    ), 400


@bp.route("/<int:survey_id>/preview")
@role_required(Role.VIEWER)
def preview(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    language = request.args.get("language", survey.default_language)
    if language not in survey.languages:
        abort(404)
    return render_template(
        "build/preview.html",
        survey=survey,
        texts=SurveyTexts(survey),
        language=language,
        content_dir=direction(language),
        questions=ordered_questions(survey.questions),
        sections={s.id: s for s in survey.sections},
    )
