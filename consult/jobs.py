"""Background jobs: work that takes seconds or minutes (a mailing's letters,
results for a large survey, a large export) runs outside the request.

    job = jobs.submit("letters", survey, "letters:12:1", wave=1)   # -> Job
    jobs.run(job.id)                                               # what a worker does

A job is a row (`Job`) before it is anything in Redis: its idempotency key
makes a second request for the same work find the same row, its progress is
a checkpoint in the database, and what it makes is kept in the database
(`JobFile`) so every app server hands out the same result. Redis only says
"run job 42 now" (RQ); with `JOBS_INLINE` (no Redis: the embedded default,
`make run`) the job runs at once in the request or command that submitted it.

A job function is registered by kind with `@job_kind("...")`. It receives
the job and a `Checkpoint`; it does its work in chunks, stores each chunk's
output with `store_file` and calls `checkpoint.save(progress, total)`, which
commits. A worker killed half-way leaves the chunks it finished; running the
job again (a new worker, or asking for it again once it stops moving)
continues from there, and the unique (job, file name) pair means no chunk is
ever stored twice.

`submit` and `run` own their transactions (they commit): the job's row must
be visible to the worker before the worker is told about it."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import Job, JobFile, Survey
from .services import ServiceError
from .vocabulary import JobStatus

log = logging.getLogger(__name__)

JobFunction = Callable[[Job, "Checkpoint"], str]
REGISTRY: dict[str, JobFunction] = {}
# The worker's own process id: a job run in a forked child must not reuse the
# parent's database connections.
_worker_pid: int | None = None


def job_kind(kind: str) -> Callable[[JobFunction], JobFunction]:
    """Register a job function under `kind`. It returns the job's result
    reference (e.g. "file:letters.pdf") and may raise ServiceError with a
    message for the officer."""

    def register(function: JobFunction) -> JobFunction:
        REGISTRY[kind] = function
        return function

    return register


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


class Checkpoint:
    """What a job function reports its progress through. Each `save`
    commits, so what the job stored so far survives the worker."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def save(self, progress: int, total: int | None = None) -> None:
        self.job.progress = progress
        if total is not None:
            self.job.total = total
        self.job.heartbeat_at = _now()
        db.session.commit()


def find(key: str) -> Job | None:
    return db.session.scalars(sa.select(Job).filter_by(key=key)).first()


def is_stale(job: Job, now: datetime | None = None) -> bool:
    """A running job whose checkpoint has not moved for JOBS_STALE_AFTER was
    killed (a worker does not die quietly otherwise); a queued one that no
    worker took up in that time was lost with Redis's records."""
    if job.status not in (JobStatus.RUNNING, JobStatus.QUEUED):
        return False
    last = _aware(job.heartbeat_at or job.started_at or job.created_at)
    assert last is not None
    return (now or _now()) - last > current_app.config["JOBS_STALE_AFTER"]


def submit(
    kind: str, survey: Survey, key: str, *, user_id: int | None = None, **params: Any
) -> Job:
    """The job for `key`, created and started once. Asking again returns the
    same job: queued, running or done as it is; a failed job, or one whose
    worker was killed, is started again and continues from its checkpoint."""
    _load_kinds()
    if kind not in REGISTRY:
        raise ServiceError(f"Unknown kind of job {kind!r}")
    job = find(key)
    created = False
    if job is None:
        job = Job(kind=kind, survey_id=survey.id, key=key, params=params, created_by_id=user_id)
        try:
            with db.session.begin_nested():
                db.session.add(job)
        except IntegrityError:
            # Another request submitted the same work a moment ago.
            job = find(key)
            assert job is not None
        else:
            created = True
    if not created:
        if job.status == JobStatus.DONE:
            return job
        if job.status in (JobStatus.QUEUED, JobStatus.RUNNING) and not is_stale(job):
            return job
        job.status = JobStatus.QUEUED
        job.error = ""
    # Queued now: staleness counts from here, not from an earlier run.
    job.heartbeat_at = _now()
    db.session.commit()
    _dispatch(job)
    return job


def _dispatch(job: Job) -> None:
    if current_app.config.get("JOBS_INLINE", True):
        run(job.id)
        return
    try:
        queue().enqueue(
            "consult.jobs.perform",
            job.id,
            job_timeout=int(current_app.config.get("JOBS_TIMEOUT", 3600)),
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            description=f"{job.kind} {job.key}",
        )
    except Exception as error:  # Redis down: say so on the page, never a 500
        log.exception("could not queue job %s", job.id)
        job.status = JobStatus.FAILED
        job.error = f"The job queue could not be reached ({type(error).__name__}). Try again."
        db.session.commit()


def queue() -> Any:
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(current_app.config["REDIS_URL"])
    return Queue(current_app.config.get("JOBS_QUEUE", "consult"), connection=connection)


