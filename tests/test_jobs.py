"""Background jobs: one job per idempotency key, inline or on a real RQ
queue in the local Redis run by a real worker, and a job stopped half-way
continues from its checkpoint without doing any chunk twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import make_app
from letter_fixtures import letters_survey

from consult import jobs
from consult.errors import ConfigError
from consult.extensions import db
from consult.models import Job, JobFile
from consult.services import ServiceError

CHUNKS = 5
done_chunks: list[int] = []
crash_at: dict[str, int] = {}


@jobs.job_kind("count-test")
def count_chunks(job: Job, checkpoint: jobs.Checkpoint) -> str:
    """A job of CHUNKS chunks that can be made to stop at one, once."""
    stored = set(jobs.file_names(job, "part-"))
    for index in range(CHUNKS):
        name = f"part-{index}"
        if name in stored:
            continue
        if crash_at.get(job.key) == index:
            del crash_at[job.key]
            raise RuntimeError("worker lost")
        done_chunks.append(index)
        jobs.store_file(job, name, str(index).encode())
        checkpoint.save(index + 1, CHUNKS)
    parts = [jobs.read_file(job, n) for n in jobs.file_names(job, "part-")]
    jobs.store_file(job, "result.json", json.dumps([int(p or b"0") for p in parts]).encode())
    return "file:result.json"


@pytest.fixture(autouse=True)
def _reset() -> None:
    done_chunks.clear()
    crash_at.clear()


@pytest.fixture
def inline(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", True)
    return app


def test_submitting_twice_gives_one_job(inline, app_context):
    survey = letters_survey()
    first = jobs.submit("count-test", survey, "count:1")
    second = jobs.submit("count-test", survey, "count:1")
    assert first.id == second.id
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 1
    assert first.status == "done" and first.progress == CHUNKS == first.total
    assert json.loads(jobs.result_file(first) or b"") == [0, 1, 2, 3, 4]
    assert done_chunks == [0, 1, 2, 3, 4]  # the second submit did no work


def test_a_job_stopped_half_way_continues_without_repeating_a_chunk(inline, app_context):
    survey = letters_survey()
    crash_at["count:2"] = 3
    job = jobs.submit("count-test", survey, "count:2")
    assert job.status == "failed"
    assert "internal error (RuntimeError)" in job.error
    assert job.progress == 3 and done_chunks == [0, 1, 2]
    again = jobs.submit("count-test", survey, "count:2")
    assert again.id == job.id and again.status == "done"
    assert done_chunks == [0, 1, 2, 3, 4]
    assert json.loads(jobs.result_file(again) or b"") == [0, 1, 2, 3, 4]


def test_a_killed_worker_is_noticed_and_the_job_resumed(inline, app_context):
    survey = letters_survey()
    job = Job(
        kind="count-test",
        survey_id=survey.id,
        key="count:3",
        status="running",
        progress=2,
        total=CHUNKS,
        heartbeat_at=datetime.now(UTC) - timedelta(hours=1),
    )
    db.session.add(job)
    db.session.flush()
    jobs.store_file(job, "part-0", b"0")
    jobs.store_file(job, "part-1", b"1")
    db.session.commit()
    assert jobs.is_stale(job)
    resumed = jobs.submit("count-test", survey, "count:3")
    assert resumed.id == job.id and resumed.status == "done"
    assert done_chunks == [2, 3, 4]
    # A running job that is still moving is left alone.
    fresh = Job(kind="count-test", survey_id=survey.id, key="count:4", status="running")
    fresh.heartbeat_at = datetime.now(UTC)
    db.session.add(fresh)
    db.session.commit()
    assert jobs.submit("count-test", survey, "count:4").status == "running"
    # A worker handed a job another worker is running leaves it alone.
    assert jobs.run(fresh.id).status == "running" and done_chunks == [2, 3, 4]


def test_unknown_kind_is_refused(inline, app_context):
    survey = letters_survey()
    with pytest.raises(ServiceError, match="Unknown kind"):
        jobs.submit("no-such-kind", survey, "x:1")


def test_jobs_need_redis_when_not_inline(database_url):
    with pytest.raises(ConfigError, match="JOBS_INLINE"):
        make_app(database_url, JOBS_INLINE=False, REDIS_URL=None)


def test_a_queued_job_no_worker_took_is_queued_again(on_redis, app_context):
    survey = letters_survey()
    job = jobs.submit("count-test", survey, "count:lost")
    queue = jobs.queue()
    queue.empty()  # Redis lost its records
    job.heartbeat_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    assert jobs.is_stale(job)
    assert jobs.submit("count-test", survey, "count:lost").id == job.id
    assert queue.count == 1


def test_on_redis_a_worker_runs_the_queued_job(on_redis, app_context):
    from rq import SimpleWorker

    survey = letters_survey()
    job = jobs.submit("count-test", survey, "count:rq")
    assert job.status == "queued" and done_chunks == []
    assert jobs.submit("count-test", survey, "count:rq").id == job.id
    queue = jobs.queue()
    assert queue.count == 1  # asking twice queued it once
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job is not None and job.status == "done", job.error
    assert json.loads(jobs.result_file(job) or b"") == [0, 1, 2, 3, 4]


def test_on_redis_a_failed_job_is_queued_again_and_continues(on_redis, app_context):
    from rq import SimpleWorker

    survey = letters_survey()
    crash_at["count:rq2"] = 2
    job = jobs.submit("count-test", survey, "count:rq2")
    queue = jobs.queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "failed"
    jobs.submit("count-test", survey, "count:rq2")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "done"
    assert done_chunks == [0, 1, 2, 3, 4]
    names = db.session.scalars(sa.select(JobFile.name).filter_by(job_id=job.id)).all()
    assert sorted(names) == ["part-0", "part-1", "part-2", "part-3", "part-4", "result.json"]


def test_redis_out_of_reach_fails_the_job_with_a_message(app, monkeypatch, app_context):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:6399/0")
    survey = letters_survey()
    job = jobs.submit("count-test", survey, "count:down")
    assert job.status == "failed"
    assert "queue could not be reached" in job.error
