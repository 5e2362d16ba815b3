"""Results of a large survey computed by a background job.

Computing a large survey's results takes seconds; a page should not hold a
request (and a sync worker) for that. When jobs run on a queue and the
survey has `RESULTS_JOB_MIN_RESPONSES` or more submitted responses, a page
asking for a results state nobody has stored yet submits a job for it and
says the results are being computed; the job stores them in the database
(`cache.compute_and_store`), where every app server then reads them. With
inline jobs (the embedded default) or a smaller survey, the page computes
them itself, as before."""

from __future__ import annotations

import hashlib

from flask import current_app

from ... import jobs
from ...models import Job, Survey
from ..counts import response_counts
from .cache import cached_summary, compute_and_store, page_results
from .compute import SurveyResults, peek_results, results_key
from .streams import resolve_stream

KIND = "results"


@jobs.job_kind(KIND)
def compute_job(job: Job, checkpoint: jobs.Checkpoint) -> str:
    checkpoint.save(0, 1)
    stored = compute_and_store(job.survey_id)
    checkpoint.save(1, 1)
    return f"stored:{stored}"


def job_key(survey: Survey, stream: str | None) -> str:
    # One job per results state: a new response makes a new state, so a new
    # job; asking again for the same state finds the job already running.
    state = hashlib.sha256(results_key(survey, stream).encode()).hexdigest()[:40]
    return f"{KIND}:{survey.id}:{state}"


def results_or_job(survey: Survey, *, stream: str | None = None) -> SurveyResults | Job:
    """The survey's results for the pages, or the job computing them."""
    stream = resolve_stream(survey, stream)
    found = peek_results(survey, stream) or cached_summary(survey, stream=stream)
    if found is not None:
        return found
    config = current_app.config
    large = response_counts(survey.id).submitted >= config["RESULTS_JOB_MIN_RESPONSES"]
    if config["JOBS_INLINE"] or not large:
        return page_results(survey, stream=stream)
    return jobs.submit(KIND, survey, job_key(survey, stream))