def perform(job_id: int) -> str:
    """RQ's entry point: run the job in this application, or in a new one
    when the worker was started without one (`rq worker`)."""
    if has_app_context():
        if _worker_pid is not None and os.getpid() != _worker_pid:
            # A forked work horse: the parent's pooled connections are not ours.
            db.engine.dispose(close=False)
        return run(job_id).status
    from . import create_app

    with create_app().app_context():
        return run(job_id).status


def run(job_id: int) -> Job:
    """Run (or continue) a job in this process; it ends done or failed."""
    _load_kinds()
    job = db.session.get(Job, job_id)
    if job is None:
        raise ServiceError(f"No job {job_id}")
    if job.status == JobStatus.DONE:
        return job
    if job.status == JobStatus.RUNNING and not is_stale(job):
        # Another worker has it and is moving: a second run would only race it.
        return job
    function = REGISTRY.get(job.kind)
    if function is None:
        return _fail(job_id, f"Unknown kind of job {job.kind!r}")
    job.status = JobStatus.RUNNING
    job.started_at = job.started_at or _now()
    job.heartbeat_at = _now()
    job.finished_at = None
    db.session.commit()
    try:
        result = function(job, Checkpoint(job))
    except ServiceError as error:
        db.session.rollback()
        return _fail(job_id, error.message)
    except Exception as error:
        db.session.rollback()
        # The traceback goes to the log; the page shows no resident's data.
        log.exception("job %s (%s) failed", job_id, job.kind)
        return _fail(
            job_id,
            f"The job stopped with an internal error ({type(error).__name__}). "
            "Start it again to continue from where it stopped.",
        )
    job.status = JobStatus.DONE
    job.result = result
    job.progress = job.total
    job.finished_at = job.heartbeat_at = _now()
    db.session.commit()
    return job


def _fail(job_id: int, message: str) -> Job:
    job = db.session.get(Job, job_id)
    assert job is not None
    job.status = JobStatus.FAILED
    job.error = message[:1000]
    job.finished_at = _now()
    db.session.commit()
    return job


def _load_kinds() -> None:
    # Job functions register themselves when their module is imported; a
    # worker imports them here, so a new kind of job adds its module here.
    from .services import letters  # noqa: F401
    from .services.exports import background as export_background  # noqa: F401
    from .services.results import background  # noqa: F401


# --- files a job makes ------------------------------------------------------------------


def store_file(job: Job, name: str, data: bytes) -> None:
    """Keep a file the job made (flushed; the next checkpoint commits it)."""
    db.session.add(JobFile(job_id=job.id, name=name, data=data))
    db.session.flush()


def file_names(job: Job, prefix: str = "") -> list[str]:
    names = db.session.scalars(
        sa.select(JobFile.name).filter(JobFile.job_id == job.id).order_by(JobFile.name)
    )
    return [n for n in names if n.startswith(prefix)]


def read_file(job: Job, name: str) -> bytes | None:
    return db.session.scalars(sa.select(JobFile.data).filter_by(job_id=job.id, name=name)).first()


def delete_files(job: Job, prefix: str) -> None:
    db.session.execute(
        sa.delete(JobFile).where(JobFile.job_id == job.id, JobFile.name.startswith(prefix))
    )


def discard_files(survey_id: int, *, kinds: tuple[str, ...] | None = None) -> int:
    """Delete the files jobs made for a survey (all kinds, or `kinds`), and
    mark those jobs failed with the reason, so nobody downloads a file that
    still holds answers or addresses retention or an erasure took away.
    Flushes; the caller commits. Returns how many jobs lost files."""
    query = sa.select(Job).where(Job.survey_id == survey_id)
    if kinds is not None:
        query = query.where(Job.kind.in_(kinds))
    touched = 0
    for job in db.session.scalars(query):
        deleted = db.session.execute(sa.delete(JobFile).where(JobFile.job_id == job.id))
        if deleted.rowcount:  # type: ignore[attr-defined]
            touched += 1
            job.status = JobStatus.FAILED
            job.result = ""
            job.error = (
                "The file was deleted because responses or addresses were erased "
                "or the survey's retention date passed. Ask for it again."
            )
    db.session.flush()
    return touched


def result_file(job: Job) -> bytes | None:
    """A done job's result, when it is a file."""
    if job.status != JobStatus.DONE or not job.result.startswith("file:"):
        return None
    return read_file(job, job.result[len("file:") :])


def as_json(job: Job) -> dict[str, Any]:
    """What a progress display needs; nothing about residents."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "total": job.total,
        "error": job.error,
        "stale": is_stale(job),
        "finished": job.status in (JobStatus.DONE, JobStatus.FAILED),
    }


def run_worker(*, burst: bool = False) -> None:
    """An RQ worker for the jobs queue, in this application (the CLI's
    `consult worker`). Each job runs in a forked child, so a job that hangs
    past its timeout is killed without taking the worker with it."""
    from rq import Worker

    global _worker_pid
    _worker_pid = os.getpid()
    q = queue()
    Worker([q], connection=q.connection).work(burst=burst, with_scheduler=False)
