"""Officer pages for taking a survey's results away: the export page and its
downloads, the printable strategy report, and the "You said, we did" editor.

Raw rows (CSV, SPSS, JSON, the Responses sheet) are for officers and
administrators; viewers get the aggregate workbook and the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from .. import jobs
from ..errors import render_error
from ..extensions import db
from ..i18n import LANGUAGES
from ..models import Job, Role, Survey, User
from ..security import owned_or_404, role_required
from ..services import ServiceError
from ..services import exports as export_service
from ..services import feedback as feedback_service
from ..services.content import SurveyTexts
from ..services.counts import response_counts
from ..services.exports import background as export_jobs
from ..services.report import build_report
from ..vocabulary import JobStatus

bp = Blueprint("exports", __name__, url_prefix="/manage/surveys")


def _survey(survey_id: int) -> Survey:
    return owned_or_404(Survey, survey_id)


def _role() -> str:
    return g.membership.role


def _language_choices(survey: Survey) -> list[tuple[str, str]]:
    return [
        (code, f"{LANGUAGES[code].english_name} ({LANGUAGES[code].native_name})")
        for code in survey.languages
        if code in LANGUAGES
    ]


def _export_page(
    survey: Survey,
    *,
    errors: list[dict[str, str]] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Any:
    raw_allowed = export_service.may_export_raw(_role())
    policy = export_service.raw_policy(survey, _role()) if raw_allowed else None
    formats = (
        [(f, export_service.FORMAT_NAMES[f]) for f in export_service.FORMATS]
        if raw_allowed
        else [("xlsx", "Excel workbook of aggregate results (no individual responses)")]
    )
    return (
        render_template(
            "exports/export.html",
            survey=survey,
            title=SurveyTexts(survey).title(survey.default_language),
            formats=formats,
            languages=_language_choices(survey),
            raw_allowed=raw_allowed,
            policy=policy,
            min_cell=export_service.disclosure_min_cell(),
            counts=response_counts(survey.id),
            errors=errors or [],
            values=values
            or {"format": formats[0][0], "lang": survey.default_language, "weighted": True},
        ),
        status,
    )


@bp.route("/<int:survey_id>/export")
@role_required(Role.VIEWER)
def export_page(survey_id: int) -> Any:
    return _export_page(_survey(survey_id))


@bp.route("/<int:survey_id>/export/download")
@role_required(Role.VIEWER)
def download(survey_id: int) -> Any:
    survey = _survey(survey_id)
    fmt = request.args.get("format", "")
    lang = request.args.get("lang") or survey.default_language
    weighted = request.args.get("weighted") == "yes"
    values = {"format": fmt, "lang": lang, "weighted": weighted}
    if (
        fmt in export_service.FORMATS
        and fmt != "xlsx"
        and not export_service.may_export_raw(_role())
    ):
        return render_error(
            403,
            "You cannot download individual responses",
            "Viewers can download the aggregate Excel workbook and read the strategy report.",
        )
    try:
        if export_jobs.needs_job(survey, fmt):
            job = export_jobs.submit(
                survey, format=fmt, language=lang, weighted=weighted, role=_role(), user=g.user
            )
            return _job_page(survey, job)
        export = export_service.prepare_export(
            survey, format=fmt, role=_role(), language=lang, weighted=weighted, by=g.user
        )
    except ServiceError as error:
        field = {"format": "format-csv", "lang": "lang"}.get(error.field or "", "format-csv")
        return _export_page(
            survey, errors=[{"text": error.message, "href": f"#{field}"}], values=values, status=400
        )
    export_service.record_export(export, user_id=g.user.id)
    db.session.commit()
    headers = {"Content-Disposition": f'attachment; filename="{export.filename}"'}
    if export.format == "csv":
        body = stream_with_context(export_service.stream_csv(export))
        return Response(body, mimetype=export_service.MEDIA_TYPES["csv"], headers=headers)
    if export.format == "json":
        body = stream_with_context(export_service.stream_json(export))
        return Response(body, mimetype=export_service.MEDIA_TYPES["json"], headers=headers)
    spool = export_service.spooled(export)
    return Response(
        _file_chunks(spool), mimetype=export_service.MEDIA_TYPES[export.format], headers=headers
    )


def _job_page(survey: Survey, job: Job) -> Any:
    """A large export being made by a job: the page looks again every 5
    seconds (a meta refresh: no script) and offers the file when it is done."""
    waiting = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    page = render_template(
        "exports/preparing.html",
        survey=survey,
        job=job,
        filename=export_jobs.filename(job),
        format_name=export_service.FORMAT_NAMES.get(job.params.get("format", ""), ""),
        # Asking again re-queues a failed job, which continues where it stopped.
        retry_url=url_for(
            "exports.download",
            survey_id=survey.id,
            format=job.params.get("format"),
            lang=job.params.get("language"),
            weighted="yes" if job.params.get("weighted") else "no",
        ),
    )
    if waiting:
        return page, 202, {"Retry-After": "5"}
    return page


def _export_job(survey: Survey, job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.survey_id != survey.id or job.kind != export_jobs.KIND:
        abort(404)
    role = job.params.get("role", "")
    # A viewer's workbook holds aggregates only, so anyone who may see the
    # survey may take it; a raw export only goes to the role it was made for
    # (special-category answers depend on the role).
    if export_service.may_export_raw(role) and role != _role():
        abort(
            make_response(
                render_error(
                    403,
                    "You cannot download individual responses",
                    "Viewers can download the aggregate Excel workbook and read the strategy report.",
                )
            )
        )
    return job


@bp.route("/<int:survey_id>/export/jobs/<int:job_id>.json")
@role_required(Role.VIEWER)
def export_job_json(survey_id: int, job_id: int) -> Any:
    """The export job's progress, for anything that polls it."""
    survey = _survey(survey_id)
    return jsonify(jobs.as_json(_export_job(survey, job_id)))


