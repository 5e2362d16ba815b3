"""A survey as a whole: creating one, its overview page (the builder's
start), settings, status changes, a new wave, deleting a draft, and the
preview in each of its languages."""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for

from ..i18n import direction
from ..models import Question, Role, Survey, SurveyStatus
from ..security import current_partnership, has_role, role_required
from ..services import builder
from ..services import translation as tr
from ..services.content import SurveyTexts, privacy_key, survey_intro_key
from ..services.counts import response_counts
from ..services.path import ordered_questions
from ..unit_of_work import UnitOfWork, redirect_with
from . import bp
from .common import load_survey, sorted_sections
from .forms.structure import (
    DeleteSurveyForm,
    NewSectionForm,
    NewSurveyForm,
    NewWaveForm,
    SettingsForm,
    StatusForm,
    day,
)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def new_survey() -> Any:
    form = NewSurveyForm()
    if form.validate_on_submit():
        with UnitOfWork() as work:
            survey = builder.start_survey(
                current_partnership(),
                slug=form.slug.data or "",
                title=form.title.data or "",
                audience=form.audience.data or "",
                languages=form.chosen_languages(),
                by=g.user,
            )
        if work.ok:
            return redirect_with(
                "Survey created. Add sections and questions below.",
                url_for("build.survey", survey_id=survey.id),
            )
        form.refuse(work.error, "title")
    return render_template("build/new_survey.html", form=form), (400 if form.errors else 200)


def survey_page(survey: Survey, section_form: NewSectionForm | None = None) -> Any:
    """The survey's overview; the "add a section" form re-renders it with
    its errors."""
    questions = ordered_questions(survey.questions)
    by_section: dict[int | None, list[Question]] = {}
    for q in questions:
        by_section.setdefault(q.section_id, []).append(q)
    section_form = section_form or NewSectionForm(formdata=None)
    return render_template(
        "build/survey.html",
        survey=survey,
        texts=SurveyTexts(survey),
        sections=sorted_sections(survey),
        by_section=by_section,
        responses=response_counts(survey.id),
        locked=builder.is_locked(survey),
        problems=builder.opening_problems(survey) if survey.status in ("draft", "closed") else [],
        reports=tr.language_reports(survey),
        section_form=section_form,
    ), (400 if section_form.errors else 200)


@bp.route("/<int:survey_id>")
@role_required(Role.VIEWER)
def survey(survey_id: int) -> Any:
    return survey_page(load_survey(survey_id))


@bp.route("/<int:survey_id>/status", methods=["POST"])
@role_required(Role.OFFICER)
def change_status(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    form = StatusForm()
    with UnitOfWork() as work:
        builder.change_status(survey, form.action.data or "", by=g.user)
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
    form = DeleteSurveyForm()
    if not (form.validate_on_submit() and form.confirm.data == "yes"):
        if request.method == "POST":
            return redirect(url_for("build.delete_survey", survey_id=survey.id), 303)
        return render_template(
            "build/delete_survey.html",
            survey=survey,
            form=form,
            title=SurveyTexts(survey).title(survey.default_language),
            deletable=survey.status == SurveyStatus.DRAFT and not builder.is_locked(survey),
        )
    with UnitOfWork() as work:
        builder.delete_survey(survey, by=g.user)
    target = url_for("admin.dashboard") if work.ok else url_for("build.survey", survey_id=survey.id)
    return work.redirect("The draft survey was deleted.", target)


def _settings_values(survey: Survey) -> dict[str, Any]:
    texts = SurveyTexts(survey)
    return {
        "title": texts.title(survey.default_language),
        "audience": survey.audience,
        "languages": [c for c in survey.languages if c != survey.default_language],
        "opens_on": survey.opens_at.date().isoformat() if survey.opens_at else "",
        "closes_on": survey.closes_at.date().isoformat() if survey.closes_at else "",
        "retention_until": survey.retention_until.isoformat() if survey.retention_until else "",
        "privacy": texts.get(privacy_key(), survey.default_language),
        "intro": texts.get(survey_intro_key(), survey.default_language),
    }


@bp.get("/<int:survey_id>/settings")
@role_required(Role.VIEWER)
def settings(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    values = _settings_values(survey)
    if not has_role(Role.OFFICER):
        # A viewer may read the settings but not change them: no form to fill
        # in only to be refused on saving.
        return render_template("build/settings_view.html", survey=survey, values=values)
    return _settings_page(
        survey, SettingsForm(formdata=None, data=values, default_language=survey.default_language)
    )


def _settings_page(survey: Survey, form: SettingsForm) -> Any:
    if builder.is_locked(survey):
        form.audience.description = "The survey has responses, so its audience cannot change."
    return render_template(
        "build/settings.html", survey=survey, form=form, locked=builder.is_locked(survey)
    ), (400 if form.errors else 200)


@bp.post("/<int:survey_id>/settings")
@role_required(Role.OFFICER)
def save_settings(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    form = SettingsForm(default_language=survey.default_language)
    if form.validate_on_submit():
        values = builder.SurveySettings(
            title=form.title.data or "",
            audience=form.audience.data or "",
            languages=[survey.default_language, *(form.languages.data or [])],
            opens_on=day(form.opens_on),
            closes_on=day(form.closes_on),
            retention_until=day(form.retention_until),
            privacy=form.privacy.data or "",
            intro=form.intro.data or "",
        )
        with UnitOfWork() as work:
            builder.update_settings(survey, values, by=g.user)
        if work.ok:
            return redirect_with("Settings saved.", url_for("build.survey", survey_id=survey.id))
        form.refuse(work.error, "title")
    return _settings_page(survey, form)


def _new_wave_page(survey: Survey, form: NewWaveForm) -> Any:
    form.slug.description = f"For example {survey.slug}-wave-{survey.wave + 1}"
    return render_template("build/new_wave.html", survey=survey, form=form), (
        400 if form.errors else 200
    )


@bp.get("/<int:survey_id>/new-wave")
@role_required(Role.VIEWER)
def new_wave(survey_id: int) -> Any:
    return _new_wave_page(load_survey(survey_id), NewWaveForm(formdata=None))


@bp.post("/<int:survey_id>/new-wave")
@role_required(Role.OFFICER)
def create_wave(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    form = NewWaveForm()
    if form.validate_on_submit():
        with UnitOfWork() as work:
            copy = builder.repeat_as_new_wave(survey, form.slug.data or "", by=g.user)
        if work.ok:
            return redirect_with(
                f"Wave {copy.wave} created as a draft, with the same questions and codes.",
                url_for("build.survey", survey_id=copy.id),
            )
        form.refuse(work.error, "slug")
    return _new_wave_page(survey, form)


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
