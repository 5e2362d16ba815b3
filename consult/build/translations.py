"""A survey's translations: the overview per language, editing and
reviewing one text, and the round trips through a spreadsheet (all
languages) and XLIFF (one language, for translation tools)."""

from __future__ import annotations

from typing import Any

from flask import abort, g, render_template, request, url_for

from ..i18n import LANGUAGES, direction
from ..models import Role, Survey
from ..security import role_required
from ..services import translation as tr
from ..services import xliff
from ..unit_of_work import UnitOfWork, redirect_with
from ..wording import counted
from . import bp
from .common import download, load_survey
from .forms.content import ReviewForm, TranslationForm, TranslationImportForm, XliffImportForm


def _language(survey: Survey, language: str) -> str:
    if language not in survey.languages:
        abort(404)
    return language


def _file_problems(form: TranslationImportForm | XliffImportForm, work: UnitOfWork) -> list[str]:
    """A translation file's refusal: one message on the file, and the file's
    problems to list."""
    form.refuse(work.error, "file")
    return work.error.problems if isinstance(work.error, tr.TranslationFileError) else []


@bp.route("/<int:survey_id>/translations")
@role_required(Role.VIEWER)
def translations(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    return render_template(
        "build/translations.html",
        survey=survey,
        reports=tr.language_reports(survey),
        missing=tr.missing_visible_strings(survey),
    )


@bp.route("/<int:survey_id>/translations/<language>")
@role_required(Role.VIEWER)
def translation_language(survey_id: int, language: str) -> Any:
    survey = load_survey(survey_id)
    _language(survey, language)
    states = tr.language_strings(survey, language)
    wanted = request.args.get("status", "")
    shown = [s for s in states if not wanted or s.status == wanted]
    return render_template(
        "build/translation_language.html",
        survey=survey,
        language=language,
        states=shown,
        wanted=wanted,
        report=next(r for r in tr.language_reports(survey) if r.language == language),
        content_dir=direction(language),
    )


@bp.route("/<int:survey_id>/translations/<language>/edit", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def edit_translation(survey_id: int, language: str) -> Any:
    survey = load_survey(survey_id)
    _language(survey, language)
    if language == survey.default_language:
        abort(404)
    key = request.values.get("key", "")
    state = next((s for s in tr.language_strings(survey, language) if s.spec.key == key), None)
    if state is None:
        abort(404)
    form = TranslationForm()
    if form.validate_on_submit():
        with UnitOfWork() as work:
            tr.edit_translation(
                survey,
                key,
                language,
                form.value.data or "",
                reviewed=form.reviewed.data,
                by=g.user,
            )
        if work.ok:
            return redirect_with(
                "Translation saved.",
                url_for("build.translation_language", survey_id=survey.id, language=language),
            )
        form.refuse(work.error, "value")
    elif request.method == "GET":
        form.value.data = state.value
    return render_template(
        "build/translation_edit.html",
        survey=survey,
        language=language,
        state=state,
        form=form,
        form_has_errors=bool(form.errors),
        content_dir=direction(language),
    ), (400 if request.method == "POST" else 200)


@bp.route("/<int:survey_id>/translations/<language>/reviewed", methods=["POST"])
@role_required(Role.OFFICER)
def mark_reviewed(survey_id: int, language: str) -> Any:
    survey = load_survey(survey_id)
    _language(survey, language)
    keys = ReviewForm().keys.data or None
    count = 0
    with UnitOfWork() as work:
        count = tr.mark_reviewed(survey, language, keys, by=g.user)
    return work.redirect(
        f"{counted(count, 'translation', 'translations')} marked as reviewed.",
        url_for("build.translation_language", survey_id=survey.id, language=language),
    )


@bp.route("/<int:survey_id>/translations/export")
@role_required(Role.OFFICER)
def export_translations(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    languages = [c for c in request.args.getlist("language") if c in survey.languages] or None
    with UnitOfWork():
        content = tr.export_xlsx(survey, languages, by=g.user)
    return download(content, f"{survey.slug}-translations.xlsx")


@bp.route("/<int:survey_id>/translations/import", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def import_translations(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    form = TranslationImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        with UnitOfWork() as work:
            result = tr.import_xlsx(
                survey, form.file.content, reviewed=form.reviewed.data, by=g.user
            )
        if work.ok:
            summary = ", ".join(
                f"{LANGUAGES[c].english_name}: {n}" for c, n in sorted(result.changed.items())
            )
            message = (
                f"{counted(result.total, 'translation', 'translations')} imported ({summary})."
                if result.total
                else "No translations changed: the file's texts are the ones the survey has."
            )
            return redirect_with(message, url_for("build.translations", survey_id=survey.id))
        problems = _file_problems(form, work)
    return render_template(
        "build/translation_import.html",
        survey=survey,
        form=form,
        form_has_errors=bool(form.errors),
        problems=problems,
    ), (400 if request.method == "POST" else 200)


@bp.route("/<int:survey_id>/translations/<language>/xliff")
@role_required(Role.OFFICER)
def export_xliff(survey_id: int, language: str) -> Any:
    survey = load_survey(survey_id)
    _language(survey, language)
    if language == survey.default_language:
        abort(404)
    with UnitOfWork():
        content = xliff.export_xliff(survey, language, by=g.user)
    return download(content, xliff.filename(survey, language), xliff.MIMETYPE)


@bp.route("/<int:survey_id>/translations/import-xliff", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def import_xliff(survey_id: int) -> Any:
    survey = load_survey(survey_id)
    form = XliffImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        with UnitOfWork() as work:
            result = xliff.import_xliff(
                survey, form.file.content, reviewed=form.reviewed.data, by=g.user
            )
        if work.ok:
            language = LANGUAGES[result.language].english_name
            message = (
                f"{counted(result.total, f'{language} translation', f'{language} translations')}"
                " imported."
            )
            if result.unconfirmed:
                message += (
                    f" {counted(result.unconfirmed, 'text was', 'texts were')} still marked"
                    " ‘initial’ in the file and not imported."
                )
            return redirect_with(message, url_for("build.translations", survey_id=survey.id))
        problems = _file_problems(form, work)
    return render_template(
        "build/translation_import_xliff.html",
        survey=survey,
        form=form,
        form_has_errors=bool(form.errors),
        problems=problems,
    ), (400 if request.method == "POST" else 200)
