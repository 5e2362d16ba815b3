"""Large exports made by a background job.

Excel and SPSS files are built whole before the first byte can be sent; for
a survey with tens of thousands of responses that holds a request (and a
sync worker) for many seconds. When jobs run on a queue and the survey has
`EXPORT_JOB_MIN_RESPONSES` or more submitted responses, the download asks
for a job instead: the job builds the file and keeps it in the database
(`JobFile`), so any app server hands it out. CSV and JSON stream row by row
and never need one; with inline jobs (the embedded default) or a smaller
survey the file is built in the request, as before.

One job per (survey, format, language, weighting, role, results state): a
second click or a second officer with the same role finds the same job, and
a new response makes a new export."""

from __future__ import annotations

import hashlib
import io
from datetime import date

from flask import current_app

from ... import jobs
from ...extensions import db
from ...models import Job, Survey, User
from .. import ServiceError
from ..audit import record
from ..counts import response_counts
from ..results.compute import results_state
from .output import write_export
from .request import check_choices, prepare_export, record_export

KIND = "export"
# The formats built whole before sending (see `output.spooled`); the others stream.
SPOOLED = ("xlsx", "sav")


def job_key(survey: Survey, *, format: str, language: str, weighted: bool, role: str) -> str:
    # The date is in the state too: free text is left out once the survey's
    # retention date has passed, so the same responses export differently.
    state = f"{results_state(survey)[0]}|day={date.today().isoformat()}"
    digest = hashlib.sha256(state.encode()).hexdigest()[:40]
    choice = f"{format}:{language}:{'w' if weighted else 'u'}:{role}"
    return f"{KIND}:{survey.id}:{choice}:{digest}"


def needs_job(survey: Survey, format: str) -> bool:
    """Whether this download is made by a job rather than in the request."""
    config = current_app.config
    if config["JOBS_INLINE"] or format not in SPOOLED:
        return False
    return response_counts(survey.id).submitted >= config["EXPORT_JOB_MIN_RESPONSES"]


def submit(
    survey: Survey, *, format: str, language: str | None, weighted: bool, role: str, user: User
) -> Job:
    """The job making this export, started once. Raises ServiceError for a
    format or language the survey does not offer (nothing is queued)."""
    language = check_choices(survey, format, language)
    key = job_key(survey, format=format, language=language, weighted=weighted, role=role)
    return jobs.submit(
        KIND,
        survey,
        key,
        user_id=user.id,
        format=format,
        language=language,
        weighted=weighted,
        role=role,
    )


@jobs.job_kind(KIND)
def export_job(job: Job, checkpoint: jobs.Checkpoint) -> str:
    checkpoint.save(0, 1)
    survey = db.session.get(Survey, job.survey_id)
    user = db.session.get(User, job.created_by_id) if job.created_by_id else None
    if survey is None or user is None:
        raise ServiceError("The survey or the officer who asked for this export no longer exists.")
    params = job.params
    # The same checks as a download in the request: a viewer's job makes the
    # aggregate workbook only.
    export = prepare_export(
        survey,
        format=params["format"],
        role=params["role"],
        language=params["language"],
        weighted=bool(params["weighted"]),
        by=user,
    )
    out = io.BytesIO()
    write_export(export, out)
    jobs.delete_files(job, "")  # a rerun after a killed worker starts the file again
    jobs.store_file(job, export.filename, out.getvalue())
    record_export(export, user_id=user.id)
    checkpoint.save(1, 1)
    return f"file:{export.filename}"


def download(survey: Survey, job: Job, *, user_id: int | None) -> bytes | None:
    """A done export job's file, the download recorded; None while it is
    not ready."""
    data = jobs.result_file(job)
    if data is not None:
        record(
            "export_downloaded",
            partnership_id=survey.partnership_id,
            user_id=user_id,
            target=f"survey:{survey.id}",
            details={"job": job.id, "format": job.params.get("format")},
        )
    return data


def filename(job: Job) -> str:
    return job.result[len("file:") :] if job.result.startswith("file:") else ""