@bp.route("/<int:survey_id>/export/jobs/<int:job_id>/download")
@role_required(Role.VIEWER)
def export_job_download(survey_id: int, job_id: int) -> Any:
    survey = _survey(survey_id)
    job = _export_job(survey, job_id)
    data = export_jobs.download(survey, job, user_id=g.user.id)
    if data is None:
        return _job_page(survey, job)
    db.session.commit()
    name = export_jobs.filename(job)
    return Response(
        data,
        mimetype=export_service.MEDIA_TYPES[job.params["format"]],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _file_chunks(spool: Any) -> Any:
    try:
        while block := spool.read(1 << 20):
            yield block
    finally:
        spool.close()


@bp.route("/<int:survey_id>/export/labels")
@role_required(Role.OFFICER)
def labels(survey_id: int) -> Any:
    survey = _survey(survey_id)
    lang = request.args.get("lang") or survey.default_language
    weighted = request.args.get("weighted") == "yes"
    try:
        export = export_service.prepare_export(
            survey, format="csv", role=_role(), language=lang, weighted=weighted, by=g.user
        )
    except ServiceError as error:
        return _export_page(
            survey,
            errors=[{"text": error.message, "href": "#lang"}],
            values={"format": "csv", "lang": lang, "weighted": weighted},
            status=400,
        )
    export_service.record_export(export, user_id=g.user.id, part="labels")
    db.session.commit()
    return Response(
        export_service.labels_csv(export),
        mimetype=export_service.MEDIA_TYPES["labels"],
        headers={"Content-Disposition": f'attachment; filename="{survey.slug}-labels.csv"'},
    )


@bp.route("/<int:survey_id>/report")
@role_required(Role.VIEWER)
def report(survey_id: int) -> Any:
    survey = _survey(survey_id)
    data = build_report(survey)
    return render_template("exports/report.html", survey=survey, report=data)


# --------------------------------------------------------------------------- #
# "You said, we did"
# --------------------------------------------------------------------------- #


def _feedback_page(
    survey: Survey,
    language: str,
    *,
    errors: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    texts = SurveyTexts(survey)
    return (
        render_template(
            "exports/feedback.html",
            survey=survey,
            title=texts.title(survey.default_language),
            language=LANGUAGES[language],
            is_source=language == survey.default_language,
            languages=[LANGUAGES[c] for c in survey.languages if c in LANGUAGES],
            priorities=feedback_service.feedback_priorities(survey, survey.default_language),
            values=values
            if values is not None
            else feedback_service.current_texts(survey, language),
            source=feedback_service.current_texts(survey, survey.default_language),
            statuses=feedback_service.text_statuses(survey, language),
            progress=feedback_service.progress(survey),
            blockers=feedback_service.can_publish(survey),
            published=feedback_service.is_published(survey),
            heard_key=feedback_service.heard_key,
            did_key=feedback_service.did_key,
            intro_key=feedback_service.INTRO_KEY,
            errors=errors or [],
            public_url=url_for("feedback.page", slug=survey.slug, _external=False),
        ),
        status,
    )


def _edit_language(survey: Survey) -> str:
    language = request.args.get("lang") or survey.default_language
    if language not in survey.languages or language not in LANGUAGES:
        language = survey.default_language
    return language


@bp.route("/<int:survey_id>/feedback", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def feedback(survey_id: int) -> Any:
    survey = _survey(survey_id)
    language = _edit_language(survey)
    if request.method == "POST":
        keys = feedback_service.feedback_keys(survey)
        values = {k: request.form.get(k, "") for k in keys if k in request.form}
        try:
            changed = feedback_service.save_feedback(
                survey, language, values, g.user, reviewed=request.form.get("reviewed") == "yes"
            )
        except ServiceError as error:
            db.session.rollback()
            href = f"#{error.field.replace('.', '-')}" if error.field else "#feedback-intro"
            return _feedback_page(
                survey,
                language,
                errors=[{"text": error.message, "href": href}],
                values=values,
                status=400,
            )
        db.session.commit()
        flash(
            f"Saved {changed} text{'s' if changed != 1 else ''} in {LANGUAGES[language].english_name}"
            if changed
            else "Nothing had changed",
            "success",
        )
        return redirect(url_for("exports.feedback", survey_id=survey.id, lang=language))
    return _feedback_page(survey, language)


@bp.route("/<int:survey_id>/feedback/publish", methods=["POST"])
@role_required(Role.OFFICER)
def publish_feedback(survey_id: int) -> Any:
    return _change_publication(
        _survey(survey_id),
        feedback_service.publish,
        "The feedback is published. Residents can read it at the address shown.",
    )


@bp.route("/<int:survey_id>/feedback/unpublish", methods=["POST"])
@role_required(Role.OFFICER)
def unpublish_feedback(survey_id: int) -> Any:
    return _change_publication(
        _survey(survey_id),
        feedback_service.unpublish,
        "The feedback page is withdrawn; the survey is closed.",
    )


def _change_publication(survey: Survey, change: Callable[[Survey, User], Any], done: str) -> Any:
    """Publish or withdraw the feedback page; a refusal is shown beside the
    publish button."""
    try:
        change(survey, g.user)
    except ServiceError as error:
        db.session.rollback()
        return _feedback_page(
            survey,
            survey.default_language,
            errors=[{"text": error.message, "href": "#publish"}],
            status=400,
        )
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("exports.feedback", survey_id=survey.id))
