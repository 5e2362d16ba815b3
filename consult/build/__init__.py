"""The officer's questionnaire workspace: creating surveys, the builder
(sections, questions, options, conditions, demographic roles), the question
bank, translations, XLSForm import/export, population benchmarks and the
survey lifecycle. Viewers may read; changes need an officer.

Views parse the form, call one service, and redirect (Post/Redirect/Get);
the rules live in consult.services.builder and friends."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import (
    Response as FlaskResponse,
)
from sqlalchemy import select

from ..extensions import db
from ..i18n import LANGUAGES, direction
from ..models import (
    COMPARABLE_TYPES,
    DEMOGRAPHIC_VARIABLES,
    Audience,
    BenchmarkSet,
    Option,
    OptionKind,
    Question,
    QuestionType,
    Role,
    Section,
    Survey,
    SurveyStatus,
    User,
)
from ..security import current_partnership, has_role, owned_or_404, role_required
from ..services import ServiceError, builder
from ..services import benchmarks as benchmark_service
from ..services import translation as tr
from ..services.audit import record
from ..services.content import SurveyTexts, privacy_key, survey_intro_key
from ..services.counts import response_counts
from ..services.frames import ordered_questions
from ..services.surveys import add_bank_question, create_survey
from ..wording import counted

bp = Blueprint("build", __name__, url_prefix="/manage/surveys")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 5 * 1024 * 1024


def _survey(survey_id: int) -> Survey:
    return owned_or_404(Survey, survey_id)


def _question(survey: Survey, question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.survey_id != survey.id:
        abort(404)
    return question


def _section(survey: Survey, section_id: int) -> Section:
    section = db.session.get(Section, section_id)
    if section is None or section.survey_id != survey.id:
        abort(404)
    return section


def _option(question: Question, option_id: int) -> Option:
    option = db.session.get(Option, option_id)
    if option is None or option.question_id != question.id:
        abort(404)
    return option


def _errors(error: ServiceError, default: str = "form") -> dict[str, str]:
    return {error.field or default: error.message}


def _flag(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "yes", "true")


def _parse_date(name: str, label: str) -> date | None:
    text = request.form.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ServiceError(f"{label} must be a real date, like 2026-09-30", field=name) from None


def _upload(name: str = "file") -> bytes:
    upload = request.files.get(name)
    if upload is None or not upload.filename:
        raise ServiceError("Choose a file to upload", field=name)
    content = upload.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise ServiceError("The file is larger than 5 MB", field=name)
    if not content:
        raise ServiceError("The file is empty", field=name)
    return content


def _done(message: str, target: str) -> Any:
    db.session.commit()
    flash(message, "success")
    return redirect(target)


def _refused(error: ServiceError, target: str) -> Any:
    db.session.rollback()
    flash(error.message, "error")
    return redirect(target)


def _download(content: bytes, filename: str, mimetype: str = XLSX) -> FlaskResponse:
    return FlaskResponse(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.context_processor
def build_context() -> dict[str, Any]:
    return {
        "can_edit": has_role(Role.OFFICER),
        "type_labels": builder.TYPE_LABELS,
        "LANGUAGES": LANGUAGES,
        "status_labels": tr.TEXT_STATUS_LABELS,
        "describe_condition": builder.describe_condition,
    }


# --- surveys -----------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def new_survey():
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        languages = ["en", *[c for c in form.getlist("languages") if c != "en"]]
        try:
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
            return _done(
                "Survey created. Add sections and questions below.",
                url_for("build.survey", survey_id=survey.id),
            )
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error)
    return render_template(
        "build/new_survey.html", errors=errors, form=form, audiences=list(Audience)
    ), (400 if errors else 200)


def _survey_page(survey: Survey) -> dict[str, Any]:
    questions = ordered_questions(survey)
    by_section: dict[int | None, list[Question]] = {}
    for q in questions:
        by_section.setdefault(q.section_id, []).append(q)
    return {
        "survey": survey,
        "texts": SurveyTexts(survey),
        "sections": sorted(survey.sections, key=lambda s: s.position),
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
def survey(survey_id: int):
    return render_template(
        "build/survey.html", errors={}, form={}, **_survey_page(_survey(survey_id))
    )


@bp.route("/<int:survey_id>/status", methods=["POST"])
@role_required(Role.OFFICER)
def change_status(survey_id: int):
    survey = _survey(survey_id)
    action = request.form.get("action", "")
    target = url_for("build.survey", survey_id=survey.id)
    try:
        builder.change_status(survey, action, by=g.user)
        return _done(f"The survey is now {survey.status}.", target)
    except ServiceError as error:
        return _refused(error, target)


@bp.route("/<int:survey_id>/delete", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def delete_survey(survey_id: int):
    """Deleting cannot be undone, so it takes two steps: this page asks, and
    only its own form (which says `confirm=yes`) deletes. A plain form, so it
    works without JavaScript."""
    survey = _survey(survey_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        if request.method == "POST":
            return redirect(url_for("build.delete_survey", survey_id=survey.id), 303)
        return render_template(
            "build/delete_survey.html",
            survey=survey,
            title=SurveyTexts(survey).title(survey.default_language),
            deletable=survey.status == SurveyStatus.DRAFT and not builder.is_locked(survey),
        )
    try:
        builder.delete_survey(survey, by=g.user)
        return _done("The draft survey was deleted.", url_for("admin.dashboard"))
    except ServiceError as error:
        return _refused(error, url_for("build.survey", survey_id=survey.id))


@bp.route("/<int:survey_id>/settings", methods=["GET", "POST"])
@role_required(Role.VIEWER)
def settings(survey_id: int):
    survey = _survey(survey_id)
    texts = SurveyTexts(survey)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not has_role(Role.OFFICER):
            abort(403)
        try:
            values = builder.SurveySettings(
                title=request.form.get("title", ""),
                audience=request.form.get("audience", ""),
                languages=[survey.default_language, *request.form.getlist("languages")],
                opens_on=_parse_date("opens_on", "The opening date"),
                closes_on=_parse_date("closes_on", "The closing date"),
                retention_until=_parse_date("retention_until", "The retention date"),
                privacy=request.form.get("privacy", ""),
                intro=request.form.get("intro", ""),
            )
            builder.update_settings(survey, values, by=g.user)
            return _done("Settings saved.", url_for("build.survey", survey_id=survey.id))
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error)
        form: Mapping[str, Any] = request.form
    else:
        form = {
            "title": texts.title(survey.default_language),
            "audience": survey.audience,
            "opens_on": survey.opens_at.date().isoformat() if survey.opens_at else "",
            "closes_on": survey.closes_at.date().isoformat() if survey.closes_at else "",
            "retention_until": survey.retention_until.isoformat() if survey.retention_until else "",
            "privacy": texts.get(privacy_key(), survey.default_language),
            "intro": texts.get(survey_intro_key(), survey.default_language),
        }
    chosen = request.form.getlist("languages") if request.method == "POST" else survey.languages
    if not has_role(Role.OFFICER):
        # A viewer may read the settings but not change them: no form to fill
        # in only to be refused on saving.
        return render_template("build/settings_view.html", survey=survey, form=form)
    return render_template(
        "build/settings.html",
        survey=survey,
        form=form,
        errors=errors,
        chosen=chosen,
        audiences=list(Audience),
        locked=builder.is_locked(survey),
    ), (400 if errors else 200)


@bp.route("/<int:survey_id>/new-wave", methods=["GET", "POST"])
@role_required(Role.VIEWER)
def new_wave(survey_id: int):
    survey = _survey(survey_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not has_role(Role.OFFICER):
            abort(403)
        try:
            copy = builder.repeat_as_new_wave(survey, request.form.get("slug", ""), by=g.user)
            return _done(
                f"Wave {copy.wave} created as a draft, with the same questions and codes.",
                url_for("build.survey", survey_id=copy.id),
            )
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error)
    return render_template(
        "build/new_wave.html", survey=survey, errors=errors, form=request.form
    ), (400 if errors else 200)


# --- sections ----------------------------------------------------------------


@bp.route("/<int:survey_id>/sections", methods=["POST"])
@role_required(Role.OFFICER)
def add_section(survey_id: int):
    survey = _survey(survey_id)
    try:
        builder.create_section(
            survey,
            request.form.get("key", ""),
            request.form.get("title", ""),
            kind=request.form.get("kind", "standard"),
        )
        return _done("Section added.", url_for("build.survey", survey_id=survey.id) + "#sections")
    except ServiceError as error:
        db.session.rollback()
        errors = {f"section-{error.field or 'key'}": error.message}
        return render_template(
            "build/survey.html", errors=errors, form=request.form, **_survey_page(survey)
        ), 400


@bp.route("/<int:survey_id>/sections/<int:section_id>", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def edit_section(survey_id: int, section_id: int):
    survey = _survey(survey_id)
    section = _section(survey, section_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            builder.rename_section(section, request.form.get("title", ""), by=g.user)
            return _done("Section renamed.", url_for("build.survey", survey_id=survey.id))
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error, "title")
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
def move_section(survey_id: int, section_id: int):
    survey = _survey(survey_id)
    section = _section(survey, section_id)
    target = url_for("build.survey", survey_id=survey.id) + "#sections"
    try:
        builder.move_section(section, request.form.get("direction", ""))
        return _done("Section moved.", target)
    except ServiceError as error:
        return _refused(error, target)


@bp.route("/<int:survey_id>/sections/<int:section_id>/delete", methods=["POST"])
@role_required(Role.OFFICER)
def delete_section(survey_id: int, section_id: int):
    survey = _survey(survey_id)
    section = _section(survey, section_id)
    target = url_for("build.survey", survey_id=survey.id) + "#sections"
    try:
        builder.delete_section(section)
        return _done("Section removed.", target)
    except ServiceError as error:
        return _refused(error, target)


# --- questions ---------------------------------------------------------------


def _section_from_form(survey: Survey) -> Section | None:
    section_id = request.form.get("section", type=int)
    if section_id is None:
        return None
    return next((s for s in survey.sections if s.id == section_id), None)


@bp.route("/<int:survey_id>/questions/new", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def new_question(survey_id: int):
    survey = _survey(survey_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            section = _section_from_form(survey)
            if section is None and survey.sections:
                raise ServiceError("Choose a section", field="section")
            question = builder.create_question(
                survey,
                section,
                key=request.form.get("key", ""),
                type=request.form.get("type", ""),
                prompt=request.form.get("prompt", ""),
                hint=request.form.get("hint", ""),
                required=_flag("required"),
                adults_only=_flag("adults_only"),
                settings={**request.form.to_dict(), "positive": request.form.getlist("positive")},
                by=g.user,
            )
            message = "Question added."
            if question.type in builder.OPTION_TYPES:
                message += " Now add the answers people can choose."
            return _done(
                message, url_for("build.question", survey_id=survey.id, question_id=question.id)
            )
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error)
    form = (
        request.form if request.method == "POST" else {"section": request.args.get("section", "")}
    )
    return render_template(
        "build/new_question.html",
        survey=survey,
        texts=SurveyTexts(survey),
        sections=sorted(survey.sections, key=lambda s: s.position),
        form=form,
        errors=errors,
        types=list(QuestionType),
    ), (400 if errors else 200)


def _question_page(
    survey: Survey,
    question: Question,
    errors: dict[str, str] | None = None,
    form: Any = None,
    status: int = 200,
):
    texts = SurveyTexts(survey)
    order = ordered_questions(survey)
    earlier = [
        q
        for q in order[: order.index(question)]
        if q.type in builder.CONDITION_SOURCE_TYPES | COMPARABLE_TYPES
    ]
    return render_template(
        "build/question.html",
        survey=survey,
        question=question,
        texts=texts,
        sections=sorted(survey.sections, key=lambda s: s.position),
        earlier=earlier,
        locked=builder.is_locked(survey),
        categories=builder.benchmark_categories(survey.partnership_id),
        variables=DEMOGRAPHIC_VARIABLES,
        errors=errors or {},
        form=form or {},
    ), status


@bp.route("/<int:survey_id>/questions/<int:question_id>", methods=["GET", "POST"])
@role_required(Role.VIEWER)
def question(survey_id: int, question_id: int):
    survey = _survey(survey_id)
    q = _question(survey, question_id)
    if request.method == "POST":
        if not has_role(Role.OFFICER):
            abort(403)
        try:
            builder.update_question(
                q,
                prompt=request.form.get("prompt", ""),
                hint=request.form.get("hint", ""),
                required=_flag("required"),
                adults_only=_flag("adults_only"),
                settings={**request.form.to_dict(), "positive": request.form.getlist("positive")},
                key=request.form.get("key", q.key),
                section=_section_from_form(survey),
                by=g.user,
            )
            return _done(
                "Question saved.", url_for("build.question", survey_id=survey.id, question_id=q.id)
            )
        except ServiceError as error:
            db.session.rollback()
            return _question_page(survey, q, _errors(error), request.form, 400)
    return _question_page(survey, q)


@bp.route("/<int:survey_id>/questions/<int:question_id>/move", methods=["POST"])
@role_required(Role.OFFICER)
def move_question(survey_id: int, question_id: int):
    survey = _survey(survey_id)
    q = _question(survey, question_id)
    target = url_for("build.survey", survey_id=survey.id) + f"#question-{q.key}"
    try:
        builder.move_question(q, request.form.get("direction", ""))
        return _done(f"{q.key} moved.", target)
    except ServiceError as error:
        return _refused(error, target)


@bp.route("/<int:survey_id>/questions/<int:question_id>/delete", methods=["POST"])
@role_required(Role.OFFICER)
def delete_question(survey_id: int, question_id: int):
    survey = _survey(survey_id)
    q = _question(survey, question_id)
    key = q.key
    try:
        builder.delete_question(q)
        return _done(f"{key} removed.", url_for("build.survey", survey_id=survey.id))
    except ServiceError as error:
        return _refused(
            error, url_for("build.question", survey_id=survey.id, question_id=question_id)
        )


@bp.route("/<int:survey_id>/questions/<int:question_id>/options", methods=["POST"])
@role_required(Role.OFFICER)
def add_option(survey_id: int, question_id: int):
    survey = _survey(survey_id)
    q = _question(survey, question_id)
    try:
        builder.add_option(
            q,
            code=request.form.get("code", ""),
            label=request.form.get("label", ""),
            kind=request.form.get("kind", OptionKind.CHOICE),
            exclusive=_flag("exclusive"),
            is_missing=_flag("is_missing"),
            by=g.user,
        )
        return _done(
            "Answer added.",
            url_for("build.question", survey_id=survey.id, question_id=q.id) + "#options",
        )
    except ServiceError as error:
        db.session.rollback()
        return _question_page(
            survey, q, {f"option-{error.field or 'code'}": error.message}, request.form, 400
        )


@bp.route(
    "/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>", methods=["GET", "POST"]
)
@role_required(Role.OFFICER)
def option(survey_id: int, question_id: int, option_id: int):
    survey = _survey(survey_id)
    q = _question(survey, question_id)
    o = _option(q, option_id)
    errors: dict[str, str] = {}
    texts = SurveyTexts(survey)
    if request.method == "POST":
        try:
            builder.update_option(
                o,
                label=request.form.get("label", ""),
                exclusive=_flag("exclusive"),
                is_missing=_flag("is_missing"),
                code=request.form.get("code", o.code),
                by=g.user,
            )
            return _done(
                "Answer saved.",
                url_for("build.question", survey_id=survey.id, question_id=q.id) + "#options",
            )
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error, "label")
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
def move_option(survey_id: int, question_id: int, option_id: int):
    survey = _survey(survey_id)
    q = _question(survey, question_id)
    builder.move_option(_option(q, option_id), request.form.get("direction", ""))
    return _done(
        "Answer moved.",
        url_for("build.question", survey_id=survey.id, question_id=q.id) + "#options",
    )


@bp.route(
    "/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>/delete", methods=["POST"]
)
@role_required(Role.OFFICER)
def delete_option(survey_id: int, question_id: int, option_id: int):
    survey = _survey(survey_id)
    q = _question(survey, question_id)
    target = url_for("build.question", survey_id=survey.id, question_id=q.id) + "#options"
    try:
        builder.delete_option(_option(q, option_id))
        return _done("Answer removed.", target)
    except ServiceError as error:
        return _refused(error, target)


@bp.route("/<int:survey_id>/questions/<int:question_id>/condition", methods=["POST"])
@role_required(Role.OFFICER)
def condition(survey_id: int, question_id: int):
    survey = _survey(survey_id)
    q = _question(survey, question_id)
    source = request.form.get("source", "") if not _flag("remove") else ""
    codes = request.form.getlist(f"codes_{source}") if source else []
    try:
        if source and request.form.get("compare"):
            # A number, decimal or date answer compared with a value.
            builder.set_comparison(
                q, source, request.form["compare"], request.form.get("value", ""), by=g.user
            )
        else:
            builder.set_condition(q, source or None, codes, by=g.user)
        message = (
            "Condition removed: the question is always shown." if not source else "Condition saved."
        )
        return _done(
            message, url_for("build.question", survey_id=survey.id, question_id=q.id) + "#condition"
        )
    except ServiceError as error:
        db.session.rollback()
        return _question_page(
            survey, q, {f"condition-{error.field or 'source'}": error.message}, request.form, 400
        )


@bp.route("/<int:survey_id>/questions/<int:question_id>/demographic", methods=["POST"])
@role_required(Role.OFFICER)
def demographic(survey_id: int, question_id: int):
    survey = _survey(survey_id)
    q = _question(survey, question_id)
    mapping = {o.code: request.form.get(f"map_{o.code}", "").strip() for o in q.choices}
    try:
        builder.set_demographic(q, request.form.get("variable", "") or None, mapping, by=g.user)
        return _done(
            "Demographic role saved.",
            url_for("build.question", survey_id=survey.id, question_id=q.id) + "#demographic",
        )
    except ServiceError as error:
        db.session.rollback()
        field = error.field or "variable"
        return _question_page(survey, q, {f"demographic-{field}": error.message}, request.form, 400)


# --- bank and preview ----------------------------------------------------------


def _bank() -> Any:
    try:
        from ..question_bank import load_bank
    except ImportError:
        return None
    try:
        return load_bank()
    except (OSError, ValueError):
        return None


@bp.route("/<int:survey_id>/bank", methods=["GET", "POST"])
@role_required(Role.VIEWER)
def bank(survey_id: int):
    survey = _survey(survey_id)
    question_bank = _bank()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not has_role(Role.OFFICER):
            abort(403)
        try:
            if question_bank is None:
                raise ServiceError("The question bank is not available")
            section = _section_from_form(survey)
            if section is None and survey.sections:
                raise ServiceError("Choose the section to add the questions to", field="section")
            keys = request.form.getlist("items")
            if not keys:
                raise ServiceError("Choose at least one question from the bank", field="items")
            existing = {q.key for q in survey.questions}
            taken = [k for k in keys if k in existing]
            if taken:
                raise ServiceError(f"This survey already has {', '.join(taken)}", field="items")
            for key in keys:
                add_bank_question(survey, section, key)
            return _done(
                f"{counted(len(keys), 'question', 'questions')} copied from the bank. "
                "The copies are yours to edit.",
                url_for("build.survey", survey_id=survey.id),
            )
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error, "items")
    return render_template(
        "build/bank.html",
        survey=survey,
        bank=question_bank,
        texts=SurveyTexts(survey),
        sections=sorted(survey.sections, key=lambda s: s.position),
        existing={q.key for q in survey.questions},
        chosen=request.form.getlist("items"),
        errors=errors,
        form=request.form,
    ), (400 if errors else 200)


@bp.route("/<int:survey_id>/preview")
@role_required(Role.VIEWER)
def preview(survey_id: int):
    survey = _survey(survey_id)
    language = request.args.get("language", survey.default_language)
    if language not in survey.languages:
        abort(404)
    texts = SurveyTexts(survey)
    return render_template(
        "build/preview.html",
        survey=survey,
        texts=texts,
        language=language,
        content_dir=direction(language),
        questions=ordered_questions(survey),
        sections={s.id: s for s in survey.sections},
    )


# --- translations ------------------------------------------------------------


@bp.route("/<int:survey_id>/translations")
@role_required(Role.VIEWER)
def translations(survey_id: int):
    survey = _survey(survey_id)
    return render_template(
        "build/translations.html",
        survey=survey,
        reports=tr.language_reports(survey),
        missing=tr.missing_visible_strings(survey),
    )


def _language(survey: Survey, language: str) -> str:
    if language not in survey.languages:
        abort(404)
    return language


@bp.route("/<int:survey_id>/translations/<language>")
@role_required(Role.VIEWER)
def translation_language(survey_id: int, language: str):
    survey = _survey(survey_id)
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
def edit_translation(survey_id: int, language: str):
    survey = _survey(survey_id)
    _language(survey, language)
    if language == survey.default_language:
        abort(404)
    key = request.values.get("key", "")
    state = next((s for s in tr.language_strings(survey, language) if s.spec.key == key), None)
    if state is None:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            tr.edit_translation(
                survey,
                key,
                language,
                request.form.get("value", ""),
                reviewed=_flag("reviewed"),
                by=g.user,
            )
            return _done(
                "Translation saved.",
                url_for("build.translation_language", survey_id=survey.id, language=language),
            )
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error, "value")
    value = request.form.get("value") if request.method == "POST" else state.value
    return render_template(
        "build/translation_edit.html",
        survey=survey,
        language=language,
        state=state,
        value=value,
        errors=errors,
        content_dir=direction(language),
    ), (400 if errors else 200)


@bp.route("/<int:survey_id>/translations/<language>/reviewed", methods=["POST"])
@role_required(Role.OFFICER)
def mark_reviewed(survey_id: int, language: str):
    survey = _survey(survey_id)
    _language(survey, language)
    keys = request.form.getlist("keys") or None
    target = url_for("build.translation_language", survey_id=survey.id, language=language)
    try:
        count = tr.mark_reviewed(survey, language, keys, by=g.user)
        return _done(f"{counted(count, 'translation', 'translations')} marked as reviewed.", target)
    except ServiceError as error:
        return _refused(error, target)


@bp.route("/<int:survey_id>/translations/export")
@role_required(Role.OFFICER)
def export_translations(survey_id: int):
    survey = _survey(survey_id)
    languages = [c for c in request.args.getlist("language") if c in survey.languages] or None
    content = tr.export_xlsx(survey, languages)
    record(
        "translations_exported",
        partnership_id=survey.partnership_id,
        user_id=g.user.id,
        target=f"survey:{survey.id}",
        details={"languages": languages or survey.languages},
    )
    db.session.commit()
    return _download(content, f"{survey.slug}-translations.xlsx")


@bp.route("/<int:survey_id>/translations/import", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def import_translations(survey_id: int):
    survey = _survey(survey_id)
    errors: dict[str, str] = {}
    problems: list[str] = []
    if request.method == "POST":
        try:
            result = tr.import_xlsx(survey, _upload(), reviewed=_flag("reviewed"), by=g.user)
            summary = ", ".join(
                f"{LANGUAGES[c].english_name}: {n}" for c, n in sorted(result.changed.items())
            )
            message = (
                f"{counted(result.total, 'translation', 'translations')} imported ({summary})."
                if result.total
                else "No translations changed: the file's texts are the ones the survey has."
            )
            return _done(message, url_for("build.translations", survey_id=survey.id))
        except tr.TranslationFileError as error:
            db.session.rollback()
            errors = {"file": error.message}
            problems = error.problems
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error, "file")
    return render_template(
        "build/translation_import.html", survey=survey, errors=errors, problems=problems
    ), (400 if errors else 200)


@bp.route("/<int:survey_id>/translations/<language>/xliff")
@role_required(Role.OFFICER)
def export_xliff(survey_id: int, language: str):
    from ..services import xliff

    survey = _survey(survey_id)
    _language(survey, language)
    if language == survey.default_language:
        abort(404)
    content = xliff.export_xliff(survey, language)
    record(
        "translations_exported",
        partnership_id=survey.partnership_id,
        user_id=g.user.id,
        target=f"survey:{survey.id}",
        details={"languages": [language], "format": "xliff"},
    )
    db.session.commit()
    return _download(content, xliff.filename(survey, language), xliff.MIMETYPE)


@bp.route("/<int:survey_id>/translations/import-xliff", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def import_xliff(survey_id: int):
    from ..services import xliff

    survey = _survey(survey_id)
    errors: dict[str, str] = {}
    problems: list[str] = []
    if request.method == "POST":
        try:
            name = getattr(request.files.get("file"), "filename", "") or ""
            if name and not name.lower().endswith((".xlf", ".xliff")):
                raise ServiceError("The file must be an XLIFF file (.xlf or .xliff)", field="file")
            result = xliff.import_xliff(survey, _upload(), reviewed=_flag("reviewed"), by=g.user)
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
            return _done(message, url_for("build.translations", survey_id=survey.id))
        except tr.TranslationFileError as error:
            db.session.rollback()
            errors = {"file": error.message}
            problems = error.problems
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error, "file")
    return render_template(
        "build/translation_import_xliff.html", survey=survey, errors=errors, problems=problems
    ), (400 if errors else 200)


# --- XLSForm -------------------------------------------------------------------


@bp.route("/<int:survey_id>/xlsform")
@role_required(Role.OFFICER)
def export_xlsform(survey_id: int):
    from ..services import xlsform

    survey = _survey(survey_id)
    content = xlsform.export_xlsform(survey)
    record(
        "xlsform_exported",
        partnership_id=survey.partnership_id,
        user_id=g.user.id,
        target=f"survey:{survey.id}",
    )
    db.session.commit()
    return _download(content, f"{survey.slug}-xlsform.xlsx")


@bp.route("/import-xlsform", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def import_xlsform():
    from ..services import xlsform

    errors: dict[str, str] = {}
    problems: list[str] = []
    if request.method == "POST":
        try:
            result = xlsform.import_xlsform(
                current_partnership(),
                _upload(),
                slug=request.form.get("slug", ""),
                audience=request.form.get("audience", Audience.RESIDENTS),
                by=g.user,
            )
            db.session.commit()
            for note in result.notes[:50]:
                flash(note, "error")
            if len(result.notes) > 50:
                flash(
                    f"… and {len(result.notes) - 50} more (import-xlsform on the command line lists them all).",
                    "error",
                )
            flash(
                f"Questionnaire imported: {counted(len(result.survey.questions), 'question', 'questions')}"
                + (
                    f"; {counted(len(result.notes), 'row or column', 'rows or columns')} could not be brought in exactly,"
                    " listed above."
                    if result.notes
                    else "."
                ),
                "success",
            )
            return redirect(url_for("build.survey", survey_id=result.survey.id))
        except xlsform.XLSFormError as error:
            db.session.rollback()
            errors = {"file": error.message}
            problems = error.problems
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error, "file")
    return render_template(
        "build/import_xlsform.html",
        errors=errors,
        problems=problems,
        form=request.form,
        audiences=list(Audience),
    ), (400 if errors else 200)


# --- population benchmarks ---------------------------------------------------


@bp.route("/benchmarks", methods=["GET", "POST"])
@role_required(Role.VIEWER)
def benchmarks():
    partnership = current_partnership()
    surveys = db.session.scalars(
        select(Survey).filter_by(partnership_id=partnership.id).order_by(Survey.created_at.desc())
    ).all()
    checkable = [s for s in surveys if any(q.demographic for q in s.questions)]
    errors: dict[str, str] = {}
    problems: list[str] = []
    if request.method == "POST":
        if not has_role(Role.OFFICER):
            abort(403)
        try:
            check = request.form.get("check", "")
            allowed = None
            if check:
                chosen = next((s for s in checkable if str(s.id) == check), None)
                if chosen is None:
                    raise ServiceError(
                        "Choose a survey to check the categories against", field="check"
                    )
                allowed = benchmark_service.mapped_categories(chosen)
            benchmark_set = benchmark_service.import_benchmarks(
                partnership,
                _upload(),
                by=g.user,
                note=request.form.get("note", "").strip(),
                allowed_categories=allowed,
            )
            if check and chosen is not None:
                for warning in benchmark_service.uncovered_categories(chosen, benchmark_set):
                    flash(warning, "error")
            return _done(
                f"Benchmarks version {benchmark_set.version} saved ({len(benchmark_set.rows)} rows). "
                "Fieldwork and results now compare with this version.",
                url_for("build.benchmarks"),
            )
        except benchmark_service.BenchmarkFileError as error:
            db.session.rollback()
            errors = {"file": "The benchmark file has problems; nothing was saved"}
            problems = error.problems
        except ServiceError as error:
            db.session.rollback()
            errors = _errors(error, "file")
    sets = db.session.scalars(
        select(BenchmarkSet)
        .filter_by(partnership_id=partnership.id)
        .order_by(BenchmarkSet.version.desc())
    ).all()
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_([s.created_by_id for s in sets if s.created_by_id]))
        )
    }
    return render_template(
        "build/benchmarks.html",
        sets=sets,
        users=users,
        checkable=checkable,
        texts={s.id: SurveyTexts(s) for s in checkable},
        errors=errors,
        problems=problems,
        form=request.form,
    ), (400 if errors else 200)


@bp.route("/benchmarks/<int:set_id>")
@role_required(Role.VIEWER)
def benchmark_set(set_id: int):
    benchmark = owned_or_404(BenchmarkSet, set_id)
    creator = db.session.get(User, benchmark.created_by_id) if benchmark.created_by_id else None
    rows = sorted(benchmark.rows, key=lambda r: (r.variable, r.id))
    return render_template(
        "build/benchmark_set.html", benchmark=benchmark, rows=rows, creator=creator
    )


@bp.route("/benchmarks/template.csv")
@role_required(Role.VIEWER)
def benchmark_template():
    content = (
        "variable,category,population_share,base,source\r\n"
        "age_band,16-24,0.18,,ONS Census 2021 TS007\r\n"
        "age_band,25-64,0.64,,ONS Census 2021 TS007\r\n"
        "age_band,65+,0.18,,ONS Census 2021 TS007\r\n"
    )
    return _download(content.encode("utf-8-sig"), "benchmarks-template.csv", "text/csv")


# The postcode lookup pages register on this blueprint.
from . import postcode_lookup  # noqa: E402, F401

__all__ = ["bp", "SurveyStatus"]
